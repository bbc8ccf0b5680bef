"""Daily rollups of recorded runs, so the Overview costs the same at 1,000 runs and at 1,000,000.

Four tables count runs per UTC day, prompt version and provider (the Overview's filters):
outcomes and injection verdicts with latency, cost and token sums (``pf_rollup_runs``), a
latency histogram of completed runs (``pf_rollup_latency``), metric sums (``pf_rollup_metrics``)
and PII entities by type (``pf_rollup_entities``).

They are kept in the same transaction as the rows they summarise: ``add`` is called with
the ``pf_`` rows of runs as they are inserted, and ``replace_metrics`` takes back a replaced
metric result before adding its successor. Each write is an upsert that adds to the counts
(``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`` on SQLite and PostgreSQL), in
key order so concurrent writers never deadlock. ``rebuild`` recomputes them from
``pf_runs``, ``pf_run_metrics`` and ``pf_run_entities`` (``python launch.py reindex`` calls it
after rebuilding those from TruLens's events); a test checks that what was kept equals what a
rebuild gives.

``generation()`` counts the commits in this process that changed a rollup, so a page may keep
figures until it moves (``dashboard.run_scope.overview``).

Percentiles come from the histogram: bins are 4 % wide on a log scale, so a percentile is
reported to within 2 % of the exact nearest-rank value.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from storage import schema
from storage.engine import upsert_into

logger = logging.getLogger(__name__)
GAMMA = 1.04  # the ratio of one latency bin's upper to lower edge
ZERO_BIN = -1000  # latencies under 10 µs (a run that never waited on a model)
_LOG_GAMMA = math.log(GAMMA)
DIMENSIONS = ("day", "app_name", "app_version", "provider")
_CHUNK = 2_000

TABLES = {
    "runs": schema.rollup_runs,
    "latency": schema.rollup_latency,
    "metrics": schema.rollup_metrics,
    "entities": schema.rollup_entities,
}
_SUMMED = {
    "runs": ("runs", "latency_sum", "cost_sum", "cost_n", "tokens"),
    "latency": ("runs",),
    "metrics": ("n", "total", "higher"),
    "entities": ("entities", "runs"),
}


_generation = 0


def generation() -> int:
    """How many transactions of this process have changed the rollups so far."""
    return _generation


def _count_on_commit(conn: sa.Connection) -> None:
    def bump(_conn: sa.Connection) -> None:
        global _generation
        _generation += 1

    sa.event.listen(conn, "commit", bump, once=True)


def latency_bin(seconds: float) -> int:
    ms = seconds * 1000
    return ZERO_BIN if ms < 0.01 else math.floor(math.log(ms) / _LOG_GAMMA)


def bin_value(bin_: int) -> float:
    """The latency (seconds) a bin stands for: its geometric middle (0 for the zero bin)."""
    return 0.0 if bin_ == ZERO_BIN else GAMMA ** (bin_ + 0.5) / 1000


def percentile(histogram: Iterable[tuple[int, int]], pct: int) -> float | None:
    """The nearest-rank ``pct``th percentile of (bin, runs) pairs: the bin of rank ⌈pct·n/100⌉."""
    ordered = sorted(histogram)
    n = sum(count for _, count in ordered)
    if n <= 0:
        return None
    target = (n * pct + 99) // 100
    seen = 0
    for bin_, count in ordered:
        seen += count
        if seen >= target:
            return bin_value(bin_)
    return bin_value(ordered[-1][0])


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


class _Deltas:
    """Counts to add to each rollup table, by key."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[tuple, list[float]]] = {name: defaultdict(lambda n=name: [0] * len(_SUMMED[n])) for name in TABLES}

    def add(self, table: str, key: tuple, values: Iterable[float]) -> None:
        sums = self.tables[table][key]
        for i, value in enumerate(values):
            sums[i] += value

    def run(self, row: dict[str, Any], sign: int = 1) -> tuple:
        dims = (_day(row["started_at"]), row["app_name"], row["app_version"], row["provider"])
        ok = row["status"] == "ok"
        cost = row.get("cost_usd")
        self.add(
            "runs",
            (*dims, row["status"], row.get("injection_action") or ""),
            (sign, sign * row["latency_s"] if ok else 0.0, sign * (cost or 0.0), sign * (cost is not None),
             sign * (row["input_tokens"] + row["output_tokens"])),
        )
        if ok:
            self.add("latency", (*dims, latency_bin(row["latency_s"])), (sign,))
        return dims

    def metric(self, dims: tuple, row: dict[str, Any], sign: int = 1) -> None:
        if row["value"] is not None:
            self.add("metrics", (*dims, row["name"]), (sign, sign * row["value"], sign * bool(row["higher_is_better"])))

    def entity(self, dims: tuple, row: dict[str, Any], sign: int = 1) -> None:
        self.add("entities", (*dims, row["direction"], row["entity_type"]), (sign * row["count"], sign))

    def write(self, conn: sa.Connection) -> None:
        _count_on_commit(conn)
        for name, deltas in self.tables.items():
            if deltas:
                _upsert(conn, TABLES[name], _SUMMED[name], deltas)


