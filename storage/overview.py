"""The Overview's figures, aggregated in SQL over the runs a ``RunFilter`` selects.

Everything but the newest flagged runs is a GROUP BY over the daily rollups
(``storage.rollups``): the database sums a few thousand rows whatever the number of runs.
Percentiles are nearest-rank percentiles (the value at rank ⌈p·n⌉ in order) read from the
rollups' latency histogram, so within 2 % of the exact value. Days and weeks are UTC; a week
starts on Monday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage import rollups, schema
from storage.run_filter import RunFilter

HUMAN_PREFIX = "human_"  # reviewers' scores are metrics under this prefix (review.annotations)
PERCENTILES = (50, 95)
FLAGGED_LIMIT = 10


@dataclass
class Overview:
    totals: dict[str, Any]
    over_time: list[dict[str, Any]]  # one row per bucket: runs, statuses, verdicts, latency p50/p95, cost
    pii_by_type: list[dict[str, Any]]  # entity_type, direction, entities, runs
    metric_means: list[dict[str, Any]]  # name, runs, mean, higher_is_better
    metric_over_time: list[dict[str, Any]]  # bucket, name, mean
    leaderboard: list[dict[str, Any]]
    flagged: list[dict[str, Any]]  # the newest flagged, blocked or failed runs
    verdicts: dict[str, int] = field(default_factory=dict)  # injection screen action -> runs
    bucket: str = "day"


def bucket_of(column: sa.ColumnElement, dialect: str, bucket: str) -> sa.ColumnElement:
    """The UTC day (or Monday of the week) of a timestamp, as 'YYYY-MM-DD' text."""
    if dialect == "sqlite":
        if bucket == "week":
            return sa.func.date(column, "-6 days", "weekday 1")  # the Monday on or before
        return sa.func.date(column)
    unit = "week" if bucket == "week" else "day"
    return sa.func.to_char(sa.func.date_trunc(unit, column), "YYYY-MM-DD")


def choose_bucket(run_filter: RunFilter, first: datetime | None, last: datetime | None) -> str:
    """Days for a range up to about three months, weeks beyond."""
    start = run_filter.start or first
    end = run_filter.end or last
    if start is None or end is None:
        return "day"
    return "week" if (end - start).days > 95 else "day"


def overview(conn: sa.Connection, run_filter: RunFilter, bucket: str | None = None) -> Overview:
    """The figures for the runs ``run_filter`` selects by dates, prompts, versions and providers
    (the daily rollups' dimensions: any other field is an error)."""
    where = _RollupScope(run_filter)
    dialect = conn.dialect.name
    totals = _totals(conn, where)
    bucket = bucket or choose_bucket(run_filter, totals["first"], totals["last"])
    runs = schema.rollup_runs
    b = bucket_of(runs.c.day, dialect, bucket).label("bucket")
    rows = conn.execute(
        sa.select(b, *_outcome_sums(runs)).where(*where.on(runs)).group_by(b).order_by(b)
    )
    over_time = [_rates(dict(row._mapping)) for row in rows]
    latency = _latency_percentiles(conn, where, dialect, bucket)
    none = {f"p{pct}_latency_s": None for pct in PERCENTILES}
    for row in over_time:
        row.update(latency.get(row["bucket"], none))
    totals.update(_latency_percentiles(conn, where, dialect, None).get(None, none))
    return Overview(
        totals=totals,
        over_time=over_time,
        pii_by_type=_pii_by_type(conn, where),
        metric_means=_metric_means(conn, where),
        metric_over_time=_metric_over_time(conn, where, dialect, bucket),
        leaderboard=_leaderboard(conn, where),
        flagged=_flagged(conn, run_filter.conditions()),
        verdicts=_verdicts(conn, where),
        bucket=bucket,
    )


class _RollupScope:
    """A ``RunFilter``'s dates, prompts, versions and providers as conditions on a rollup table."""

    def __init__(self, run_filter: RunFilter) -> None:
        unserved = [name for name, value in run_filter.describe().items() if name not in ("from", "to_exclusive", "prompts", "versions", "providers")]
        if unserved or run_filter.text:
            raise ValueError(f"the overview filters by dates, prompts, versions and providers only, not {unserved}")
        self.filter = run_filter

    def on(self, table: sa.Table) -> list[sa.ColumnElement]:
        f, c = self.filter, table.c
        out: list[sa.ColumnElement] = []
        if f.start is not None:
            out.append(c.day >= f.start.date())
        if f.end is not None:
            out.append(c.day < _ceil_day(f.end))
        if f.prompts:
            out.append(c.app_name.in_(f.prompts))
        if f.versions:
            out.append(sa.or_(*(sa.and_(c.app_name == a, c.app_version == v) for a, v in f.versions)))
        if f.providers:
            out.append(c.provider.in_(f.providers))
        return out


def _ceil_day(moment: datetime) -> date:
    """The first day not wholly before ``moment`` (an end at midnight excludes that day)."""
    day = moment.date()
    return day if moment == datetime.combine(day, datetime.min.time()) else day + timedelta(days=1)


def _outcome_sums(t: sa.Table) -> list[sa.ColumnElement]:
    c = t.c

    def total(condition) -> sa.ColumnElement:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, c.runs), else_=0)), 0)

    return [
        sa.func.coalesce(sa.func.sum(c.runs), 0).label("runs"),
        total(c.status == "ok").label("ok"),
        total(c.status == "blocked").label("blocked"),
        total(c.status == "error").label("errors"),
        total(c.injection == "flag").label("flagged"),
        sa.func.sum(c.latency_sum).label("latency_sum"),
        sa.func.sum(c.cost_sum).label("cost_sum"),
        sa.func.sum(c.cost_n).label("cost_n"),
        sa.func.sum(c.tokens).label("tokens"),
    ]


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    """Counts as ints, the mean latency of completed runs, cost (None when no run had one)."""
    for name in ("runs", "ok", "blocked", "errors", "flagged"):
        row[name] = int(row[name] or 0)
    row["mean_latency_s"] = row.pop("latency_sum") / row["ok"] if row["ok"] else None
    cost_sum, cost_n = row.pop("cost_sum"), row.pop("cost_n")
    row["cost_usd"] = float(cost_sum) if cost_n else None
    row["tokens"] = int(row["tokens"] or 0)
    return row


