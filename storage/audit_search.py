"""Searching the audit trail: filters by actor, action, target and time, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from storage import schema
from storage.audit import AuditEvent, event_from_row
from storage.engine import storage_errors


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None  # substring, case-insensitive
    actions: tuple[str, ...] = ()
    target: str | None = None  # substring, case-insensitive
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive

    def where(self) -> list[sa.ColumnElement[bool]]:
        t = schema.audit_events.c
        clauses: list[sa.ColumnElement[bool]] = []
        if self.actor:
            clauses.append(sa.func.lower(t.actor).contains(self.actor.lower(), autoescape=True))
        if self.actions:
            clauses.append(t.action.in_(self.actions))
        if self.target:
            clauses.append(sa.func.lower(t.target).contains(self.target.lower(), autoescape=True))
        if self.since:
            clauses.append(t.ts >= self.since)
        if self.until:
            clauses.append(t.ts < self.until)
        return clauses


def search_events(engine: sa.Engine, query: AuditQuery, limit: int = 200, offset: int = 0) -> tuple[list[AuditEvent], int]:
    """(events newest first, total matching)."""
    t = schema.audit_events
    where = query.where()
    with storage_errors(engine), engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar_one()
        rows = conn.execute(sa.select(t).where(*where).order_by(t.c.seq.desc()).limit(limit).offset(offset))
        return [event_from_row(row) for row in rows], total


def distinct_actions(engine: sa.Engine) -> list[str]:
    t = schema.audit_events.c
    with storage_errors(engine), engine.connect() as conn:
        return sorted(conn.execute(sa.select(t.action).distinct()).scalars())