def _upsert(conn: sa.Connection, table: sa.Table, summed: tuple[str, ...], deltas: dict[tuple, list[float]]) -> None:
    keys = [c.name for c in table.primary_key.columns]
    rows = [
        {**dict(zip(keys, key)), **dict(zip(summed, values))}
        for key, values in sorted(deltas.items(), key=lambda item: tuple(str(k) for k in item[0]))
    ]
    insert = upsert_into(conn, table)
    statement = insert.on_conflict_do_update(
        index_elements=keys, set_={name: table.c[name] + insert.excluded[name] for name in summed}
    )
    for start in range(0, len(rows), _CHUNK):
        conn.execute(statement, rows[start : start + _CHUNK])


def add(conn: sa.Connection, runs: list[dict], metrics: list[dict], entities: list[dict]) -> None:
    """Count runs being inserted (their ``pf_runs``, ``pf_run_metrics`` and ``pf_run_entities`` rows)."""
    deltas = _Deltas()
    dims = {row["record_id"]: deltas.run(row) for row in runs}
    for row in metrics:
        deltas.metric(dims[row["record_id"]], row)
    for row in entities:
        deltas.entity(dims[row["record_id"]], row)
    deltas.write(conn)


def replace_metrics(conn: sa.Connection, old: list[dict], new: list[dict]) -> None:
    """Take back the replaced metric results ``old`` and count ``new`` ones (rows of
    ``pf_run_metrics``) of runs already counted."""
    r = schema.runs.c
    ids = sorted({row["record_id"] for row in [*old, *new]})
    dims: dict[str, tuple] = {}
    for start in range(0, len(ids), 500):
        query = sa.select(r.record_id, r.started_at, r.app_name, r.app_version, r.provider).where(
            r.record_id.in_(ids[start : start + 500])
        )
        for row in conn.execute(query):
            dims[row.record_id] = (_day(row.started_at), row.app_name, row.app_version, row.provider)
    deltas = _Deltas()
    for row in old:
        deltas.metric(dims[row["record_id"]], row, sign=-1)
    for row in new:
        deltas.metric(dims[row["record_id"]], row)
    deltas.write(conn)


def rebuild(engine: sa.Engine, progress=None) -> int:
    """Recompute every rollup from the ``pf_`` run tables; returns the runs counted."""
    with engine.begin() as conn:
        return rebuild_in(conn, progress)


def rebuild_in(conn: sa.Connection, progress=None) -> int:
    """``rebuild`` inside the caller's transaction (``progress(done, total)`` after each chunk)."""
    _count_on_commit(conn)
    r = schema.runs.c
    columns = [r.record_id, r.started_at, r.app_name, r.app_version, r.provider, r.status, r.injection_action,
               r.latency_s, r.cost_usd, r.input_tokens, r.output_tokens]
    for table in TABLES.values():
        conn.execute(sa.delete(table))
    total = conn.execute(sa.select(sa.func.count()).select_from(schema.runs)).scalar_one()
    done = 0
    for chunk in _keyset(conn, columns):
        ids = [row["record_id"] for row in chunk]
        m, e = schema.run_metrics.c, schema.run_entities.c
        metrics = [dict(x._mapping) for x in conn.execute(sa.select(schema.run_metrics).where(m.record_id.in_(ids)))]
        entities = [dict(x._mapping) for x in conn.execute(sa.select(schema.run_entities).where(e.record_id.in_(ids)))]
        add(conn, chunk, metrics, entities)
        done += len(chunk)
        if progress:
            progress(done, total)
    return done


def fill_if_empty(engine: sa.Engine) -> int:
    """Count the runs recorded before the rollups existed (once: when there are runs and no
    rollup rows); returns the runs counted."""
    with engine.connect() as conn:
        has_runs = conn.execute(sa.select(schema.runs.c.record_id).limit(1)).first() is not None
        has_rollups = conn.execute(sa.select(schema.rollup_runs.c.day).limit(1)).first() is not None
    if not has_runs or has_rollups:
        return 0
    logger.warning("Counting the runs recorded before the daily rollups existed (once; about 2,500 runs/s)…")
    return rebuild(engine)


def _keyset(conn: sa.Connection, columns: list) -> Iterator[list[dict]]:
    r = schema.runs.c
    last = None
    while True:
        query = sa.select(*columns).order_by(r.record_id).limit(_CHUNK)
        if last is not None:
            query = query.where(r.record_id > last)
        chunk = [dict(row._mapping) for row in conn.execute(query)]
        if not chunk:
            return
        yield chunk
        last = chunk[-1]["record_id"]


def snapshot(conn: sa.Connection) -> dict[str, dict[tuple, tuple]]:
    """Every rollup row (zero rows left out), for comparing what was kept with a rebuild."""
    out: dict[str, dict[tuple, tuple]] = {}
    for name, table in TABLES.items():
        keys = [c.name for c in table.primary_key.columns]
        rows = {}
        for row in conn.execute(sa.select(table)):
            values = tuple(round(float(getattr(row, s)), 9) for s in _SUMMED[name])
            if any(values):
                rows[tuple(str(getattr(row, k)) for k in keys)] = values
        out[name] = rows
    return out
