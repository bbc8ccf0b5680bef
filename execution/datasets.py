"""Reading dataset files: rows of template variables, with an optional expected output
and reference context, and errors that say what to fix without repeating any value.

Formats (UTF-8; a byte-order mark is fine):

- ``.csv``: a header row naming the columns, then one row per line. A header without
  commas but with ``;``, a tab or ``|`` uses that separator (Excel in many locales).
- ``.jsonl`` / ``.ndjson``: one JSON object per line.
- ``.json``: one JSON list of objects.

Columns:

- one column per template variable;
- ``_expected``: the expected output, ``_context``: the reference context. The friendlier
  names ``expected_output`` or ``expected`` map to ``_expected`` and ``context`` to
  ``_context`` (any letter case). An alias that is one of the template's variables stays a
  variable. When the caller does not know the template's variables,
  ``parse_rows``/``load_rows`` add the metadata column and keep the original one too (a
  template using ``{{ context }}`` keeps working), while ``read_dataset`` moves it to the
  metadata column; a template variable named like an alias is filled from the metadata
  column when the row has no column of its own. An empty or ``null`` ``_expected`` /
  ``_context`` means none: the key is left out of the row;
- other columns: ignored when the template does not use them (``ignored_columns`` lists
  them). Other names starting with ``_`` are never variables.

Values are text. JSON numbers and booleans become their JSON text (``3``, ``1.5``,
``true``). Nested values (objects, lists) and ``null`` variables are *rejected*, row by
row: a variable is text the template inserts, and JSON-encoding a nested value would put
JSON syntax into prompts unnoticed; whoever wants that encodes it as a JSON string.

Problems with the whole file (not UTF-8, binary, empty, too large, too many rows, a JSON
document that does not parse, an unusable CSV header, a template variable with no column)
raise ``DatasetError`` and nothing is usable. Problems with one row (a malformed JSON line,
a row that is not an object, a nested or null value, a wrong number of CSV fields, a
missing variable value, a value too long, a duplicate of an earlier row) are reported as a
``RowFailure`` and the other rows go on. Messages name rows, lines and columns, never
values: cells may hold personal data.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from config.errors import DatasetError

MAX_DATASET_BYTES = 50 * 1024 * 1024
EXPECTED = "_expected"
CONTEXT = "_context"
METADATA_COLUMNS = (EXPECTED, CONTEXT)
# friendlier column names for the metadata columns (matched case-insensitively)
ALIASES = {"expected_output": EXPECTED, "expected": EXPECTED, "context": CONTEXT}
SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json")
_SEPARATORS = (";", "\t", "|")
# file signatures of formats people upload by mistake (a workbook renamed .csv, a zip, a PDF)
_BINARY_SIGNATURES = (b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\x1f\x8b")

Row = dict[str, str]


@dataclass
class RowFailure:
    row: int  # 0-based data row index (the CSV header is not a row)
    error: str  # what is wrong and what to do; names lines and columns, never values
    line: int | None = None  # 1-based line of the file where the row starts (CSV, JSON lines)

    def __str__(self) -> str:
        return f"row {self.row}: {self.error}"


@dataclass
class DatasetFile:
    """A validated dataset file: the usable rows and what was left out, and why."""

    rows: list[Row]
    row_numbers: list[int]  # each usable row's index in the file (0-based, as RowFailure.row)
    failures: list[RowFailure]  # rejected rows, in file order
    columns: list[str]  # variable columns kept, in file order
    ignored: list[str] = field(default_factory=list)  # columns left out
    total: int = 0  # data rows in the file
    format: str = ""  # csv | jsonl | json
    lines: list[int | None] = field(default_factory=list)  # each usable row's first line (CSV, JSON lines)

    @property
    def has_expected(self) -> bool:
        return any(EXPECTED in row for row in self.rows)

    @property
    def has_context(self) -> bool:
        return any(CONTEXT in row for row in self.rows)


@dataclass
class _Source:
    index: int
    line: int | None
    values: dict[str, str | None]


# -- public API -------------------------------------------------------------------------


def load_rows(
    path: Path, *, template_variables: Sequence[str] | None = None, max_rows: int | None = None
) -> tuple[list[Row], list[RowFailure]]:
    """Rows of a ``.csv``, ``.jsonl`` or ``.json`` (a list of objects) file."""
    path = Path(path)
    return parse_rows(
        _read_file(path), path.suffix.lower(), template_variables=template_variables, max_rows=max_rows
    )


def parse_rows(
    data: bytes,
    suffix: str,
    *,
    template_variables: Sequence[str] | None = None,
    max_rows: int | None = None,
) -> tuple[list[Row], list[RowFailure]]:
    """Rows and row failures of a file's bytes; ``suffix`` is ``.csv``, ``.jsonl`` or ``.json``.

    Lenient: every column is kept (the pipeline ignores the ones its template does not
    declare); aliases add their metadata column (see the module docstring).
    """
    sources, failures, _, _ = _parse(data, suffix, max_rows)
    variables = None if template_variables is None else list(template_variables)
    rows = []
    for source in sources:
        row, problem = _row(source.values, variables, keep_all=True)
        if problem:
            failures.append(_failure(source, problem))
        else:
            rows.append(row)
    failures.sort(key=lambda f: f.row)
    return rows, failures


def read_dataset(
    data: bytes,
    suffix: str,
    *,
    template_variables: Sequence[str] | None = None,
    max_rows: int | None = None,
    max_value_chars: int | None = None,
    allow_duplicates: bool = False,
    check_header: Callable[[list[str]], None] | None = None,
) -> DatasetFile:
    """A dataset file validated for storing: only variable and metadata columns kept.

    With ``template_variables``: a variable no column supplies raises ``DatasetError``; a
    row without a value for one is rejected; other columns are ignored. Without: every
    column not starting with ``_`` is a variable. A row equal to an earlier one is rejected
    unless ``allow_duplicates``; a value longer than ``max_value_chars`` rejects its row.
    ``suffix`` may be a file name. Raises ``DatasetError`` when no row is usable.
    ``check_header(columns)`` runs on the column names before anything names them (the
    importer rejects a header that is personal data: a file without a header row).
    """
    suffix = _suffix(suffix)
    sources, failures, columns, fmt = _parse(data, suffix, max_rows, check_header)
    total = len(sources) + len(failures)  # each data row is a source or a parse failure
    variables = None if template_variables is None else list(dict.fromkeys(template_variables))
    if variables is not None:
        problems = check_columns(columns, variables)
        if problems:
            raise DatasetError(" ".join(problems), _column_hint(fmt))
    ignored = ignored_columns(columns, variables)
    rows: list[Row] = []
    numbers: list[int] = []
    lines: list[int | None] = []
    seen: dict[tuple, _Source] = {}
    for source in sources:
        row, problem = _row(source.values, variables, keep_all=False)
        if not problem and max_value_chars is not None:
            problem = _too_long(row, max_value_chars)
        if not problem and not allow_duplicates:
            first = seen.setdefault(tuple(sorted(row.items())), source)
            if first is not source:
                where = f" (line {first.line})" if first.line is not None else ""
                problem = f"duplicates row {first.index}{where} in every column; skipped (only the first is kept)"
        if problem:
            failures.append(_failure(source, problem))
        else:
            rows.append(row)
            numbers.append(source.index)
            lines.append(source.line)
    failures.sort(key=lambda f: f.row)
    if not rows:
        raise DatasetError(
            f"None of the {total} rows of the dataset is usable "
            f"(first problem: {failures[0] if failures else 'no rows'}).",
            "Fix the rows named and upload the file again.",
        )
    return DatasetFile(rows, numbers, failures, _variable_columns(rows), ignored, total, fmt, lines)


def supplying_column(variable: str, columns: Iterable[str]) -> str | None:
    """The column that fills template ``variable``: its own, else (for a variable named like
    an alias, e.g. ``context``) its metadata column (``_context``); None when neither is there."""
    if variable in columns:
        return variable
    source = ALIASES.get(variable.casefold())
    return source if source is not None and source in columns else None


def check_columns(columns: Iterable[str], template_variables: Iterable[str]) -> list[str]:
    """Problems with a dataset's columns for a template: one sentence per template variable
    that no column supplies (a variable named like an alias, e.g. ``context``, is supplied
    by its metadata column ``_context`` too). Empty when the columns fit."""
    present = set(columns)
    by_case = {c.casefold(): c for c in present}
    problems = []
    for variable in dict.fromkeys(template_variables):
        if supplying_column(variable, present) is not None:
            continue
        message = f"The dataset has no column for the template variable '{variable}'."
        near = by_case.get(variable.casefold()) or next(
            iter(difflib.get_close_matches(variable, sorted(present), n=1, cutoff=0.8)), None
        )
        if near:
            message += f" Did you mean the column '{near}'? Column names must match exactly."
        problems.append(message)
    return problems


def template_values(row: Row, variables: Iterable[str]) -> dict[str, str]:
    """The row's values for the template's ``variables``. A variable named like an alias
    (``context``) that has no column of its own takes its metadata column (``_context``),
    as ``check_columns`` allows."""
    columns = {variable: supplying_column(variable, row) for variable in variables}
    return {variable: row[column] for variable, column in columns.items() if column is not None}


def ignored_columns(columns: Iterable[str], template_variables: Iterable[str] | None = None) -> list[str]:
    """Columns ``read_dataset`` leaves out: with ``template_variables``, those that are
    neither a template variable nor a metadata column (or a free alias of one); without,
    names starting with ``_`` other than ``_expected``/``_context``."""
    columns = list(dict.fromkeys(columns))
    variables = None if template_variables is None else set(template_variables)
    targets = _targets(columns, None if variables is None else list(variables), keep_all=False)
    return [c for c in columns if not targets.get(c)]


def dataset_columns(rows: Iterable[Row]) -> list[str]:
    """Every column of ``rows``, in order of first appearance."""
    return list(dict.fromkeys(key for row in rows for key in row))


# -- reading files --------------------------------------------------------------------


def _read_file(path: Path) -> bytes:
    if not path.is_file():
        raise DatasetError(f"Dataset file not found: {path}.", "Check the path.")
    if path.stat().st_size > MAX_DATASET_BYTES:
        raise DatasetError(
            f"Dataset {path.name} is larger than {MAX_DATASET_BYTES // 2**20} MB.", "Split it into smaller files."
        )
    return path.read_bytes()


def _suffix(name: str) -> str:
    suffix = name.lower() if name.startswith(".") else Path(name).suffix.lower()
    return suffix


def _parse(
    data: bytes, suffix: str, max_rows: int | None, check_header: Callable[[list[str]], None] | None = None
) -> tuple[list[_Source], list[RowFailure], list[str], str]:
    """(rows, row failures, columns in file order, format) of a file's bytes."""
    suffix = _suffix(suffix)
    if suffix not in SUFFIXES:
        raise DatasetError(f"Unsupported dataset type '{suffix}'.", "Use .csv, .jsonl or .json.")
    if len(data) > MAX_DATASET_BYTES:
        raise DatasetError(
            f"The dataset is {len(data) / 2**20:.1f} MB; the limit is {MAX_DATASET_BYTES // 2**20} MB.",
            "Split it into smaller files.",
        )
    text = _decode(data)
    if not text.strip():
        raise DatasetError("The dataset file is empty.", "Add a header row and rows of values.")
    limit = _RowLimit(max_rows)
    if suffix == ".csv":
        sources, failures, columns = _csv_rows(text, limit, check_header)
        fmt = "csv"
    elif suffix == ".json":
        sources, failures = _json_rows(text, limit)
        fmt = "json"
    else:
        sources, failures = _jsonl_rows(text, limit)
        fmt = "jsonl"
    if fmt != "csv":
        columns = list(dict.fromkeys(k for s in sources for k in s.values))
        if check_header is not None:
            check_header(columns)
    if not sources and not failures:
        raise DatasetError("The dataset has no rows.", "Add at least one row of values.")
    return sources, failures, columns, fmt


