"""Reading variable rows from CSV or JSON-lines files, with row-level errors.

A bad row is reported (row number and what is wrong, never its values) and the
good rows go on. Columns whose names start with ``_`` are metadata
(``_expected`` for an expected output, ``_context`` for a reference context).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from config.errors import DatasetError

MAX_DATASET_BYTES = 50 * 1024 * 1024


@dataclass
class RowFailure:
    row: int  # 0-based data row index (the CSV header is not a row)
    error: str


def load_rows(path: Path) -> tuple[list[dict[str, str]], list[RowFailure]]:
    """Rows of a ``.csv``, ``.jsonl`` or ``.json`` (a list of objects) file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"Dataset file not found: {path}.", "Check the path.")
    if path.stat().st_size > MAX_DATASET_BYTES:
        raise DatasetError(
            f"Dataset {path.name} is larger than {MAX_DATASET_BYTES // 2**20} MB.", "Split it into smaller files."
        )
    return parse_rows(path.read_bytes(), path.suffix.lower())


def parse_rows(data: bytes, suffix: str) -> tuple[list[dict[str, str]], list[RowFailure]]:
    text = _decode(data)
    if suffix == ".csv":
        return _csv_rows(text)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_rows(text)
    if suffix == ".json":
        return _json_rows(text)
    raise DatasetError(f"Unsupported dataset type '{suffix}'.", "Use .csv, .jsonl or .json.")


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise DatasetError("The dataset looks like a binary file.", "Upload a UTF-8 CSV or JSON-lines file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"The dataset is not UTF-8 (byte {exc.start}).", "Re-save it as UTF-8 (e.g. 'CSV UTF-8' in Excel)."
        ) from None


def _csv_rows(text: str) -> tuple[list[dict[str, str]], list[RowFailure]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DatasetError("The CSV file is empty.", "Add a header row naming the template's variables.") from None
    except csv.Error as exc:
        raise DatasetError(f"The CSV header cannot be read: {exc}.", "Check the quoting of the first line.") from None
    header = [h.strip() for h in header]
    if not any(header) or len(set(header)) != len(header):
        raise DatasetError("The CSV header is empty or repeats a column name.", "Give each column a unique name.")
    rows, failures = [], []
    index = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            failures.append(RowFailure(index, f"unreadable CSV row: {exc}"))
            index += 1
            continue
        if not any(v.strip() for v in values):
            continue  # blank line
        if len(values) != len(header):
            failures.append(RowFailure(index, f"has {len(values)} fields, the header has {len(header)}"))
        else:
            rows.append(dict(zip(header, values)))
        index += 1
    return rows, failures


def _jsonl_rows(text: str) -> tuple[list[dict[str, str]], list[RowFailure]]:
    rows, failures = [], []
    index = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rows.append(_as_row(json.loads(line)))
        except (json.JSONDecodeError, ValueError) as exc:
            failures.append(RowFailure(index, f"not a JSON object of text values ({_short(exc)})"))
        index += 1
    return rows, failures


def _json_rows(text: str) -> tuple[list[dict[str, str]], list[RowFailure]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"The JSON file does not parse (line {exc.lineno}).", "Fix the syntax or use JSON lines.") from None
    if not isinstance(data, list):
        raise DatasetError("The JSON file must hold a list of objects.", "Wrap the rows in [ ... ].")
    rows, failures = [], []
    for index, item in enumerate(data):
        try:
            rows.append(_as_row(item))
        except ValueError as exc:
            failures.append(RowFailure(index, f"not an object of text values ({_short(exc)})"))
    return rows, failures


def _as_row(item: object) -> dict[str, str]:
    if not isinstance(item, dict):
        raise ValueError(f"got {type(item).__name__}")
    row = {}
    for key, value in item.items():
        if isinstance(value, (dict, list)) or value is None:
            raise ValueError(f"column '{key}' is {type(value).__name__}")
        row[str(key)] = value if isinstance(value, str) else json.dumps(value)
    return row


def _short(exc: Exception) -> str:
    return str(exc).split(":")[0][:80]
