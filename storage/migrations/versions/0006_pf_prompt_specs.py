"""pf_prompt_specs: the full spec of each prompt version, keyed by TruLens's version id

Revision ID: 0006_pf_prompt_specs
Revises: 0005_pf_evaluations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_pf_prompt_specs"
down_revision = "0005_pf_evaluations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pf_prompt_specs",
        sa.Column("version_id", sa.String(256), primary_key=True),
        sa.Column("slug", sa.String(256), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("variables", sa.JSON, nullable=False),
        sa.Column("change_note", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("parent_version_id", sa.String(256), nullable=True),
        sa.Column("embedding", sa.LargeBinary, nullable=True),
        sa.UniqueConstraint("slug", "number", name="uq_pf_prompt_specs_slug_number"),
    )
    op.create_index("ix_pf_prompt_specs_digest", "pf_prompt_specs", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_pf_prompt_specs_digest", "pf_prompt_specs")
    op.drop_table("pf_prompt_specs")
