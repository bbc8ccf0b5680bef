"""Apply the ``pf_`` migrations programmatically (no alembic.ini on disk)."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from storage.engine import storage_errors

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Alembic's command API keeps its context in module globals: two threads migrating at once (two
# browser sessions building their services) would tear each other's context down
_LOCK = threading.RLock()


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at ``storage/migrations``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the ``pf_`` tables to ``revision`` (one migration at a time in this process)."""
    with _LOCK, storage_errors(engine), engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


_upgraded: set[str] = set()


TRULENS_VERSION_TABLE = "trulens_alembic_version"


def ensure(engine: sa.Engine) -> None:
    """``upgrade`` once per engine in this process, for services that do not open TruLens.

    On a new database TruLens's own schema is created first: TruLens takes a SQLite
    file that has tables but no ``*alembic_version`` table for a legacy database and
    refuses to open it.
    """
    key = engine.url.render_as_string(hide_password=False)
    if key in _upgraded:
        return
    with _LOCK:
        if key in _upgraded:  # another thread did it while this one waited
            return
        with storage_errors(engine):
            if TRULENS_VERSION_TABLE not in sa.inspect(engine).get_table_names():
                from trulens.core.database.migrations import upgrade_db

                upgrade_db(engine, revision="head", prefix="trulens_")
        upgrade(engine)
        _upgraded.add(key)