def _totals(conn: sa.Connection, where: _RollupScope) -> dict[str, Any]:
    runs = schema.rollup_runs
    row = conn.execute(
        sa.select(*_outcome_sums(runs), sa.func.min(runs.c.day).label("first"), sa.func.max(runs.c.day).label("last"))
        .where(*where.on(runs))
    ).one()
    totals = _rates(dict(row._mapping))
    n = totals["runs"]
    totals["block_rate"] = totals["blocked"] / n if n else None
    totals["flag_rate"] = totals["flagged"] / n if n else None
    totals["error_rate"] = totals["errors"] / n if n else None
    totals["cost_per_1k"] = 1000 * totals["cost_usd"] / n if n and totals["cost_usd"] is not None else None
    for name in ("first", "last"):
        if totals[name] is not None and not isinstance(totals[name], datetime):
            totals[name] = datetime.combine(as_date(totals[name]), datetime.min.time())
    e = schema.rollup_entities
    totals["pii_entities"] = int(
        conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(e.c.entities), 0)).where(e.c.direction == "in", *where.on(e))
        ).scalar_one()
    )
    r, a = schema.runs.c, schema.annotations.c
    # driven from the annotations (far fewer than runs), each looked up by its run's key
    in_scope = sa.exists().where(r.record_id == a.record_id, *where.filter.conditions())
    totals["annotations"] = int(
        conn.execute(sa.select(sa.func.count()).select_from(schema.annotations).where(a.superseded_by.is_(None), in_scope)).scalar_one()
    )
    return totals


def _latency_percentiles(
    conn: sa.Connection, where: _RollupScope, dialect: str, bucket: str | None
) -> dict[Any, dict[str, float | None]]:
    """Per bucket (one group, key None, without a bucket): p50 and p95 of completed runs' latency."""
    t = schema.rollup_latency
    group = bucket_of(t.c.day, dialect, bucket).label("bucket") if bucket else sa.literal(None).label("bucket")
    query = (
        sa.select(group, t.c.bin, sa.func.sum(t.c.runs).label("runs"))
        .where(*where.on(t))
        .group_by(group, t.c.bin)
    )
    histograms: dict[Any, list[tuple[int, int]]] = {}
    for row in conn.execute(query):
        histograms.setdefault(row.bucket, []).append((int(row.bin), int(row.runs)))
    return {
        key: {f"p{pct}_latency_s": rollups.percentile(histogram, pct) for pct in PERCENTILES}
        for key, histogram in histograms.items()
    }


def _pii_by_type(conn: sa.Connection, where: _RollupScope) -> list[dict[str, Any]]:
    e = schema.rollup_entities
    entities = sa.func.sum(e.c.entities)
    query = (
        sa.select(e.c.entity_type, e.c.direction, entities.label("entities"), sa.func.sum(e.c.runs).label("runs"))
        .where(*where.on(e))
        .group_by(e.c.entity_type, e.c.direction)
        .having(entities > 0)
        .order_by(entities.desc(), e.c.entity_type)
    )
    return [{**row._mapping, "entities": int(row.entities), "runs": int(row.runs)} for row in conn.execute(query)]


