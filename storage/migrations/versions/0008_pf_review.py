"""pf_rubrics, pf_review_queues, pf_review_items, pf_review_slots, pf_review_skips, pf_annotations:
annotation by reviewers (rubric versions, queues over recorded runs, claims, annotations)

Revision ID: 0008_pf_review
Revises: 0007_pf_comparisons
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_pf_review"
down_revision = "0007_pf_comparisons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_pf_runs_ended", "pf_runs", ["ended_at"])  # queues pick up runs by when they ended
    op.create_table(
        "pf_rubrics",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "pf_review_queues",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("filters", sa.JSON, nullable=False),
        sa.Column("rubric", sa.String(64), nullable=False),
        sa.Column("overlap", sa.Integer, nullable=False),
        sa.Column("claim_minutes", sa.Integer, nullable=False),
        sa.Column("refreshed_until", sa.DateTime, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "pf_review_items",
        sa.Column("queue_id", sa.String(32), primary_key=True),
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
    )
    op.create_index("ix_pf_review_items_open", "pf_review_items", ["queue_id", "complete", "added_at", "record_id"])
    op.create_table(
        "pf_review_slots",
        sa.Column("queue_id", sa.String(32), primary_key=True),
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("reviewer", sa.String(255), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("claimed_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("submitted_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("queue_id", "record_id", "reviewer", name="uq_pf_review_slots_reviewer"),
    )
    op.create_index("ix_pf_review_slots_reviewer", "pf_review_slots", ["queue_id", "reviewer"])
    op.create_table(
        "pf_review_skips",
        sa.Column("queue_id", sa.String(32), primary_key=True),
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("reviewer", sa.String(255), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("skipped_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "pf_annotations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("queue_id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("reviewer", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rubric", sa.String(64), nullable=False),
        sa.Column("rubric_version", sa.Integer, nullable=False),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("comments", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("supersedes", sa.String(32), nullable=True),
        sa.Column("superseded_by", sa.String(32), nullable=True),
    )
    op.create_index("ix_pf_annotations_item", "pf_annotations", ["queue_id", "record_id"])
    op.create_index("ix_pf_annotations_record", "pf_annotations", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_pf_annotations_record", "pf_annotations")
    op.drop_index("ix_pf_annotations_item", "pf_annotations")
    op.drop_table("pf_annotations")
    op.drop_table("pf_review_skips")
    op.drop_index("ix_pf_review_slots_reviewer", "pf_review_slots")
    op.drop_table("pf_review_slots")
    op.drop_index("ix_pf_review_items_open", "pf_review_items")
    op.drop_table("pf_review_items")
    op.drop_table("pf_review_queues")
    op.drop_table("pf_rubrics")
    op.drop_index("ix_pf_runs_ended", "pf_runs")
