"""Rows of ``pf_users``: local accounts. Hashing, lock-out and permissions live in
``security.identity.accounts``; this module only reads and writes rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage import schema
from storage.engine import storage_errors
from storage.migrate import ensure


@dataclass(frozen=True)
class UserRow:
    username: str
    roles: list[str]
    password_hash: str | None
    must_change_password: bool
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    created_by: str
    password_changed_at: datetime | None
    last_login_at: datetime | None


class UserTable:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with storage_errors(engine):
            ensure(engine)

    def count(self) -> int:
        with storage_errors(self.engine), self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(schema.users)).scalar_one()

    def get(self, username: str) -> UserRow | None:
        t = schema.users
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.username == username)).first()
        return UserRow(**row._mapping) if row else None

    def all(self) -> list[UserRow]:
        t = schema.users
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [UserRow(**r._mapping) for r in conn.execute(sa.select(t).order_by(t.c.username))]

    def insert(self, row: UserRow) -> bool:
        """Add ``row``; False if the user name is taken."""
        with storage_errors(self.engine), self.engine.begin() as conn:
            taken = conn.execute(
                sa.select(schema.users.c.username).where(schema.users.c.username == row.username)
            ).first()
            if taken:
                return False
            conn.execute(sa.insert(schema.users).values(**row.__dict__))
        return True

    def update(self, username: str, **values: Any) -> None:
        t = schema.users
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.update(t).where(t.c.username == username).values(**values))

    def record_failure(self, username: str, attempts: int, lock_until: datetime) -> tuple[int, datetime | None]:
        """Count one failed login atomically; lock the account at ``attempts``. Returns
        (failed logins, locked until)."""
        t = schema.users
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.update(t).where(t.c.username == username).values(failed_logins=t.c.failed_logins + 1))
            failed = conn.execute(sa.select(t.c.failed_logins).where(t.c.username == username)).scalar_one()
            locked = None
            if failed >= attempts:
                conn.execute(sa.update(t).where(t.c.username == username).values(locked_until=lock_until, failed_logins=0))
                locked = lock_until
            return failed, locked
