"""The demo's synthetic year on PostgreSQL: the same counts land and the audit chain verifies."""

from __future__ import annotations

import uuid

import pytest

from tests.execution.test_demo_history import check_counts, seeded

pytestmark = pytest.mark.postgres


@pytest.fixture
def fresh_pg_url():
    """A database of its own on the test server (the demo's prompt names are fixed)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_SERVER, _pg_unavailable

    server = make_url(PG_SERVER)
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _pg_unavailable(str(exc).splitlines()[0])
    name = f"pf_history_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_counts_land_and_the_audit_chain_verifies_on_postgresql(fresh_pg_url, tmp_path):
    from config.settings import Settings

    pipeline, summary, audit_before = seeded(Settings(data_dir=tmp_path, database_url=fresh_pg_url))
    try:
        check_counts(pipeline, summary, audit_before)
    finally:
        pipeline.store.close()
