"""The ``pf_runs`` index: one row per recorded run, so pages filter, paginate and
aggregate in SQL instead of loading TruLens records into pandas.

Text (input, output) stays in ``trulens_events``; a run's row lists the ids of
its events, so ``get_run`` reads them by primary key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from trulens.otel.semconv.trace import SpanAttributes

from config.errors import NotFoundError
from storage import rollups, schema
from storage.records import MetricValue, RunRecord
from storage.trulens_events import PF

_LIST_COLUMNS = [c for c in schema.runs.c if c.name not in ("decisions", "variables", "event_ids")]


def utc(ns: int) -> datetime:
    """Nanoseconds since the epoch as a naive UTC datetime (how ``pf_`` tables store time)."""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).replace(tzinfo=None)


def run_row(run: RunRecord, event_ids: list[str]) -> dict[str, Any]:
    """The ``pf_runs`` row of a run."""
    return {
        "record_id": run.run_id,
        "app_name": run.app_name,
        "app_version": run.app_version,
        "status": run.status,
        "error": run.error,
        "provider": run.provider,
        "model": run.model,
        "simulated": bool(run.simulated),
        "latency_s": float(run.latency_s),
        "input_tokens": int(run.input_tokens),
        "output_tokens": int(run.output_tokens),
        "cost_usd": None if run.cost_usd is None else float(run.cost_usd),
        "started_at": utc(run.started_at_ns),
        "ended_at": utc(run.ended_at_ns),
        "batch_id": run.batch_id,
        "dataset_row": run.dataset_row,
        "actor": run.actor,
        "injection_action": _injection_action(run),
        "pii_in_entities": sum(int(n) for n in (run.decisions.get("pii_in") or {}).values()),
        "pii_out_entities": sum(int(n) for n in (run.decisions.get("pii_out") or {}).values()),
        "pii_in": run.decisions.get("pii_in") or {},
        "pii_out": run.decisions.get("pii_out") or {},
        "decisions": run.decisions,
        "variables": run.variables,
        "event_ids": event_ids,
    }


def text_row(run: RunRecord) -> dict[str, Any]:
    """The ``pf_run_text`` row of a run: its scrubbed input and output, lower-cased for search."""
    return {"record_id": run.run_id, "text": search_text(run.input_text, run.output_text)}


def search_text(input_text: str | None, output_text: str | None) -> str:
    return f"{input_text or ''}\n\n{output_text or ''}".lower()


def entity_rows(run: RunRecord) -> list[dict[str, Any]]:
    """The ``pf_run_entities`` rows of a run: PII entities scrubbed, by direction and type."""
    return [
        {"record_id": run.run_id, "direction": direction, "entity_type": str(kind)[:64], "count": int(count)}
        for direction, key in (("in", "pii_in"), ("out", "pii_out"))
        for kind, count in sorted((run.decisions.get(key) or {}).items())
        if int(count) > 0
    ]


def _injection_action(run: RunRecord) -> str | None:
    verdict = run.decisions.get("injection")
    action = verdict.get("action") if isinstance(verdict, dict) else None
    return None if action is None else str(action)


def metric_row(record_id: str, metric: MetricValue, recorded_at: datetime) -> dict[str, Any]:
    """The ``pf_run_metrics`` row of one result (an unavailable metric has no value)."""
    return {
        "record_id": record_id,
        "name": metric.name,
        "value": float(metric.value) if metric.status == "ok" and metric.value is not None else None,
        "status": metric.status,
        "higher_is_better": bool(metric.higher_is_better),
        "explanation": metric.explanation or "",
        "recorded_at": recorded_at,
    }


def metric_rows(run: RunRecord) -> list[dict[str, Any]]:
    at = utc(run.ended_at_ns)
    return [metric_row(run.run_id, m, at) for m in run.metrics]


def replace_metrics(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Store metric results, each replacing an earlier one of the same name for its run (the
    daily rollups take the earlier one back)."""
    m = schema.run_metrics.c
    old: list[dict[str, Any]] = []
    for chunk in (rows[i : i + 400] for i in range(0, len(rows), 400)):
        keys = sa.or_(*(sa.and_(m.record_id == row["record_id"], m.name == row["name"]) for row in chunk))
        old += [dict(row._mapping) for row in conn.execute(sa.select(schema.run_metrics).where(keys))]
        conn.execute(sa.delete(schema.run_metrics).where(keys))
    conn.execute(sa.insert(schema.run_metrics), rows)
    rollups.replace_metrics(conn, old, rows)


