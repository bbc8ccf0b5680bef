"""pf_rollup_runs, pf_rollup_latency, pf_rollup_metrics, pf_rollup_entities: daily counts per
prompt version and provider for the Overview (storage.rollups)

Revision ID: 0011_pf_rollups
Revises: 0010_pf_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_pf_rollups"
down_revision = "0010_pf_sessions"
branch_labels = None
depends_on = None

_DIMENSIONS = (
    ("day", sa.Date),
    ("app_name", sa.String(255)),
    ("app_version", sa.String(128)),
    ("provider", sa.String(64)),
)


def _create(name: str, *columns: sa.Column) -> None:
    op.create_table(name, *(sa.Column(n, t, primary_key=True) for n, t in _DIMENSIONS), *columns)


def upgrade() -> None:
    _create(
        "pf_rollup_runs",
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("injection", sa.String(16), primary_key=True),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("cost_sum", sa.Float, nullable=False),
        sa.Column("cost_n", sa.Integer, nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
    )
    _create("pf_rollup_latency", sa.Column("bin", sa.Integer, primary_key=True), sa.Column("runs", sa.Integer, nullable=False))
    _create(
        "pf_rollup_metrics",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
        sa.Column("higher", sa.Integer, nullable=False),
    )
    _create(
        "pf_rollup_entities",
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("entity_type", sa.String(64), primary_key=True),
        sa.Column("entities", sa.Integer, nullable=False),
        sa.Column("runs", sa.Integer, nullable=False),
    )
    # runs recorded before the rollups existed are counted when a store first opens the database
    # (storage.rollups.fill_if_empty)


def downgrade() -> None:
    for name in ("pf_rollup_entities", "pf_rollup_metrics", "pf_rollup_latency", "pf_rollup_runs"):
        op.drop_table(name)
