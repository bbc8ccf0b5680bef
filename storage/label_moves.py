"""Production label moves need two people: an author requests, an approver decides.

An approver cannot approve their own request. Each step is an audit event
(``label_move_requested``, ``label_move_approved``, ``label_move_rejected``) and
the approved move itself goes through ``PromptStore.set_label`` (``label_moved``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from config.errors import InputError, NotFoundError, PermissionDenied
from security.identity import Permission
from storage import schema
from storage.engine import storage_errors
from storage.migrate import ensure
from storage.prompts import PRODUCTION, PromptStore

MAX_TEXT = 1000


@dataclass(frozen=True)
class LabelRequest:
    id: str
    slug: str
    version: int
    label: str
    reason: str
    requested_by: str
    requested_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


class LabelMoves:
    def __init__(self, prompts: PromptStore, audit) -> None:
        self.prompts, self.audit = prompts, audit
        self.principal = prompts.principal
        self.engine = prompts._engine
        with storage_errors(self.engine):
            ensure(self.engine)

    def request(self, slug: str, version: int, reason: str, label: str = PRODUCTION) -> LabelRequest:
        self.principal.require(Permission.REQUEST_LABEL_MOVE, "request label moves")
        if not reason.strip():
            raise InputError("Say why the label should move.", "Reviewers read the reason before approving.")
        target = self.prompts.resolve(f"{slug}@v{version}")
        row = {
            "id": uuid.uuid4().hex, "slug": target.slug, "version": target.version, "label": label,
            "reason": reason.strip()[:MAX_TEXT], "requested_by": self.principal.actor, "requested_at": _now(),
            "status": "pending", "decided_by": None, "decided_at": None, "note": None,
        }
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.insert(schema.label_requests).values(**row))
        self.audit.append(
            self.principal.actor, "label_move_requested", f"prompt:{slug}",
            {"request": row["id"], "label": label, "version": target.version},
        )
        return LabelRequest(**row)

    def pending(self) -> list[LabelRequest]:
        self.principal.require(Permission.READ_RUNS, "read label requests")
        t = schema.label_requests
        with storage_errors(self.engine), self.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.status == "pending").order_by(t.c.requested_at))
            return [LabelRequest(**r._mapping) for r in rows]

    def approve(self, request_id: str, note: str = "") -> LabelRequest:
        request = self._decidable(request_id)
        self.prompts.set_label(request.slug, request.version, request.label)
        return self._decide(request, "approved", note)

    def reject(self, request_id: str, note: str = "") -> LabelRequest:
        return self._decide(self._decidable(request_id), "rejected", note)

    def _decidable(self, request_id: str) -> LabelRequest:
        self.principal.require(Permission.APPROVE_LABEL_MOVE, "decide label moves")
        t = schema.label_requests
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == request_id)).first()
        if row is None:
            raise NotFoundError("No such label request.", "Refresh the list of pending requests.")
        request = LabelRequest(**row._mapping)
        if request.status != "pending":
            raise InputError(f"This request was already {request.status}.", "Refresh the list.")
        if request.requested_by == self.principal.actor:
            raise PermissionDenied("You cannot decide your own request.", "Another approver must decide it.")
        return request

    def _decide(self, request: LabelRequest, status: str, note: str) -> LabelRequest:
        t = schema.label_requests
        values = {"status": status, "decided_by": self.principal.actor, "decided_at": _now(), "note": note.strip()[:MAX_TEXT] or None}
        with storage_errors(self.engine), self.engine.begin() as conn:
            changed = conn.execute(sa.update(t).where(t.c.id == request.id, t.c.status == "pending").values(**values)).rowcount
        if changed != 1:
            raise InputError("Someone decided this request meanwhile.", "Refresh the list.")
        self.audit.append(
            self.principal.actor, f"label_move_{status}", f"prompt:{request.slug}",
            {"request": request.id, "label": request.label, "version": request.version},
        )
        return LabelRequest(**{**request.__dict__, **values})


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
