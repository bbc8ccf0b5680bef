"""The records explorer's queries: a sorted page of runs under a ``RunFilter``, and everything
known about one run.

Every query is SQL over the ``pf_`` projection with its indexes and a LIMIT: a page costs
the same at 100 runs and at 100,000. Text is read only for the rows on the page, from each
run's root event by primary key. Times are naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from storage import run_index, schema
from storage.audit import event_from_row
from storage.run_filter import RunFilter

# sort key -> (column, descending); every order ends on record_id so pages never overlap
SORTS: dict[str, tuple[str, bool]] = {
    "newest": ("started_at", True),
    "oldest": ("started_at", False),
    "slowest": ("latency_s", True),
    "costliest": ("cost_usd", True),
    "prompt": ("app_name", False),
}
PAGE_SIZES = (25, 50, 100, 200)
PREVIEW_CHARS = 160
# the run's audit events are appended when it is recorded, or later (annotations, exports)
_AUDIT_LOOKBACK = timedelta(minutes=5)
_LIST_COLUMNS = [c for c in schema.runs.c if c.name not in ("decisions", "variables")]


@dataclass
class RecordsPage:
    rows: list[dict[str, Any]]
    total: int
    page: int  # 0-based
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def page_of_runs(
    conn: sa.Connection,
    events: sa.Table,
    run_filter: RunFilter,
    *,
    sort: str = "newest",
    page: int = 0,
    page_size: int = 50,
) -> RecordsPage:
    """One page of runs matching ``run_filter``, each with a preview of its scrubbed input and
    output and how many current annotations reviewers gave it."""
    column, descending = SORTS.get(sort, SORTS["newest"])
    r = schema.runs.c
    order = r[column].desc() if descending else r[column].asc()
    if column == "cost_usd":  # runs without a cost (blocked, unpriced) go last either way
        order = sa.nulls_last(order)
    where = run_filter.conditions(conn.dialect.name)
    total = int(conn.execute(sa.select(sa.func.count()).select_from(schema.runs).where(*where)).scalar_one())
    page = max(0, min(page, max(0, -(-total // page_size) - 1)))
    query = (
        sa.select(*_LIST_COLUMNS)
        .where(*where)
        .order_by(order, r.record_id.desc() if descending else r.record_id.asc())
        .limit(page_size)
        .offset(page * page_size)
    )
    rows = [dict(row._mapping) for row in conn.execute(query)]
    ids = [row["record_id"] for row in rows]
    texts = run_index.root_texts(conn, events, rows)
    annotated = _annotated(conn, ids)
    for row in rows:
        text_in, text_out = texts.get(row["record_id"], (None, None))
        row["input_preview"] = _preview(text_in)
        row["output_preview"] = _preview(text_out)
        row["annotations"] = annotated.get(row["record_id"], 0)
        del row["event_ids"]
    return RecordsPage(rows, total, page, page_size)


def _preview(text: Any) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _annotated(conn: sa.Connection, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    a = schema.annotations.c
    query = sa.select(a.record_id, sa.func.count()).where(a.record_id.in_(ids), a.superseded_by.is_(None)).group_by(a.record_id)
    return {record_id: int(n) for record_id, n in conn.execute(query)}


def metric_names(conn: sa.Connection) -> list[str]:
    """Every metric name recorded (for filters and column pickers), from its index."""
    m = schema.run_metrics.c
    return sorted(conn.execute(sa.select(m.name).distinct()).scalars())


def distinct_values(conn: sa.Connection, column: str) -> list[str]:
    """The distinct values of a ``pf_runs`` column (prompts, providers) for filter pickers."""
    c = schema.runs.c[column]
    return sorted(v for v in conn.execute(sa.select(c).distinct()).scalars() if v is not None)


def versions(conn: sa.Connection) -> list[str]:
    """Every prompt version recorded, as ``slug@vN``, from the rollups (a few rows per day)."""
    r = schema.rollup_runs.c
    pairs = conn.execute(sa.select(r.app_name, r.app_version).distinct())
    return sorted(f"{name}@{version}" for name, version in pairs)


@dataclass
class RunDetail:
    """One run with what surrounds it: its annotations, the evaluation run or comparison it
    belongs to, and (when asked for) its audit events."""

    run: dict[str, Any]
    annotations: list[dict[str, Any]] = field(default_factory=list)
    evaluation: dict[str, Any] | None = None
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    queues: list[dict[str, Any]] = field(default_factory=list)
    audit: list[Any] = field(default_factory=list)


def run_detail(conn: sa.Connection, events: sa.Table, record_id: str, audit: bool = True) -> RunDetail:
    """Everything about one run; ``NotFoundError`` if it is unknown. ``audit=False`` leaves out
    its audit events (``run_audit``), the one part that reads the audit trail after the run."""
    run = run_index.get_run(conn, events, record_id)
    detail = RunDetail(run)
    a = schema.annotations.c
    q = schema.review_queues.c
    annotations = conn.execute(
        sa.select(schema.annotations, q.name.label("queue"))
        .select_from(schema.annotations.join(schema.review_queues, q.id == a.queue_id, isouter=True))
        .where(a.record_id == record_id)
        .order_by(a.created_at)
    )
    detail.annotations = [dict(row._mapping) for row in annotations]
    i = schema.review_items.c
    items = conn.execute(
        sa.select(q.id, q.name, i.complete, i.added_at)
        .select_from(schema.review_items.join(schema.review_queues, q.id == i.queue_id))
        .where(i.record_id == record_id)
        .order_by(q.name)
    )
    detail.queues = [dict(row._mapping) for row in items]
    if run.get("batch_id"):
        e = schema.eval_runs.c
        found = conn.execute(
            sa.select(e.id, e.prompt_ref, e.dataset, e.status, e.created_by, e.created_at).where(e.id == run["batch_id"])
        ).first()
        detail.evaluation = dict(found._mapping) if found else None
        if found is not None:
            detail.comparisons = _comparisons_of(conn, found.id, found.prompt_ref.split("@")[0])
    if audit:
        detail.audit = run_audit(conn, record_id, run["started_at"])
    return detail


def _comparisons_of(conn: sa.Connection, eval_run_id: str, slug: str) -> list[dict[str, Any]]:
    """Comparisons whose sides ran (or reused) the evaluation run ``eval_run_id``."""
    c = schema.comparisons.c
    rows = conn.execute(sa.select(c.id, c.title, c.status, c.run_ids, c.reused, c.decision).where(c.slug == slug))
    found = []
    for row in rows:
        sides = [side for side, ids in (row.run_ids or {}).items() if eval_run_id in ids]
        if sides:
            found.append({"id": row.id, "title": row.title, "status": row.status, "side": sides[0].upper(), "decision": row.decision})
    return found


def run_audit(conn: sa.Connection, record_id: str, started_at) -> list[Any]:
    """The audit events that name this run (recorded with it or after it)."""
    t = schema.audit_events.c
    first = conn.execute(sa.select(sa.func.min(t.seq)).where(t.ts >= started_at - _AUDIT_LOOKBACK)).scalar()
    if first is None:
        return []
    query = (
        sa.select(schema.audit_events)
        .where(t.seq >= first, t.details.contains(f'"{record_id}"', autoescape=True))
        .order_by(t.seq)
        .limit(200)
    )
    return [event_from_row(row) for row in conn.execute(query)]
