"""Alembic environment for the ``pf_`` tables; run by ``storage.migrate.upgrade``.

The version table is ``pf_schema_version``: TruLens treats any table whose name
ends in ``alembic_version`` as its own, so ours must not.
"""

from alembic import context

VERSION_TABLE = "pf_schema_version"

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