class _RowLimit:
    def __init__(self, max_rows: int | None) -> None:
        self.max_rows = max_rows

    def check(self, count: int) -> None:
        if self.max_rows is not None and count > self.max_rows:
            raise DatasetError(
                f"The dataset has more than {self.max_rows:,} rows.",
                "Split it into several datasets, or raise PROMPTFORGE_MAX_DATASET_ROWS.",
            )


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DatasetError(
            "The dataset is UTF-16 text, not UTF-8.", "Re-save it as UTF-8 (e.g. 'CSV UTF-8' in Excel)."
        )
    if data.startswith(_BINARY_SIGNATURES) or b"\x00" in data[:8192]:
        raise DatasetError(
            "The dataset looks like a binary file (e.g. an Excel workbook, a zip or a PDF), not text.",
            "Export it as a UTF-8 CSV or JSON-lines file and upload that.",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(
            f"The dataset is not UTF-8 (line {line}, byte {exc.start}).",
            "Re-save it as UTF-8 (e.g. 'CSV UTF-8' in Excel).",
        ) from None


def _csv_rows(
    text: str, limit: _RowLimit, check_header: Callable[[list[str]], None] | None = None
) -> tuple[list[_Source], list[RowFailure], list[str]]:
    if csv.field_size_limit() < MAX_DATASET_BYTES:
        csv.field_size_limit(MAX_DATASET_BYTES)  # a long cell is a value-length question, not a parse error
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:
        delimiter = next((d for d in _SEPARATORS if d in first_line), ",")
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DatasetError("The CSV file is empty.", "Add a header row naming the template's variables.") from None
    except csv.Error as exc:
        raise DatasetError(
            f"The CSV header cannot be read ({_csv_reason(exc)}).", "Check the quoting of the first line."
        ) from None
    if lines.consumed == len(text):  # the header ran to the end of the file
        _check_quotes_closed(text, 0, 1, header, delimiter)
    header = [h.strip() for h in header]
    if not any(header):
        raise DatasetError("The CSV header is empty.", "Add a header row naming the template's variables.")
    if check_header is not None:
        check_header([h for h in header if h])
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        names = ", ".join(f"'{h}'" for h in repeated)
        raise DatasetError(f"The CSV header repeats a column name: {names}.", "Give each column a unique name.")
    sources: list[_Source] = []
    failures: list[RowFailure] = []
    index = 0
    last_line = reader.line_num
    while True:
        start, offset = last_line + 1, lines.consumed
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            limit.check(index + 1)
            failures.append(RowFailure(index, f"line {start}: unreadable CSV row ({_csv_reason(exc)})", start))
            index += 1
            last_line = reader.line_num
            continue
        last_line = reader.line_num
        if lines.consumed == len(text):  # the last record: it may have run on from an open quote
            _check_quotes_closed(text, offset, start, values, delimiter)
        if not any(v.strip() for v in values):
            continue  # blank line
        limit.check(index + 1)
        if len(values) != len(header):
            failures.append(
                RowFailure(index, f"line {start}: has {len(values)} fields, the header has {len(header)}", start)
            )
        else:
            row = {h: v for h, v in zip(header, values, strict=True) if h}
            sources.append(_Source(index, start, row))
        index += 1
    columns = [h for h in header if h]
    return sources, failures, columns


class _Lines:
    """The lines of ``text`` for ``csv.reader`` (split as it expects: ``\\n``, ``\\r\\n`` or
    ``\\r``, kept), counting the characters handed out so far."""

    def __init__(self, text: str) -> None:
        self._lines = io.StringIO(text, newline="")
        self.consumed = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed += len(line)
        return line


def _check_quotes_closed(text: str, offset: int, line: int, values: list[str], delimiter: str) -> None:
    """Raise ``DatasetError`` when the record read from ``text[offset:]`` (starting on
    ``line``, read as ``values``, running to the end of the file) ends inside a quoted field.

    The csv module, in its default lenient mode, reads an opening quote that is never
    closed to the end of the file as one value: every later line would silently become
    part of one row. (``strict=True`` reports it, but also rejects ``"a"b``, which the
    lenient mode reads as ``ab``.) Test: a quote added on a line of its own closes a field
    left open, so the record stays one record; after a complete record it starts another."""
    record = text[offset:]
    probe = csv.reader(io.StringIO(record + '\n"', newline=""), delimiter=delimiter)
    if sum(1 for _ in probe) != 1:
        return
    # the open field is the record's last value; from its opening quote to the end of the
    # file every quote is doubled (one closing it would have ended the quoted field)
    value = values[-1] if values else ""
    quote = len(record) - len(value) - value.count('"') - 1
    if 0 <= quote < len(record) and record[quote] == '"':
        before = record[:quote]
        line += before.count("\n") + before.count("\r") - before.count("\r\n")
    raise DatasetError(
        f"The CSV file is malformed: the quoted field that starts on line {line} is never closed, "
        "so every line after it would be read as part of that one value.",
        'Close the quote (add the missing " at the end of the value), or, if the quote is part of '
        'the text, escape it by doubling it ("") or remove it.',
    )


def _csv_reason(exc: csv.Error) -> str:
    return str(exc).split("\n")[0][:120]


def _jsonl_rows(text: str, limit: _RowLimit) -> tuple[list[_Source], list[RowFailure]]:
    sources: list[_Source] = []
    failures: list[RowFailure] = []
    index = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        limit.check(index + 1)
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            failures.append(
                RowFailure(
                    index,
                    f"line {number}: not valid JSON ({exc.msg} at column {exc.colno}); "
                    "each line must hold one JSON object",
                    number,
                )
            )
        else:
            try:
                sources.append(_Source(index, number, _as_row(item)))
            except ValueError as exc:
                failures.append(RowFailure(index, f"line {number}: {exc}", number))
        index += 1
    return sources, failures


def _json_rows(text: str, limit: _RowLimit) -> tuple[list[_Source], list[RowFailure]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = "Fix the syntax, or use JSON lines (.jsonl): one object per line."
        if exc.msg == "Extra data" and _looks_like_jsonl(text):
            hint = "It looks like JSON lines (one object per line): save it with the extension .jsonl."
        raise DatasetError(
            f"The JSON file does not parse ({exc.msg} at line {exc.lineno}, column {exc.colno}).", hint
        ) from None
    if not isinstance(data, list):
        raise DatasetError(
            f"The JSON file must hold a list of objects, not {_kind(data)}.",
            "Wrap the rows in [ ... ], one object per row.",
        )
    limit.check(len(data))
    sources: list[_Source] = []
    failures: list[RowFailure] = []
    for index, item in enumerate(data):
        try:
            sources.append(_Source(index, None, _as_row(item)))
        except ValueError as exc:
            failures.append(RowFailure(index, f"item {index + 1} of the list: {exc}"))
    return sources, failures


def _looks_like_jsonl(text: str) -> bool:
    try:
        return isinstance(json.loads(text.lstrip().split("\n", 1)[0]), dict)
    except json.JSONDecodeError:
        return False


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


def _as_row(item: object) -> dict[str, str | None]:
    """A JSON object as column -> text (``None`` for null, checked once aliases are known)."""
    if not isinstance(item, dict):
        raise ValueError(f"not an object of text values (got {_kind(item)}); each row must be a JSON object")
    row: dict[str, str | None] = {}
    for key, value in item.items():
        column = str(key).strip()
        if isinstance(value, (dict, list)):
            raise ValueError(
                f"not an object of text values (column '{column}' holds {_kind(value)}); "
                "give text, a number or true/false, or encode the nested value as a JSON string"
            )
        row[column] = value if isinstance(value, str) or value is None else json.dumps(value)
    return row


# -- columns and rows -------------------------------------------------------------------


def _targets(columns: list[str], variables: list[str] | None, *, keep_all: bool) -> dict[str, list[str]]:
    """For each column, the keys its value goes to in a row (empty: ignored).

    A template variable stays a variable even when it is named like an alias. An explicit
    ``_expected``/``_context`` column wins over its aliases; of several aliases the first
    column wins. ``keep_all`` (lenient) keeps every column besides what aliases add."""
    wanted = None if variables is None else set(variables)
    taken = {c for c in columns if c in METADATA_COLUMNS}
    targets: dict[str, list[str]] = {}
    for column in columns:
        if column in METADATA_COLUMNS:
            targets[column] = [column]
            continue
        is_variable = column in wanted if wanted is not None else not column.startswith("_")
        alias = None if wanted is not None and is_variable else ALIASES.get(column.casefold())
        keys: list[str] = []
        if alias and alias not in taken:
            keys.append(alias)
            taken.add(alias)
            if wanted is None:
                is_variable = False  # moved to the metadata column (kept too when lenient)
        if keep_all or is_variable:
            keys.append(column)
        targets[column] = keys
    return targets


def _row(
    values: dict[str, str | None], variables: list[str] | None, *, keep_all: bool
) -> tuple[Row, str | None]:
    """The row's columns mapped (aliases, ignored columns), or a problem."""
    targets = _targets(list(values), variables, keep_all=keep_all)
    row: Row = {}
    for column, value in values.items():
        for key in targets[column]:
            if key in METADATA_COLUMNS:
                if value is not None and value.strip():
                    row[key] = value
            elif value is None:
                return {}, f"column '{column}' is null; give it a value (an empty string \"\" if it has none)"
            else:
                row[key] = value
    if variables is not None:
        for variable in variables:
            if variable in row:
                continue
            source = ALIASES.get(variable.casefold())
            if source and source in row:
                row[variable] = row[source]
            elif not keep_all:
                return {}, f"has no value for the template variable '{variable}'"
    return row, None


def _too_long(row: Row, max_chars: int) -> str | None:
    for column, value in row.items():
        if len(value) > max_chars:
            return (
                f"column '{column}' has {len(value):,} characters; the limit is {max_chars:,} "
                "(shorten it, or raise PROMPTFORGE_MAX_VARIABLE_CHARS)"
            )
    return None


def _variable_columns(rows: list[Row]) -> list[str]:
    return [c for c in dataset_columns(rows) if c not in METADATA_COLUMNS]


def _failure(source: _Source, problem: str) -> RowFailure:
    where = f"line {source.line}: " if source.line is not None else f"item {source.index + 1} of the list: "
    return RowFailure(source.index, where + problem, source.line)


def _column_hint(fmt: str) -> str:
    where = "the CSV header" if fmt == "csv" else "every row's keys"
    return (
        f"Add the missing columns to {where} (names must match the template's variables), "
        "or choose the prompt the dataset was made for."
    )
