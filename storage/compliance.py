"""The figures of a compliance report, each one SQL aggregate over the runs a ``RunFilter``
selects (GROUP BY, COUNT, AVG, CASE buckets), so a report over 100,000 runs reads a few
hundred rows, never the runs themselves. The SQL is plain enough for SQLite and PostgreSQL
alike: percentiles are nearest-rank values read by ``ORDER BY value LIMIT 1 OFFSET k`` on
the metric index, histograms are CASE buckets with edges computed from the range.

Besides the runs: the review queues' annotations of runs in scope, production label
moves (TruLens's label history and ``pf_label_requests``), account events of the audit
chain, and the accounts as they are now. Reading only; the report writer (``reports``)
lays them out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage import schema
from storage.prompts import LATEST
from storage.run_filter import RunFilter

# the audit actions that create, change or lock accounts (security.identity.accounts writes them)
ACCOUNT_ACTIONS = (
    "user_created", "roles_changed", "user_disabled", "user_enabled", "user_unlocked", "password_reset",
    "account_locked",
)
LOGIN_ACTIONS = ("login", "login_failed", "logout", "password_changed", "password_change_failed")
NOT_SCREENED = "not screened"  # a run with no injection verdict (made before screening, or an error)
DISTINCT_LIMIT = 12  # a metric or rubric item with at most this many distinct values is counted per value


def in_scope(scope: RunFilter) -> sa.Select:
    """``SELECT record_id FROM pf_runs WHERE <scope>``, to use in IN and EXISTS."""
    return sa.select(schema.runs.c.record_id).where(*scope.conditions())


# ----------------------------------------------------------------------------- runs


def run_totals(conn: sa.Connection, scope: RunFilter) -> dict[str, Any]:
    """Runs, by status and injection verdict, with latency, tokens, cost and the time span."""
    r = schema.runs.c

    def count_if(condition: sa.ColumnElement) -> sa.ColumnElement:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    row = conn.execute(
        sa.select(
            sa.func.count().label("runs"),
            count_if(r.status == "ok").label("ok"),
            count_if(r.status == "blocked").label("blocked"),
            count_if(r.status == "error").label("errors"),
            count_if(r.injection_action == "flag").label("flagged"),
            count_if(r.injection_action == "block").label("injection_blocked"),
            count_if(r.simulated).label("simulated"),
            sa.func.avg(r.latency_s).label("mean_latency_s"),
            sa.func.sum(r.input_tokens + r.output_tokens).label("tokens"),
            sa.func.sum(r.cost_usd).label("cost_usd"),
            sa.func.min(r.started_at).label("first"),
            sa.func.max(r.started_at).label("last"),
            sa.func.count(sa.distinct(r.app_name)).label("prompts"),
            sa.func.count(sa.distinct(r.actor)).label("actors"),
        ).where(*scope.conditions())
    ).one()
    out = dict(row._mapping)
    for key in ("runs", "ok", "blocked", "errors", "flagged", "injection_blocked", "simulated", "prompts", "actors"):
        out[key] = int(out[key] or 0)
    out["tokens"] = int(out["tokens"] or 0)
    out["first"], out["last"] = _datetime(out["first"]), _datetime(out["last"])
    return out


def runs_by_status(conn: sa.Connection, scope: RunFilter) -> list[tuple[str, int]]:
    r = schema.runs.c
    query = sa.select(r.status, sa.func.count()).where(*scope.conditions()).group_by(r.status)
    return sorted(((s, int(n)) for s, n in conn.execute(query)), key=lambda x: -x[1])


def injection_verdicts(conn: sa.Connection, scope: RunFilter) -> list[tuple[str, int]]:
    """(verdict, runs) in the order allow, flag, block, then anything else, ``NOT_SCREENED`` last."""
    r = schema.runs.c
    query = sa.select(r.injection_action, sa.func.count()).where(*scope.conditions()).group_by(r.injection_action)
    counts = {(a if a is not None else NOT_SCREENED): int(n) for a, n in conn.execute(query)}
    order = ["allow", "flag", "block"]
    rest = sorted(k for k in counts if k not in order and k != NOT_SCREENED)
    return [(k, counts[k]) for k in [*order, *rest, NOT_SCREENED] if k in counts]


def runs_per_day(conn: sa.Connection, scope: RunFilter) -> list[tuple[date, int, int, int]]:
    """(day, runs, blocked, flagged) for each UTC day with runs, oldest first."""
    r = schema.runs.c
    if conn.dialect.name == "sqlite":
        day = sa.func.date(r.started_at)
    else:
        day = sa.cast(r.started_at, sa.Date)
    query = (
        sa.select(
            day.label("day"),
            sa.func.count(),
            sa.func.sum(sa.case((r.status == "blocked", 1), else_=0)),
            sa.func.sum(sa.case((r.injection_action == "flag", 1), else_=0)),
        )
        .where(*scope.conditions())
        .group_by(day)
        .order_by(day)
    )
    out = []
    for d, n, blocked, flagged in conn.execute(query):
        d = date.fromisoformat(d) if isinstance(d, str) else d
        out.append((d, int(n), int(blocked or 0), int(flagged or 0)))
    return out


def runs_by_version(conn: sa.Connection, scope: RunFilter, limit: int = 40) -> tuple[list[dict[str, Any]], int]:
    """The ``limit`` prompt versions with most runs (runs, ok, blocked, errors, flagged, mean
    latency), and how many versions there are in all."""
    r = schema.runs.c
    n = sa.func.count().label("runs")
    query = (
        sa.select(
            r.app_name, r.app_version, n,
            sa.func.sum(sa.case((r.status == "ok", 1), else_=0)).label("ok"),
            sa.func.sum(sa.case((r.status == "blocked", 1), else_=0)).label("blocked"),
            sa.func.sum(sa.case((r.status == "error", 1), else_=0)).label("errors"),
            sa.func.sum(sa.case((r.injection_action == "flag", 1), else_=0)).label("flagged"),
            sa.func.avg(r.latency_s).label("mean_latency_s"),
        )
        .where(*scope.conditions())
        .group_by(r.app_name, r.app_version)
        .order_by(n.desc(), r.app_name, r.app_version)
        .limit(limit)
    )
    rows = [dict(row._mapping) for row in conn.execute(query)]
    versions = sa.select(r.app_name, r.app_version).where(*scope.conditions()).group_by(r.app_name, r.app_version)
    total = conn.execute(sa.select(sa.func.count()).select_from(versions.subquery())).scalar_one()
    return rows, int(total)


def pii_by_type(conn: sa.Connection, scope: RunFilter) -> list[dict[str, Any]]:
    """Per entity type: entities scrubbed from prompts (``in``) and answers (``out``) and the
    runs they were found in; most entities first."""
    e = schema.run_entities.c
    query = (
        sa.select(e.entity_type, e.direction, sa.func.count(), sa.func.sum(e.count))
        .where(e.record_id.in_(in_scope(scope)))
        .group_by(e.entity_type, e.direction)
    )
    by_type: dict[str, dict[str, Any]] = {}
    for kind, direction, runs, entities in conn.execute(query):
        row = by_type.setdefault(kind, {"entity_type": kind, "in_runs": 0, "in": 0, "out_runs": 0, "out": 0})
        key = "in" if direction == "in" else "out"
        row[f"{key}_runs"] += int(runs)
        row[key] += int(entities or 0)
    return sorted(by_type.values(), key=lambda x: (-(x["in"] + x["out"]), x["entity_type"]))


def runs_with_pii(conn: sa.Connection, scope: RunFilter) -> dict[str, int]:
    """Runs with any entity scrubbed from the prompt (``in``), from the answer (``out``), either (``any``)."""
    e = schema.run_entities.c

    def runs(direction: str) -> sa.ColumnElement:
        return sa.func.count(sa.distinct(sa.case((e.direction == direction, e.record_id), else_=None)))

    row = conn.execute(
        sa.select(runs("in"), runs("out"), sa.func.count(sa.distinct(e.record_id))).where(e.record_id.in_(in_scope(scope)))
    ).one()
    return {"in": int(row[0]), "out": int(row[1]), "any": int(row[2])}


# ----------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class MetricSummary:
    name: str
    n: int  # runs with a value
    unavailable: int  # runs where the metric could not be computed
    errors: int
    mean: float | None
    minimum: float | None
    maximum: float | None
    p50: float | None  # nearest-rank percentiles
    p95: float | None
    distinct: int  # distinct values
    higher_is_better: bool

    @property
    def human(self) -> bool:
        return self.name.startswith("human_")


def metric_summaries(conn: sa.Connection, scope: RunFilter) -> list[MetricSummary]:
    """Every metric recorded for runs in scope, by name: three queries whatever the number of
    metrics (the aggregates, then both percentiles of every metric in one window query)."""
    m = schema.run_metrics.c
    scoped = m.record_id.in_(in_scope(scope))
    query = (
        sa.select(
            m.name,
            sa.func.count(m.value),
            sa.func.sum(sa.case((m.status == "unavailable", 1), else_=0)),
            sa.func.sum(sa.case((m.status == "error", 1), else_=0)),
            sa.func.avg(m.value),
            sa.func.min(m.value),
            sa.func.max(m.value),
            sa.func.count(sa.distinct(m.value)),
            sa.func.max(sa.case((m.higher_is_better, 1), else_=0)),
        )
        .where(scoped)
        .group_by(m.name)
        .order_by(m.name)
    )
    rows = conn.execute(query).all()
    percentiles = _percentiles(conn, scoped, (50, 95)) if any(row[1] for row in rows) else {}
    return [
        MetricSummary(
            name, int(n), int(unavailable or 0), int(errors or 0), _float(mean), _float(low), _float(high),
            percentiles.get((name, 50)), percentiles.get((name, 95)), int(distinct), bool(better),
        )
        for name, n, unavailable, errors, mean, low, high, distinct, better in rows
    ]


def _percentiles(conn: sa.Connection, scoped: sa.ColumnElement, points: Sequence[int]) -> dict[tuple[str, int], float]:
    """(metric, p) -> the nearest-rank p-th percentile (the value at rank ceil(p/100 × n)) of
    every metric, in one query: rows numbered per metric in value order, the wanted ranks kept."""
    m = schema.run_metrics.c
    numbered = (
        sa.select(
            m.name,
            m.value,
            sa.func.row_number().over(partition_by=m.name, order_by=m.value).label("rank"),
            sa.func.count().over(partition_by=m.name).label("n"),
        )
        .where(m.value.is_not(None), scoped)
        .subquery()
    )
    wanted = {p: (numbered.c.n * p + 99) // 100 for p in points}  # ceil(p × n / 100) in integers
    query = sa.select(numbered.c.name, numbered.c.rank, numbered.c.n, numbered.c.value).where(
        sa.or_(*(numbered.c.rank == rank for rank in wanted.values()))
    )
    out = {}
    for name, rank, n, value in conn.execute(query):
        for p in points:
            if rank == (n * p + 99) // 100:
                out[(name, p)] = float(value)
    return out


def metric_histograms(
    conn: sa.Connection, scope: RunFilter, summaries: Sequence[MetricSummary], bins: int = 12
) -> dict[str, list[tuple[str, int]]]:
    """metric -> (label, runs) per bar, in two queries for all metrics: one bar per value for a
    metric with at most ``DISTINCT_LIMIT`` distinct values, else ``bins`` equal-width bins from
    its minimum to its maximum (CASE buckets on the metric's own edges; the last bin holds the
    maximum)."""
    m = schema.run_metrics.c
    scored = [s for s in summaries if s.n and s.minimum is not None and s.maximum is not None]
    few = [s.name for s in scored if s.distinct <= DISTINCT_LIMIT]
    many = [s for s in scored if s.distinct > DISTINCT_LIMIT]
    where = [m.value.is_not(None), m.record_id.in_(in_scope(scope))]
    out: dict[str, list[tuple[str, int]]] = {}
    if few:
        query = (
            sa.select(m.name, m.value, sa.func.count())
            .where(m.name.in_(few), *where)
            .group_by(m.name, m.value)
            .order_by(m.name, m.value)
        )
        for name, value, n in conn.execute(query):
            out.setdefault(name, []).append((_short(value), int(n)))
    if many:
        steps = {s.name: (s.maximum - s.minimum) / bins for s in many}
        bucket = sa.case(
            *(
                (m.name == s.name, sa.case(
                    *((m.value < s.minimum + steps[s.name] * k, k - 1) for k in range(1, bins)), else_=bins - 1
                ))
                for s in many
            ),
            else_=-1,
        ).label("bucket")
        query = sa.select(m.name, bucket, sa.func.count()).where(m.name.in_(list(steps)), *where).group_by(m.name, bucket)
        counts = {(name, int(k)): int(n) for name, k, n in conn.execute(query)}
        for s in many:
            out[s.name] = [
                (_bin_label(s.minimum + steps[s.name] * k, steps[s.name]), counts.get((s.name, k), 0)) for k in range(bins)
            ]
    return out


# ----------------------------------------------------------------------------- annotations


@dataclass(frozen=True)
class QueueAnnotations:
    queue_id: str
    name: str
    rubric: str
    items: int  # queued runs in scope
    complete: int  # of which every wanted review is in
    reviews: int  # current review annotations of runs in scope
    reviewers: int
    adjudications: int
    corrected: int  # annotations superseded by a correction


def annotation_queues(conn: sa.Connection, scope: RunFilter) -> list[QueueAnnotations]:
    """Each review queue with queued or annotated runs in scope, by name."""
    q, i, a = schema.review_queues.c, schema.review_items.c, schema.annotations.c
    scoped_items = i.record_id.in_(in_scope(scope))
    items = {
        qid: (int(n), int(done or 0))
        for qid, n, done in conn.execute(
            sa.select(i.queue_id, sa.func.count(), sa.func.sum(sa.case((i.complete, 1), else_=0)))
            .where(scoped_items).group_by(i.queue_id)
        )
    }
    current = a.superseded_by.is_(None)
    notes = {
        qid: (int(reviews or 0), int(reviewers or 0), int(adjudications or 0), int(corrected or 0))
        for qid, reviews, reviewers, adjudications, corrected in conn.execute(
            sa.select(
                a.queue_id,
                sa.func.sum(sa.case((sa.and_(current, a.kind == "review"), 1), else_=0)),
                sa.func.count(sa.distinct(sa.case((a.kind == "review", a.reviewer), else_=None))),
                sa.func.sum(sa.case((sa.and_(current, a.kind == "adjudication"), 1), else_=0)),
                sa.func.sum(sa.case((a.superseded_by.is_not(None), 1), else_=0)),
            )
            .where(a.record_id.in_(in_scope(scope)))
            .group_by(a.queue_id)
        )
    }
    ids = set(items) | set(notes)
    if not ids:
        return []
    out = []
    for qid, name, rubric in conn.execute(sa.select(q.id, q.name, q.rubric).where(q.id.in_(sorted(ids)))):
        n, done = items.get(qid, (0, 0))
        reviews, reviewers, adjudications, corrected = notes.get(qid, (0, 0, 0, 0))
        out.append(QueueAnnotations(qid, name, rubric, n, done, reviews, reviewers, adjudications, corrected))
    return sorted(out, key=lambda x: x.name)


def newest_rubric(conn: sa.Connection, name: str) -> tuple[dict[str, Any], int] | None:
    """(spec as stored, version) of the newest version of rubric ``name``, or None."""
    r = schema.rubrics.c
    row = conn.execute(
        sa.select(r.spec, r.version).where(r.name == name).order_by(r.version.desc()).limit(1)
    ).first()
    return (json.loads(row.spec), int(row.version)) if row else None


def answer_counts(
    conn: sa.Connection, scope: RunFilter, queue_id: str, item: str, *, boolean: bool = False, kind: str = "review"
) -> list[tuple[str, int]] | None:
    """(answer as text, annotations) for one rubric item over the current ``kind`` annotations
    of runs in scope, most frequent first; None when the item has more than
    ``DISTINCT_LIMIT`` distinct answers (then read ``answer_stats``). The answers of a
    ``boolean`` item come as ``"true"``/``"false"`` on both databases."""
    a = schema.annotations.c
    value = a.scores[item].as_string()
    query = (
        sa.select(value.label("answer"), sa.func.count().label("n"))
        .where(a.queue_id == queue_id, a.kind == kind, a.superseded_by.is_(None), a.record_id.in_(in_scope(scope)))
        .group_by(value)
        .order_by(sa.desc("n"))
        .limit(DISTINCT_LIMIT + 1)
    )
    rows = [(_answer(v, boolean), int(n)) for v, n in conn.execute(query)]
    return None if len(rows) > DISTINCT_LIMIT else rows


def answer_stats(conn: sa.Connection, scope: RunFilter, queue_id: str, item: str) -> dict[str, Any]:
    """Count, mean, minimum and maximum of a numeric rubric item over current reviews in scope."""
    a = schema.annotations.c
    value = a.scores[item].as_float()
    row = conn.execute(
        sa.select(sa.func.count(value), sa.func.avg(value), sa.func.min(value), sa.func.max(value)).where(
            a.queue_id == queue_id, a.kind == "review", a.superseded_by.is_(None), a.record_id.in_(in_scope(scope))
        )
    ).one()
    return {"n": int(row[0]), "mean": _float(row[1]), "min": _float(row[2]), "max": _float(row[3])}


def current_reviews(
    conn: sa.Connection, scope: RunFilter, queue_id: str, page: int = 5_000
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(record id, reviewer, scores) of the current review annotations of runs in scope, oldest
    first, read a page at a time (keyset on the annotation id)."""
    a = schema.annotations.c
    after = ""
    while True:
        rows = conn.execute(
            sa.select(a.id, a.record_id, a.reviewer, sa.cast(a.scores, sa.Text))
            .where(
                a.queue_id == queue_id, a.kind == "review", a.superseded_by.is_(None),
                a.record_id.in_(in_scope(scope)), a.id > after,
            )
            .order_by(a.id)
            .limit(page)
        ).all()
        decoded: dict[str, dict[str, Any]] = {}
        for annotation_id, record_id, reviewer, scores in rows:
            value = decoded.get(scores)
            if value is None:
                value = decoded[scores] = json.loads(scores) if scores else {}
            yield record_id, reviewer, value
        if len(rows) < page:
            return
        after = rows[-1][0]


