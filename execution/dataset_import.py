"""Importing an uploaded dataset: validate, scrub every value, store, audit.

``import_dataset`` reads a CSV, JSON-lines or JSON file (``execution.datasets``: formats,
columns, limits, and which problems reject the file or just a row), checks every value
is plain text, scrubs every value with the Presidio scrubber like any prompt (one
``PseudonymMap`` per row, so a name repeated in a row, its expected output or its context
gets the same placeholder), stores only the scrubbed rows in TruLens's dataset tables
(``storage.datasets``) and appends a ``dataset_import`` audit event whose details are
counts, never values. When the file is unusable, no row is usable or scrubbing fails,
nothing is stored. Rejected rows are reported by row, line and column.

``resolve_dataset`` is the command line's way in: a dataset NAME (or id) names a stored
dataset; a FILE path is imported (scrubbed, stored as STEM-<content hash>) first.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from config.errors import DatasetError, InputError
from config.settings import Settings
from execution.datasets import (
    ALIASES,
    MAX_DATASET_BYTES,
    METADATA_COLUMNS,
    SUFFIXES,
    DatasetFile,
    RowFailure,
    dataset_columns,
    read_dataset,
)
from security.pii import PseudonymMap, Scrubber
from security.text import check_text
from storage.datasets import DatasetExistsError, DatasetStore, check_name

logger = logging.getLogger(__name__)

ACTION = "dataset_import"
SCRUB_CHUNK_ROWS = 256  # rows scrubbed per call (progress is reported between chunks)

Row = dict[str, str]
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    """What an import did. Names columns and entity types; never holds a value."""

    name: str
    dataset_id: str
    rows_stored: int
    rows_total: int  # data rows in the file
    rejected: list[RowFailure] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # variable columns stored
    ignored_columns: list[str] = field(default_factory=list)
    entities: dict[str, int] = field(default_factory=dict)  # PII entities scrubbed, per type
    has_expected: bool = False
    has_context: bool = False
    replaced: bool = False
    format: str = ""
    seconds: float = 0.0

    @property
    def rows_rejected(self) -> int:
        return len(self.rejected)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rejected"] = [{"row": f.row, "line": f.line, "error": f.error} for f in self.rejected]
        out["rows_rejected"] = self.rows_rejected
        return out


def import_dataset(
    data: bytes,
    filename: str,
    name: str,
    *,
    settings: Settings,
    scrubber: Scrubber,
    store: Any,
    actor: Any,
    template_variables: Sequence[str] | None = None,
    replace: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate, scrub and store an uploaded dataset file as the dataset ``name``.

    ``filename`` gives the format by its extension. ``actor`` is the audit actor string,
    or a ``Principal`` (which must hold the ``evaluate`` permission). With
    ``template_variables`` every variable needs a column and other columns are ignored.
    Raises ``DatasetError`` (unusable file, no usable row), ``DatasetExistsError`` (name
    taken and not ``replace``), ``ScrubbingError`` or ``StorageError``; then nothing is stored.
    """
    started = time.perf_counter()
    actor = _actor(actor)
    name = check_name(name)
    _check_name_is_not_personal(name, scrubber)
    if len(data) > MAX_DATASET_BYTES:
        raise DatasetError(
            f"The dataset is {len(data) / 2**20:.1f} MB; the limit is {MAX_DATASET_BYTES // 2**20} MB.",
            "Split it into smaller files.",
        )
    parsed = read_dataset(
        data,
        filename,
        template_variables=template_variables,
        max_rows=settings.max_dataset_rows,
        max_value_chars=settings.max_variable_chars,
        check_header=_header_check(scrubber),
    )
    parsed = _only_plain_text(parsed)
    datasets = DatasetStore(store)
    existed = datasets.exists(name)
    if existed and not replace:  # before the expensive part; save_dataset checks again under a lock
        raise DatasetExistsError(
            f"A dataset named {name!r} already exists.", "Pick another name, or choose to replace it."
        )
    scrubbed, entities = scrub_rows(parsed.rows, scrubber, progress=progress)
    meta = {
        "format": parsed.format,
        "created_by": actor,
        "scrubbed": True,
        "entities": entities,
        "rows_in_file": parsed.total,
        "rows_rejected": len(parsed.failures),
        "template_variables": None if template_variables is None else list(dict.fromkeys(template_variables)),
    }
    dataset_id = datasets.save_dataset(name, scrubbed, meta, replace=replace, source_rows=parsed.row_numbers)
    report = ImportReport(
        name=name,
        dataset_id=dataset_id,
        rows_stored=len(scrubbed),
        rows_total=parsed.total,
        rejected=parsed.failures,
        columns=parsed.columns,
        ignored_columns=parsed.ignored,
        entities=entities,
        has_expected=parsed.has_expected,
        has_context=parsed.has_context,
        replaced=existed,
        format=parsed.format,
    )
    try:
        _audit(settings, store, actor, report)
    except BaseException:
        try:
            datasets.delete_dataset(dataset_id)  # no dataset without its audit event
        except Exception:  # noqa: BLE001  the audit failure is the error to report
            logger.exception("could not remove dataset %s after its audit event failed", dataset_id)
        raise
    report.seconds = time.perf_counter() - started
    return report


