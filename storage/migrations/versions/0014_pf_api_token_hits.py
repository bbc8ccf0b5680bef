"""pf_api_token_hits: requests per API token and minute, so a token's per-minute limit holds across
every API process on the database

Revision ID: 0014_pf_api_token_hits
Revises: 0013_pf_api_tokens
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_pf_api_token_hits"
down_revision = "0013_pf_api_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pf_api_token_hits",
        sa.Column("token_id", sa.String(16), primary_key=True),
        sa.Column("minute", sa.DateTime, primary_key=True),
        sa.Column("hits", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pf_api_token_hits")
