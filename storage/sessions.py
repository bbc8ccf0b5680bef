"""Rows of ``pf_sessions``: signed-in browser sessions. Tokens, limits and audit events live in
``security.identity.session_store``; this module only reads and writes rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from storage import schema
from storage.engine import storage_errors
from storage.migrate import ensure


@dataclass(frozen=True)
class SessionRow:
    token_hash: str
    username: str
    kind: str
    started_at: datetime
    last_seen: datetime
    ended_at: datetime | None
    end_reason: str | None


class SessionTable:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with storage_errors(engine):
            ensure(engine)

    def insert(self, row: SessionRow) -> None:
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.insert(schema.sessions).values(**row.__dict__))

    def get(self, token_hash: str) -> SessionRow | None:
        t = schema.sessions
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.token_hash == token_hash)).first()
        return SessionRow(**row._mapping) if row else None

    def touch(self, token_hash: str, now: datetime) -> None:
        """Move ``last_seen`` forward (never back: two tabs of one session may write out of order)."""
        t = schema.sessions
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(
                sa.update(t)
                .where(t.c.token_hash == token_hash, t.c.ended_at.is_(None), t.c.last_seen < now)
                .values(last_seen=now)
            )

    def end(self, token_hash: str, now: datetime, reason: str) -> bool:
        """End one live session; False when it had already ended (or never existed)."""
        t = schema.sessions
        with storage_errors(self.engine), self.engine.begin() as conn:
            result = conn.execute(
                sa.update(t)
                .where(t.c.token_hash == token_hash, t.c.ended_at.is_(None))
                .values(ended_at=now, end_reason=reason[:255])
            )
        return result.rowcount == 1

    def end_user(self, username: str, now: datetime, reason: str, kind: str = "user") -> int:
        """End every live session of ``username``; returns how many were live."""
        t = schema.sessions
        with storage_errors(self.engine), self.engine.begin() as conn:
            result = conn.execute(
                sa.update(t)
                .where(t.c.username == username, t.c.kind == kind, t.c.ended_at.is_(None))
                .values(ended_at=now, end_reason=reason[:255])
            )
        return result.rowcount

    def live(self, username: str, kind: str = "user") -> list[SessionRow]:
        t = schema.sessions
        with storage_errors(self.engine), self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t)
                .where(t.c.username == username, t.c.kind == kind, t.c.ended_at.is_(None))
                .order_by(t.c.started_at)
            )
            return [SessionRow(**r._mapping) for r in rows]

    def purge(self, before: datetime) -> int:
        """Forget sessions ended, or last seen, before ``before`` (their cookies are worth nothing
        by then; the audit trail keeps their start and end). Returns how many rows went."""
        t = schema.sessions
        with storage_errors(self.engine), self.engine.begin() as conn:
            result = conn.execute(
                sa.delete(t).where(sa.func.coalesce(t.c.ended_at, t.c.last_seen) < before)
            )
        return result.rowcount