def scrub_rows(
    rows: Sequence[Row], scrubber: Scrubber, *, progress: Progress | None = None
) -> tuple[list[Row], dict[str, int]]:
    """Every non-blank value of every row scrubbed, one ``PseudonymMap`` per row; and the
    entities replaced, per type. Fails closed: any scrubbing error propagates.

    A value the scrubber found in one cell of a row is also replaced wherever else it
    occurs in that row, with the same placeholder: the model does not see every mention
    in a context where it recognises it (a name alone in a ``customer`` cell, the same
    name again after "Case of" in the context)."""
    if len(rows) > SCRUB_CHUNK_ROWS:
        scrubber.warm_up(wait=False)  # the pool's workers load their model while the first chunk runs
    counts: Counter[str] = Counter()
    out: list[Row] = []
    for start in range(0, len(rows), SCRUB_CHUNK_ROWS):
        chunk = rows[start : start + SCRUB_CHUNK_ROWS]
        cells: list[tuple[int, str]] = []
        texts: list[str] = []
        maps: list[PseudonymMap] = []
        for i, row in enumerate(chunk):
            pmap = PseudonymMap()
            for column, value in row.items():
                if value.strip():
                    cells.append((i, column))
                    texts.append(value)
                    maps.append(pmap)
        results = scrubber.scrub_many(texts, maps) if texts else []
        scrubbed = [dict(row) for row in chunk]
        found: list[dict[str, tuple[str, str]]] = [{} for _ in chunk]
        for (i, column), text, result in zip(cells, texts, results, strict=True):
            scrubbed[i][column] = result.text
            counts.update(result.counts_by_type())
            for entity in result.entities:
                value = text[entity.start : entity.end].strip()
                if entity.replacement is not None and len(value) >= 3 and any(c.isalnum() for c in value):
                    found[i].setdefault(value.casefold(), (entity.type, entity.replacement))
        for row, values in zip(scrubbed, found, strict=True):
            if values:
                counts.update(_replace_mentions(row, values))
        out.extend(scrubbed)
        if progress:
            progress(len(out), len(rows))
    return out, dict(sorted(counts.items()))


def _replace_mentions(row: Row, values: dict[str, tuple[str, str]]) -> Counter[str]:
    """Replace, in place, the other mentions of values found in the row; counts per type."""
    counts: Counter[str] = Counter()
    ordered = sorted(values, key=len, reverse=True)  # "Lukas Haddad" before "Lukas"
    pattern = re.compile(
        "|".join(rf"(?<!\w){re.escape(v)}(?!\w)" for v in ordered), re.IGNORECASE
    )

    def swap(match: re.Match[str]) -> str:
        found = values.get(match.group(0).casefold())
        if found is None:  # a case-insensitive match whose case folding differs: leave it
            return match.group(0)
        counts[found[0]] += 1
        return found[1]

    for column, text in row.items():
        if text:
            row[column] = pattern.sub(swap, text)
    return counts


def resolve_dataset(
    name_or_file: str | Path,
    *,
    settings: Settings,
    scrubber: Scrubber | None = None,
    store: Any = None,
    actor: Any = None,
    progress: Progress | None = None,
) -> tuple[str, ImportReport | None]:
    """The stored dataset a NAME-or-FILE argument means: ``(name, import report or None)``.

    An existing FILE is imported (validated, scrubbed, stored) as ``STEM-<first 8 hex
    digits of its SHA-256>`` unless a dataset of that name is stored already: the same file
    given again reuses its rows, an edited file becomes a new dataset. Anything else is
    a dataset's name or id, returned as given (a missing FILE with a dataset suffix is an
    error saying so, not a lookup of a dataset called ``calls.csv``)."""
    import hashlib

    if store is None:
        from storage.trulens_store import open_store

        store = open_store(settings)
    path = Path(name_or_file)
    datasets = DatasetStore(store)
    if not path.is_file():
        key = str(name_or_file)
        if path.suffix.lower() in SUFFIXES and not datasets.exists(key):
            raise DatasetError(f"Dataset file not found: {path}.", "Check the path, or give a stored dataset's name.")
        return key, None
    if path.stat().st_size > MAX_DATASET_BYTES:
        raise DatasetError(
            f"Dataset {path.name} is larger than {MAX_DATASET_BYTES // 2**20} MB.", "Split it into smaller files."
        )
    data = path.read_bytes()
    name = f"{path.stem}-{hashlib.sha256(data).hexdigest()[:8]}"
    if datasets.exists(name):
        return name, None
    if scrubber is None:
        from security.pii import get_scrubber

        scrubber = get_scrubber(settings)
    report = import_dataset(
        data,
        path.name,
        name,
        settings=settings,
        scrubber=scrubber,
        store=store,
        actor=actor if actor is not None else _default_actor(settings),
        progress=progress,
    )
    return name, report


