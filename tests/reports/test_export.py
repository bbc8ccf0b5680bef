"""The compliance export on a real SQLite file with the real Presidio analyzers: every dataset
round-trips to the database's counts in CSV and JSON Lines, the manifest detects changes and
bad signatures, planted personal data stops the export and says where, bad folders and full
disks leave nothing behind."""

from __future__ import annotations

import csv
import errno
import io
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from config.errors import ConfigError, InputError, PermissionDenied, StorageError
from reports.csv_cells import FORMULA_STARTS, unguard
from reports.export import COLUMNS, PIIFoundError, zip_export
from reports.manifest import MANIFEST, verify_export
from security.identity import Principal, Role
from storage import schema
from storage.audit import hashed_body, sha256_hex
from storage.export_rows import DATASETS, USER_CHANGE_ACTIONS, trulens_tables
from storage.run_filter import RunFilter
from tests.reports.conftest import AUDITOR, IN_PERIOD, build_workspace

pytestmark = pytest.mark.slow  # the Presidio analyzers load once per session
KEY = "0123456789abcdef0123456789abcdef"


def _scope(ws, **fields) -> RunFilter:
    first, last = ws.period
    return RunFilter.for_days(first, last, **fields)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _expected_counts(ws) -> dict[str, int]:
    """The rows of each dataset in the period, counted here with plain SQL."""
    first, last = ws.period
    start, end = RunFilter.for_days(first, last).start, RunFilter.for_days(first, last).end
    a = schema.audit_events.c
    in_period = [schema.runs.c.started_at >= start, schema.runs.c.started_at < end]
    with ws.engine.connect() as conn:
        run_ids = sa.select(schema.runs.c.record_id).where(*in_period)
        history = trulens_tables().PromptLabelHistory.__table__
        return {
            "runs": ws.count(schema.runs, *in_period),
            "metric_results": ws.count(schema.run_metrics, schema.run_metrics.c.record_id.in_(run_ids)),
            "annotations": ws.count(schema.annotations),
            "label_moves": int(conn.execute(sa.select(sa.func.count()).select_from(history)).scalar_one()),
            "label_requests": ws.count(schema.label_requests),
            "comparisons": ws.count(schema.comparisons),
            "comparison_preferences": ws.count(schema.comparison_preferences),
            "user_changes": ws.count(schema.audit_events, a.action.in_(USER_CHANGE_ACTIONS)),
            "audit_events": ws.count(schema.audit_events),
        }


# -- round trip ---------------------------------------------------------------------------------