def _metric_means(conn: sa.Connection, where: _RollupScope) -> list[dict[str, Any]]:
    m = schema.rollup_metrics
    n = sa.func.sum(m.c.n)
    query = (
        sa.select(m.c.name, n.label("runs"), sa.func.sum(m.c.total).label("total"), sa.func.sum(m.c.higher).label("higher"))
        .where(*where.on(m))
        .group_by(m.c.name)
        .having(n > 0)
        .order_by(m.c.name)
    )
    return [
        {"name": row.name, "runs": int(row.runs), "mean": row.total / row.runs, "higher_is_better": (row.higher or 0) > 0,
         "human": row.name.startswith(HUMAN_PREFIX)}
        for row in conn.execute(query)
    ]


def _metric_over_time(conn: sa.Connection, where: _RollupScope, dialect: str, bucket: str) -> list[dict[str, Any]]:
    m = schema.rollup_metrics
    b = bucket_of(m.c.day, dialect, bucket).label("bucket")
    n = sa.func.sum(m.c.n)
    query = (
        sa.select(b, m.c.name, n.label("runs"), sa.func.sum(m.c.total).label("total"))
        .where(*where.on(m))
        .group_by(b, m.c.name)
        .having(n > 0)
        .order_by(b, m.c.name)
    )
    return [{"bucket": row.bucket, "name": row.name, "runs": int(row.runs), "mean": row.total / row.runs} for row in conn.execute(query)]


def _leaderboard(conn: sa.Connection, where: _RollupScope) -> list[dict[str, Any]]:
    """Per prompt version: runs, outcome rates, latency, cost per 1,000 runs, metric means."""
    runs, m = schema.rollup_runs, schema.rollup_metrics
    rows = conn.execute(
        sa.select(runs.c.app_name, runs.c.app_version, *_outcome_sums(runs), sa.func.max(runs.c.day).label("last_day"))
        .where(*where.on(runs))
        .group_by(runs.c.app_name, runs.c.app_version)
    )
    board = {}
    for row in rows:
        entry = _rates(dict(row._mapping))
        if entry["runs"]:
            board[(row.app_name, row.app_version)] = {**entry, "last_day": as_date(row.last_day), "metrics": {}}
    n = sa.func.sum(m.c.n)
    means = conn.execute(
        sa.select(m.c.app_name, m.c.app_version, m.c.name, n.label("n"), sa.func.sum(m.c.total).label("total"))
        .where(*where.on(m))
        .group_by(m.c.app_name, m.c.app_version, m.c.name)
        .having(n > 0)
    )
    for row in means:
        if (row.app_name, row.app_version) in board:
            board[(row.app_name, row.app_version)]["metrics"][row.name] = row.total / row.n
    for entry in board.values():
        runs_n = entry["runs"]
        entry["block_rate"] = entry["blocked"] / runs_n
        entry["flag_rate"] = entry["flagged"] / runs_n
        entry["error_rate"] = entry["errors"] / runs_n
        entry["cost_per_1k"] = 1000 * entry["cost_usd"] / runs_n if entry["cost_usd"] is not None else None
    return sorted(board.values(), key=lambda e: (e["app_name"], _version_number(e["app_version"])))


def _version_number(version: str) -> tuple[int, str]:
    digits = version[1:] if version.startswith("v") else ""
    return (int(digits), "") if digits.isdigit() else (1 << 30, version)


def _verdicts(conn: sa.Connection, where: _RollupScope) -> dict[str, int]:
    """Runs per injection screen action (``none``: never screened, e.g. a row that failed to render)."""
    t = schema.rollup_runs
    total = sa.func.sum(t.c.runs)
    query = sa.select(t.c.injection, total).where(*where.on(t)).group_by(t.c.injection).having(total > 0)
    return {action or "none": int(n) for action, n in conn.execute(query)}


def _flagged(conn: sa.Connection, where: list) -> list[dict[str, Any]]:
    r = schema.runs.c
    query = (
        sa.select(r.record_id, r.started_at, r.app_name, r.app_version, r.status, r.injection_action, r.provider, r.error)
        .where(*where, sa.or_(r.injection_action.in_(("flag", "block")), r.status.in_(("blocked", "error"))))
        .order_by(r.started_at.desc(), r.record_id.desc())
        .limit(FLAGGED_LIMIT)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def as_date(bucket: Any) -> date:
    """A bucket label ('YYYY-MM-DD') as a date (for charts)."""
    return bucket if isinstance(bucket, date) else date.fromisoformat(str(bucket)[:10])
