"""pf_sessions: signed-in browser sessions (only a SHA-256 of each cookie's token), so that a
reload keeps a user signed in and sign-out, expiry or a disabled account ends a session for good

Revision ID: 0010_pf_sessions
Revises: 0009_pf_run_text
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_pf_sessions"
down_revision = "0009_pf_run_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pf_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime, nullable=True),
        sa.Column("end_reason", sa.String(255), nullable=True),
    )
    op.create_index("ix_pf_sessions_user", "pf_sessions", ["username", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_pf_sessions_user", "pf_sessions")
    op.drop_table("pf_sessions")