def test_csv_and_jsonl_hold_every_row_of_every_dataset(workspace, tmp_path):
    ws = workspace
    expected = _expected_counts(ws)
    assert expected["runs"] == IN_PERIOD and expected["label_moves"] >= 4 and expected["user_changes"] == 2
    seen = []
    result = ws.exporter().run(_scope(ws), tmp_path / "out", ["csv", "jsonl"], progress=lambda *a: seen.append(a))

    assert result.rows == expected
    assert not result.empty and not result.signed
    assert seen[-1] == (sum(expected.values()), sum(expected.values()), "done")
    folder = result.folder
    for name in DATASETS:
        from_csv, from_jsonl = _csv_rows(folder / f"{name}.csv"), _jsonl_rows(folder / f"{name}.jsonl")
        assert len(from_csv) == len(from_jsonl) == expected[name], name
        if from_jsonl:
            assert list(from_jsonl[0]) == [c.name for c in COLUMNS[name]]
        with open(folder / f"{name}.csv", newline="", encoding="utf-8") as fh:
            assert next(csv.reader(fh)) == [c.name for c in COLUMNS[name]]
    assert sorted(p.name for p in folder.iterdir()) == sorted([MANIFEST, *(f"{n}.{x}" for n in DATASETS for x in ("csv", "jsonl"))])

    # runs: the scrubbed text as stored, the run outside the period left out
    runs = {r["record_id"]: r for r in _jsonl_rows(folder / "runs.jsonl")}
    assert set(runs) == {r.run_id for r in ws.runs}
    for run in ws.runs:
        assert runs[run.run_id]["input_text"] == run.input_text
        assert runs[run.run_id]["output_text"] == run.output_text
        assert runs[run.run_id]["variables"] == run.variables
    assert [r["started_at"] for r in runs.values()] == sorted(r["started_at"] for r in runs.values())
    assert runs[ws.runs[0].run_id]["started_at"].endswith("Z")
    # CSV: the formula guard, undone by unguard(); JSON nested as text
    csv_runs = {r["record_id"]: r for r in _csv_rows(folder / "runs.csv")}
    formula = csv_runs[ws.runs[1].run_id]
    assert formula["output_text"].startswith("'=") and formula["input_text"].startswith("'+")
    assert unguard(formula["output_text"]) == ws.runs[1].output_text
    assert not any(v.startswith(FORMULA_STARTS) for r in csv_runs.values() for v in r.values())
    assert json.loads(csv_runs[ws.runs[0].run_id]["decisions"]) == ws.runs[0].decisions
    assert csv_runs[ws.runs[2].run_id]["output_text"] == "" and csv_runs[ws.runs[2].run_id]["status"] == "blocked"

    # metric results, human scores included
    metrics = _jsonl_rows(folder / "metric_results.jsonl")
    assert {"toxicity", "total_tokens", "human_accuracy"} == {m["name"] for m in metrics}
    assert all(m["record_id"] in runs for m in metrics)

    # a label request's reason was stored as typed: it is scrubbed on the way out
    (request,) = _jsonl_rows(folder / "label_requests.jsonl")
    assert request["status"] == "approved" and request["decided_by"] == "user:pat"
    assert "jane.doe@example.com" not in request["reason"] and "Jane Doe" not in request["reason"]
    assert "<EMAIL_ADDRESS" in request["reason"]
    assert "jane.doe@example.com" not in (folder / "label_requests.csv").read_text(encoding="utf-8")
    moves = _jsonl_rows(folder / "label_moves.jsonl")
    assert {(m["slug"], m["label"], m["to_version"]) for m in moves} >= {
        ("loan-summary", "staging", 1), ("loan-summary", "production", 2), ("loan-summary", "latest", 2)
    }

    # audit events: each row's hash is recomputed from the exported columns
    events = _jsonl_rows(folder / "audit_events.jsonl")
    for e in events:
        body = hashed_body(e["seq"], e["ts"].removesuffix("Z"), e["actor"], e["action"], e["target"], e["details"], e["alg"], e["prev_hash"])
        assert sha256_hex(body) == e["hash"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    changes = _jsonl_rows(folder / "user_changes.jsonl")
    assert [c["action"] for c in changes] == ["user_created", "roles_changed"]

    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["generated_by"] == "user:aud"
    assert manifest["scope"] == _scope(ws).describe()
    assert manifest["audit_chain"]["verified"] and manifest["audit_chain"]["head"]["seq"] == events[-1]["seq"]
    assert manifest["pii_check"]["findings"] == 0 and manifest["pii_check"]["texts_checked"]["patterns"] > 0
    by_name = {f["name"]: f for f in manifest["files"]}
    assert by_name["runs.csv"]["rows"] == IN_PERIOD and by_name["runs.csv"]["bytes"] == (folder / "runs.csv").stat().st_size

    # the export is an audit event: scope, formats, rows, hashes, no text
    last = ws.audit.list(limit=1)[0]
    assert last.action == "export" and last.actor == "user:aud"
    assert last.details["rows"] == expected and last.details["files"]["runs.csv"] == by_name["runs.csv"]["sha256"]
    assert "Summarise" not in json.dumps(last.details)


def test_scope_filters_runs_by_everything_and_the_rest_by_period_and_prompt(workspace, tmp_path):
    ws = workspace
    audit_events = _expected_counts(ws)["audit_events"]
    result = ws.exporter().run(_scope(ws, prompts=("card-faq",)), tmp_path / "out", ["jsonl"])
    runs = _jsonl_rows(result.folder / "runs.jsonl")
    assert {r["app_name"] for r in runs} == {"card-faq"} and len(runs) == 3
    assert {c["slug"] for c in _jsonl_rows(result.folder / "comparisons.jsonl")} == {"card-faq"}
    assert len(_jsonl_rows(result.folder / "comparison_preferences.jsonl")) == 1
    assert {m["slug"] for m in _jsonl_rows(result.folder / "label_moves.jsonl")} == {"card-faq"}
    assert result.rows["label_requests"] == 0
    annotations = _jsonl_rows(result.folder / "annotations.jsonl")
    assert [a["record_id"] for a in annotations] == [ws.runs[3].run_id]  # of a card-faq run
    assert result.rows["audit_events"] == audit_events  # every event of the period

    versioned = ws.exporter().run(_scope(ws, versions=(("loan-summary", "v2"),), flags=("blocked",)), tmp_path / "v2", ["jsonl"])
    assert versioned.rows["runs"] == 0  # the blocked run is v1
    blocked = ws.exporter().run(_scope(ws, flags=("blocked",)), tmp_path / "blocked", ["jsonl"])
    assert [r["record_id"] for r in _jsonl_rows(blocked.folder / "runs.jsonl")] == [ws.runs[2].run_id]


def test_the_export_reads_one_snapshot(workspace):
    from storage.export_rows import snapshot

    ws = workspace
    with snapshot(ws.engine) as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(schema.audit_events)).scalar_one()
        ws.audit.append("user:ann", "note", "test:snapshot", {})  # another connection writes meanwhile
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.audit_events)).scalar_one() == before
    assert ws.count(schema.audit_events) == before + 1


