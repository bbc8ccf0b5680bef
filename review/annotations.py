"""Annotating: claim the next item of a queue, judge it against the rubric, submit or skip;
correct an earlier annotation; read an item's history.

A reviewer sees the scrubbed input and output, the pipeline's signals and metrics, and never
another reviewer's scores before submitting their own. A submit presents the claim's token:
an expired claim (taken over by someone else) or another reviewer's claim is refused with a
message, and nothing is stored. Every annotation is stored three ways: in ``pf_annotations``
(reviewer, rubric version, time, what it supersedes), as human feedback on the TruLens record
(``human_<item>``, so TruLens's leaderboard shows it beside the computed metrics) and as an
audit event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from config.errors import InputError, NotFoundError, PermissionDenied
from review.queues import Queue, Queues
from review.rubrics import Rubric
from security.identity import Permission
from security.typed_text import TypedText
from storage.records import MetricValue
from storage.review import AnnotationRow, Claim
from storage.schema import utcnow

FEEDBACK_PREFIX = "human_"  # TruLens feedback names: human_policy_breach, human_tone, …
MAX_COMMENT = 4000


@dataclass(frozen=True)
class ReviewItem:
    """One claimed item as its reviewer sees it (scrubbed texts only)."""

    queue: str
    claim: Claim
    run: dict[str, Any]  # storage's run: input, output, metrics, decisions, stages, app and version

    @property
    def token(self) -> str:
        return self.claim.token

    @property
    def record_id(self) -> str:
        return self.claim.record_id


class Annotations:
    """The review workflow as ``queues.principal`` may use it (one ``Queues`` per principal)."""

    def __init__(self, queues: Queues, scrubber=None) -> None:
        self.queues = queues
        self.tables = queues.tables
        self.store = queues.store
        self._scrub = TypedText(scrubber)

    @property
    def principal(self):
        return self.queues.principal

    # -- the flow -----------------------------------------------------------------------

    def next_item(self, queue_name: str) -> ReviewItem | None:
        """The reviewer's open claim, or a newly claimed item; None when the queue has nothing
        left for this reviewer."""
        self.principal.require(Permission.ANNOTATE, "annotate")
        queue = self.queues.get(queue_name)
        now = utcnow()
        claim = self.tables.open_claim(queue.id, self.principal.actor, now) or self.tables.claim_next(
            queue.row, self.principal.actor, now
        )
        if claim is None:
            return None
        run = self.store.get_run(claim.record_id)
        # reviewers never see each other's scores before submitting their own
        run["metrics"] = [m for m in run.get("metrics", []) if not m["name"].startswith(FEEDBACK_PREFIX)]
        return ReviewItem(queue.name, claim, run)

    def submit(
        self, queue_name: str, token: str, scores: dict[str, Any], comments: dict[str, str] | str | None = None
    ) -> AnnotationRow:
        """Store the reviewer's judgement of the claimed item."""
        self.principal.require(Permission.ANNOTATE, "annotate")
        queue = self.queues.get(queue_name, refresh=False)
        claim = self._own_claim(queue, token)
        now = utcnow()
        if claim.expires_at <= now:
            raise InputError(
                f"Your claim on this item expired at {claim.expires_at:%H:%M} UTC.",
                "Your scores are still on the page: take the next item, or ask a lead reviewer to extend claims.",
            )
        checked, kept = self._checked(queue.rubric, scores, comments)
        row = self._annotation(queue, claim.record_id, "review", checked, kept, now)
        if not self.tables.submit(claim, row, queue.row.overlap, now):
            raise InputError(
                "This item is no longer yours to submit: your claim expired and another reviewer took it, or it was already submitted.",
                "Your scores are still on the page; take the next item.",
            )
        self._record(queue, AnnotationRow(**row), "annotation_submitted")
        return AnnotationRow(**row)

    def skip(self, queue_name: str, token: str, reason: str) -> None:
        """Give the item back (others may take it) and say why; it is not offered to you again."""
        self.principal.require(Permission.ANNOTATE, "annotate")
        reason = (reason or "").strip()
        if not reason:
            raise InputError("Say why you skip this item.", "e.g. 'not my language' or 'needs a specialist'.")
        queue = self.queues.get(queue_name, refresh=False)
        claim = self._own_claim(queue, token)
        if not self.tables.skip(claim, self._scrub(reason)[:500], utcnow()):
            raise InputError("This item is no longer yours to skip.", "Take the next item.")
        self.queues.audit.append(self.principal.actor, "annotation_skipped", f"queue:{queue.name}", {"record_id": claim.record_id})

    def correct(
        self, annotation_id: str, scores: dict[str, Any], comments: dict[str, str] | str | None = None
    ) -> AnnotationRow:
        """A new annotation that supersedes ``annotation_id`` (your own, or any as a lead
        reviewer); the old one stays in the history."""
        self.principal.require(Permission.ANNOTATE, "annotate")
        old = self.tables.annotation(annotation_id)
        if old is None:
            raise NotFoundError(f"No annotation {annotation_id[:12]!r}.", "Pick one from the item's history.")
        if old.reviewer != self.principal.actor and not self.principal.can(Permission.ADJUDICATE):
            raise PermissionDenied("You may correct only your own annotations.", "Ask a lead reviewer to adjudicate.")
        if old.superseded_by:
            raise InputError("This annotation was already corrected.", "Correct its newest version.")
        queue = self.queues.get(old.queue_id, refresh=False)
        checked, kept = self._checked(queue.rubric, scores, comments)
        row = self._annotation(queue, old.record_id, old.kind, checked, kept, utcnow(), supersedes=old.id)
        if not self.tables.add_annotation(row):  # a concurrent correction won
            raise InputError("Someone corrected this annotation at the same moment.", "Reload its history.")
        self._record(queue, AnnotationRow(**row), "annotation_corrected")
        return AnnotationRow(**row)

    def history(self, record_id: str) -> list[AnnotationRow]:
        """Every annotation of a record, corrections and superseded ones included, oldest first."""
        self.principal.require(Permission.READ_RUNS, "read annotations")
        return self.tables.annotations(record_id=record_id)

    def queue_annotations(self, queue_name: str, current: bool = False) -> list[AnnotationRow]:
        self.principal.require(Permission.READ_RUNS, "read annotations")
        return self.tables.annotations(queue_id=self.queues.get(queue_name, refresh=False).id, current=current)

    # -- helpers ------------------------------------------------------------------------

    def _own_claim(self, queue: Queue, token: str) -> Claim:
        claim = self.tables.claim(queue.id, token)
        if claim is None:
            raise InputError(
                "This claim no longer exists: it expired and another reviewer took the item.",
                "Your scores are still on the page; take the next item.",
            )
        if claim.reviewer != self.principal.actor:
            raise PermissionDenied("This item is claimed by another reviewer.", "Take the next item of the queue.")
        return claim

    def _checked(self, rubric: Rubric, scores: dict[str, Any], comments) -> tuple[dict[str, Any], dict[str, str]]:
        """Validate against the rubric; comments are scrubbed before anything is stored."""
        if isinstance(comments, str):
            comments = {"comment": comments} if comments.strip() else {}
        comments = {k: v for k, v in (comments or {}).items() if v and str(v).strip()}
        for name, text in comments.items():
            if len(str(text)) > MAX_COMMENT:
                raise InputError(f"The comment on {name} is longer than {MAX_COMMENT:,} characters.", "Shorten it.")
        general = comments.get("comment")
        per_item = {k: v for k, v in comments.items() if k != "comment"}
        if per_item:  # a general comment also explains the failing items that have none of their own
            names = [i.name for i in rubric.items]
            as_given = {name: per_item.get(name) or general for name in names if per_item.get(name) or general}
        else:
            as_given = general
        checked = rubric.check(scores, as_given or None)
        return checked, {k: self._scrub(str(v)) for k, v in comments.items()}

    def _annotation(self, queue: Queue, record_id: str, kind: str, scores, comments, now, supersedes=None) -> dict[str, Any]:
        return {
            "id": uuid.uuid4().hex, "queue_id": queue.id, "record_id": record_id, "reviewer": self.principal.actor,
            "kind": kind, "rubric": queue.rubric.name, "rubric_version": queue.rubric_version, "scores": scores,
            "comments": comments, "created_at": now, "supersedes": supersedes, "superseded_by": None,
        }

    def _record(self, queue: Queue, annotation: AnnotationRow, action: str) -> None:
        """TruLens feedback per scored item, and the audit event."""
        self.store.add_metric_results(feedback_results(queue.rubric, annotation))
        self.queues.audit.append(*audit_event(queue, annotation, action))



