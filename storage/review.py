"""Rows of the review tables and the SQL of the review workflow (the rules are ``review/``).

- A queue's items are recorded runs that match its filter; ``refresh`` adds the runs that
  ended since the last refresh, so runs recorded after the queue was made enter it.
- An item wants ``overlap`` reviews. Each review is a *slot* row keyed (queue, record,
  slot number): inserting a slot is the claim, so two reviewers can never hold the same
  slot, and a unique (queue, record, reviewer) keeps one reviewer to one slot per item.
  A claim expires; an expired slot is taken over by a conditional update that only one
  claimant can win. Submitting fixes the slot for good; an item whose slots are all
  submitted is marked complete, so the search for the next item skips it by index.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage import schema
from storage.engine import storage_errors
from storage.migrate import ensure

CANDIDATES = 25  # items tried per search for the next one (others may win the race for some)
RECORDING_MARGIN = timedelta(minutes=10)  # how late a run may reach pf_runs after it ended


def run_conditions(filters: dict[str, Any]) -> list:
    """SQL conditions on ``pf_runs`` for a queue filter (see ``review.queues.QueueFilter``):
    prompt, version, provider, since / until (datetimes), batches (evaluation ids), pii_found,
    injection (actions), metric {name, below, above}, sample (a share of runs, by record id)."""
    r, m = schema.runs.c, schema.run_metrics.c
    out: list = []
    if filters.get("prompt"):
        out.append(r.app_name == filters["prompt"])
    if filters.get("version"):
        out.append(r.app_version == filters["version"])
    if filters.get("provider"):
        out.append(r.provider == filters["provider"])
    if filters.get("since"):
        out.append(r.started_at >= filters["since"])
    if filters.get("until"):
        out.append(r.started_at < filters["until"])
    if filters.get("batches") is not None:
        out.append(r.batch_id.in_(list(filters["batches"])))
    if filters.get("pii_found"):
        out.append(sa.cast(r.pii_in, sa.Text).not_in(["{}", "null"]))
    if filters.get("injection"):
        out.append(r.injection_action.in_(list(filters["injection"])))
    metric = filters.get("metric")
    if metric:
        scored = [m.record_id == r.record_id, m.name == metric["name"], m.status == "ok"]
        if metric.get("below") is not None:
            scored.append(m.value < metric["below"])
        if metric.get("above") is not None:
            scored.append(m.value > metric["above"])
        out.append(sa.select(m.record_id).where(*scored).exists())
    share = filters.get("sample")
    if share is not None and share < 1:
        # record ids are hexadecimal: the first four digits place a run uniformly in [0, 65536)
        out.append(sa.func.substr(r.record_id, 1, 4) < f"{int(share * 65536):04x}")
    return out


@dataclass(frozen=True)
class RubricRow:
    name: str
    version: int
    title: str
    spec: str
    digest: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class QueueRow:
    id: str
    name: str
    description: str
    filters: dict[str, Any]
    rubric: str
    overlap: int
    claim_minutes: int
    refreshed_until: datetime | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Claim:
    queue_id: str
    record_id: str
    slot: int
    reviewer: str
    token: str
    claimed_at: datetime
    expires_at: datetime
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class AnnotationRow:
    id: str
    queue_id: str
    record_id: str
    reviewer: str
    kind: str
    rubric: str
    rubric_version: int
    scores: dict[str, Any]
    comments: dict[str, str]
    created_at: datetime
    supersedes: str | None
    superseded_by: str | None


class ReviewTables:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with storage_errors(engine):
            ensure(engine)

    # -- rubrics ----------------------------------------------------------------------

    def save_rubric(self, name: str, title: str, spec: str, digest: str, created_by: str) -> tuple[RubricRow, bool]:
        """Store a new version unless the newest has the same digest; (row, created)."""
        t = schema.rubrics
        with storage_errors(self.engine), self.engine.begin() as conn:
            latest = conn.execute(sa.select(t).where(t.c.name == name).order_by(t.c.version.desc()).limit(1)).first()
            if latest is not None and latest.digest == digest:
                return RubricRow(**latest._mapping), False
            version = (latest.version if latest is not None else 0) + 1
            row = {"name": name, "version": version, "title": title, "spec": spec, "digest": digest,
                   "created_by": created_by, "created_at": schema.utcnow()}
            conn.execute(sa.insert(t).values(**row))
        return RubricRow(**row), True

    def rubric(self, name: str, version: int | None = None) -> RubricRow | None:
        t = schema.rubrics
        query = sa.select(t).where(t.c.name == name)
        query = query.where(t.c.version == version) if version else query.order_by(t.c.version.desc()).limit(1)
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(query).first()
        return RubricRow(**row._mapping) if row else None

    def rubrics(self) -> list[RubricRow]:
        """The newest version of every rubric, by name."""
        t = schema.rubrics
        newest = sa.select(t.c.name, sa.func.max(t.c.version).label("v")).group_by(t.c.name).subquery()
        query = sa.select(t).join(newest, (t.c.name == newest.c.name) & (t.c.version == newest.c.v)).order_by(t.c.name)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [RubricRow(**r._mapping) for r in conn.execute(query)]

    def rubric_versions(self, name: str) -> list[RubricRow]:
        t = schema.rubrics
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [RubricRow(**r._mapping) for r in conn.execute(sa.select(t).where(t.c.name == name).order_by(t.c.version))]

    # -- queues -----------------------------------------------------------------------

    def create_queue(self, **values: Any) -> QueueRow:
        values.setdefault("id", uuid.uuid4().hex)
        values.setdefault("created_at", schema.utcnow())
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.insert(schema.review_queues).values(**values))
        return self.queue(values["id"])

    def queue(self, id_or_name: str) -> QueueRow | None:
        t = schema.review_queues
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where((t.c.id == id_or_name) | (t.c.name == id_or_name))).first()
        return QueueRow(**row._mapping) if row else None

    def queues(self) -> list[QueueRow]:
        t = schema.review_queues
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [QueueRow(**r._mapping) for r in conn.execute(sa.select(t).order_by(t.c.name))]

    def refresh(self, queue: QueueRow, conditions: list, now: datetime) -> int:
        """Add the runs matching ``conditions`` that ended since the last refresh (all, the
        first time) and are not items yet; returns how many were added."""
        r, i, q = schema.runs.c, schema.review_items, schema.review_queues
        new = [*conditions, r.ended_at <= now]
        if queue.refreshed_until is not None:
            # runs reach the table a little after they end (the recorder writes in batches):
            # look back a margin; runs already in the queue are not added twice
            new.append(r.ended_at > queue.refreshed_until - RECORDING_MARGIN)
        present = sa.select(i.c.record_id).where(i.c.queue_id == queue.id, i.c.record_id == r.record_id).exists()
        select = sa.select(
            sa.literal(queue.id), r.record_id, sa.literal(now, sa.DateTime), sa.literal(False, sa.Boolean)
        ).where(*new, ~present)
        insert = sa.insert(i).from_select(["queue_id", "record_id", "added_at", "complete"], select).execution_options(
            preserve_rowcount=True  # psycopg reports no row count for an INSERT ... SELECT without it
        )
        with storage_errors(self.engine), self.engine.begin() as conn:
            added = conn.execute(insert).rowcount or 0
            conn.execute(sa.update(q).where(q.c.id == queue.id).values(refreshed_until=now))
        return max(added, 0)

    def count_matching(self, conditions: list) -> int:
        with storage_errors(self.engine), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(schema.runs).where(*conditions)).scalar_one())

    # -- claims -----------------------------------------------------------------------

    def open_claim(self, queue_id: str, reviewer: str, now: datetime) -> Claim | None:
        """The reviewer's claim in this queue that is not submitted yet and has not expired."""
        s = schema.review_slots.c
        query = sa.select(schema.review_slots).where(
            s.queue_id == queue_id, s.reviewer == reviewer, s.submitted_at.is_(None), s.expires_at > now
        ).order_by(s.claimed_at).limit(1)
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(query).first()
        return Claim(**row._mapping) if row else None

    def claim_next(self, queue: QueueRow, reviewer: str, now: datetime) -> Claim | None:
        """Claim a slot of the oldest open item this reviewer has not reviewed or skipped;
        None when there is none. Safe under concurrency: a lost race moves on."""
        i, s, k = schema.review_items.c, schema.review_slots.c, schema.review_skips.c
        expires = now + timedelta(minutes=queue.claim_minutes)
        mine = sa.select(s.record_id).where(s.queue_id == i.queue_id, s.record_id == i.record_id, s.reviewer == reviewer).exists()
        skipped = sa.select(k.record_id).where(k.queue_id == i.queue_id, k.record_id == i.record_id, k.reviewer == reviewer).exists()
        taken = (
            sa.select(sa.func.count())
            .where(s.queue_id == i.queue_id, s.record_id == i.record_id, (s.submitted_at.is_not(None)) | (s.expires_at > now))
            .scalar_subquery()
        )
        candidates = (
            sa.select(i.record_id)
            .where(i.queue_id == queue.id, i.complete.is_(False), ~mine, ~skipped, taken < queue.overlap)
            .order_by(i.added_at, i.record_id)
            .limit(CANDIDATES)
        )
        with storage_errors(self.engine):
            own = self._own_expired(queue.id, reviewer, now, expires)
            if own is not None:
                return own
            with self.engine.connect() as conn:
                records = [row[0] for row in conn.execute(candidates)]
            for record_id in records:
                claim = self._take(queue, record_id, reviewer, now, expires)
                if claim is not None:
                    return claim
        return None

    def _own_expired(self, queue_id: str, reviewer: str, now: datetime, expires: datetime) -> Claim | None:
        """A claim of this reviewer that expired unsubmitted and nobody took over: renewed."""
        t = schema.review_slots
        token = uuid.uuid4().hex
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(t).where(t.c.queue_id == queue_id, t.c.reviewer == reviewer, t.c.submitted_at.is_(None),
                                   t.c.expires_at <= now)
                .order_by(t.c.claimed_at).limit(1)
            ).first()
            if row is None:
                return None
            conn.execute(
                sa.update(t).where(t.c.queue_id == queue_id, t.c.record_id == row.record_id, t.c.slot == row.slot,
                                   t.c.reviewer == reviewer, t.c.submitted_at.is_(None))
                .values(token=token, claimed_at=now, expires_at=expires)
            )
        return Claim(queue_id, row.record_id, row.slot, reviewer, token, now, expires)

    def _take(self, queue: QueueRow, record_id: str, reviewer: str, now: datetime, expires: datetime) -> Claim | None:
        t = schema.review_slots
        token = uuid.uuid4().hex
        with self.engine.connect() as conn:
            used = {r.slot: r for r in conn.execute(sa.select(t).where(t.c.queue_id == queue.id, t.c.record_id == record_id))}
        for slot in range(queue.overlap):
            row = used.get(slot)
            try:
                with self.engine.begin() as conn:
                    if row is None:
                        conn.execute(sa.insert(t).values(
                            queue_id=queue.id, record_id=record_id, slot=slot, reviewer=reviewer, token=token,
                            claimed_at=now, expires_at=expires, submitted_at=None,
                        ))
                    elif row.submitted_at is None and row.expires_at <= now:  # an abandoned claim: take it over
                        won = conn.execute(
                            sa.update(t).where(t.c.queue_id == queue.id, t.c.record_id == record_id, t.c.slot == slot,
                                               t.c.token == row.token, t.c.submitted_at.is_(None), t.c.expires_at <= now)
                            .values(reviewer=reviewer, token=token, claimed_at=now, expires_at=expires)
                        ).rowcount
                        if won != 1:
                            continue
                    else:
                        continue
                return Claim(queue.id, record_id, slot, reviewer, token, now, expires)
            except sa.exc.IntegrityError:
                continue  # someone else took this slot (or this reviewer holds another slot of it)
        return None

    def claim(self, queue_id: str, token: str) -> Claim | None:
        s = schema.review_slots.c
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.review_slots).where(s.queue_id == queue_id, s.token == token)).first()
        return Claim(**row._mapping) if row else None

    def submit(self, claim: Claim, annotation: dict[str, Any], overlap: int, now: datetime) -> bool:
        """Fix the slot and store the annotation in one transaction; False when the claim is
        no longer this reviewer's to submit (expired and taken over, or already submitted)."""
        t, i = schema.review_slots, schema.review_items
        with storage_errors(self.engine), self.engine.begin() as conn:
            done = conn.execute(
                sa.update(t).where(
                    t.c.queue_id == claim.queue_id, t.c.record_id == claim.record_id, t.c.slot == claim.slot,
                    t.c.token == claim.token, t.c.reviewer == claim.reviewer, t.c.submitted_at.is_(None),
                ).values(submitted_at=now)
            ).rowcount
            if done != 1:
                return False
            conn.execute(sa.insert(schema.annotations).values(**annotation))
            submitted = conn.execute(
                sa.select(sa.func.count()).where(
                    t.c.queue_id == claim.queue_id, t.c.record_id == claim.record_id, t.c.submitted_at.is_not(None)
                )
            ).scalar_one()
            if submitted >= overlap:
                conn.execute(sa.update(i).where(i.c.queue_id == claim.queue_id, i.c.record_id == claim.record_id)
                             .values(complete=True))
        return True

    def items_among(self, queue_id: str, record_ids: list[str]) -> set[str]:
        """Which of ``record_ids`` are items of the queue."""
        i = schema.review_items.c
        found: set[str] = set()
        with storage_errors(self.engine), self.engine.connect() as conn:
            for chunk in (record_ids[k : k + 500] for k in range(0, len(record_ids), 500)):
                query = sa.select(i.record_id).where(i.queue_id == queue_id, i.record_id.in_(chunk))
                found.update(row[0] for row in conn.execute(query))
        return found

    def add_reviews(self, slots: list[dict[str, Any]], annotations: list[dict[str, Any]]) -> int:
        """Reviews submitted earlier, written at once (history loaded after the fact): their
        slots (submitted), their annotations, and their items marked complete once they hold
        ``overlap`` submitted slots, as ``submit`` leaves them. Returns the items completed."""
        t, i, q = schema.review_slots, schema.review_items, schema.review_queues
        if not slots:
            return 0
        completed = 0
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.insert(t), slots)
            if annotations:
                conn.execute(sa.insert(schema.annotations), annotations)
            for queue_id in sorted({slot["queue_id"] for slot in slots}):
                overlap = conn.execute(sa.select(q.c.overlap).where(q.c.id == queue_id)).scalar_one()
                records = sorted({slot["record_id"] for slot in slots if slot["queue_id"] == queue_id})
                for chunk in (records[k : k + 500] for k in range(0, len(records), 500)):
                    submitted = (
                        sa.select(sa.func.count())
                        .where(t.c.queue_id == i.c.queue_id, t.c.record_id == i.c.record_id, t.c.submitted_at.is_not(None))
                        .scalar_subquery()
                    )
                    completed += conn.execute(
                        sa.update(i).where(i.c.queue_id == queue_id, i.c.record_id.in_(chunk), submitted >= overlap)
                        .values(complete=True)
                    ).rowcount or 0
        return completed

    def skip(self, claim: Claim, reason: str, now: datetime) -> bool:
        """Give the slot back and remember that this reviewer skipped the item."""
        t = schema.review_slots
        with storage_errors(self.engine), self.engine.begin() as conn:
            gone = conn.execute(
                sa.delete(t).where(t.c.queue_id == claim.queue_id, t.c.record_id == claim.record_id,
                                   t.c.slot == claim.slot, t.c.token == claim.token, t.c.submitted_at.is_(None))
            ).rowcount
            if gone != 1:
                return False
            conn.execute(sa.insert(schema.review_skips).values(
                queue_id=claim.queue_id, record_id=claim.record_id, reviewer=claim.reviewer, reason=reason, skipped_at=now,
            ))
        return True

    # -- annotations ------------------------------------------------------------------

    def add_annotation(self, annotation: dict[str, Any]) -> bool:
        """An annotation outside a claim (a correction or an adjudication); a correction marks
        the one it supersedes. False, and nothing stored, when that one was superseded meanwhile."""
        a = schema.annotations
        with storage_errors(self.engine), self.engine.begin() as conn:
            if annotation.get("supersedes"):
                replaced = conn.execute(
                    sa.update(a).where(a.c.id == annotation["supersedes"], a.c.superseded_by.is_(None))
                    .values(superseded_by=annotation["id"])
                ).rowcount
                if replaced != 1:
                    return False
            conn.execute(sa.insert(a).values(**annotation))
        return True

    def annotation(self, annotation_id: str) -> AnnotationRow | None:
        a = schema.annotations
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(a).where(a.c.id == annotation_id)).first()
        return AnnotationRow(**row._mapping) if row else None

    def annotations(self, queue_id: str | None = None, record_id: str | None = None, current: bool = False) -> list[AnnotationRow]:
        """Annotations of a queue and/or a record, oldest first; ``current``: not superseded."""
        a = schema.annotations
        # a queue holds tens of thousands of annotations (agreement reads them all): the JSON
        # columns come as text and are decoded once per distinct text (answers repeat a lot),
        # the time without SQLAlchemy's per-row processors; rows are built positionally
        query = sa.select(
            a.c.id, a.c.queue_id, a.c.record_id, a.c.reviewer, a.c.kind, a.c.rubric, a.c.rubric_version,
            sa.cast(a.c.scores, sa.Text), sa.cast(a.c.comments, sa.Text), sa.type_coerce(a.c.created_at, sa.String),
            a.c.supersedes, a.c.superseded_by,
        ).order_by(a.c.created_at, a.c.id)
        if queue_id is not None:
            query = query.where(a.c.queue_id == queue_id)
        if record_id is not None:
            query = query.where(a.c.record_id == record_id)
        if current:
            query = query.where(a.c.superseded_by.is_(None))
        with storage_errors(self.engine), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        decoded: dict[str, dict[str, Any]] = {}

        def mapping(text: str | None) -> dict[str, Any]:
            value = decoded.get(text)
            if value is None:
                value = decoded[text] = (json.loads(text) if text else None) or {}
            return dict(value)  # a copy per row: values are plain scalars and strings

        def when(value: Any) -> datetime:  # SQLite gives text, PostgreSQL a datetime
            return value if isinstance(value, datetime) else datetime.fromisoformat(value)

        return [
            AnnotationRow(i, q, rec, who, kind, rubric, version, mapping(scores), mapping(comments), when(created),
                          supersedes, superseded_by)
            for i, q, rec, who, kind, rubric, version, scores, comments, created, supersedes, superseded_by in rows
        ]

    # -- progress ---------------------------------------------------------------------

    def progress(self, queue_id: str, now: datetime) -> dict[str, Any]:
        """Items (all, complete) and, per reviewer, reviews done, claims held and items skipped."""
        i, s, k = schema.review_items.c, schema.review_slots.c, schema.review_skips.c
        with storage_errors(self.engine), self.engine.connect() as conn:
            total, complete = conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((i.complete, 1), else_=0)), 0))
                .where(i.queue_id == queue_id)
            ).one()
            reviewers: dict[str, dict[str, int]] = {}
            for reviewer, submitted, active in conn.execute(
                sa.select(
                    s.reviewer,
                    sa.func.sum(sa.case((s.submitted_at.is_not(None), 1), else_=0)),
                    sa.func.sum(sa.case(((s.submitted_at.is_(None)) & (s.expires_at > now), 1), else_=0)),
                ).where(s.queue_id == queue_id).group_by(s.reviewer)
            ):
                reviewers[reviewer] = {"done": int(submitted or 0), "claimed": int(active or 0), "skipped": 0}
            for reviewer, skipped in conn.execute(
                sa.select(k.reviewer, sa.func.count()).where(k.queue_id == queue_id).group_by(k.reviewer)
            ):
                reviewers.setdefault(reviewer, {"done": 0, "claimed": 0, "skipped": 0})["skipped"] = int(skipped)
        return {"items": int(total), "complete": int(complete or 0), "reviewers": reviewers}
