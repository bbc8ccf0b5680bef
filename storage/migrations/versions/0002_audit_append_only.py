"""pf_audit_events is append-only: triggers reject UPDATE, DELETE (and TRUNCATE on PostgreSQL)

Revision ID: 0002_audit_append_only
Revises: 0001_pf_initial

The hash chain finds tampering after the fact; these triggers stop it through normal access.
Someone with owner/superuser rights can still bypass them (``session_replication_role``,
``DISABLE TRIGGER``, dropping them, or editing the SQLite file): that is what the chain, the
HMAC key and exported heads are for.

Note for later migrations: a SQLite batch ALTER of pf_audit_events recreates the table and
drops these triggers; create them again in the same migration.
"""

from __future__ import annotations

from alembic import op

revision = "0002_audit_append_only"
down_revision = "0001_pf_initial"
branch_labels = None
depends_on = None

TABLE = "pf_audit_events"
PG_FUNCTION = "pf_audit_events_append_only"
PG_ROW_TRIGGER = "pf_audit_events_no_update_delete"
PG_TRUNCATE_TRIGGER = "pf_audit_events_no_truncate"
SQLITE_TRIGGERS = {"UPDATE": "pf_audit_events_no_update", "DELETE": "pf_audit_events_no_delete"}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{TABLE} is append-only: % is not allowed', TG_OP
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = 'Audit events are never changed or removed; append a new event instead.';
            END
            $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {PG_ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
        )
        op.execute(
            f"CREATE TRIGGER {PG_TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {TABLE} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
        )
    elif dialect == "sqlite":
        for operation, name in SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {operation} is not allowed'); END"
            )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(f"append-only triggers for {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {PG_TRUNCATE_TRIGGER} ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS {PG_ROW_TRIGGER} ON {TABLE}")
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
    elif dialect == "sqlite":
        for name in SQLITE_TRIGGERS.values():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