def apps_of(conn: sa.Connection, record_ids: list[str]) -> dict[str, tuple[str, str]]:
    """record_id -> (app_name, app_version) of recorded runs; ``NotFoundError`` names an unknown one."""
    r = schema.runs.c
    found: dict[str, tuple[str, str]] = {}
    for chunk in (record_ids[i : i + 500] for i in range(0, len(record_ids), 500)):
        query = sa.select(r.record_id, r.app_name, r.app_version).where(r.record_id.in_(chunk))
        found.update({row.record_id: (row.app_name, row.app_version) for row in conn.execute(query)})
    missing = [i for i in record_ids if i not in found]
    if missing:
        raise _not_found(missing[0])
    return found


def _not_found(record_id: str) -> NotFoundError:
    return NotFoundError(
        f"No recorded run with id {record_id!r}.",
        "Check the id; runs still queued appear after TruLensStore.flush().",
    )


def check_fits(run: RunRecord) -> None:
    """Raise ``ValueError`` if a field is longer than its ``pf_`` column allows."""
    values = {
        "app_name": run.app_name,
        "app_version": run.app_version,
        "provider": run.provider,
        "model": run.model,
        "actor": run.actor,
        "batch_id": run.batch_id,
        "injection_action": _injection_action(run),
    }
    for name, value in values.items():
        limit = schema.runs.c[name].type.length
        if value is not None and len(value) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
    limit = schema.run_metrics.c.name.type.length
    for metric in run.metrics:
        if len(metric.name) > limit:
            raise ValueError(f"metric name {metric.name[:20]!r}... is longer than {limit} characters")


def _filters(app_name: str | None, app_version: str | None, batch_id: str | None) -> list:
    conditions = []
    if app_name is not None:
        conditions.append(schema.runs.c.app_name == app_name)
    if app_version is not None:
        conditions.append(schema.runs.c.app_version == app_version)
    if batch_id is not None:
        conditions.append(schema.runs.c.batch_id == batch_id)
    return conditions


