"""The compliance export on PostgreSQL: the same files, counts and verification as on SQLite,
read inside one REPEATABLE READ, read-only snapshot."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from reports.manifest import verify_export
from storage import schema
from storage.run_filter import RunFilter
from tests.reports.conftest import IN_PERIOD, build_workspace

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_workspace(pg_url, tmp_path, unique):
    from config.settings import Settings
    from storage.trulens_store import open_store

    settings = Settings(data_dir=tmp_path, database_url=pg_url)
    store = open_store(settings)
    try:
        yield build_workspace(settings, store, suffix=f"-{unique}"), unique
    finally:
        store.close()


def test_an_export_on_postgresql(pg_workspace, tmp_path):
    ws, unique = pg_workspace
    first, last = ws.period
    slugs = (f"loan-summary-{unique}", f"card-faq-{unique}")
    scope = RunFilter.for_days(first, last, prompts=slugs)
    a = schema.audit_events.c
    audit_events = ws.count(schema.audit_events, a.ts >= scope.start, a.ts < scope.end)

    result = ws.exporter().run(scope, tmp_path / "out", ["csv", "jsonl"])
    assert result.manifest["database"] == "postgresql"
    rows = result.rows
    assert rows["runs"] == IN_PERIOD and rows["metric_results"] == 2 * IN_PERIOD + 1
    assert rows["annotations"] == 3 and rows["comparisons"] == 2 and rows["comparison_preferences"] == 2
    assert rows["label_requests"] == 1 and rows["label_moves"] >= 5 and rows["audit_events"] == audit_events
    runs = [json.loads(line) for line in (result.folder / "runs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["record_id"] for r in runs} == {r.run_id for r in ws.runs}
    assert all(r["input_text"] and r["started_at"].endswith("Z") for r in runs)
    (request,) = [json.loads(x) for x in (result.folder / "label_requests.jsonl").read_text(encoding="utf-8").splitlines()]
    assert "jane.doe@example.com" not in request["reason"]
    assert verify_export(result.folder, ws.settings).ok

    with ws.engine.connect() as conn:  # the snapshot's settings did not leak into the pool
        assert conn.execute(sa.text("SHOW transaction_isolation")).scalar() == "read committed"
        assert conn.execute(sa.text("SHOW transaction_read_only")).scalar() == "off"


def test_the_snapshot_is_repeatable_read_and_read_only(pg_workspace):
    from storage.export_rows import snapshot

    ws, _ = pg_workspace
    with snapshot(ws.engine) as conn:
        assert conn.execute(sa.text("SHOW transaction_isolation")).scalar() == "repeatable read"
        assert conn.execute(sa.text("SHOW transaction_read_only")).scalar() == "on"
        before = conn.execute(sa.select(sa.func.count()).select_from(schema.audit_events)).scalar_one()
        ws.audit.append("user:ann", "note", "test:snapshot", {})
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.audit_events)).scalar_one() == before
