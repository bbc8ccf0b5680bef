"""pf_metric_sets and pf_eval_runs: metric sets per prompt (version) and evaluation runs

Revision ID: 0005_pf_evaluations
Revises: 0004_pf_label_requests
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_pf_evaluations"
down_revision = "0004_pf_label_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pf_metric_sets",
        sa.Column("slug", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "pf_eval_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("prompt_ref", sa.String(255), nullable=False),
        sa.Column("app_name", sa.String(255), nullable=False),
        sa.Column("app_version", sa.String(128), nullable=False),
        sa.Column("dataset", sa.String(255), nullable=False),
        sa.Column("dataset_id", sa.String(128), nullable=False),
        sa.Column("total_rows", sa.Integer, nullable=False),
        sa.Column("provider", sa.String(255), nullable=False),
        sa.Column("judge", sa.String(255), nullable=True),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("done_rows", sa.Integer, nullable=False),
        sa.Column("failed_rows", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("gates", sa.JSON, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=True),
        sa.Column("heartbeat_at", sa.DateTime, nullable=True),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_pf_eval_runs_created", "pf_eval_runs", ["created_at"])
    op.create_index("ix_pf_eval_runs_status", "pf_eval_runs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_pf_eval_runs_status", "pf_eval_runs")
    op.drop_index("ix_pf_eval_runs_created", "pf_eval_runs")
    op.drop_table("pf_eval_runs")
    op.drop_table("pf_metric_sets")
