"""Dataset files: good rows load, bad rows are reported by number (never by value)."""

from __future__ import annotations

import pytest

from config.errors import DatasetError
from execution.datasets import load_rows, parse_rows


def test_csv_rows_and_row_level_failures():
    data = b'name,msg\nAda,"hi, there"\nBob\n\nCy,ok\n'
    rows, bad = parse_rows(data, ".csv")
    assert rows == [{"name": "Ada", "msg": "hi, there"}, {"name": "Cy", "msg": "ok"}]
    assert [(f.row, "fields" in f.error) for f in bad] == [(1, True)]
    assert "Bob" not in bad[0].error


def test_jsonl_rows_with_malformed_lines():
    data = b'{"a": "x"}\nnot json\n[1,2]\n{"a": 3}\n{"a": null}\n'
    rows, bad = parse_rows(data, ".jsonl")
    assert rows == [{"a": "x"}, {"a": "3"}]
    assert [f.row for f in bad] == [1, 2, 4]


def test_json_list_and_bom_csv():
    rows, bad = parse_rows(b'[{"a": "1"}, 5]', ".json")
    assert rows == [{"a": "1"}] and bad[0].row == 1
    rows, _ = parse_rows("\ufeffa\nz\n".encode(), ".csv")
    assert rows == [{"a": "z"}]


@pytest.mark.parametrize(
    ("data", "suffix", "message"),
    [
        (b"", ".csv", "empty"),
        (b"a,a\n1,2\n", ".csv", "repeats a column"),
        (b"\xff\xfe\x00a", ".csv", "binary"),
        ("caf\u00e9".encode("latin-1") + b"\n", ".csv", "not UTF-8"),
        (b"{", ".json", "does not parse"),
        (b'{"a": 1}', ".json", "list of objects"),
        (b"a", ".xlsx", "Unsupported"),
    ],
)
def test_unusable_files_raise_clear_errors(data, suffix, message):
    with pytest.raises(DatasetError, match=message):
        parse_rows(data, suffix)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_rows(tmp_path / "nope.csv")