def count_current_reviews(conn: sa.Connection, scope: RunFilter, queue_id: str) -> int:
    a = schema.annotations.c
    return int(conn.execute(
        sa.select(sa.func.count()).where(
            a.queue_id == queue_id, a.kind == "review", a.superseded_by.is_(None), a.record_id.in_(in_scope(scope))
        )
    ).scalar_one())


def queue_names(conn: sa.Connection, ids: Sequence[str]) -> dict[str, str]:
    q = schema.review_queues.c
    if not ids:
        return {}
    return dict(conn.execute(sa.select(q.id, q.name).where(q.id.in_(list(ids)))).all())


# ----------------------------------------------------------------------------- label moves


@dataclass(frozen=True)
class LabelMoveRow:
    at: datetime
    slug: str
    label: str
    from_version: int | None
    to_version: int | None
    moved_by: str
    requested_by: str = ""
    approved_by: str = ""
    emergency: bool = False


_DECISION_SLACK = timedelta(seconds=2)  # a decision is stored just before TruLens records the move


def label_moves(
    conn: sa.Connection,
    start: datetime | None,
    end: datetime | None,
    prompts: Sequence[str] = (),
    limit: int = 500,
    skip: Sequence[str] = (LATEST,),
) -> tuple[list[LabelMoveRow], int]:
    """Label moves in [start, end) from TruLens's label history, newest first, each with the
    request that led to it (requester and approver) where there was one; and how many moves
    there are in all (the list holds at most ``limit``). Labels in ``skip`` are left out (by
    default ``latest``, which follows every new version by itself)."""
    orm = _trulens_orm()
    h, p = orm.PromptLabelHistory.__table__, orm.Prompt.__table__
    if not sa.inspect(conn).has_table(h.name):
        return [], 0
    where = []
    if start is not None:
        where.append(h.c.timestamp >= _epoch(start))
    if end is not None:
        where.append(h.c.timestamp < _epoch(end))
    if prompts:
        where.append(p.c.slug.in_(list(prompts)))
    if skip:
        where.append(h.c.label.not_in(list(skip)))
    joined = h.join(p, p.c.prompt_id == h.c.prompt_id)
    total = int(conn.execute(sa.select(sa.func.count()).select_from(joined).where(*where)).scalar_one())
    old, new = schema.prompt_specs.alias("old"), schema.prompt_specs.alias("new")
    query = (
        sa.select(p.c.slug, h.c.label, old.c.number, new.c.number, h.c.moved_by, h.c.timestamp)
        .select_from(
            joined.outerjoin(old, old.c.version_id == h.c.previous_version_id)
            .outerjoin(new, new.c.version_id == h.c.new_version_id)
        )
        .where(*where)
        .order_by(h.c.timestamp.desc())
        .limit(limit)
    )
    moves = conn.execute(query).all()
    if not moves:
        return [], total
    lr = schema.label_requests.c
    slugs = sorted({m[0] for m in moves})
    requests = [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(lr.slug, lr.label, lr.version, lr.status, lr.requested_by, lr.decided_by, lr.decided_at, lr.requested_at)
            .where(lr.slug.in_(slugs), lr.status.in_(("approved", "emergency", "confirmed")))
            .order_by(lr.requested_at)
        )
    ]
    out = []
    for slug, label, from_v, to_v, moved_by, ts in reversed(moves):  # oldest first, as requests are matched
        at = datetime.fromtimestamp(float(ts), tz=UTC).replace(tzinfo=None)
        match = next(
            (
                r for r in requests
                if r["slug"] == slug and r["label"] == label and r["version"] == to_v
                and (r["decided_at"] or r["requested_at"]) <= at + _DECISION_SLACK
            ),
            None,
        )
        if match is not None:
            requests.remove(match)
        out.append(LabelMoveRow(
            at, slug, label, from_v, to_v, moved_by or "",
            requested_by=match["requested_by"] if match else "",
            approved_by=(match["decided_by"] or "") if match else "",
            emergency=bool(match and match["status"] in ("emergency", "confirmed")),
        ))
    return list(reversed(out)), total


