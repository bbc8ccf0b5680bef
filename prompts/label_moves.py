"""Production label moves need two people: an author requests, an approver decides.

An approver cannot decide their own request. Each step is an audit event
(``label_move_requested``, ``label_move_approved``, ``label_move_rejected``) and the
approved move itself goes through ``PromptRegistry.move_label`` (``label_moved``).
Before deciding, an approver reads ``review(request)``: the diff against the version
in production now and the latest evaluation results of both versions.

Rollback is the same flow with an older version. An admin may move production at
once in an emergency (``emergency_move``, with a reason): it is recorded as its own
audit action (``label_emergency_move``) and the prompt carries a banner until an
approver other than the admin confirms it (``label_emergency_confirmed``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from dataclasses import dataclass, field, replace

from config.errors import InputError, NotFoundError, PermissionDenied
from prompts.registry import PRODUCTION, PromptRegistry
from security.identity import Permission
from security.typed_text import TypedText, within
from storage.label_requests import LabelRequest, LabelRequestTable
from storage.prompts import PromptVersion
from storage.schema import utcnow

MAX_TEXT = 1000
EMERGENCY, CONFIRMED = "emergency", "confirmed"
_SLACK = timedelta(seconds=2)  # a decision is stored just before TruLens records the move


@dataclass(frozen=True)
class Review:
    """What an approver sees before deciding a request."""

    request: LabelRequest
    candidate: PromptVersion  # the version the label would point at
    current: PromptVersion | None  # the version it points at now
    diff: list = field(default_factory=list)  # prompts.diff.FieldDiff per part (empty: nothing in production)
    evaluations: dict[int, dict] = field(default_factory=dict)  # version -> latest finished evaluation run
    comparison: dict | None = None  # the A/B comparison the requester attached: title, sides, verdict


@dataclass(frozen=True)
class HistoryEntry:
    """One label move with who asked, who decided, and why."""

    label: str
    from_version: int | None
    to_version: int | None
    moved_by: str
    at: object
    requested_by: str = ""
    approved_by: str = ""
    reason: str = ""
    emergency: bool = False


class LabelMoves:
    """Reasons and notes are scrubbed before they are stored (``scrubber``: the PII scrubber to
    use; the process-wide one when omitted)."""

    def __init__(self, prompts: PromptRegistry, audit, scrubber=None) -> None:
        self.prompts, self.audit = prompts, audit
        self._scrub = TypedText(scrubber)
        self.principal = prompts.principal
        self.table = LabelRequestTable(prompts.store._engine)

    def request(
        self, slug: str, version: int, reason: str, label: str = PRODUCTION, comparison_id: str | None = None
    ) -> LabelRequest:
        """Ask for ``label`` on a version; ``comparison_id`` attaches the A/B comparison that
        argues for it, which the approver sees before deciding."""
        self.principal.require(Permission.REQUEST_LABEL_MOVE, "request label moves")
        reason = self._scrub(_required(reason, "Say why the label should move.", "Approvers read the reason before deciding."))
        target = self.prompts.resolve(f"{slug}@v{version}")
        request = LabelRequest(
            id=uuid.uuid4().hex, slug=target.slug, version=target.version, label=label,
            reason=reason, requested_by=self.principal.actor, requested_at=utcnow(),
            status="pending", decided_by=None, decided_at=None, note=None, comparison_id=comparison_id,
        )
        self.table.insert(request)
        self._event("label_move_requested", request)
        return request

    def pending(self, slug: str | None = None) -> list[LabelRequest]:
        self.principal.require(Permission.READ_RUNS, "read label requests")
        return self.table.with_status("pending", slug)

    def requests(self, slug: str) -> list[LabelRequest]:
        """Every request and emergency move of ``slug``, oldest first."""
        self.principal.require(Permission.READ_RUNS, "read label requests")
        return self.table.with_status(None, slug)

    def approve(self, request_id: str, note: str = "") -> LabelRequest:
        request = self._decidable(request_id)
        decided = self._decide(request, "approved", note)
        self.prompts.move_label(request.slug, request.version, request.label, {"request": request.id})
        return decided

    def reject(self, request_id: str, note: str = "") -> LabelRequest:
        return self._decide(self._decidable(request_id), "rejected", note)

    def review(self, request_id: str) -> Review:
        """The request, the candidate and current versions, their diff and latest evaluations."""
        self.principal.require(Permission.READ_RUNS, "read label requests")
        request = self._get(request_id)
        from prompts.diff import spec_diff

        candidate = self.prompts.get(request.slug, request.version)
        labels = self.prompts.labels(request.slug)
        current = self.prompts.get(request.slug, labels[request.label]) if request.label in labels else None
        diff = spec_diff(current.spec, candidate.spec) if current is not None else []
        versions = [candidate.version] + ([current.version] if current is not None else [])
        return Review(
            request, candidate, current, diff, self._evaluations(request.slug, versions),
            self._comparison(request.comparison_id),
        )

    # -- emergencies -------------------------------------------------------------------

    def emergency_move(self, slug: str, version: int, reason: str) -> LabelRequest:
        """Move production now (admins only); it stays flagged until an approver confirms it."""
        self.principal.require(Permission.EMERGENCY_LABEL_MOVE, "move production in an emergency")
        reason = self._scrub(_required(reason, "An emergency move needs a reason.", "Say what is wrong in production."))
        moved = self.prompts.move_label(slug, version, PRODUCTION, {"emergency": True})
        request = LabelRequest(
            id=uuid.uuid4().hex, slug=slug, version=moved.version, label=PRODUCTION, reason=reason,
            requested_by=self.principal.actor, requested_at=utcnow(), status=EMERGENCY,
            decided_by=None, decided_at=None, note=None,
        )
        self.table.insert(request)
        self._event("label_emergency_move", request)
        return request

    def unconfirmed(self, slug: str | None = None) -> list[LabelRequest]:
        """Emergency moves no approver has confirmed yet (each is a banner on its prompt)."""
        self.principal.require(Permission.READ_RUNS, "read label requests")
        return self.table.with_status(EMERGENCY, slug)

    def confirm(self, request_id: str, note: str = "") -> LabelRequest:
        self.principal.require(Permission.APPROVE_LABEL_MOVE, "confirm emergency moves")
        request = self._get(request_id)
        if request.status != EMERGENCY:
            raise InputError(f"This is not an unconfirmed emergency move (it is {request.status}).", "Refresh.")
        if request.requested_by == self.principal.actor:
            raise PermissionDenied("You cannot confirm your own emergency move.", "Another approver must confirm it.")
        return self._decide(request, CONFIRMED, note, from_status=EMERGENCY)

    # -- history -------------------------------------------------------------------------

    def history(self, slug: str) -> list[HistoryEntry]:
        """Every label move of ``slug`` (TruLens's label history), newest first, with the request
        that led to it (requester, approver, reason) where there was one."""
        moves = self.prompts.label_history(slug)
        requests = [r for r in self.requests(slug) if r.status in ("approved", EMERGENCY, CONFIRMED)]
        out = []
        for move in moves:
            match = next(
                (
                    r for r in requests
                    if r.label == move.label and r.version == move.to_version
                    and (r.decided_at or r.requested_at) <= move.at.replace(microsecond=0) + _SLACK
                ),
                None,
            )
            if match is not None:
                requests.remove(match)
            out.append(HistoryEntry(
                move.label, move.from_version, move.to_version, move.moved_by, move.at,
                requested_by=match.requested_by if match else "",
                approved_by=(match.decided_by or "") if match else "",
                reason=match.reason if match else "",
                emergency=bool(match and match.status in (EMERGENCY, CONFIRMED)),
            ))
        return out

    # -- helpers -------------------------------------------------------------------------

    def _get(self, request_id: str) -> LabelRequest:
        request = self.table.get(request_id)
        if request is None:
            raise NotFoundError("No such label request.", "Refresh the list of pending requests.")
        return request

    def _decidable(self, request_id: str) -> LabelRequest:
        self.principal.require(Permission.APPROVE_LABEL_MOVE, "decide label moves")
        request = self._get(request_id)
        if request.status != "pending":
            raise InputError(f"This request was already {request.status}.", "Refresh the list.")
        if request.requested_by == self.principal.actor:
            raise PermissionDenied("You cannot decide your own request.", "Another approver must decide it.")
        return request

    def _decide(self, request: LabelRequest, status: str, note: str, from_status: str = "pending") -> LabelRequest:
        decided = replace(
            request, status=status, decided_by=self.principal.actor, decided_at=utcnow(),
            note=self._scrub.limited(note, "The note", MAX_TEXT) or None,
        )
        if not self.table.decide(
            request.id, status, decided.decided_by, decided.decided_at, decided.note, from_status=from_status
        ):
            raise InputError("Someone decided this request meanwhile.", "Refresh the list.")
        action = "label_emergency_confirmed" if status == CONFIRMED else f"label_move_{status}"
        self._event(action, decided)
        return decided

    def _evaluations(self, slug: str, versions: list[int]) -> dict[int, dict]:
        """The latest finished evaluation run of each version: id, dataset, provider, gates, metric means."""
        from storage.eval_runs import EvalRunTable

        table = EvalRunTable(self.prompts.store._engine)
        out: dict[int, dict] = {}
        for run in table.list(limit=200, app_name=slug):
            number = int(run.app_version[1:]) if run.app_version[1:].isdigit() else None
            if number in versions and number not in out and run.status == "done":
                stats = table.metric_stats(run.id)
                out[number] = {
                    "run": run.id, "dataset": run.dataset, "provider": run.provider, "rows": run.total_rows,
                    "finished": run.finished_at, "gates": run.gates or [],
                    "means": {name: s["mean"] for name, s in sorted(stats.items()) if s["n"]},
                }
        return out

    def _comparison(self, comparison_id: str | None) -> dict | None:
        """What the approver reads of an attached comparison (its figures as computed when it finished)."""
        if not comparison_id:
            return None
        from storage.comparisons import ComparisonTable

        row = ComparisonTable(self.prompts.store._engine).get(comparison_id)
        if row is None:
            return None
        stats = row.statistics or {}
        return {
            "id": row.id, "title": row.title, "dataset": row.dataset, "rows": row.total_rows,
            "side_a": row.side_a, "side_b": row.side_b, "verdict": stats.get("verdict"),
            "guard_regressions": stats.get("guard_regressions", []), "decided_by": row.decided_by,
        }

    def _event(self, action: str, request: LabelRequest) -> None:
        self.audit.append(
            self.principal.actor, action, f"prompt:{request.slug}",
            {"request": request.id, "label": request.label, "version": request.version}
            | ({"comparison": request.comparison_id} if request.comparison_id else {}),
        )


def _required(text: str, message: str, hint: str) -> str:
    text = within(text, "The reason", MAX_TEXT)
    if not text:
        raise InputError(message, hint)
    return text
