"""pf_runs, pf_run_metrics, pf_audit_events

Revision ID: 0001_pf_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_pf_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pf_runs",
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("app_name", sa.String(255), nullable=False),
        sa.Column("app_version", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("simulated", sa.Boolean, nullable=False),
        sa.Column("latency_s", sa.Float, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime, nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=True),
        sa.Column("dataset_row", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("injection_action", sa.String(16), nullable=True),
        sa.Column("pii_in", sa.JSON, nullable=False),
        sa.Column("pii_out", sa.JSON, nullable=False),
        sa.Column("decisions", sa.JSON, nullable=False),
        sa.Column("variables", sa.JSON, nullable=False),
        sa.Column("event_ids", sa.JSON, nullable=False),
    )
    op.create_index("ix_pf_runs_app_started", "pf_runs", ["app_name", "started_at"])
    op.create_index("ix_pf_runs_started", "pf_runs", ["started_at"])
    op.create_index("ix_pf_runs_batch", "pf_runs", ["batch_id"])

    op.create_table(
        "pf_run_metrics",
        sa.Column(
            "record_id",
            sa.String(64),
            sa.ForeignKey("pf_runs.record_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("higher_is_better", sa.Boolean, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_pf_run_metrics_name", "pf_run_metrics", ["name"])

    op.create_table(
        "pf_audit_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_pf_audit_events_action", "pf_audit_events", ["action"])


def downgrade() -> None:
    op.drop_table("pf_audit_events")
    op.drop_table("pf_run_metrics")
    op.drop_table("pf_runs")
