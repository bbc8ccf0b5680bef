"""Rows of ``pf_comparisons`` and ``pf_comparison_preferences``, and the SQL that reads both
sides of a comparison row by row (the workflow is ``execution.compare``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage import schema
from storage.engine import storage_errors
from storage.migrate import ensure
from storage.run_index import root_texts

# what the stored values mean, for every reader (pages, exports): a decision's action and a preference
DECISIONS = {
    "promote_staging": "Promote B to staging",
    "request_production": "Request production for B",
    "keep_a": "Keep A",
    "adopt_b": "Adopt B's model",
}
PREFERENCE_NAMES = {"a": "A better", "b": "B better", "tie": "tie", "both_bad": "both bad"}


@dataclass(frozen=True)
class ComparisonRow:
    id: str
    title: str
    slug: str
    side_a: dict[str, Any]
    side_b: dict[str, Any]
    dataset: str
    dataset_id: str
    total_rows: int
    metrics: list[dict[str, Any]]
    guards: list[str]
    repeats: int
    run_ids: dict[str, list[str]]
    reused: list[str]
    status: str
    error: str | None
    statistics: dict[str, Any] | None
    decision: dict[str, Any] | None
    decided_by: str | None
    decided_at: datetime | None
    created_by: str
    created_at: datetime

    @property
    def all_runs(self) -> list[str]:
        return [*self.run_ids.get("a", []), *self.run_ids.get("b", [])]


@dataclass(frozen=True)
class Preference:
    dataset_row: int
    actor: str
    preference: str  # a | b | tie | both_bad
    comment: str
    recorded_at: datetime


@dataclass(frozen=True)
class RowFact:
    """One recorded row of one evaluation run, without its texts."""

    run_id: str
    dataset_row: int
    record_id: str
    status: str
    latency_s: float
    cost_usd: float | None


class ComparisonTable:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with storage_errors(engine):
            ensure(engine)

    # -- comparisons ----------------------------------------------------------------

    def create(self, **values: Any) -> ComparisonRow:
        values.setdefault("created_at", schema.utcnow())
        values.setdefault("status", "queued")
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.insert(schema.comparisons).values(**values))
        return self.get(values["id"])

    def get(self, comparison_id: str) -> ComparisonRow | None:
        t = schema.comparisons
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == comparison_id)).first()
        return ComparisonRow(**row._mapping) if row else None

    def list(self, limit: int = 50, offset: int = 0, slug: str | None = None) -> list[ComparisonRow]:
        t = schema.comparisons
        query = sa.select(t).order_by(t.c.created_at.desc(), t.c.id).limit(limit).offset(offset)
        if slug:
            query = query.where(t.c.slug == slug)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [ComparisonRow(**r._mapping) for r in conn.execute(query)]

    def count(self, slug: str | None = None) -> int:
        t = schema.comparisons
        query = sa.select(sa.func.count()).select_from(t)
        if slug:
            query = query.where(t.c.slug == slug)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def update(self, comparison_id: str, **values: Any) -> None:
        t = schema.comparisons
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.update(t).where(t.c.id == comparison_id).values(**values))

    def ids_starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        t = schema.comparisons
        query = sa.select(t.c.id).where(t.c.id.startswith(prefix, autoescape=True)).order_by(t.c.id).limit(limit)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    # -- preferences ----------------------------------------------------------------

    def set_preference(self, comparison_id: str, dataset_row: int, actor: str, preference: str, comment: str) -> None:
        """Store (or replace) ``actor``'s judgement of one row."""
        t = schema.comparison_preferences
        key = (t.c.comparison_id == comparison_id) & (t.c.dataset_row == dataset_row) & (t.c.actor == actor)
        values = {"preference": preference, "comment": comment, "recorded_at": schema.utcnow()}
        with storage_errors(self.engine), self.engine.begin() as conn:
            if conn.execute(sa.update(t).where(key).values(**values)).rowcount == 0:
                conn.execute(
                    sa.insert(t).values(comparison_id=comparison_id, dataset_row=dataset_row, actor=actor, **values)
                )

    def preferences(self, comparison_id: str) -> list[Preference]:
        t = schema.comparison_preferences
        query = (
            sa.select(t.c.dataset_row, t.c.actor, t.c.preference, t.c.comment, t.c.recorded_at)
            .where(t.c.comparison_id == comparison_id)
            .order_by(t.c.dataset_row, t.c.recorded_at)
        )
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [Preference(**r._mapping) for r in conn.execute(query)]

    # -- both sides, row by row -----------------------------------------------------

    def row_facts(self, run_ids: Iterable[str]) -> list[RowFact]:
        """Every recorded row of the evaluation runs ``run_ids``."""
        r = schema.runs.c
        ids = list(run_ids)
        query = sa.select(r.batch_id, r.dataset_row, r.record_id, r.status, r.latency_s, r.cost_usd).where(
            r.batch_id.in_(ids)
        )
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [RowFact(*row) for row in conn.execute(query)] if ids else []

    def metric_values(self, run_ids: Iterable[str], names: Iterable[str]) -> list[tuple[str, int, str, float | None]]:
        """(run id, dataset row, metric name, value) of every scored metric ``names`` of the runs;
        unavailable or failed scores come back as None."""
        r, m = schema.runs.c, schema.run_metrics.c
        ids, wanted = list(run_ids), list(names)
        if not ids or not wanted:
            return []
        query = (
            sa.select(r.batch_id, r.dataset_row, m.name, sa.case((m.status == "ok", m.value), else_=None))
            .select_from(schema.runs.join(schema.run_metrics, m.record_id == r.record_id))
            .where(r.batch_id.in_(ids), m.name.in_(wanted))
        )
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def texts(self, record_ids: Iterable[str], events: sa.Table) -> dict[str, tuple[Any, Any]]:
        """record id -> (input, output) of each record, from its TruLens root event (scrubbed)."""
        r = schema.runs.c
        ids = list(record_ids)
        if not ids:
            return {}
        with storage_errors(self.engine), self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(sa.select(r.record_id, r.event_ids).where(r.record_id.in_(ids)))]
            return root_texts(conn, events, rows)
