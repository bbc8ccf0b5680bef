"""Rows of ``pf_label_requests``: requested label moves and their decisions (the workflow
and its permissions are ``prompts.label_moves``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from storage import schema
from storage.engine import storage_errors
from storage.migrate import ensure


@dataclass(frozen=True)
class LabelRequest:
    id: str
    slug: str
    version: int
    label: str
    reason: str
    requested_by: str
    requested_at: datetime
    status: str  # pending | approved | rejected; emergency moves: emergency | confirmed
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    comparison_id: str | None = None  # the A/B comparison the requester attached


class LabelRequestTable:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with storage_errors(engine):
            ensure(engine)

    def insert(self, request: LabelRequest) -> None:
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.insert(schema.label_requests).values(**request.__dict__))

    def get(self, request_id: str) -> LabelRequest | None:
        t = schema.label_requests
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == request_id)).first()
        return LabelRequest(**row._mapping) if row else None

    def pending(self) -> list[LabelRequest]:
        return self.with_status("pending")

    def with_status(self, status: str | None = None, slug: str | None = None, limit: int = 500) -> list[LabelRequest]:
        """Requests with ``status`` (any when None), of ``slug`` (any when None), oldest first."""
        t = schema.label_requests
        query = sa.select(t).order_by(t.c.requested_at).limit(limit)
        if status is not None:
            query = query.where(t.c.status == status)
        if slug is not None:
            query = query.where(t.c.slug == slug)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [LabelRequest(**r._mapping) for r in conn.execute(query)]

    def decide(
        self, request_id: str, status: str, decided_by: str, decided_at: datetime, note: str | None,
        from_status: str = "pending",
    ) -> bool:
        """Record the decision if the request is still ``from_status``; False if someone decided first."""
        t = schema.label_requests
        values = {"status": status, "decided_by": decided_by, "decided_at": decided_at, "note": note}
        with storage_errors(self.engine), self.engine.begin() as conn:
            result = conn.execute(
                sa.update(t).where(t.c.id == request_id, t.c.status == from_status).values(**values)
            )
            return result.rowcount == 1

    def date(self, request_id: str, requested_at: datetime, decided_at: datetime | None) -> None:
        """Set when a request was made and decided (history loaded or seeded after the fact)."""
        t = schema.label_requests
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(
                sa.update(t).where(t.c.id == request_id).values(requested_at=requested_at, decided_at=decided_at)
            )
