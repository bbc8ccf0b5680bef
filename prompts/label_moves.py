"""Production label moves need two people: an author requests, an approver decides.

An approver cannot decide their own request. Each step is an audit event
(``label_move_requested``, ``label_move_approved``, ``label_move_rejected``) and the
approved move itself goes through ``PromptRegistry.set_label`` (``label_moved``).
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from config.errors import InputError, NotFoundError, PermissionDenied
from security.identity import Permission
from security.prompt_registry import PRODUCTION, PromptRegistry
from storage.label_requests import LabelRequest, LabelRequestTable
from storage.schema import utcnow

MAX_TEXT = 1000


class LabelMoves:
    def __init__(self, prompts: PromptRegistry, audit) -> None:
        self.prompts, self.audit = prompts, audit
        self.principal = prompts.principal
        self.table = LabelRequestTable(prompts.store._engine)

    def request(self, slug: str, version: int, reason: str, label: str = PRODUCTION) -> LabelRequest:
        self.principal.require(Permission.REQUEST_LABEL_MOVE, "request label moves")
        if not reason.strip():
            raise InputError("Say why the label should move.", "Approvers read the reason before deciding.")
        target = self.prompts.resolve(f"{slug}@v{version}")
        request = LabelRequest(
            id=uuid.uuid4().hex, slug=target.slug, version=target.version, label=label,
            reason=reason.strip()[:MAX_TEXT], requested_by=self.principal.actor, requested_at=utcnow(),
            status="pending", decided_by=None, decided_at=None, note=None,
        )
        self.table.insert(request)
        self._event("label_move_requested", request)
        return request

    def pending(self) -> list[LabelRequest]:
        self.principal.require(Permission.READ_RUNS, "read label requests")
        return self.table.pending()

    def approve(self, request_id: str, note: str = "") -> LabelRequest:
        request = self._decidable(request_id)
        self.prompts.set_label(request.slug, request.version, request.label)
        return self._decide(request, "approved", note)

    def reject(self, request_id: str, note: str = "") -> LabelRequest:
        return self._decide(self._decidable(request_id), "rejected", note)

    def _decidable(self, request_id: str) -> LabelRequest:
        self.principal.require(Permission.APPROVE_LABEL_MOVE, "decide label moves")
        request = self.table.get(request_id)
        if request is None:
            raise NotFoundError("No such label request.", "Refresh the list of pending requests.")
        if request.status != "pending":
            raise InputError(f"This request was already {request.status}.", "Refresh the list.")
        if request.requested_by == self.principal.actor:
            raise PermissionDenied("You cannot decide your own request.", "Another approver must decide it.")
        return request

    def _decide(self, request: LabelRequest, status: str, note: str) -> LabelRequest:
        decided = replace(
            request, status=status, decided_by=self.principal.actor, decided_at=utcnow(),
            note=note.strip()[:MAX_TEXT] or None,
        )
        if not self.table.decide(request.id, status, decided.decided_by, decided.decided_at, decided.note):
            raise InputError("Someone decided this request meanwhile.", "Refresh the list.")
        self._event(f"label_move_{status}", decided)
        return decided

    def _event(self, action: str, request: LabelRequest) -> None:
        self.audit.append(
            self.principal.actor, action, f"prompt:{request.slug}",
            {"request": request.id, "label": request.label, "version": request.version},
        )