# -- helpers ----------------------------------------------------------------------------


def _check_name_is_not_personal(name: str, scrubber: Scrubber) -> None:
    """Dataset names are stored, listed and audited as they are: they must not be PII."""
    found = scrubber.scrub_many([name, re.sub(r"[_\-.]+", " ", name)])
    kinds = sorted({e.type for result in found for e in result.entities})
    if kinds:
        raise InputError(
            f"The dataset name looks like personal data ({', '.join(kinds)}).",
            "Name the dataset after its purpose (e.g. 'complaints-2025-q1'), not after a person or account.",
        )


def _header_check(scrubber: Scrubber) -> Callable[[list[str]], None]:
    """A check that column names are not personal data (a file without a header row has its
    first row read as the header; column names are stored and shown unscrubbed)."""

    def check(columns: list[str]) -> None:
        names = [c for c in columns if c not in METADATA_COLUMNS and c.casefold() not in ALIASES]
        if not names:
            return
        results = scrubber.scrub_many(names + [n.replace("_", " ") for n in names])
        flagged = {i % len(names): r for i, r in enumerate(results) if r.entities}
        if flagged:
            where = ", ".join(str(columns.index(names[i]) + 1) for i in sorted(flagged))
            kinds = ", ".join(sorted({e.type for r in flagged.values() for e in r.entities}))
            raise DatasetError(
                f"The column names look like data: column {where} holds personal data ({kinds}).",
                "Does the file have a header row? Add one naming the columns (e.g. customer, message, "
                "expected_output) and upload it again.",
            )

    return check


def _only_plain_text(parsed: DatasetFile) -> DatasetFile:
    """Rows whose values are all plain text (what the scrubber accepts); the others rejected."""
    keep = []
    failures = list(parsed.failures)
    for i, (row, number) in enumerate(zip(parsed.rows, parsed.row_numbers, strict=True)):
        line = parsed.lines[i] if i < len(parsed.lines) else None
        for column, value in row.items():
            try:
                check_text(value, f"column '{column}'")
            except InputError as exc:  # names the column, never the value
                where = f"line {line}: " if line is not None else f"item {number + 1} of the list: "
                failures.append(RowFailure(number, f"{where}{exc.message} Remove it, or fix the file's encoding.", line))
                break
        else:
            keep.append(i)
    if len(keep) == len(parsed.rows):
        return parsed
    if not keep:
        raise DatasetError(
            f"None of the {parsed.total} rows of the dataset is usable (first problem: {failures[0]}).",
            "Fix the rows named and upload the file again.",
        )
    failures.sort(key=lambda f: f.row)
    return DatasetFile(
        rows=[parsed.rows[i] for i in keep],
        row_numbers=[parsed.row_numbers[i] for i in keep],
        failures=failures,
        columns=[c for c in dataset_columns(parsed.rows[i] for i in keep) if c not in METADATA_COLUMNS],
        ignored=parsed.ignored,
        total=parsed.total,
        format=parsed.format,
        lines=[parsed.lines[i] for i in keep] if parsed.lines else [],
    )


def _audit(settings: Settings, store: Any, actor: str, report: ImportReport) -> None:
    from storage.audit import audit_log

    audit_log(settings, store.engine).append(
        actor,
        ACTION,
        report.name,
        {
            "dataset_id": report.dataset_id,
            "format": report.format,
            "rows_in_file": report.rows_total,
            "rows_stored": report.rows_stored,
            "rows_rejected": report.rows_rejected,
            "columns": len(report.columns),
            "ignored_columns": len(report.ignored_columns),
            "entities_scrubbed": report.entities,
            "replaced": report.replaced,
        },
    )


def _actor(actor: Any) -> str:
    if isinstance(actor, str) and actor:
        return actor
    if hasattr(actor, "require") and hasattr(actor, "actor"):
        from security.identity.roles import Permission

        actor.require(Permission.EVALUATE, "import datasets")
        return actor.actor
    raise InputError("An import needs an actor for the audit trail.", "Pass the signed-in user's actor name.")


def _default_actor(settings: Settings) -> Any:
    from security.identity.principal import Principal

    return Principal.local("os", settings.actor)
