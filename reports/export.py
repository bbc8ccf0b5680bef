"""The compliance export: everything that happened in a period, as data files an auditor can
check are complete and unchanged.

``ComplianceExport(settings, principal).run(scope, folder, formats)`` writes, for a
``RunFilter`` scope with a period, one file per dataset (``storage.export_rows.DATASETS``)
and format (CSV, JSON Lines), optionally the PDF report (``reports.pdf_report``), and
``manifest.json`` last (``reports.manifest``). In order:

1. the principal must hold ``Permission.EXPORT``; the scope needs both ends of its period;
   a folder that is not empty is refused unless ``force`` (which replaces only an earlier
   export's own files, and refuses a folder holding anything else);
2. the audit chain is verified; every dataset is counted and then streamed, ``PAGE`` rows a
   query, inside one snapshot of the database (``storage.export_rows``), into files under a
   temporary folder inside the output folder, each hashed (SHA-256) as it is written;
3. before a page is written, every text value in it is checked for personal data
   (``security.pii.scan``, see ``CHECKS``); a finding stops the export: the error names the
   file, the row, the column and the entity type, never the value;
4. the counts read must equal the counts taken; the PDF (if asked for) is written after the
   data passed the check, from the same scope;
5. the files are renamed into place, the manifest (signed when a key is configured) is
   written last, and the export is an ``export`` audit event (scope, formats, rows, hashes;
   no text). If anything fails, the temporary folder is removed, files already moved are
   removed again and no manifest is written: a folder with a manifest is a complete export.

``progress(done, total, what)`` follows the rows. ``opener(path)`` opens each data file for
binary writing (a seam for tests; default ``open(path, "xb")``).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote

from config.errors import ConfigError, InputError, ScrubbingError, StorageError
from reports.csv_cells import cell, text_cell
from reports.manifest import FORMAT, MANIFEST, export_file_names, file_digest, sign, signing_key
from security.identity import Permission
from storage import export_rows, migrate
from storage.audit import audit_log
from storage.engine import make_engine
from storage.export_rows import DATASETS, PAGE

if TYPE_CHECKING:
    from config.settings import Settings
    from security.identity import Principal
    from security.pii.scan import PIIScanner
    from storage.audit import AuditLog
    from storage.run_filter import RunFilter

FORMATS = ("csv", "jsonl", "pdf")
DATA_FORMATS = ("csv", "jsonl")
PDF_NAME = "report.pdf"
PARTIAL_PREFIX = ".export-"
PARTIAL_SUFFIX = ".partial"
TOOL = "PromptForge"
Progress = Callable[[int, int, str], None]
Opener = Callable[[Path], IO[bytes]]

# -- the columns of each dataset ----------------------------------------------------------------
#
# kind: id (names, ids, enumerations: written as is, not checked), text, time (ISO 8601 UTC),
# number, bool, json (nested in JSON Lines, canonical JSON text in CSV), stored_json (an audit
# event's details: the exact stored text, which its hash covers). check: how its text is
# checked for personal data before it is written (None: not checked):
#   "patterns"  every recognizer but spaCy's NER, on every string (JSON: every string value)
#   "full"      the full analyzer, NER included: text people typed (comments, reasons)
#   "run"       a run's input, output and variables: ``settings.export_pii_scan`` decides (a
#               variable's value that appears verbatim in the input is checked there, in context)
#   "scrub"     text the app stores as typed (a label request's reason, an approver's note):
#               scrubbed on the way out with the scrubber's policy, then checked (patterns)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "id"
    check: str | None = None
    within: str | None = None  # a string found verbatim in this other column is checked there


def _columns(spec: str) -> tuple[Column, ...]:
    """``"name:kind:check:within name ..."`` (kind defaults to id, check and within to none)."""
    out = []
    for word in spec.split():
        name, kind, check, within = (word.split(":") + ["", "", ""])[:4]
        out.append(Column(name, kind or "id", check or None, within or None))
    return tuple(out)


COLUMNS: dict[str, tuple[Column, ...]] = {
    "runs": _columns(
        "record_id app_name app_version status error:text:patterns provider model simulated:bool "
        "latency_s:number input_tokens:number output_tokens:number cost_usd:number started_at:time ended_at:time "
        "batch_id dataset_row:number actor injection_action pii_in:json pii_out:json decisions:json:patterns "
        "variables:json:run:input_text input_text:text:run output_text:text:run"
    ),
    "metric_results": _columns(
        "record_id name value:number status higher_is_better:bool explanation:text:patterns recorded_at:time"
    ),
    "annotations": _columns(
        "id queue_id record_id reviewer kind rubric rubric_version:number scores:json:patterns comments:json:full "
        "created_at:time supersedes superseded_by"
    ),
    "label_moves": _columns(
        "history_id slug label from_version:number to_version:number previous_version_id new_version_id moved_by "
        "moved_at:time"
    ),
    "label_requests": _columns(
        "id slug version:number label reason:text:scrub requested_by requested_at:time status decided_by "
        "decided_at:time note:text:scrub comparison_id"
    ),
    "comparisons": _columns(
        "id title:text:patterns slug side_a:json:patterns side_b:json:patterns dataset dataset_id total_rows:number "
        "metrics:json:patterns guards:json repeats:number run_ids:json reused:json status error:text:patterns "
        "statistics:json:patterns decision:json:full decided_by decided_at:time created_by created_at:time"
    ),
    "comparison_preferences": _columns(
        "comparison_id dataset_row:number actor preference comment:text:full recorded_at:time"
    ),
    "user_changes": _columns(
        "seq:number ts:time actor action target details:stored_json:patterns alg prev_hash hash"
    ),
    "audit_events": _columns(
        "seq:number ts:time actor action target details:stored_json:patterns alg prev_hash hash"
    ),
}
# entity types the check does not report (unless pii.entities names them): a URL in an export is a
# provider's address in an error or a setting; personal data inside a URL (an e-mail address, a
# phone number) is still found by its own recognizer
NOT_CHECKED = ("URL",)
# a URL is checked as its parts: the host (``compat:m@http://10.0.0.5:8000/v1``, a provider's address in a
# setting or an error) is a server's address, not a person's, and is left out; the path, query and
# fragment are checked as words (``?owner=maria@example.org`` is an e-mail address, which the URL's own
# match would otherwise cover)
_URL = re.compile(r"(?:https?|wss?|ftp)://(?:[^\s/?#@]*@)?(?:\[[0-9a-fA-F:.]+\]|[^\s/?#:]+)(?::\d+)?([^\s]*)")


def _url_parts(match: re.Match[str]) -> str:
    return " " + re.sub(r"[/?#&=;+]+", " ", unquote(match.group(1))) + " "
# ids and digests (record ids, hashes, UUIDs): lower-case hexadecimal with letters and digits, not
# checked (no phone, card or account number has the letters a-f, and an IBAN is upper-case)
ID_SHAPED = re.compile(
    r"(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{16,128}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
# what names a row in an error message
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "runs": ("record_id",),
    "metric_results": ("record_id", "name"),
    "annotations": ("id", "record_id"),
    "label_moves": ("history_id",),
    "label_requests": ("id",),
    "comparisons": ("id",),
    "comparison_preferences": ("comparison_id", "dataset_row", "actor"),
    "user_changes": ("seq",),
    "audit_events": ("seq",),
}


class PIIFoundError(ScrubbingError):
    """Personal data found in text about to be exported: the export stopped, nothing was kept.
    Names where (file, row, column, entity type), never the value."""

    def __init__(
        self, dataset: str, files: list[str], row: int, key: str, column: str, entity_types: list[str], more: int
    ) -> None:
        self.dataset, self.files, self.row, self.key = dataset, files, row, key
        self.column, self.entity_types, self.more = column, entity_types, more
        where = " and ".join(files) if files else f"the {dataset} data"
        found = ", ".join(entity_types)
        also = f" ({more} more finding{'s' if more != 1 else ''} in the same page of rows)" if more else ""
        super().__init__(
            f"Personal data found in {where}: row {row:,} ({key}), column {column} holds {_article(found)} {found}{also}. "
            "The export stopped; nothing was kept.",
            "Stored text should already be scrubbed: find how this value was stored (the audit trail shows who "
            "wrote the row), then export again, or leave the row out with a narrower scope.",
        )


def _article(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    export_id: str
    manifest: dict[str, Any]
    seconds: float

    @property
    def files(self) -> list[dict[str, Any]]:
        return self.manifest["files"]

    @property
    def rows(self) -> dict[str, int]:
        return self.manifest["datasets"]

    @property
    def empty(self) -> bool:
        return bool(self.manifest["empty"])

    @property
    def signed(self) -> bool:
        return self.manifest.get("signature") is not None


class ComplianceExport:
    """Compliance exports for ``principal`` (who must hold ``Permission.EXPORT``).

    ``engine``, ``audit``, ``scanner`` and ``scrubber`` default to the ones ``settings``
    configure (the Presidio models load on first use).
    """

    def __init__(
        self,
        settings: Settings,
        principal: Principal,
        *,
        engine=None,
        audit: AuditLog | None = None,
        scanner: PIIScanner | None = None,
        scrubber=None,
        opener: Opener | None = None,
        page: int = PAGE,
    ) -> None:
        self.settings, self.principal = settings, principal
        self.engine = engine if engine is not None else make_engine(settings)
        self.audit = audit if audit is not None else audit_log(settings, self.engine)
        self._scanner, self._scrubber = scanner, scrubber
        self.opener = opener or _open_new
        self.page = page

    @property
    def scanner(self) -> PIIScanner:
        if self._scanner is None:
            from security.pii.scan import get_scanner

            self._scanner = get_scanner(self.settings, ignore=NOT_CHECKED)
        return self._scanner

    @property
    def scrubber(self):
        if self._scrubber is None:
            from security.pii import get_scrubber

            self._scrubber = get_scrubber(self.settings)
        return self._scrubber

    def scope_options(self) -> dict[str, list]:
        """Prompts, versions, review queues and reviewers an export scope can name."""
        self.principal.require(Permission.EXPORT, "export compliance data")
        migrate.ensure(self.engine)
        with export_rows.snapshot(self.engine) as conn:
            return export_rows.scope_options(conn)

    def default_folder(self) -> Path:
        """A new folder for an export made now by the principal: ``<export_dir>/<UTC time>-<name>``."""
        base = Path(self.settings.export_dir or Path(self.settings.data_dir) / "exports")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{stamp}-{re.sub(r'[^A-Za-z0-9._-]+', '-', self.principal.name).strip('-.') or 'user'}"
        folder, n = base / name, 2
        while folder.exists():  # a second export within the same second
            folder, n = base / f"{name}-{n}", n + 1
        return folder

    # -- the export -------------------------------------------------------------------------------

    def run(
        self,
        scope: RunFilter,
        folder: Path | str,
        formats: Iterable[str] = DATA_FORMATS,
        *,
        force: bool = False,
        pdf_appendix: bool = False,
        progress: Progress | None = None,
    ) -> ExportResult:
        """Write the export of ``scope`` into ``folder`` (see the module docstring)."""
        self.principal.require(Permission.EXPORT, "export compliance data")
        started = time.perf_counter()
        export_rows.check_scope(scope)
        formats = _check_formats(formats)
        write_pdf = _pdf_writer() if "pdf" in formats else None
        folder = Path(folder).expanduser()
        replaced = _prepare_folder(folder, force)
        progress = progress or (lambda done, total, what: None)
        migrate.ensure(self.engine)
        verification = self.audit.verify()

        export_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)
        created = not folder.exists()
        staging = folder / f"{PARTIAL_PREFIX}{export_id}{PARTIAL_SUFFIX}"
        try:
            _mkdir(staging)
            data = self._write_data(scope, formats, staging, progress)
            files = data["files"]
            if write_pdf is not None:
                files.append(self._write_pdf(write_pdf, scope, staging, pdf_appendix, progress))
            manifest = self._manifest(export_id, scope, formats, data, verification)
            self._commit(folder, staging, files, manifest, replaced)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if created:
                _remove_if_empty(folder)
            raise
        try:
            self._record(export_id, scope, formats, manifest, folder)
        except BaseException:
            _remove_export(folder, [f["name"] for f in files])  # an export the audit trail lacks does not exist
            raise
        rows = sum(manifest["datasets"].values())
        progress(rows, rows, "done")
        return ExportResult(folder, export_id, manifest, time.perf_counter() - started)

    def _write_data(self, scope: RunFilter, formats: list[str], staging: Path, progress: Progress) -> dict[str, Any]:
        data_formats = [f for f in formats if f in DATA_FORMATS]
        with export_rows.snapshot(self.engine) as conn:
            gate = _Gate(self.scanner, self.settings.export_pii_scan, export_rows.prompt_slugs(conn))
            sources = export_rows.sources(scope)
            counts = {
                "runs": export_rows.count(conn, export_rows.run_source(scope)),
                "metric_results": export_rows.count_metric_results(conn, scope),
                **{source.name: export_rows.count(conn, source) for source in sources},
            }
            total = sum(counts.values())
            done = 0
            progress(0, total, "counting")
            sinks: dict[str, _Sinks] = {}
            try:
                for name in DATASETS:
                    sinks[name] = _Sinks(name, data_formats, staging, self.opener)
                run_columns = [c.name for c in COLUMNS["runs"]]
                for runs, metrics in export_rows.run_pages(conn, scope, self.page, run_columns):
                    for name, rows in (("runs", runs), ("metric_results", metrics)):
                        gate.check(name, rows, sinks[name])
                        sinks[name].write(rows)
                        done += len(rows)
                    progress(done, total, "runs")
                for source in sources:
                    sink = sinks[source.name]
                    for rows in export_rows.pages(conn, source, self.page):
                        rows = self._scrub(source.name, rows)
                        gate.check(source.name, rows, sink)
                        sink.write(rows)
                        done += len(rows)
                        progress(done, total, source.name)
                head = export_rows.audit_tail(conn)
            except BaseException:
                for sink in sinks.values():
                    sink.close(quiet=True)
                raise
            for sink in sinks.values():
                sink.close()
        for name, sink in sinks.items():
            if sink.rows != counts[name]:
                raise StorageError(
                    f"The {name} rows read ({sink.rows:,}) differ from the rows counted ({counts[name]:,}).",
                    "The database changed under the export's snapshot; export again.",
                )
        progress(total, total, "data written")
        return {
            "counts": counts,
            "files": [f for name in DATASETS for f in sinks[name].entries()],
            "head": head,
            "checked": gate.summary(),
        }

    def _scrub(self, dataset: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Columns the app stores as typed are scrubbed on the way out (``check="scrub"``)."""
        columns = [c.name for c in COLUMNS[dataset] if c.check == "scrub"]
        texts = [(row, name) for row in rows for name in columns if isinstance(row.get(name), str) and row[name].strip()]
        if texts:
            results = self.scrubber.scrub_many([row[name] for row, name in texts])
            for (row, name), result in zip(texts, results, strict=True):
                row[name] = result.text
        return rows

    def _write_pdf(self, write_pdf, scope: RunFilter, staging: Path, appendix: bool, progress: Progress) -> dict[str, Any]:
        path = staging / PDF_NAME

        def step(done: int, total: int, what: str = "PDF report") -> None:
            progress(done, total, f"PDF: {what}")

        try:
            summary = write_pdf(
                self.engine, scope, path, generated_by=self.principal.actor, settings=self.settings,
                appendix=appendix, progress=step,
            )
        except OSError as exc:
            raise _write_error(exc, path, None) from None
        size, digest = file_digest(path)
        entry = {"name": PDF_NAME, "dataset": None, "format": "pdf", "rows": None, "bytes": size, "sha256": digest}
        if isinstance(summary, dict):
            entry["summary"] = json.loads(json.dumps({k: v for k, v in summary.items() if k != "path"}, default=str))
        return entry

    def _manifest(self, export_id: str, scope: RunFilter, formats: list[str], data: dict[str, Any], verification) -> dict[str, Any]:
        counts = data["counts"]
        head = data["head"]
        chain = {
            "verified": verification.ok,
            "events_checked": verification.checked,
            "verdict": verification.verdict,
            "head": {"seq": head[0], "hash": head[1], "alg": head[2]} if head else {"seq": 0, "hash": None, "alg": None},
        }
        if not verification.ok:
            chain.update(first_bad_seq=verification.first_bad_seq, problem=verification.problem)
        manifest = {
            "format": FORMAT,
            "export_id": export_id,
            "generated_by": self.principal.actor,
            "generated_at": _iso(datetime.now(UTC).replace(tzinfo=None)),
            "tool": _tool(),
            "database": self.engine.dialect.name,
            "scope": scope.describe(),
            "formats": formats,
            "empty": sum(counts.values()) == 0,
            "datasets": counts,
            "files": data["files"],
            "pii_check": data["checked"],
            "audit_chain": chain,
        }
        return sign(manifest, signing_key(self.settings))

    def _commit(self, folder: Path, staging: Path, files: list[dict[str, Any]], manifest: dict[str, Any], replaced: list[str]) -> None:
        """Move the files into place, the manifest last; on failure remove what was moved."""
        moved: list[str] = []
        target = folder
        try:
            for name in [MANIFEST, *replaced]:  # an earlier export (force): its manifest goes first
                target = folder / name
                target.unlink(missing_ok=True)
            for entry in files:
                target = folder / entry["name"]
                os.replace(staging / entry["name"], target)
                moved.append(entry["name"])
            target = folder / MANIFEST
            with self.opener(staging / MANIFEST) as fh:
                fh.write((json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
            os.replace(staging / MANIFEST, target)
        except OSError as exc:
            _remove_export(folder, moved)
            raise _write_error(exc, target, None) from None
        except BaseException:
            _remove_export(folder, moved)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _record(self, export_id: str, scope: RunFilter, formats: list[str], manifest: dict[str, Any], folder: Path) -> None:
        details = {
            "export_id": export_id,
            "scope": scope.describe(),
            "formats": formats,
            "empty": manifest["empty"],
            "rows": manifest["datasets"],
            "files": {f["name"]: f["sha256"] for f in manifest["files"]},
            "manifest_sha256": file_digest(folder / MANIFEST)[1],
            "signed": manifest["signature"] is not None,
        }
        self.audit.append(self.principal.actor, "export", f"export:{export_id}", details)


# -- the PII gate -------------------------------------------------------------------------------------


class _Gate:
    """Checks every text value of a page of rows before it is written (see ``COLUMNS``)."""

    def __init__(self, scanner: PIIScanner, run_depth: str, slugs: Iterable[str] = ()) -> None:
        self.scanner, self.run_depth = scanner, run_depth
        self.slugs = _names_pattern(slugs)
        self.texts = {"patterns": 0, "full": 0}

    def check(self, dataset: str, rows: list[dict[str, Any]], sink: _Sinks) -> None:
        by_depth: dict[str, dict[str, list[tuple[int, str]]]] = {"patterns": {}, "full": {}}
        for i, row in enumerate(rows):
            names = _own_names(dataset, row)
            for column in COLUMNS[dataset]:
                if column.check is None:
                    continue
                depth = self.run_depth if column.check == "run" else "full" if column.check == "full" else "patterns"
                within = (row.get(column.within) or "") if column.within else ""
                for path, text in _strings(row.get(column.name), column):
                    if text.strip() and not ID_SHAPED.fullmatch(text) and text not in within:
                        text = _URL.sub(_url_parts, _without(text, names, self.slugs))
                        if text.strip():
                            by_depth[depth].setdefault(text, []).append((i, path))
        findings: list[tuple[int, str, list[str]]] = []
        for depth, texts in by_depth.items():
            if not texts:
                continue
            unique = list(texts)
            self.texts[depth] += len(unique)
            for text, types in zip(unique, self.scanner.scan(unique, depth), strict=True):
                if types:
                    findings += [(i, path, types) for i, path in texts[text]]
        if findings:
            i, path, types = min(findings)
            key = ", ".join(f"{k} {rows[i].get(k)}" for k in ROW_KEYS[dataset])
            raise PIIFoundError(dataset, sink.names(), sink.rows + i + 1, key, path, types, len(findings) - 1)

    def summary(self) -> dict[str, Any]:
        return {
            "analyzer": "Presidio with PromptForge's recognizers and the PII policy's thresholds",
            "run_text": self.run_depth,
            "texts_checked": dict(self.texts),
            "findings": 0,
        }


def _own_names(dataset: str, row: dict[str, Any]) -> tuple[str, ...]:
    """The row's own identifiers (its id columns: a comparison's id, a slug, an actor)."""
    names = {row.get(c.name) for c in COLUMNS[dataset] if c.kind == "id"}
    return tuple(n for n in names if isinstance(n, str) and len(n) >= 3)


def _names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """Whole-word occurrences of any of ``names``, longest first; a name that is only part of a
    longer token (``call-212`` in ``call-212-555-0143``) does not match."""
    ordered = sorted({n for n in names if n and len(n) >= 3}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(rf"(?<![\w.-])(?:{'|'.join(map(re.escape, ordered))})(?![\w-]|\.\w)")


def _without(text: str, names: tuple[str, ...], slugs: re.Pattern[str] | None) -> str:
    """``text`` with the names the app wrote itself blanked: the row's own identifiers and the
    workspace's prompt slugs. They are exported unchecked in their own columns; where checked
    text repeats one (a default title "slug: v1 vs v2", a side's "slug@v2", an audit event's
    ``app``) it is not checked again, since a slug such as ``loan-2024-0611`` is a name the app
    validated, not a phone number. Text around them is still checked."""
    if slugs is not None:
        text = slugs.sub(" ", text)
    present = [n for n in names if n in text]
    if present:
        text = _names_pattern(present).sub(" ", text)  # type: ignore[union-attr]
    return text


def _strings(value: Any, column: Column, path: str | None = None) -> Iterator[tuple[str, str]]:
    """(where, text) of every string in a value: itself, or every string value of JSON."""
    path = path or column.name
    if column.kind == "stored_json" and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            yield path, value
            return
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, Column(column.name, "json"), f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for k, item in enumerate(value):
            yield from _strings(item, Column(column.name, "json"), f"{path}[{k}]")


# -- writing the files --------------------------------------------------------------------------------


class _WriteFailed(Exception):
    def __init__(self, exc: OSError, path: Path, rows: int) -> None:
        super().__init__(str(exc))
        self.exc, self.path, self.rows = exc, path, rows


class _File:
    """One data file being written: counts rows and bytes and hashes what it writes."""

    def __init__(self, path: Path, fh: IO[bytes]) -> None:
        self.path, self.fh = path, fh
        self.digest = hashlib.sha256()
        self.bytes = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.fh.write(data)
        self.digest.update(data)
        self.bytes += len(data)
        return len(text)


class _Sinks:
    """A dataset's files, one per format; a row is written to each."""

    def __init__(self, dataset: str, formats: list[str], folder: Path, opener: Opener) -> None:
        self.dataset, self.formats = dataset, formats
        self.columns = COLUMNS[dataset]
        self.rows = 0
        self._files: dict[str, _File] = {}
        self._csv = None
        for fmt in formats:
            path = folder / f"{dataset}.{fmt}"
            try:
                self._files[fmt] = _File(path, opener(path))
            except OSError as exc:
                raise _write_error(exc, path, 0) from None
        if "csv" in self._files:
            self._csv = csv.writer(self._files["csv"])
            self._guard(self._files["csv"], lambda: self._csv.writerow([c.name for c in self.columns]))

    def names(self) -> list[str]:
        return [f"{self.dataset}.{fmt}" for fmt in self.formats]

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if self._csv is not None:
                cells = [_csv_cell(row.get(c.name), c) for c in self.columns]
                self._guard(self._files["csv"], lambda cells=cells: self._csv.writerow(cells))
            if "jsonl" in self._files:
                record = {c.name: _json_value(row.get(c.name), c) for c in self.columns}
                line = json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"
                self._guard(self._files["jsonl"], lambda line=line: self._files["jsonl"].write(line))
            self.rows += 1

    def _guard(self, file: _File, write: Callable[[], Any]) -> None:
        try:
            write()
        except OSError as exc:
            raise _write_error(exc, file.path, self.rows) from None

    def close(self, quiet: bool = False) -> None:
        """Close every file (``quiet``: ignoring errors, when the export already failed)."""
        for file in self._files.values():
            try:
                file.fh.close()
            except OSError as exc:
                if not quiet:
                    raise _write_error(exc, file.path, self.rows) from None

    def entries(self) -> list[dict[str, Any]]:
        return [
            {
                "name": f.path.name, "dataset": self.dataset, "format": fmt, "rows": self.rows,
                "bytes": f.bytes, "sha256": f.digest.hexdigest(),
            }
            for fmt, f in self._files.items()
        ]


def _open_new(path: Path) -> IO[bytes]:
    return open(path, "xb")


def _write_error(exc: OSError, path: Path, rows: int | None) -> StorageError:
    """The error of a failed write (the caller removes what the export wrote)."""
    after = f" after {rows:,} rows" if rows else ""
    name = path.name if path.parent.name.startswith(PARTIAL_PREFIX) else str(path)
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return StorageError(
            f"The disk is full: writing {name}{after} failed. The export stopped; its partial files were "
            "removed and no manifest was written.",
            "Free space on that disk, or export to another folder.",
        )
    return StorageError(
        f"Cannot write {name}{after}: {exc.strerror or exc}. The export stopped; its partial files were removed "
        "and no manifest was written.",
        "Check that the folder is writable, or export to another folder.",
    )


def _csv_cell(value: Any, column: Column) -> str:
    if value is None:
        return ""
    if column.kind == "time":
        return _iso(value)
    if column.kind in ("number", "bool"):
        return cell(bool(value) if column.kind == "bool" else value)
    if column.kind == "json":
        return text_cell(json.dumps(_finite(value), ensure_ascii=False, sort_keys=True, allow_nan=False))
    return text_cell(str(value))


def _json_value(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.kind == "time":
        return _iso(value)
    if column.kind == "bool":
        return bool(value)
    if column.kind == "number":
        return _finite(value)
    if column.kind == "json":
        return _finite(value)
    return str(value)


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _iso(value: Any) -> str:
    """A stored time (naive UTC) as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def zip_export(folder: Path | str) -> bytes:
    """The export folder as a .zip (its files under the folder's name), built in memory; the
    manifest inside still verifies the files once unpacked."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.name}")
    return buffer.getvalue()


# -- the output folder ----------------------------------------------------------------------------------


def _check_formats(formats: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(f.strip().lower() for f in formats))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise InputError(f"Unknown export format {unknown[0]!r}.", f"Use {', '.join(FORMATS)}.")
    if not chosen:
        raise InputError("No export format was chosen.", f"Pick at least one of {', '.join(FORMATS)}.")
    return [f for f in FORMATS if f in chosen]


def _pdf_writer():
    """``reports.pdf_report.write_pdf_report``, imported when a PDF is asked for."""
    try:
        from reports.pdf_report import write_pdf_report
    except ModuleNotFoundError as exc:
        if exc.name != "reports.pdf_report":
            raise
        raise ConfigError(
            "The PDF report is not available in this installation (reports/pdf_report.py is missing).",
            "Export CSV or JSON Lines, or update PromptForge.",
        ) from None
    return write_pdf_report


def _prepare_folder(folder: Path, force: bool) -> list[str]:
    """Refuse a folder that is not empty (unless ``force``) or holds anything an export did not
    write; returns the earlier export's files that ``force`` will replace."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder.", "Choose a folder for the export.")
    if not folder.exists():
        return []
    entries = sorted(p.name for p in folder.iterdir())
    if not entries:
        return []
    if not force:
        raise InputError(
            f"The folder {folder} is not empty.",
            "Choose a new or empty folder, or pass --force to replace an earlier export in it (only its own files).",
        )
    ours = export_file_names(DATASETS, FORMATS)
    foreign = [name for name in entries if name not in ours and not _is_partial(name)]
    if foreign:
        raise InputError(
            f"The folder {folder} holds {len(foreign)} file{'s' if len(foreign) != 1 else ''} an export did not "
            f"write (e.g. {foreign[0]}); --force replaces only an earlier export's own files.",
            "Choose another folder, or move those files away first.",
        )
    for name in entries:
        if _is_partial(name):  # left by an export that was killed
            shutil.rmtree(folder / name, ignore_errors=True)
    return [name for name in entries if name in ours and name != MANIFEST]


def _is_partial(name: str) -> bool:
    return name.startswith(PARTIAL_PREFIX) and name.endswith(PARTIAL_SUFFIX)


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise _write_error(exc, path, None) from None


def _remove_export(folder: Path, names: Iterable[str]) -> None:
    for name in [MANIFEST, *names]:
        try:
            (folder / name).unlink(missing_ok=True)
        except OSError:
            pass


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _tool() -> dict[str, Any]:
    """The tool's name, version and git commit (when the project is a git checkout)."""
    root = Path(__file__).resolve().parent.parent
    version = None
    try:
        match = re.search(r'^version\s*=\s*"([^"]+)"', (root / "pyproject.toml").read_text(encoding="utf-8"), re.M)
        version = match.group(1) if match else None
    except OSError:
        pass
    return {"name": TOOL, "version": version, "commit": _git_commit(root / ".git")}


def _git_commit(git: Path) -> str | None:
    """The checked-out commit, read from the git folder's files (no git process)."""
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head or None
        ref = head[5:]
        path = git / ref
        if path.is_file():
            return path.read_text(encoding="utf-8").strip() or None
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    except OSError:
        return None
    return None
