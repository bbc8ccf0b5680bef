"""pf_run_text, pf_run_entities: the projection the records explorer, the overview and exports
query (free text over the scrubbed input and output; PII entities scrubbed, by type), and the
indexes their filters use

Revision ID: 0009_pf_run_text
Revises: 0008_pf_review
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_pf_run_text"
down_revision = "0008_pf_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pf_run_text",
        sa.Column(
            "record_id", sa.String(64), sa.ForeignKey("pf_runs.record_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "pf_run_entities",
        sa.Column(
            "record_id", sa.String(64), sa.ForeignKey("pf_runs.record_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("entity_type", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index("ix_pf_run_entities_type", "pf_run_entities", ["entity_type"])
    op.create_index("ix_pf_run_metrics_name_value", "pf_run_metrics", ["name", "value"])
    op.create_index("ix_pf_runs_status_started", "pf_runs", ["status", "started_at"])
    op.create_index("ix_pf_runs_injection_started", "pf_runs", ["injection_action", "started_at"])
    # existing runs get their text and entities from `python launch.py reindex`, which rebuilds the
    # projection from TruLens's events; a run recorded before this migration simply has no text row
    # until then (the records explorer says so)


def downgrade() -> None:
    op.drop_index("ix_pf_runs_injection_started", "pf_runs")
    op.drop_index("ix_pf_runs_status_started", "pf_runs")
    op.drop_index("ix_pf_run_metrics_name_value", "pf_run_metrics")
    op.drop_index("ix_pf_run_entities_type", "pf_run_entities")
    op.drop_table("pf_run_entities")
    op.drop_table("pf_run_text")
