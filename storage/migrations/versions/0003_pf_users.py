"""pf_users: local accounts (Argon2id hashes, roles, lock-out state)

Revision ID: 0003_pf_users
Revises: 0002_audit_append_only
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_pf_users"
down_revision = "0002_audit_append_only"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pf_users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("must_change_password", sa.Boolean, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("password_changed_at", sa.DateTime, nullable=True),
        sa.Column("last_login_at", sa.DateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("pf_users")
