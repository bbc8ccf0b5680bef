"""Faster record searches: how many PII entities each run had scrubbed (in and out) on pf_runs, a
covering index of pf_runs for date ranges (counts, filters and sorts read the index, not the wide
rows), and a trigram index for free-text search over the scrubbed
text of runs: an FTS5 table with the trigram tokenizer on SQLite (kept by triggers on
pf_run_text), a pg_trgm GIN index on PostgreSQL (when the extension may be created; otherwise
search scans, as before)

Revision ID: 0012_pf_run_search
Revises: 0011_pf_rollups
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0012_pf_run_search"
down_revision = "0011_pf_rollups"
branch_labels = None
depends_on = None

logger = logging.getLogger(__name__)

SQLITE = (
    "CREATE VIRTUAL TABLE pf_fts_run_text USING fts5(text, content='pf_run_text', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER pf_run_text_fts_insert AFTER INSERT ON pf_run_text BEGIN "
    "INSERT INTO pf_fts_run_text(rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER pf_run_text_fts_delete AFTER DELETE ON pf_run_text BEGIN "
    "INSERT INTO pf_fts_run_text(pf_fts_run_text, rowid, text) VALUES ('delete', old.rowid, old.text); END",
    "CREATE TRIGGER pf_run_text_fts_update AFTER UPDATE ON pf_run_text BEGIN "
    "INSERT INTO pf_fts_run_text(pf_fts_run_text, rowid, text) VALUES ('delete', old.rowid, old.text); "
    "INSERT INTO pf_fts_run_text(rowid, text) VALUES (new.rowid, new.text); END",
    "INSERT INTO pf_fts_run_text(pf_fts_run_text) VALUES ('rebuild')",
)


_SCAN_COLUMNS = [
    "started_at", "record_id", "app_name", "app_version", "provider", "status", "injection_action", "latency_s", "cost_usd",
    "pii_in_entities", "pii_out_entities",
]
_COUNT = (
    "(SELECT COALESCE(SUM(e.count), 0) FROM pf_run_entities e "
    "WHERE e.record_id = pf_runs.record_id AND e.direction = '{}')"
)


def upgrade() -> None:
    with op.batch_alter_table("pf_runs") as batch:
        batch.add_column(sa.Column("pii_in_entities", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("pii_out_entities", sa.Integer, nullable=False, server_default="0"))
    op.execute(f"UPDATE pf_runs SET pii_in_entities = {_COUNT.format('in')}, pii_out_entities = {_COUNT.format('out')}")
    op.drop_index("ix_pf_runs_started", "pf_runs")
    op.create_index("ix_pf_runs_scan", "pf_runs", _SCAN_COLUMNS)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # noqa: BLE001 - a role that may not create extensions searches by scanning
            logger.warning("pg_trgm is not available (%s): free-text search over runs will scan", exc)
            return
        op.execute("CREATE INDEX ix_pf_run_text_trgm ON pf_run_text USING gin (text gin_trgm_ops)")


def downgrade() -> None:
    op.drop_index("ix_pf_runs_scan", "pf_runs")
    op.create_index("ix_pf_runs_started", "pf_runs", ["started_at"])
    with op.batch_alter_table("pf_runs") as batch:
        batch.drop_column("pii_out_entities")
        batch.drop_column("pii_in_entities")
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("pf_run_text_fts_update", "pf_run_text_fts_delete", "pf_run_text_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS pf_fts_run_text")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_pf_run_text_trgm")