def feedback_results(rubric: Rubric, annotation: AnnotationRow) -> list[tuple[str, MetricValue]]:
    """The TruLens feedback an annotation is stored as: one ``human_<item>`` result per scored item."""
    said = f"{annotation.kind} by {annotation.reviewer}, rubric {rubric.name} v{annotation.rubric_version}"
    results = []
    for item in rubric.scored_items:
        value = annotation.scores.get(item.name)
        if value is None:
            continue
        note = annotation.comments.get(item.name) or annotation.comments.get("comment") or ""
        results.append((
            annotation.record_id,
            # numeric items keep their own direction; the others are mapped so that higher is better
            MetricValue(FEEDBACK_PREFIX + item.name, rubric.numeric_value(item, value),
                        item.higher_is_better if item.kind == "numeric" else True, "ok",
                        f"{said}: {value}" + (f". {note}" if note else "")),
        ))
    return results


def audit_event(queue: Queue, annotation: AnnotationRow, action: str) -> tuple[str, str, str, dict[str, Any]]:
    """The audit event of a stored annotation: (actor, action, target, details)."""
    return (
        annotation.reviewer, action, f"queue:{queue.name}",
        {"annotation": annotation.id, "record_id": annotation.record_id, "kind": annotation.kind,
         "rubric_version": annotation.rubric_version, "supersedes": annotation.supersedes,
         "fails": queue.rubric.fails(annotation.scores)},
    )