def list_runs(
    conn: sa.Connection,
    *,
    app_name: str | None = None,
    app_version: str | None = None,
    batch_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Newest runs first (times are naive UTC), each with ``metrics: {name: value}``."""
    query = (
        sa.select(*_LIST_COLUMNS)
        .where(*_filters(app_name, app_version, batch_id))
        .order_by(schema.runs.c.started_at.desc(), schema.runs.c.record_id)
        .limit(limit)
        .offset(offset)
    )
    rows = [dict(r._mapping) for r in conn.execute(query)]
    values = _metric_values(conn, [r["record_id"] for r in rows])
    for row in rows:
        row["metrics"] = values.get(row["record_id"], {})
    return rows


def count_runs(
    conn: sa.Connection,
    *,
    app_name: str | None = None,
    app_version: str | None = None,
    batch_id: str | None = None,
) -> int:
    query = (
        sa.select(sa.func.count()).select_from(schema.runs).where(*_filters(app_name, app_version, batch_id))
    )
    return int(conn.execute(query).scalar_one())


def summarize(conn: sa.Connection, app_name: str | None = None) -> list[dict[str, Any]]:
    """Per app version: run counts by status, latency, cost, tokens and metric means."""
    r = schema.runs.c
    query = (
        sa.select(
            r.app_name,
            r.app_version,
            sa.func.count().label("runs"),
            sa.func.sum(sa.case((r.status == "ok", 1), else_=0)).label("ok"),
            sa.func.sum(sa.case((r.status == "blocked", 1), else_=0)).label("blocked"),
            sa.func.sum(sa.case((r.status == "error", 1), else_=0)).label("errors"),
            sa.func.avg(r.latency_s).label("mean_latency_s"),
            sa.func.sum(r.cost_usd).label("total_cost_usd"),
            sa.func.sum(r.input_tokens + r.output_tokens).label("total_tokens"),
            sa.func.max(r.started_at).label("last_run_at"),
        )
        .where(*_filters(app_name, None, None))
        .group_by(r.app_name, r.app_version)
        .order_by(r.app_name, r.app_version)
    )
    rows = {(row.app_name, row.app_version): {**row._mapping, "metrics": {}} for row in conn.execute(query)}
    m = schema.run_metrics.c
    means = (
        sa.select(r.app_name, r.app_version, m.name, sa.func.avg(m.value).label("mean"))
        .select_from(schema.run_metrics.join(schema.runs))
        .where(m.status == "ok", *_filters(app_name, None, None))
        .group_by(r.app_name, r.app_version, m.name)
    )
    for row in conn.execute(means):
        rows[(row.app_name, row.app_version)]["metrics"][row.name] = row.mean
    return list(rows.values())


def get_run(conn: sa.Connection, events: sa.Table, record_id: str) -> dict[str, Any]:
    """One run with its text, stages, metrics and decisions; ``NotFoundError`` if unknown."""
    row = conn.execute(sa.select(schema.runs).where(schema.runs.c.record_id == record_id)).first()
    if row is None:
        raise _not_found(record_id)
    run = dict(row._mapping)
    event_rows = conn.execute(sa.select(events).where(events.c.event_id.in_(run.pop("event_ids")))).all()
    run.update(_trace(event_rows))
    run["metrics"] = [
        dict(m._mapping)
        for m in conn.execute(
            sa.select(schema.run_metrics).where(schema.run_metrics.c.record_id == record_id).order_by("name")
        )
    ]
    return run


def _trace(event_rows: list) -> dict[str, Any]:
    """Input, output and ordered stages from a run's TruLens events."""
    root_type = SpanAttributes.SpanType.RECORD_ROOT.value
    eval_types = {SpanAttributes.SpanType.EVAL_ROOT.value, SpanAttributes.SpanType.EVAL.value}
    result: dict[str, Any] = {"input": None, "output": None, "stages": []}
    stages = []
    for event in event_rows:
        attrs = event.record_attributes
        span_type = attrs.get(SpanAttributes.SPAN_TYPE)
        if span_type == root_type:
            result["input"] = attrs.get(SpanAttributes.RECORD_ROOT.INPUT)
            result["output"] = attrs.get(SpanAttributes.RECORD_ROOT.OUTPUT)
        elif span_type not in eval_types:
            stages.append(
                {
                    "name": event.record.get("name"),
                    "span_type": span_type,
                    "start": event.start_timestamp,
                    "end": event.timestamp,
                    "duration_ms": (event.timestamp - event.start_timestamp).total_seconds() * 1000,
                    "attributes": {
                        k: v
                        for k, v in attrs.items()
                        if not k.startswith(("ai.observability.", "gen_ai.", f"{PF}."))
                    },
                }
            )
    result["stages"] = sorted(stages, key=lambda s: s["start"])
    return result


def _metric_values(conn: sa.Connection, record_ids: list[str]) -> dict[str, dict[str, float | None]]:
    if not record_ids:
        return {}
    m = schema.run_metrics.c
    values: dict[str, dict[str, float | None]] = {}
    for row in conn.execute(sa.select(m.record_id, m.name, m.value).where(m.record_id.in_(record_ids))):
        values.setdefault(row.record_id, {})[row.name] = row.value
    return values


def root_texts(conn: sa.Connection, events: sa.Table, rows: list[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    """record_id -> (input, output) read from each run's root event (its first event id)."""
    roots = {row["event_ids"][0]: row["record_id"] for row in rows if row.get("event_ids")}
    if not roots:
        return {}
    texts: dict[str, tuple[Any, Any]] = {}
    query = sa.select(events.c.event_id, events.c.record_attributes).where(events.c.event_id.in_(list(roots)))
    for event_id, attrs in conn.execute(query):
        texts[roots[event_id]] = (attrs.get(SpanAttributes.RECORD_ROOT.INPUT), attrs.get(SpanAttributes.RECORD_ROOT.OUTPUT))
    return texts
