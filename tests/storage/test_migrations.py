"""The pf_ migrations build exactly the tables storage.schema queries, beside TruLens's."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage import migrate, schema
from storage.trulens_store import open_store


def test_migrated_schema_matches_the_metadata(store):
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                # the trigram search index is the database's own (an FTS5 table on SQLite, a pg_trgm
                # index on PostgreSQL: migration 0012), not part of the portable metadata
                "include_name": lambda name, type_, parent: (
                    (type_ != "table" or (name.startswith("pf_") and name != "pf_schema_version"))
                    and not (name or "").startswith("pf_fts_") and name != "ix_pf_run_text_trgm"
                ),
                "compare_type": True,
            },
        )
        assert compare_metadata(context, schema.metadata) == []


def test_version_table_does_not_confuse_trulens(store):
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"pf_runs", "pf_run_metrics", "pf_audit_events", "pf_schema_version"} <= tables
    assert [t for t in tables if t.endswith("alembic_version")] == ["trulens_alembic_version"]
    with store.engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT version_num FROM pf_schema_version")).scalar()
            == ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
        )


def test_reopening_and_upgrading_again_is_a_no_op(store, settings):
    migrate.upgrade(store.engine)
    store.close()
    again = open_store(settings)  # TruLens's own revision check passes with our tables present
    try:
        assert again.count_runs() >= 0
    finally:
        again.close()


def test_migrations_from_two_threads_at_once_do_not_collide(tmp_path):
    """Two browser sessions building their services at once both migrate: Alembic's module-global
    context must not be torn down under the other thread."""
    import threading

    engines = [sa.create_engine(f"sqlite:///{tmp_path / f'db{i}.sqlite'}") for i in range(4)]
    errors: list[BaseException] = []

    def run(engine):
        try:
            migrate.upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for engine in engines:
        assert "pf_runs" in sa.inspect(engine).get_table_names()
        engine.dispose()
