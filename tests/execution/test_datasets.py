"""Dataset files: good rows load, bad rows are reported by number (never by value)."""

from __future__ import annotations

import json

import pytest

from config.errors import DatasetError
from execution.datasets import (
    MAX_DATASET_BYTES,
    check_columns,
    ignored_columns,
    load_rows,
    parse_rows,
    read_dataset,
)

SECRET = "Ada Lovelace"  # stands for a cell value that must never appear in a message


def test_csv_rows_and_row_level_failures():
    data = b'name,msg\nAda,"hi, there"\nBob\n\nCy,ok\n'
    rows, bad = parse_rows(data, ".csv")
    assert rows == [{"name": "Ada", "msg": "hi, there"}, {"name": "Cy", "msg": "ok"}]
    assert [(f.row, f.line, "fields" in f.error) for f in bad] == [(1, 3, True)]
    assert "Bob" not in bad[0].error
    assert str(bad[0]).startswith("row 1: line 3:")


def test_jsonl_rows_with_malformed_lines():
    data = b'{"a": "x"}\nnot json\n[1,2]\n{"a": 3}\n{"a": null}\n'
    rows, bad = parse_rows(data, ".jsonl")
    assert rows == [{"a": "x"}, {"a": "3"}]
    assert [f.row for f in bad] == [1, 2, 4]
    assert [f.line for f in bad] == [2, 3, 5]
    assert bad[0].error.startswith("line 2: not valid JSON")
    assert "not an object" in bad[1].error and "null" in bad[2].error


def test_jsonl_line_numbers_count_blank_lines():
    data = b'{"a": "x"}\n\n\n{"a": \n'
    rows, bad = parse_rows(data, ".jsonl")
    assert rows == [{"a": "x"}]
    assert (bad[0].row, bad[0].line) == (1, 4) and "line 4" in bad[0].error


def test_json_list_and_bom_csv():
    rows, bad = parse_rows(b'[{"a": "1"}, 5]', ".json")
    assert rows == [{"a": "1"}] and bad[0].row == 1 and "item 2" in bad[0].error
    rows, _ = parse_rows("\ufeffa\nz\n".encode(), ".csv")
    assert rows == [{"a": "z"}]


def test_csv_semicolon_and_tab_separators():
    rows, _ = parse_rows(b"name;msg\nAda;hi, there\n", ".csv")
    assert rows == [{"name": "Ada", "msg": "hi, there"}]
    rows, _ = parse_rows(b"name\tmsg\nAda\thi\n", ".csv")
    assert rows == [{"name": "Ada", "msg": "hi"}]


def test_csv_multiline_cells_report_the_starting_line():
    data = b'a,b\n"one\ntwo",x\ny\n'
    rows, bad = parse_rows(data, ".csv")
    assert rows == [{"a": "one\ntwo", "b": "x"}]
    assert (bad[0].row, bad[0].line) == (1, 4)



@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'question,expected\n"What is 2+2?,4\nWhat is 3+3,6\n', 2),  # the quote never closes
        (b'question,expected\nq1,1\nq2,2\n"What is 2+2?,4', 4),  # on the last line, no newline at the end
        (b'question,expected\nq1,1\nq2,"What is 2+2?\nWhat is 3+3,6\n', 3),  # in a later field
        (b'a,b\n"alpha\nbeta","x\ny,z\n', 3),  # a closed multi-line field, then an open one on its last line
        (b'a,b\n"say ""howdy"" there,x\ny,z\n', 2),  # doubled quotes inside do not close it
        (b'a;b\n1;"dangling\n2;3\n', 2),  # any separator
        (b'a\r\n"dangling\r\nb\r\n', 2),  # Windows line ends
        (b'"question,expected\nq1,1\n', 1),  # in the header
    ],
)
def test_csv_unterminated_quote_rejects_the_file(data, line):
    with pytest.raises(DatasetError) as info:
        parse_rows(data, ".csv")
    error = info.value
    assert "malformed" in error.message and f"line {line}" in error.message
    assert "never closed" in error.message
    assert "close" in error.hint.lower() and "doubl" in error.hint
    for value in ("What is", "alpha", "beta", "dangling", "howdy", "q1"):
        assert value not in error.message and value not in error.hint
    with pytest.raises(DatasetError, match=f"line {line}"):
        read_dataset(data, ".csv")


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        (b'question,answer\n"line one\nline two",x\n', [{"question": "line one\nline two", "answer": "x"}]),
        (b'q,e\n"line one\nline two",x', [{"q": "line one\nline two", "e": "x"}]),  # no newline at the end
        (b'q,e\na,"line one\nline two"', [{"q": "a", "e": "line one\nline two"}]),  # closes at the very end
        (b'q,e\na,"say ""hi""\nthen go"\nb,c\n', [{"q": "a", "e": 'say "hi"\nthen go'}, {"q": "b", "e": "c"}]),
        (b'q,e\na,"x"""\n', [{"q": "a", "e": 'x"'}]),  # an escaped quote just before the closing one
        (b'q,e\nsay "hi",x\n', [{"q": 'say "hi"', "e": "x"}]),  # a quote inside an unquoted value is text
        (b'q,e\r\n"one\r\ntwo",x\r\n', [{"q": "one\r\ntwo", "e": "x"}]),
        (b'"q","e"\n"a","b"\n\n', [{"q": "a", "e": "b"}]),
    ],
)
def test_csv_closed_quoted_fields_with_newlines_are_accepted(data, rows):
    assert parse_rows(data, ".csv") == (rows, [])

