"""pf_api_tokens: tokens a service or a CI job holds to call the API and the command line as an
account, with scopes, an expiry, limits and revocation (only a SHA-256 of each token is stored)

Revision ID: 0013_pf_api_tokens
Revises: 0012_pf_run_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_pf_api_tokens"
down_revision = "0012_pf_run_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pf_api_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
        sa.Column("revoked_by", sa.String(255), nullable=True),
        sa.Column("last_used_at", sa.DateTime, nullable=True),
        sa.Column("requests_per_minute", sa.Integer, nullable=True),
        sa.Column("spend_per_day_usd", sa.Float, nullable=True),
    )
    op.create_index("ix_pf_api_tokens_user", "pf_api_tokens", ["username"])


def downgrade() -> None:
    op.drop_index("ix_pf_api_tokens_user", "pf_api_tokens")
    op.drop_table("pf_api_tokens")