def label_requests(
    conn: sa.Connection, start: datetime | None, end: datetime | None, prompts: Sequence[str] = (), limit: int = 500
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Label requests made or decided in [start, end), oldest first (at most ``limit``;
    without their free-text reasons and notes), and how many there are per status."""
    lr = schema.label_requests.c
    made, decided = [], []
    if start is not None:
        made.append(lr.requested_at >= start)
        decided.append(lr.decided_at >= start)
    if end is not None:
        made.append(lr.requested_at < end)
        decided.append(lr.decided_at < end)
    where = [sa.or_(sa.and_(*made) if made else sa.true(), sa.and_(*decided) if decided else sa.true())]
    if prompts:
        where.append(lr.slug.in_(list(prompts)))
    counts = {s: int(n) for s, n in conn.execute(sa.select(lr.status, sa.func.count()).where(*where).group_by(lr.status))}
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(
                lr.id, lr.slug, lr.version, lr.label, lr.status, lr.requested_by, lr.requested_at, lr.decided_by,
                lr.decided_at, lr.comparison_id,
            ).where(*where).order_by(lr.requested_at, lr.id).limit(limit)
        )
    ]
    return rows, counts


# ----------------------------------------------------------------------------- accounts and audit


def account_events(
    conn: sa.Connection, start: datetime | None, end: datetime | None, limit: int = 500
) -> tuple[list[dict[str, Any]], int]:
    """Audit events that created, changed, locked or unlocked accounts in [start, end),
    oldest first (at most ``limit``), and how many there are."""
    t = schema.audit_events.c
    where = [t.action.in_(ACCOUNT_ACTIONS), *_between(t.ts, start, end)]
    total = int(conn.execute(sa.select(sa.func.count()).where(*where)).scalar_one())
    rows = []
    for row in conn.execute(
        sa.select(t.seq, t.ts, t.actor, t.action, t.target, t.details).where(*where).order_by(t.seq).limit(limit)
    ):
        item = dict(row._mapping)
        try:
            item["details"] = json.loads(item["details"])
        except (TypeError, ValueError):
            item["details"] = {}
        item["ts"] = _datetime(item["ts"])
        rows.append(item)
    return rows, total


def audit_action_counts(conn: sa.Connection, start: datetime | None, end: datetime | None) -> list[tuple[str, int]]:
    """Audit events in [start, end) per action, most frequent first."""
    t = schema.audit_events.c
    n = sa.func.count().label("n")
    query = sa.select(t.action, n).where(*_between(t.ts, start, end)).group_by(t.action).order_by(n.desc(), t.action)
    return [(a, int(c)) for a, c in conn.execute(query)]


def accounts(conn: sa.Connection, limit: int = 500) -> tuple[list[dict[str, Any]], int]:
    """The accounts as they are now (no password hashes), by name, and how many there are."""
    u = schema.users.c
    total = int(conn.execute(sa.select(sa.func.count()).select_from(schema.users)).scalar_one())
    rows = [
        {**r._mapping, "roles": _roles(r.roles)}
        for r in conn.execute(
            sa.select(u.username, u.roles, u.disabled, u.locked_until, u.created_at, u.created_by, u.last_login_at)
            .order_by(u.username).limit(limit)
        )
    ]
    return rows, total


# ----------------------------------------------------------------------------- the runs themselves


def run_pages(
    conn_factory, scope: RunFilter, *, page: int = 200, limit: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """The runs in scope, oldest first, a page at a time (keyset on started_at, record_id; one
    short-lived connection per page from ``conn_factory()``), each with its metrics
    ``{name: value or status}``, its scrubbed ``input`` and ``output`` from the root TruLens
    event, and at most ``limit`` runs in all."""
    r = schema.runs.c
    columns = [
        r.record_id, r.app_name, r.app_version, r.status, r.error, r.provider, r.model, r.started_at, r.latency_s,
        r.injection_action, r.pii_in, r.pii_out, r.event_ids, r.actor,
    ]
    events = _trulens_orm().Event.__table__
    after: tuple[Any, str] | None = None
    left = limit
    while left is None or left > 0:
        size = page if left is None else min(page, left)
        query = sa.select(*columns).where(*scope.conditions()).order_by(r.started_at, r.record_id).limit(size)
        if after is not None:
            query = query.where(
                sa.or_(r.started_at > after[0], sa.and_(r.started_at == after[0], r.record_id > after[1]))
            )
        with conn_factory() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
            if not rows:
                return
            ids = [row["record_id"] for row in rows]
            metrics: dict[str, dict[str, Any]] = {}
            m = schema.run_metrics.c
            for record_id, name, value, status in conn.execute(
                sa.select(m.record_id, m.name, m.value, m.status).where(m.record_id.in_(ids)).order_by(m.name)
            ):
                metrics.setdefault(record_id, {})[name] = value if status == "ok" else status
            texts = _root_texts(conn, events, rows)
        for row in rows:
            row["metrics"] = metrics.get(row["record_id"], {})
            row["input"], row["output"] = texts.get(row["record_id"], (None, None))
            row["started_at"] = _datetime(row["started_at"])
        yield rows
        if len(rows) < size:
            return
        after = (rows[-1]["started_at"], rows[-1]["record_id"])
        if left is not None:
            left -= len(rows)


def _root_texts(conn: sa.Connection, events: sa.Table, rows: list[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    from storage.run_index import root_texts

    if not sa.inspect(conn).has_table(events.name):
        return {}
    return root_texts(conn, events, rows)


# ----------------------------------------------------------------------------- helpers


def _trulens_orm():
    """TruLens's ORM classes for its default table prefix: the very classes its own session uses
    (``make_orm_for_prefix`` is cached per call signature; another call would define the tables twice)."""
    from trulens.core.database.base import DEFAULT_DATABASE_PREFIX
    from trulens.core.database.orm import make_orm_for_prefix

    return make_orm_for_prefix(table_prefix=DEFAULT_DATABASE_PREFIX)  # keyword, as TruLens calls it: one cache entry


def _between(column: sa.ColumnElement, start: datetime | None, end: datetime | None) -> list[sa.ColumnElement]:
    out = []
    if start is not None:
        out.append(column >= start)
    if end is not None:
        out.append(column < end)
    return out


def _epoch(value: datetime) -> float:
    """A naive UTC time as seconds since the epoch (TruLens's label history stores those)."""
    return value.replace(tzinfo=UTC).timestamp()


def _datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _short(value: float) -> str:
    """A value as an axis label: integers plainly, else three significant digits."""
    value = float(value)
    if value.is_integer():
        return f"{int(value):,}"
    return f"{value:.3g}"


def _bin_label(value: float, step: float) -> str:
    """The start of a histogram bin with as many decimals as the bin width needs."""
    if step <= 0 or not math.isfinite(step):
        return _short(value)
    digits = max(0, 1 - math.floor(math.log10(step)))
    return f"{value:,.{digits}f}" if digits <= 6 else f"{value:.2e}"


def _answer(value: Any, boolean: bool) -> str:
    """A rubric answer read from JSON as text (SQLite gives yes/no as 1/0, PostgreSQL as true/false)."""
    if value is None:
        return "(none)"
    text = str(value)
    return {"1": "true", "0": "false"}.get(text, text) if boolean else text


def _roles(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return sorted(str(v) for v in (value or []))
