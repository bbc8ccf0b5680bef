"""Agreement between reviewers, and adjudication of the items they disagree on.

Agreement is computed per rubric item over a queue's current review annotations (the
newest of each reviewer per item; corrections replace what they supersede). An item whose
reviewers disagree on any scored rubric item waits for a lead reviewer, whose decision is
stored as an annotation of kind ``adjudication`` and is the item's final score.
"""

from __future__ import annotations

from typing import Any

from config.errors import InputError
from review.agreement import ItemAgreement, disagreements, item_scale, queue_agreement
from review.annotations import Annotations
from security.identity import Permission
from storage.review import AnnotationRow
from storage.schema import utcnow


class Adjudication:
    def __init__(self, annotations: Annotations) -> None:
        self.annotations = annotations
        self.queues = annotations.queues

    @property
    def principal(self):
        return self.queues.principal

    def agreement(self, queue_name: str) -> list[ItemAgreement]:
        """Per scored rubric item: Cohen's kappa (two reviewers), Krippendorff's alpha, percent agreement."""
        self.principal.require(Permission.READ_RUNS, "read agreement")
        queue = self.queues.get(queue_name, refresh=False)
        return queue_agreement(queue.rubric, _by_item(queue.rubric, self._reviews(queue.id)))

    def disputed(self, queue_name: str) -> list[str]:
        """Records whose reviewers disagree on at least one scored item and that no one has
        adjudicated yet, oldest disagreement first."""
        self.principal.require(Permission.READ_RUNS, "read disagreements")
        queue = self.queues.get(queue_name, refresh=False)
        current = self.queues.tables.annotations(queue_id=queue.id, current=True)
        decided = {a.record_id for a in current if a.kind == "adjudication"}
        reviews = _by_item(queue.rubric, _latest_reviews(current))
        out: list[str] = []
        for item in queue.rubric.scored_items:
            level = queue.rubric.level_of_measurement(item)
            for record_id in disagreements(reviews.get(item.name, []), level, domain=item_scale(item)):
                if record_id not in decided and record_id not in out:
                    out.append(record_id)
        return out

    def reviews_of(self, queue_name: str, record_id: str) -> list[AnnotationRow]:
        """The current reviews of one item, for the adjudicator (after everyone submitted)."""
        self.principal.require(Permission.ADJUDICATE, "adjudicate")
        queue = self.queues.get(queue_name, refresh=False)
        return [a for a in _latest_reviews(self.queues.tables.annotations(queue_id=queue.id, record_id=record_id, current=True))]

    def adjudicate(
        self, queue_name: str, record_id: str, scores: dict[str, Any], comments: dict[str, str] | str | None = None
    ) -> AnnotationRow:
        """The lead reviewer's decision on a disputed item: its final score."""
        self.principal.require(Permission.ADJUDICATE, "adjudicate")
        queue = self.queues.get(queue_name, refresh=False)
        current = self.queues.tables.annotations(queue_id=queue.id, record_id=record_id, current=True)
        if not [a for a in current if a.kind == "review"]:
            raise InputError("Nobody has reviewed this item yet.", "Adjudicate items the reviewers disagree on.")
        earlier = next((a for a in current if a.kind == "adjudication"), None)
        checked, kept = self.annotations._checked(queue.rubric, scores, comments)
        row = self.annotations._annotation(
            queue, record_id, "adjudication", checked, kept, utcnow(), supersedes=earlier.id if earlier else None
        )
        if not self.queues.tables.add_annotation(row):  # another lead reviewer decided at the same moment
            raise InputError("Someone adjudicated this item at the same moment.", "Reload the disagreements.")
        annotation = AnnotationRow(**row)
        self.annotations._record(queue, annotation, "annotation_adjudicated")
        return annotation

    def final_scores(self, queue_name: str) -> dict[str, dict[str, Any] | None]:
        """record id -> its final scores: the adjudication when there is one, else the reviews'
        scores when every reviewer agrees on every item, else None (disputed or unreviewed)."""
        self.principal.require(Permission.READ_RUNS, "read annotations")
        queue = self.queues.get(queue_name, refresh=False)
        current = self.queues.tables.annotations(queue_id=queue.id, current=True)
        out: dict[str, dict[str, Any] | None] = {}
        for a in current:
            if a.kind == "adjudication":
                out[a.record_id] = a.scores
        by_record: dict[str, list[AnnotationRow]] = {}
        for a in _latest_reviews(current):
            by_record.setdefault(a.record_id, []).append(a)
        for record_id, reviews in by_record.items():
            if record_id in out:
                continue
            first = reviews[0].scores
            out[record_id] = first if all(r.scores == first for r in reviews) else None
        return out

    def _reviews(self, queue_id: str) -> list[AnnotationRow]:
        return _latest_reviews(self.queues.tables.annotations(queue_id=queue_id, current=True))


def _latest_reviews(annotations: list[AnnotationRow]) -> list[AnnotationRow]:
    """The newest current review of each (record, reviewer)."""
    latest: dict[tuple[str, str], AnnotationRow] = {}
    for a in annotations:
        if a.kind == "review" and a.superseded_by is None:
            latest[(a.record_id, a.reviewer)] = a
    return list(latest.values())


def _by_item(rubric, reviews: list[AnnotationRow]) -> dict[str, list[tuple[str, str, Any]]]:
    names = [item.name for item in rubric.scored_items]  # read once: a property that builds a tuple
    out: dict[str, list[tuple[str, str, Any]]] = {name: [] for name in names}
    for a in reviews:
        for name in names:
            value = a.scores.get(name)
            if value is not None:
                out[name].append((a.record_id, a.reviewer, value))
    return out