@pytest.mark.parametrize(
    ("data", "suffix", "message"),
    [
        (b"", ".csv", "empty"),
        (b"  \n\n", ".jsonl", "empty"),
        (b"a,b\n", ".csv", "no rows"),
        (b"[]", ".json", "no rows"),
        (b"a,a\n1,2\n", ".csv", "repeats a column name: 'a'"),
        (b",,\n1,2,3\n", ".csv", "header is empty"),
        (b"\xff\xfe\x00a", ".csv", "UTF-16"),
        (b"PK\x03\x04\x14\x00\x06\x00", ".csv", "binary"),
        (b"a,b\n\x00\x01\x02", ".csv", "binary"),
        ("a\ncaf\u00e9".encode("latin-1") + b"\n", ".csv", r"not UTF-8 \(line 2"),
        (b"{", ".json", "does not parse"),
        (b'[{"a": 1},\n {"a": 2]', ".json", "line 2"),
        (b'{"a": 1}\n{"a": 2}\n', ".json", "JSON lines"),
        (b'{"a": 1}', ".json", "list of objects, not an object"),
        (b"a", ".xlsx", "Unsupported"),
    ],
)
def test_unusable_files_raise_clear_errors(data, suffix, message):
    with pytest.raises(DatasetError, match=message):
        parse_rows(data, suffix)


def test_errors_never_echo_values():
    cases = [
        (f'{{"who": "{SECRET}", "x": {{"n": 1}}}}\n{{"who": "{SECRET}" \n'.encode(), ".jsonl"),
        (f"who,msg\n{SECRET}\n{SECRET},x,y\n".encode(), ".csv"),
        (f'[{{"who": "{SECRET}", "x": null}}, "{SECRET}"]'.encode(), ".json"),
    ]
    for data, suffix in cases:
        _, bad = parse_rows(data, suffix)
        assert bad, suffix
        for failure in bad:
            assert SECRET not in str(failure) and "Ada" not in failure.error
    with pytest.raises(DatasetError) as info:
        parse_rows(f'[{{"who": "{SECRET}"}} oops]'.encode(), ".json")
    assert "Ada" not in str(info.value)
    with pytest.raises(DatasetError) as info:
        read_dataset(f"who\n{SECRET}\n".encode(), ".csv", template_variables=["name"])
    assert "Ada" not in str(info.value)


def test_nested_values_are_rejected_with_what_to_do():
    rows, bad = parse_rows(b'{"a": "x", "b": [1, 2]}\n{"a": "y", "b": {"k": 1}}\n{"a": true, "b": 1.5}\n', ".jsonl")
    assert rows == [{"a": "true", "b": "1.5"}]
    assert "'b' holds a list" in bad[0].error and "JSON string" in bad[0].error
    assert "'b' holds an object" in bad[1].error


def test_size_and_row_limits(tmp_path):
    too_big = b"a\n" + b"x" * (MAX_DATASET_BYTES - 1)
    with pytest.raises(DatasetError, match="limit is 50 MB"):
        parse_rows(too_big, ".csv")
    path = tmp_path / "big.csv"
    path.write_bytes(too_big)
    with pytest.raises(DatasetError, match="larger than 50 MB"):
        load_rows(path)
    rows = "a\n" + "".join(f"{i}\n" for i in range(11))
    assert len(parse_rows(rows.encode(), ".csv", max_rows=11)[0]) == 11
    with pytest.raises(DatasetError, match="more than 10 rows.*MAX_DATASET_ROWS"):
        parse_rows(rows.encode(), ".csv", max_rows=10)
    with pytest.raises(DatasetError, match="more than 2 rows"):
        parse_rows(b"[{}, {}, {}]", ".json", max_rows=2)
    with pytest.raises(DatasetError, match="more than 2 rows"):
        parse_rows(b'{}\nbad\n{"a": 1}\n', ".jsonl", max_rows=2)  # malformed rows count too


