"""Apply the ``pf_`` migrations programmatically (no alembic.ini on disk)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from storage.engine import storage_errors

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at ``storage/migrations``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the ``pf_`` tables to ``revision``."""
    with storage_errors(engine), engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


_upgraded: set[str] = set()


def ensure(engine: sa.Engine) -> None:
    """``upgrade`` once per engine in this process (services that do not open TruLens)."""
    key = engine.url.render_as_string(hide_password=False)
    if key not in _upgraded:
        upgrade(engine)
        _upgraded.add(key)
