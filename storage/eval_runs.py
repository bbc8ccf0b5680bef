"""Rows of ``pf_eval_runs`` and the SQL that reads an evaluation's results.

An evaluation run's records are ordinary ``pf_runs`` rows whose ``batch_id`` is
the evaluation's id and whose ``dataset_row`` is the row they came from: which
rows are done is read from there, so a resumed run never repeats a row.
Aggregates (means, spreads, flag counts) are computed in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage import schema
from storage.engine import storage_errors
from storage.migrate import ensure
from storage.run_index import root_texts

# a run is "interrupted" when its runner has not touched it for this long
STALE_AFTER = timedelta(seconds=45)
RESUMABLE = ("queued", "cancelled", "failed")

Thresholds = dict[str, tuple[float | None, float | None]]  # result name -> (flag_above, flag_below)


@dataclass(frozen=True)
class EvalRunRow:
    id: str
    prompt_ref: str
    app_name: str
    app_version: str
    dataset: str
    dataset_id: str
    total_rows: int
    provider: str
    judge: str | None
    metrics: list[dict[str, Any]]
    status: str
    done_rows: int
    failed_rows: int
    error: str | None
    gates: list[dict[str, Any]] | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None

    @property
    def interrupted(self) -> bool:
        """Marked running, but no runner has touched it lately (a crash or a closed server)."""
        return self.status in ("running", "cancelling") and (
            self.heartbeat_at is None or self.heartbeat_at < schema.utcnow() - STALE_AFTER
        )

    @property
    def display_status(self) -> str:
        return "interrupted" if self.interrupted else self.status

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE or self.interrupted


class EvalRunTable:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with storage_errors(engine):
            ensure(engine)

    # -- the run's own row ----------------------------------------------------------
    def create(self, **values: Any) -> EvalRunRow:
        row = {
            "status": "queued",
            "done_rows": 0,
            "failed_rows": 0,
            "error": None,
            "gates": None,
            "created_at": schema.utcnow(),
            "started_at": None,
            "heartbeat_at": None,
            "finished_at": None,
            **values,
        }
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.insert(schema.eval_runs).values(**row))
        return EvalRunRow(**row)

    def get(self, run_id: str) -> EvalRunRow | None:
        t = schema.eval_runs
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == run_id)).first()
        return EvalRunRow(**row._mapping) if row else None

    def list(self, limit: int = 50, offset: int = 0, app_name: str | None = None) -> list[EvalRunRow]:
        t = schema.eval_runs
        query = sa.select(t).order_by(t.c.created_at.desc(), t.c.id).limit(limit).offset(offset)
        if app_name is not None:
            query = query.where(t.c.app_name == app_name)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [EvalRunRow(**r._mapping) for r in conn.execute(query)]

    def done_runs(self, app_name: str, app_version: str, dataset_id: str, provider: str) -> list[EvalRunRow]:
        """Finished runs of one version over one dataset on one provider, newest first."""
        t = schema.eval_runs
        query = (
            sa.select(t)
            .where(
                t.c.app_name == app_name, t.c.app_version == app_version, t.c.dataset_id == dataset_id,
                t.c.provider == provider, t.c.status == "done",
            )
            .order_by(t.c.created_at.desc(), t.c.id)
        )
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [EvalRunRow(**r._mapping) for r in conn.execute(query)]

    def claim(self, run_id: str) -> bool:
        """Mark the run running for this runner, if nobody else is running it."""
        t = schema.eval_runs
        now = schema.utcnow()
        free = sa.or_(
            t.c.status.in_(RESUMABLE),
            sa.and_(
                t.c.status.in_(("running", "cancelling")),
                sa.or_(t.c.heartbeat_at.is_(None), t.c.heartbeat_at < now - STALE_AFTER),
            ),
        )
        values = {"status": "running", "heartbeat_at": now, "error": None, "finished_at": None}
        with storage_errors(self.engine), self.engine.begin() as conn:
            claimed = conn.execute(sa.update(t).where(t.c.id == run_id, free).values(**values)).rowcount == 1
            if claimed:
                conn.execute(sa.update(t).where(t.c.id == run_id, t.c.started_at.is_(None)).values(started_at=now))
        return claimed

    def touch(self, run_id: str, done_rows: int | None = None, failed_rows: int | None = None) -> str:
        """Record liveness (and progress); returns the stored status (``cancelling`` asks to stop)."""
        t = schema.eval_runs
        values: dict[str, Any] = {"heartbeat_at": schema.utcnow()}
        if done_rows is not None:
            values["done_rows"] = done_rows
        if failed_rows is not None:
            values["failed_rows"] = failed_rows
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.update(t).where(t.c.id == run_id).values(**values))
            return conn.execute(sa.select(t.c.status).where(t.c.id == run_id)).scalar_one()

    def request_cancel(self, run_id: str) -> str:
        """Ask a running run to stop after its current chunk; a run nobody runs stops at once."""
        t = schema.eval_runs
        run = self.get(run_id)
        if run is None:
            return "unknown"
        status = "cancelled" if run.status == "queued" or run.interrupted else "cancelling"
        if run.status not in ("queued", "running", "cancelling"):
            return run.status
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.update(t).where(t.c.id == run_id).values(status=status))
        return status

    def finish(self, run_id: str, status: str, *, error: str | None = None, gates: list | None = None) -> None:
        t = schema.eval_runs
        values = {"status": status, "error": error, "finished_at": schema.utcnow(), "heartbeat_at": schema.utcnow()}
        if gates is not None:
            values["gates"] = gates
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.update(t).where(t.c.id == run_id).values(**values))

    # -- its records ----------------------------------------------------------------
    def recorded_rows(self, run_id: str) -> set[int]:
        r = schema.runs.c
        with storage_errors(self.engine), self.engine.connect() as conn:
            return {row[0] for row in conn.execute(sa.select(r.dataset_row).where(r.batch_id == run_id))}

    def status_counts(self, run_id: str) -> dict[str, int]:
        r = schema.runs.c
        query = sa.select(r.status, sa.func.count()).where(r.batch_id == run_id).group_by(r.status)
        with storage_errors(self.engine), self.engine.connect() as conn:
            counts = {status: int(n) for status, n in conn.execute(query)}
        return {s: counts.get(s, 0) for s in ("ok", "blocked", "error")}

    def usage(self, run_id: str) -> dict[str, Any]:
        """Model cost, tokens and latency of the run's records (SQL aggregates)."""
        r = schema.runs.c
        query = sa.select(
            sa.func.count().label("records"),
            sa.func.sum(r.cost_usd).label("cost_usd"),
            sa.func.count(r.cost_usd).label("priced"),
            sa.func.sum(r.input_tokens + r.output_tokens).label("tokens"),
            sa.func.avg(sa.case((r.status == "ok", r.latency_s))).label("mean_latency_s"),
            sa.func.min(r.started_at).label("first_started"),
            sa.func.max(r.ended_at).label("last_ended"),
        ).where(r.batch_id == run_id)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return dict(conn.execute(query).one()._mapping)

    def metric_stats(self, run_id: str, thresholds: Thresholds | None = None) -> dict[str, dict[str, Any]]:
        """Per metric: scored count, mean, sum of squares, min, max, unavailable and
        error counts, the explanation of its first errored row, and how many scored rows
        the thresholds flag."""
        thresholds = thresholds or {}
        m, r = schema.run_metrics.c, schema.runs.c
        ok = m.status == "ok"
        query = (
            sa.select(
                m.name,
                sa.func.sum(sa.case((ok, 1), else_=0)).label("n"),
                sa.func.avg(sa.case((ok, m.value))).label("mean"),
                sa.func.sum(sa.case((ok, m.value * m.value))).label("sum_sq"),
                sa.func.min(sa.case((ok, m.value))).label("min"),
                sa.func.max(sa.case((ok, m.value))).label("max"),
                sa.func.sum(sa.case((m.status == "unavailable", 1), else_=0)).label("unavailable"),
                sa.func.sum(sa.case((m.status == "error", 1), else_=0)).label("errors"),
                sa.func.max(m.higher_is_better.cast(sa.Integer)).label("higher_is_better"),
            )
            .select_from(schema.run_metrics.join(schema.runs))
            .where(r.batch_id == run_id)
            .group_by(m.name)
        )
        with storage_errors(self.engine), self.engine.connect() as conn:
            stats = {row.name: {**row._mapping, "flagged": 0} for row in conn.execute(query)}
            for name, (above, below) in thresholds.items():
                condition = _flag_condition(above, below)
                if name not in stats or condition is None:
                    continue
                flagged = sa.select(sa.func.count()).select_from(schema.run_metrics.join(schema.runs)).where(
                    r.batch_id == run_id, m.name == name, ok, condition
                )
                stats[name]["flagged"] = int(conn.execute(flagged).scalar_one())
            for name, row in stats.items():
                row["first_error"] = ""
                if row["errors"]:
                    first = (
                        sa.select(m.explanation).select_from(schema.run_metrics.join(schema.runs))
                        .where(r.batch_id == run_id, m.name == name, m.status == "error")
                        .order_by(r.dataset_row, r.record_id).limit(1)
                    )
                    row["first_error"] = conn.execute(first).scalar_one_or_none() or ""
        for row in stats.values():
            row["higher_is_better"] = bool(row["higher_is_better"])
            for key in ("n", "unavailable", "errors"):
                row[key] = int(row[key] or 0)
        return stats

    def metric_values(self, run_id: str, name: str) -> list[float]:
        """The scored values of one metric (for distributions; one float per row)."""
        m, r = schema.run_metrics.c, schema.runs.c
        query = (
            sa.select(m.value)
            .select_from(schema.run_metrics.join(schema.runs))
            .where(r.batch_id == run_id, m.name == name, m.status == "ok")
        )
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [float(v) for (v,) in conn.execute(query)]

    def count_results(
        self,
        run_id: str,
        *,
        thresholds: Thresholds | None = None,
        status: str | None = None,
        flagged: str | None = None,
        metric_range: tuple[str, float | None, float | None] | None = None,
    ) -> int:
        """How many of the run's records the filters of ``results`` match."""
        query = _count(_result_conditions(run_id, thresholds, status, flagged, metric_range))
        with storage_errors(self.engine), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def ids_starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        t = schema.eval_runs
        query = sa.select(t.c.id).where(t.c.id.startswith(prefix, autoescape=True)).order_by(t.c.id).limit(limit)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def results(
        self,
        run_id: str,
        events: sa.Table,
        *,
        thresholds: Thresholds | None = None,
        status: str | None = None,
        flagged: str | None = None,
        metric_range: tuple[str, float | None, float | None] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the run's records in dataset order, with their texts and metrics, and
        the number of records the filters match.

        ``flagged``: a metric name, or ``"any"`` for rows that any threshold flags;
        ``metric_range``: (metric, low, high) keeps rows whose scored value lies within.
        """
        r, m = schema.runs.c, schema.run_metrics.c
        conditions = _result_conditions(run_id, thresholds, status, flagged, metric_range)
        columns = [r.record_id, r.dataset_row, r.status, r.error, r.latency_s, r.cost_usd, r.simulated, r.event_ids]
        page = sa.select(*columns).where(*conditions).order_by(r.dataset_row).limit(limit).offset(offset)
        count = _count(conditions)
        with storage_errors(self.engine), self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(page)]
            total = int(conn.execute(count).scalar_one())
            texts = root_texts(conn, events, rows)
            ids = [row["record_id"] for row in rows]
            metrics: dict[str, dict[str, dict[str, Any]]] = {}
            if ids:
                query = sa.select(m.record_id, m.name, m.value, m.status, m.explanation).where(m.record_id.in_(ids))
                for row in conn.execute(query):
                    metrics.setdefault(row.record_id, {})[row.name] = {
                        "value": row.value, "status": row.status, "explanation": row.explanation
                    }
        for row in rows:
            row.pop("event_ids")
            row["input"], row["output"] = texts.get(row["record_id"], (None, None))
            row["metrics"] = metrics.get(row["record_id"], {})
        return rows, total


def _count(conditions: list) -> sa.Select:
    return sa.select(sa.func.count()).select_from(schema.runs).where(*conditions)


def _result_conditions(run_id, thresholds, status, flagged, metric_range) -> list:
    """The WHERE conditions of ``results`` and ``count_results``."""
    r, m = schema.runs.c, schema.run_metrics.c
    conditions = [r.batch_id == run_id]
    if status:
        conditions.append(r.status == status)
    if flagged:
        conditions.append(_flagged_exists(thresholds or {}, None if flagged == "any" else flagged))
    if metric_range is not None:
        name, low, high = metric_range
        bounds = [m.record_id == r.record_id, m.name == name, m.status == "ok"]
        if low is not None:
            bounds.append(m.value >= low)
        if high is not None:
            bounds.append(m.value <= high)
        conditions.append(sa.exists().where(*bounds))
    return conditions


def _flag_condition(above: float | None, below: float | None):
    m = schema.run_metrics.c
    parts = []
    if above is not None:
        parts.append(m.value > above)
    if below is not None:
        parts.append(m.value < below)
    return sa.or_(*parts) if parts else None


def _flagged_exists(thresholds: Thresholds, only: str | None):
    """Rows with a scored metric beyond its threshold (``only``: that metric)."""
    m, r = schema.run_metrics.c, schema.runs.c
    options = []
    for name, (above, below) in thresholds.items():
        condition = _flag_condition(above, below)
        if condition is not None and (only is None or name == only):
            options.append(sa.and_(m.name == name, condition))
    if not options:
        return sa.false()
    return sa.exists().where(m.record_id == r.record_id, m.status == "ok", sa.or_(*options))