def test_aliases_map_to_metadata_columns():
    data = b"q,Expected_Output,context\nWhat?,An answer,Some doc\nOther?,,\n"
    ds = read_dataset(data, ".csv")
    assert ds.rows == [
        {"q": "What?", "_expected": "An answer", "_context": "Some doc"},
        {"q": "Other?"},  # an empty expected output or context means none
    ]
    assert ds.columns == ["q"] and ds.has_expected and ds.has_context
    # lenient parsing keeps the original column too: a template using {{ context }} still works
    rows, _ = parse_rows(data, ".csv")
    assert rows[0]["context"] == rows[0]["_context"] == "Some doc"
    # a template variable named like an alias stays a variable
    ds = read_dataset(data, ".csv", template_variables=["q", "context"])
    assert ds.rows[0] == {"q": "What?", "context": "Some doc", "_expected": "An answer"}
    # `expected` works too; the explicit `_expected` wins over aliases
    ds = read_dataset(b'{"q": "a", "expected": "x"}\n{"q": "b", "expected": "x", "_expected": "y"}\n', ".jsonl")
    assert [r["_expected"] for r in ds.rows] == ["x", "y"]
    # null metadata means none; a null variable rejects the row
    ds = read_dataset(b'[{"q": "a", "_context": null}, {"q": null}]', ".json")
    assert ds.rows == [{"q": "a"}] and "'q' is null" in ds.failures[0].error


def test_alias_variable_filled_from_metadata_column():
    ds = read_dataset(b"q,_context\nhi,doc\n", ".csv", template_variables=["q", "context"])
    assert ds.rows == [{"q": "hi", "_context": "doc", "context": "doc"}]


def test_check_columns_and_ignored_columns():
    columns = ["Customer", "message", "channel", "expected_output", "_note", "_context"]
    problems = check_columns(columns, ["customer", "message", "amount"])
    assert len(problems) == 2
    assert "'customer'" in problems[0] and "Did you mean the column 'Customer'" in problems[0]
    assert "'amount'" in problems[1] and "Did you mean" not in problems[1]
    assert check_columns(columns, ["message", "context"]) == []  # `context` comes from `_context`
    assert ignored_columns(columns, ["message"]) == ["Customer", "channel", "_note"]
    assert ignored_columns(columns) == ["_note"]


def test_missing_variable_columns_reject_the_file():
    with pytest.raises(DatasetError, match="no column for the template variable 'amount'.*Add the missing"):
        read_dataset(b"customer,message\nA,b\n", ".csv", template_variables=["customer", "amount"])


def test_rows_missing_a_variable_value_are_rejected():
    data = b'{"customer": "A", "message": "m"}\n{"message": "m2"}\n'
    ds = read_dataset(data, ".jsonl", template_variables=["customer", "message"])
    assert ds.rows == [{"customer": "A", "message": "m"}]
    assert ds.failures[0].row == 1 and "no value for the template variable 'customer'" in ds.failures[0].error


def test_duplicate_rows_are_reported_by_number():
    data = f"a,b\n1,{SECRET}\n2,y\n1,{SECRET}\n1,{SECRET}\n".encode()
    ds = read_dataset(data, ".csv")
    assert ds.rows == [{"a": "1", "b": SECRET}, {"a": "2", "b": "y"}]
    assert ds.row_numbers == [0, 1] and ds.total == 4
    assert [(f.row, f.line) for f in ds.failures] == [(2, 4), (3, 5)]
    assert all("duplicates row 0 (line 2)" in f.error for f in ds.failures)
    assert not any("Ada" in str(f) for f in ds.failures)
    assert len(read_dataset(data, ".csv", allow_duplicates=True).rows) == 4


def test_ignored_columns_are_dropped_and_listed():
    ds = read_dataset(b"customer,notes,_internal\nA,n,i\n", ".csv", template_variables=["customer"])
    assert ds.rows == [{"customer": "A"}] and ds.ignored == ["notes", "_internal"]


def test_too_long_values_reject_their_row():
    data = json.dumps({"a": "x" * 50}) + "\n" + json.dumps({"a": "ok"}) + "\n"
    ds = read_dataset(data.encode(), "upload.JSONL", max_value_chars=10)
    assert ds.rows == [{"a": "ok"}] and "50 characters; the limit is 10" in ds.failures[0].error


def test_no_usable_row_is_an_error():
    with pytest.raises(DatasetError, match="None of the 2 rows"):
        read_dataset(b"a,b\n1\n2\n", ".csv")


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_rows(tmp_path / "nope.csv")