def test_a_scope_that_matches_nothing_is_an_empty_export(workspace, tmp_path):
    ws = workspace
    result = ws.exporter().run(RunFilter.for_days(date(2099, 1, 1), date(2099, 1, 31)), tmp_path / "out", ["csv", "jsonl"])
    manifest = json.loads((result.folder / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["empty"] is True and set(manifest["datasets"].values()) == {0}
    assert all(f["rows"] == 0 for f in manifest["files"]) and len(manifest["files"]) == 2 * len(DATASETS)
    assert _csv_rows(result.folder / "runs.csv") == [] and (result.folder / "runs.jsonl").read_bytes() == b""
    assert verify_export(result.folder, ws.settings).ok


def test_an_export_needs_the_export_permission_and_a_period(workspace, tmp_path):
    ws = workspace
    reviewer = Principal("rita", frozenset({Role.REVIEWER}))
    with pytest.raises(PermissionDenied, match="may not export"):
        ws.exporter(reviewer).run(_scope(ws), tmp_path / "out")
    with pytest.raises(InputError, match="ends"):
        RunFilter.for_days(date(2026, 3, 5), date(2026, 3, 1))
    with pytest.raises(InputError, match="needs a period"):
        ws.exporter().run(RunFilter(), tmp_path / "out")
    with pytest.raises(InputError, match="Unknown export format"):
        ws.exporter().run(_scope(ws), tmp_path / "out", ["xlsx"])
    assert not (tmp_path / "out").exists()


# -- the manifest -------------------------------------------------------------------------------


def test_verification_names_changed_removed_and_added_files(workspace, tmp_path):
    ws = workspace
    folder = ws.exporter().run(_scope(ws), tmp_path / "out", ["csv", "jsonl"]).folder
    assert verify_export(folder, ws.settings).ok

    with open(folder / "runs.csv", "a", encoding="utf-8") as fh:
        fh.write("one more line\n")
    (folder / "annotations.jsonl").unlink()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    check = verify_export(folder, ws.settings)
    assert not check.ok
    assert check.changed == ["runs.csv"] and check.removed == ["annotations.jsonl"] and check.added == ["notes.txt"]
    lines = "\n".join(check.lines())
    assert "changed: runs.csv" in lines and "removed: annotations.jsonl" in lines and "added: notes.txt" in lines
    assert lines.endswith("export NOT intact")


def test_a_signed_manifest_detects_a_forged_hash_and_another_key(workspace, tmp_path):
    ws = workspace
    signed = ws.settings.model_copy(update={"export_hmac_key": KEY})
    from reports.export import ComplianceExport

    export = ComplianceExport(signed, AUDITOR, engine=ws.engine, audit=ws.audit)
    folder = export.run(_scope(ws), tmp_path / "out", ["jsonl"]).folder
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["signature"]["key"] == "export_hmac_key" and KEY not in (folder / MANIFEST).read_text()
    check = verify_export(folder, signed)
    assert check.ok and check.signature == "valid"

    # someone edits a file and puts its new hash in the manifest: the hashes agree, the signature does not
    path = folder / "runs.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("EUR", "USD"), encoding="utf-8")
    from reports.manifest import file_digest

    size, digest = file_digest(path)
    for entry in manifest["files"]:
        if entry["name"] == "runs.jsonl":
            entry["bytes"], entry["sha256"] = size, digest
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    check = verify_export(folder, signed)
    assert not check.ok and check.changed == [] and check.signature == "invalid"

    other = ws.settings.model_copy(update={"export_hmac_key": "f" * 32})
    assert verify_export(folder, other).signature == "other key"
    unkeyed = verify_export(folder, ws.settings)
    assert unkeyed.signature == "unchecked" and not unkeyed.ok


def test_without_an_export_key_the_audit_key_signs_through_a_derived_key(workspace, tmp_path):
    ws = workspace
    from reports.export import ComplianceExport
    from reports.manifest import signing_key

    audited = ws.settings.model_copy(update={"audit_hmac_key": KEY})
    key = signing_key(audited)
    assert key.source == "derived from audit_hmac_key" and key.key != KEY.encode()
    folder = ComplianceExport(audited, AUDITOR, engine=ws.engine, audit=ws.audit).run(_scope(ws), tmp_path / "o", ["csv"]).folder
    assert verify_export(folder, audited).signature == "valid"
    with pytest.raises(ConfigError, match="export_hmac_key"):
        signing_key(ws.settings.model_copy(update={"export_hmac_key": "short"}))


# -- the PII gate -------------------------------------------------------------------------------


def _plant_in_output(ws, record_id: str, text: str) -> None:
    """Write ``text`` straight into a run's stored output (its root TruLens event)."""
    events = trulens_tables().Event.__table__
    with ws.engine.begin() as conn:
        (event_ids,) = conn.execute(sa.select(schema.runs.c.event_ids).where(schema.runs.c.record_id == record_id)).one()
        attrs = conn.execute(sa.select(events.c.record_attributes).where(events.c.event_id == event_ids[0])).scalar_one()
        key = next(k for k in attrs if k.endswith("record_root.output"))
        conn.execute(sa.update(events).where(events.c.event_id == event_ids[0]).values(record_attributes={**attrs, key: text}))


def _assert_nothing_left(folder: Path) -> None:
    assert not folder.exists() or list(folder.iterdir()) == [], list(folder.iterdir())


def test_an_email_planted_in_a_stored_output_stops_the_export_and_says_where(workspace, tmp_path):
    ws = workspace
    victim = ws.runs[5]
    _plant_in_output(ws, victim.run_id, "Sure, I wrote to maria.lopez@example.org about it.")
    before = ws.count(schema.audit_events)
    with pytest.raises(PIIFoundError) as caught:
        ws.exporter().run(_scope(ws), tmp_path / "out", ["csv", "jsonl"])
    error = caught.value
    message = str(error)
    assert "runs.csv and runs.jsonl" in message and f"record_id {victim.run_id}" in message
    assert "column output_text" in message and "EMAIL_ADDRESS" in message
    assert "maria" not in message.lower() and "example.org" not in message
    # rows come oldest first: the victim is the sixth newest of twelve runs
    order = sorted(ws.runs, key=lambda r: r.started_at_ns)
    assert error.row == order.index(victim) + 1
    _assert_nothing_left(tmp_path / "out")
    assert ws.count(schema.audit_events) == before  # nothing was exported, so nothing is recorded


@pytest.mark.parametrize("where", ["beside", "query"])
def test_a_servers_address_in_a_url_is_not_personal_data_but_what_the_url_carries_is(workspace, tmp_path, where):
    """A provider at an IP address (``compat:m@http://10.1.2.3:8000/v1``) appears in audit events."""
    ws = workspace
    ws.audit.append("user:ops", "provider_checked", "provider:compat", {
        "provider": "compat:m@http://10.1.2.3:8000/v1", "also": "https://[fd00::5]:8443/v1",
    })
    result = ws.exporter().run(_scope(ws), tmp_path / "out", ["jsonl"])
    assert "10.1.2.3" in (result.folder / "audit_events.jsonl").read_text(encoding="utf-8")
    ws.audit.append("user:ops", "provider_checked", "provider:compat", {
        "provider": {"beside": "compat:m@http://10.1.2.3:8000/v1 (owner maria.lopez@example.org)",
                     "query": "compat:m@http://10.1.2.3:8000/v1?owner=maria.lopez%40example.org&x=1"}[where],
    })
    with pytest.raises(PIIFoundError, match="EMAIL_ADDRESS"):
        ws.exporter().run(_scope(ws), tmp_path / "again", ["jsonl"])


def test_an_iban_planted_in_an_annotation_comment_stops_the_export(workspace, tmp_path):
    ws = workspace
    a = schema.annotations.c
    with ws.engine.begin() as conn:
        annotation_id = conn.execute(sa.select(a.id).order_by(a.id).limit(1)).scalar_one()
        conn.execute(sa.update(schema.annotations).where(a.id == annotation_id).values(
            comments={"tone": "Refund to GB82 WEST 1234 5698 7654 32 today."}))
    (tmp_path / "out").mkdir()
    with pytest.raises(PIIFoundError) as caught:
        ws.exporter().run(_scope(ws), tmp_path / "out", ["jsonl"])
    message = str(caught.value)
    assert "annotations.jsonl" in message and f"id {annotation_id}" in message
    assert "column comments.tone" in message and "IBAN_CODE" in message and "GB82" not in message
    _assert_nothing_left(tmp_path / "out")
    assert (tmp_path / "out").is_dir()  # the folder was there before: it stays, empty


def test_names_the_app_validated_are_not_taken_for_personal_data_but_text_around_them_is(
        tmp_settings, sqlite_store, tmp_path):
    # a slug ending in eight digits reads like a phone number wherever checked text repeats it
    ws = build_workspace(tmp_settings, sqlite_store, suffix="-09669880")
    result = ws.exporter().run(_scope(ws), tmp_path / "out", ["jsonl"])
    titles = [json.loads(x)["title"] for x in (result.folder / "comparisons.jsonl").read_text(encoding="utf-8").splitlines()]
    assert "loan-summary-09669880: v1 vs v2" in titles

    c = schema.comparisons.c
    with ws.engine.begin() as conn:
        conn.execute(sa.update(schema.comparisons).where(c.slug == "loan-summary-09669880").values(
            title="loan-summary-09669880: call 212-555-0143 first"))
    with pytest.raises(PIIFoundError) as caught:
        ws.exporter().run(_scope(ws), tmp_path / "again", ["jsonl"])
    assert "column title" in str(caught.value) and "PHONE_NUMBER" in str(caught.value)


def test_the_pdf_alone_still_passes_the_check_first(workspace, tmp_path, monkeypatch):
    ws = workspace
    _plant_in_output(ws, ws.runs[0].run_id, "Call me on 212-555-0143 or write to bo@example.com.")
    written = []
    import reports.export as export_module

    monkeypatch.setattr(export_module, "_pdf_writer", lambda: lambda *a, **k: written.append(a))
    with pytest.raises(PIIFoundError, match="the runs data"):
        ws.exporter().run(_scope(ws), tmp_path / "out", ["pdf"])
    assert written == []
    _assert_nothing_left(tmp_path / "out")


# -- folders, disks, the PDF ---------------------------------------------------------------------


def test_the_default_folder_is_new_even_for_two_exports_in_one_second(workspace):
    exporter = workspace.exporter()
    first = exporter.default_folder()
    first.mkdir(parents=True)
    second = exporter.default_folder()
    assert second != first and not second.exists() and second.parent == first.parent
    assert second.name.startswith(first.name[:16])  # the same UTC second, or the next


def test_a_folder_that_is_not_empty_is_refused_unless_force_replaces_an_earlier_export(workspace, tmp_path):
    ws = workspace
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("someone's notes", encoding="utf-8")
    with pytest.raises(InputError, match="not empty"):
        ws.exporter().run(_scope(ws), out, ["csv"])
    with pytest.raises(InputError, match=r"did not write \(e\.g\. keep\.txt\)"):
        ws.exporter().run(_scope(ws), out, ["csv"], force=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]

    first = ws.exporter().run(_scope(ws), tmp_path / "again", ["csv", "jsonl"])
    with pytest.raises(InputError, match="not empty"):
        ws.exporter().run(_scope(ws), first.folder, ["csv"])
    second = ws.exporter().run(_scope(ws, prompts=("card-faq",)), first.folder, ["csv"], force=True)
    names = sorted(p.name for p in second.folder.iterdir())
    assert names == sorted([MANIFEST, *(f"{n}.csv" for n in DATASETS)])  # the old .jsonl files are gone
    assert verify_export(second.folder, ws.settings).ok and second.rows["runs"] == 3


class _FullDisk:
    """An opener whose files raise ENOSPC once ``limit`` bytes were written to ``name``."""

    def __init__(self, name: str, limit: int) -> None:
        self.name, self.limit = name, limit

    def __call__(self, path: Path):
        fh = open(path, "xb")
        if path.name != self.name:
            return fh
        limit = self.limit

        class Full(io.RawIOBase):
            written = 0

            def write(self, data) -> int:
                if self.written + len(data) > limit:
                    raise OSError(errno.ENOSPC, "No space left on device")
                self.written += len(data)
                return fh.write(data)

            def close(self) -> None:
                fh.close()
                super().close()

        return Full()


def test_a_full_disk_leaves_no_partial_file_and_no_manifest(workspace, tmp_path):
    ws = workspace
    with pytest.raises(StorageError, match=r"The disk is full: writing runs\.jsonl after \d+ rows failed") as caught:
        ws.exporter(opener=_FullDisk("runs.jsonl", 3000)).run(_scope(ws), tmp_path / "out", ["csv", "jsonl"])
    assert "no manifest" in str(caught.value)
    assert not (tmp_path / "out").exists()

    # an earlier export in the folder (replaced with force) survives a failed one untouched
    first = ws.exporter().run(_scope(ws), tmp_path / "kept", ["jsonl"])
    with pytest.raises(StorageError, match="disk is full"):
        ws.exporter(opener=_FullDisk(MANIFEST, 10)).run(_scope(ws), first.folder, ["csv"], force=True)
    assert not (first.folder / MANIFEST).exists()  # the earlier export was being replaced: no manifest claims it
    assert not any(p.name.endswith(".csv") for p in first.folder.iterdir())
    assert not any(p.name.startswith(".export-") for p in first.folder.iterdir())

    second = ws.exporter().run(_scope(ws), tmp_path / "kept2", ["jsonl"])
    with pytest.raises(StorageError, match="disk is full"):
        ws.exporter(opener=_FullDisk("audit_events.csv", 100)).run(_scope(ws), second.folder, ["csv"], force=True)
    assert verify_export(second.folder, ws.settings).ok  # failed before the swap: the earlier export is intact


def test_the_pdf_report_is_hashed_into_the_manifest(workspace, tmp_path):
    ws = workspace
    pytest.importorskip("reports.pdf_report")
    result = ws.exporter().run(_scope(ws), tmp_path / "out", ["jsonl", "pdf"])
    (pdf,) = [f for f in result.files if f["name"] == "report.pdf"]
    assert (result.folder / "report.pdf").read_bytes().startswith(b"%PDF")
    assert pdf["format"] == "pdf" and pdf["summary"]["pages"] >= 1
    assert verify_export(result.folder, ws.settings).ok


def test_without_the_pdf_module_a_pdf_export_says_so_before_doing_anything(workspace, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "reports.pdf_report", None)
    with pytest.raises(ConfigError, match="PDF report is not available"):
        workspace.exporter().run(_scope(workspace), tmp_path / "out", ["csv", "pdf"])
    assert not (tmp_path / "out").exists()


def test_the_zip_holds_the_folder(workspace, tmp_path):
    import zipfile

    folder = workspace.exporter().run(_scope(workspace), tmp_path / "out", ["csv"]).folder
    with zipfile.ZipFile(io.BytesIO(zip_export(folder))) as archive:
        archive.extractall(tmp_path / "unzipped")
    assert verify_export(tmp_path / "unzipped" / "out", workspace.settings).ok
    shutil.rmtree(tmp_path / "unzipped")
