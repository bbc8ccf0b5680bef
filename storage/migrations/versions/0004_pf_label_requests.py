"""pf_label_requests: requested production label moves and their approval

Revision ID: 0004_pf_label_requests
Revises: 0003_pf_users
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_pf_label_requests"
down_revision = "0003_pf_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pf_label_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("decided_at", sa.DateTime, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_pf_label_requests_status", "pf_label_requests", ["status"])


def downgrade() -> None:
    op.drop_index("ix_pf_label_requests_status", "pf_label_requests")
    op.drop_table("pf_label_requests")
