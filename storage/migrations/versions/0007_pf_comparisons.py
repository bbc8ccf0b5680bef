"""pf_comparisons and pf_comparison_preferences: A/B comparisons of prompt versions, their
decisions and the reviewers' pairwise preferences; label requests may cite a comparison

Revision ID: 0007_pf_comparisons
Revises: 0006_pf_prompt_specs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_pf_comparisons"
down_revision = "0006_pf_prompt_specs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pf_comparisons",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("slug", sa.String(255), nullable=False),
        sa.Column("side_a", sa.JSON, nullable=False),
        sa.Column("side_b", sa.JSON, nullable=False),
        sa.Column("dataset", sa.String(255), nullable=False),
        sa.Column("dataset_id", sa.String(128), nullable=False),
        sa.Column("total_rows", sa.Integer, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("guards", sa.JSON, nullable=False),
        sa.Column("repeats", sa.Integer, nullable=False),
        sa.Column("run_ids", sa.JSON, nullable=False),
        sa.Column("reused", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("statistics", sa.JSON, nullable=True),
        sa.Column("decision", sa.JSON, nullable=True),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("decided_at", sa.DateTime, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_pf_comparisons_created", "pf_comparisons", ["created_at"])
    op.create_index("ix_pf_comparisons_slug", "pf_comparisons", ["slug"])
    op.create_table(
        "pf_comparison_preferences",
        sa.Column("comparison_id", sa.String(32), primary_key=True),
        sa.Column("dataset_row", sa.Integer, primary_key=True),
        sa.Column("actor", sa.String(255), primary_key=True),
        sa.Column("preference", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("pf_label_requests") as batch:
        batch.add_column(sa.Column("comparison_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pf_label_requests") as batch:
        batch.drop_column("comparison_id")
    op.drop_table("pf_comparison_preferences")
    op.drop_index("ix_pf_comparisons_slug", "pf_comparisons")
    op.drop_index("ix_pf_comparisons_created", "pf_comparisons")
    op.drop_table("pf_comparisons")
