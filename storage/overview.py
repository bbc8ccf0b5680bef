"""The Overview's figures, aggregated in SQL over the runs a ``RunFilter`` selects.

Everything is a GROUP BY over ``pf_runs`` and its projection tables (``pf_run_metrics``,
``pf_run_entities``): the database returns a few hundred numbers whatever the number of
runs. Percentiles are exact nearest-rank percentiles (the value at rank ⌈p·n⌉ in order),
computed with a window function that SQLite and PostgreSQL both have. Days and weeks are
UTC; a week starts on Monday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from storage import schema
from storage.run_filter import RunFilter

HUMAN_PREFIX = "human_"  # reviewers' scores are metrics under this prefix (review.annotations)
PERCENTILES = (0.5, 0.95)
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
    r = schema.runs.c
    where = run_filter.conditions()
    dialect = conn.dialect.name
    totals = _totals(conn, where)
    bucket = bucket or choose_bucket(run_filter, totals["first"], totals["last"])
    b = bucket_of(r.started_at, dialect, bucket).label("bucket")
    rows = conn.execute(
        sa.select(
            b,
            sa.func.count().label("runs"),
            *_status_counts(),
            sa.func.avg(sa.case((r.status == "ok", r.latency_s))).label("mean_latency_s"),
            sa.func.sum(r.cost_usd).label("cost_usd"),
        )
        .where(*where)
        .group_by(b)
        .order_by(b)
    )
    over_time = [dict(row._mapping) for row in rows]
    latency = _percentiles(conn, where, r.latency_s, b, extra=[r.status == "ok"])
    none = {f"p{round(p * 100)}_latency_s": None for p in PERCENTILES}
    for row in over_time:
        row.update(latency.get(row["bucket"], none))
    totals.update(_percentiles(conn, where, r.latency_s, None, extra=[r.status == "ok"]).get(None, none))
    return Overview(
        totals=totals,
        over_time=over_time,
        pii_by_type=_pii_by_type(conn, where),
        metric_means=_metric_means(conn, where),
        metric_over_time=_metric_over_time(conn, where, b),
        leaderboard=_leaderboard(conn, where),
        flagged=_flagged(conn, where),
        verdicts=_verdicts(conn, where),
        bucket=bucket,
    )


def _status_counts() -> list[sa.ColumnElement]:
    r = schema.runs.c
    return [
        sa.func.coalesce(sa.func.sum(sa.case((r.status == "ok", 1), else_=0)), 0).label("ok"),
        sa.func.coalesce(sa.func.sum(sa.case((r.status == "blocked", 1), else_=0)), 0).label("blocked"),
        sa.func.coalesce(sa.func.sum(sa.case((r.status == "error", 1), else_=0)), 0).label("errors"),
        sa.func.coalesce(sa.func.sum(sa.case((r.injection_action == "flag", 1), else_=0)), 0).label("flagged"),
    ]


def _totals(conn: sa.Connection, where: list) -> dict[str, Any]:
    r = schema.runs.c
    row = conn.execute(
        sa.select(
            sa.func.count().label("runs"),
            *_status_counts(),
            sa.func.sum(r.cost_usd).label("cost_usd"),
            sa.func.sum(r.input_tokens + r.output_tokens).label("tokens"),
            sa.func.min(r.started_at).label("first"),
            sa.func.max(r.started_at).label("last"),
        ).where(*where)
    ).one()
    totals = dict(row._mapping)
    for name in ("runs", "ok", "blocked", "errors", "flagged"):
        totals[name] = int(totals[name] or 0)
    runs = totals["runs"]
    totals["block_rate"] = totals["blocked"] / runs if runs else None
    totals["flag_rate"] = totals["flagged"] / runs if runs else None
    totals["error_rate"] = totals["errors"] / runs if runs else None
    totals["cost_per_1k"] = 1000 * totals["cost_usd"] / runs if runs and totals["cost_usd"] is not None else None
    a = schema.annotations.c
    scope = sa.select(r.record_id).where(*where)
    totals["annotations"] = int(
        conn.execute(
            sa.select(sa.func.count()).where(a.record_id.in_(scope), a.superseded_by.is_(None))
        ).scalar_one()
    )
    e = schema.run_entities.c
    totals["pii_entities"] = int(
        conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(e.count), 0)).where(e.direction == "in", e.record_id.in_(scope))
        ).scalar_one()
    )
    return totals


def _percentiles(
    conn: sa.Connection, where: list, value: sa.ColumnElement, group: sa.ColumnElement | None, extra: list
) -> dict[Any, dict[str, float | None]]:
    """Nearest-rank percentiles of ``value`` per ``group`` (one group, key None, when None)."""
    partition = [group] if group is not None else []
    ranked = (
        sa.select(
            (group if group is not None else sa.literal(None)).label("g"),
            value.label("v"),
            sa.func.row_number().over(partition_by=partition, order_by=value).label("rank"),
            sa.func.count().over(partition_by=partition).label("n"),
        )
        .where(*where, *extra, value.is_not(None))
        .subquery()
    )
    wanted = {}
    for p in PERCENTILES:
        # the value at rank ceil(p * n): integer arithmetic both databases agree on
        percent = round(p * 100)
        target = (ranked.c.n * percent + 99) // 100
        wanted[f"p{percent}_latency_s"] = sa.func.max(sa.case((ranked.c.rank == target, ranked.c.v)))
    query = sa.select(ranked.c.g, *(expr.label(name) for name, expr in wanted.items())).group_by(ranked.c.g)
    return {row.g: {name: getattr(row, name) for name in wanted} for row in conn.execute(query)}


def _pii_by_type(conn: sa.Connection, where: list) -> list[dict[str, Any]]:
    r, e = schema.runs.c, schema.run_entities.c
    query = (
        sa.select(e.entity_type, e.direction, sa.func.sum(e.count).label("entities"), sa.func.count().label("runs"))
        .select_from(schema.run_entities.join(schema.runs, r.record_id == e.record_id))
        .where(*where)
        .group_by(e.entity_type, e.direction)
        .order_by(sa.func.sum(e.count).desc(), e.entity_type)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def _metric_means(conn: sa.Connection, where: list) -> list[dict[str, Any]]:
    r, m = schema.runs.c, schema.run_metrics.c
    query = (
        sa.select(
            m.name,
            sa.func.count().label("runs"),
            sa.func.avg(m.value).label("mean"),
            sa.func.max(sa.case((m.higher_is_better, 1), else_=0)).label("higher_is_better"),
        )
        .select_from(schema.run_metrics.join(schema.runs, r.record_id == m.record_id))
        .where(*where, m.value.is_not(None))
        .group_by(m.name)
        .order_by(m.name)
    )
    return [{**row._mapping, "higher_is_better": bool(row.higher_is_better), "human": row.name.startswith(HUMAN_PREFIX)}
            for row in conn.execute(query)]


def _metric_over_time(conn: sa.Connection, where: list, bucket: sa.ColumnElement) -> list[dict[str, Any]]:
    r, m = schema.runs.c, schema.run_metrics.c
    query = (
        sa.select(bucket, m.name, sa.func.avg(m.value).label("mean"), sa.func.count().label("runs"))
        .select_from(schema.run_metrics.join(schema.runs, r.record_id == m.record_id))
        .where(*where, m.value.is_not(None))
        .group_by(bucket, m.name)
        .order_by(bucket, m.name)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def _leaderboard(conn: sa.Connection, where: list) -> list[dict[str, Any]]:
    """Per prompt version: runs, outcome rates, latency, cost per 1,000 runs, metric means."""
    r, m = schema.runs.c, schema.run_metrics.c
    rows = conn.execute(
        sa.select(
            r.app_name,
            r.app_version,
            sa.func.count().label("runs"),
            *_status_counts(),
            sa.func.avg(sa.case((r.status == "ok", r.latency_s))).label("mean_latency_s"),
            sa.func.sum(r.cost_usd).label("cost_usd"),
            sa.func.max(r.started_at).label("last_run"),
        )
        .where(*where)
        .group_by(r.app_name, r.app_version)
    )
    board = {(row.app_name, row.app_version): {**row._mapping, "metrics": {}} for row in rows}
    means = conn.execute(
        sa.select(r.app_name, r.app_version, m.name, sa.func.avg(m.value).label("mean"))
        .select_from(schema.run_metrics.join(schema.runs, r.record_id == m.record_id))
        .where(*where, m.value.is_not(None))
        .group_by(r.app_name, r.app_version, m.name)
    )
    for row in means:
        board[(row.app_name, row.app_version)]["metrics"][row.name] = row.mean
    for entry in board.values():
        runs = entry["runs"]
        entry["block_rate"] = entry["blocked"] / runs
        entry["flag_rate"] = entry["flagged"] / runs
        entry["error_rate"] = entry["errors"] / runs
        entry["cost_per_1k"] = 1000 * entry["cost_usd"] / runs if entry["cost_usd"] is not None else None
    return sorted(board.values(), key=lambda e: (e["app_name"], _version_number(e["app_version"])))


def _version_number(version: str) -> tuple[int, str]:
    digits = version[1:] if version.startswith("v") else ""
    return (int(digits), "") if digits.isdigit() else (1 << 30, version)


def _verdicts(conn: sa.Connection, where: list) -> dict[str, int]:
    """Runs per injection screen action (``none``: never screened, e.g. a row that failed to render)."""
    r = schema.runs.c
    query = sa.select(r.injection_action, sa.func.count()).where(*where).group_by(r.injection_action)
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
