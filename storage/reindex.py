"""Rebuild PromptForge's projection of recorded runs from TruLens's own table (``python launch.py reindex``).

Every run is written twice in one transaction: as TruLens OpenTelemetry events in
``trulens_events`` (the system of record; see ``storage.trulens_events``) and as the rows
the pages query (the projection): ``pf_runs``, ``pf_run_metrics``, ``pf_run_text``,
``pf_run_entities`` and the daily rollups. ``rebuild_projection`` empties the projection
and refills it from the events alone, in one transaction, so a projection that was
damaged, lost or written by an older version becomes again what the events say:

- a run, its text and its PII entity counts: from its RECORD_ROOT span written by
  PromptForge (every ``pf_runs`` field is an attribute of it, turned into rows by the
  same ``storage.run_index`` functions the recorder uses); its ``event_ids``: the root,
  then the rows written with it (stage spans, EVAL spans of the results recorded with the
  run) as the root lists them;
- its metric results: per run and metric name, the latest EVAL_ROOT from PromptForge (by
  the time the result was given; of two given at the same time, the one written later),
  whether recorded with the run or added later (``TruLensStore.add_metric_results``: human
  annotations, preferences); and the unavailable results recorded with the run, listed on
  its root.

The events are read in keyset pages of the primary key, never all at once. The latest
result of each name is kept across pages in a temporary table of the same transaction,
as are the rows of runs whose root does not list them. Then the rollups are recounted
(``storage.rollups.rebuild_in``). Nothing but those tables is written: review queues,
annotations, evaluation runs and the audit chain refer to runs by id and are left as they
are.

Runs recorded by versions before the root carried exact times, its rows and its
unavailable results:
- their unavailable results are lost (an unavailable result added later, which has no
  EVAL span, is lost too);
- their times come from TruLens's timestamps: naive local time of the machine that
  recorded them, read as local time here (during the hour a daylight-saving change
  repeats, the earlier one is taken);
- their ``event_ids`` are gathered from the spans: the root, its stages in order, then
  its metric spans by name.

A result added later with an explicit time (``at_ns``) older than an earlier one of the
same name: the running store keeps the one added last, a rebuild the newer one.

Run it with the app stopped: runs recorded during a rebuild wait for its transaction
(PostgreSQL) or fail on the busy timeout (SQLite).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from trulens.otel.semconv.trace import ResourceAttributes, SpanAttributes

from storage import rollups, run_index, schema
from storage.engine import upsert_into
from storage.records import MetricValue, RunRecord
from storage.trulens_events import (
    ENDED_AT_NS,
    PF,
    RECORDED_AT_NS,
    SEQ,
    SERVICE_NAME,
    SPAN_IDS,
    STARTED_AT_NS,
    UNAVAILABLE_METRICS,
    span_id,
)

try:  # several times faster than json on the event rows
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover - orjson is in the requirements
    from json import loads as _json_loads

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (phase, done, total): phases "events", "older", "rollups"

CHUNK = 2_000  # events per page read; runs per page of event lists written
_ROOT, _EVAL_ROOT, _EVAL = (
    SpanAttributes.SpanType.RECORD_ROOT.value,
    SpanAttributes.SpanType.EVAL_ROOT.value,
    SpanAttributes.SpanType.EVAL.value,
)
_KWARGS = f"{SpanAttributes.CALL.KWARGS}."
_LEGACY_METRIC_POS = 1 << 40  # metric spans without a recorded place follow every stage
_MAX_STAGES = 1_000  # stage indexes tried when a stage span has no recorded place
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SQLITE_CACHE_KIB = 256 * 1024  # SQLite's page cache during a rebuild (its default is 2 MiB)

# gathered across pages, dropped with the transaction
_temporary = sa.MetaData()
_members = sa.Table(
    "pf_reindex_members",
    _temporary,
    # the rows of runs whose root does not list them (older versions): root (pos -1), stages, metric spans
    sa.Column("record_id", sa.String(64), nullable=False),
    sa.Column("pos", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("sub", sa.Integer, nullable=False),
    sa.Column("event_id", sa.String(256), nullable=False),
    sa.Index("ix_pf_reindex_members_record", "record_id"),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_results = sa.Table(
    "pf_reindex_results",
    _temporary,
    # the latest result so far per run and metric name; (at_ns, later, seq) orders them
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("at_ns", sa.BigInteger, nullable=False),
    sa.Column("later", sa.Integer, nullable=False),  # 1: added after the run was recorded
    sa.Column("seq", sa.Integer, nullable=False),
    *(
        sa.Column(c.name, c.type, nullable=c.nullable)
        for c in schema.run_metrics.c
        if c.name not in ("record_id", "name")
    ),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


def rebuild_projection(
    engine: sa.Engine, events_table: sa.Table, progress: Progress | None = None
) -> dict[str, Any]:
    """Empty the projection tables and refill them from ``events_table`` in one transaction.

    Returns ``{"runs", "older_runs", "metrics", "entities", "events_read", "skipped_roots",
    "orphan_results", "seconds"}``: ``older_runs`` are runs whose root does not list its rows
    (recorded by an older version), ``skipped_roots`` PromptForge root spans lacking a field
    (logged), ``orphan_results`` metric results whose run has no root span.
    ``progress(phase, done, total)`` is called after each page."""
    started = time.perf_counter()
    report = progress or (lambda phase, done, total: None)
    with engine.begin() as conn, _large_page_cache(conn):
        for table in (schema.run_metrics, schema.run_text, schema.run_entities, schema.runs):
            conn.execute(sa.delete(table))
        for table in (_members, _results):
            table.create(conn)
        total = conn.execute(sa.select(sa.func.count()).select_from(events_table)).scalar_one()
        page = _Page()
        read = 0
        for chunk in _event_pages(conn, events_table):
            page.clear()
            for event in chunk:
                page.add(event)
            page.write(conn)
            read += len(chunk)
            report("events", read, total)
        older = _write_older_event_ids(conn, report)
        runs = conn.execute(sa.select(sa.func.count()).select_from(schema.runs)).scalar_one()
        metrics = _write_metrics(conn)
        staged = conn.execute(sa.select(sa.func.count()).select_from(_results)).scalar_one()
        entities = conn.execute(sa.select(sa.func.count()).select_from(schema.run_entities)).scalar_one()
        for table in (_results, _members):
            table.drop(conn)
        rollups.rebuild_in(conn, lambda done, total: report("rollups", done, total))
    return {
        "runs": int(runs),
        "older_runs": older,
        "metrics": metrics,
        "entities": int(entities),
        "events_read": read,
        "skipped_roots": page.skipped,
        "orphan_results": int(staged) - metrics,
        "seconds": round(time.perf_counter() - started, 3),
    }


@contextmanager
def _large_page_cache(conn: sa.Connection) -> Iterator[None]:
    """On SQLite, a page cache large enough that a transaction this size does not spill it over
    and over (the connection's own size is restored afterwards)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar())
    conn.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {before}")


class _Event(NamedTuple):
    event_id: str
    record: dict
    record_attributes: dict
    resource_attributes: dict
    start_timestamp: datetime
    timestamp: datetime


def _event_pages(conn: sa.Connection, events: sa.Table) -> Iterator[list[_Event]]:
    """Pages of events in primary-key order (JSON read as text and parsed here: several times faster)."""
    c = events.c
    columns = [
        c.event_id,
        *(
            sa.cast(column, sa.Text).label(column.name)
            for column in (c.record, c.record_attributes, c.resource_attributes)
        ),
        c.start_timestamp,
        c.timestamp,
    ]
    last = None
    while True:
        query = sa.select(*columns).order_by(c.event_id).limit(CHUNK)
        if last is not None:
            query = query.where(c.event_id > last)
        chunk = conn.execute(query).all()
        if not chunk:
            return
        yield [
            _Event(event_id, _loads(record), _loads(attributes), _loads(resource), start, end)
            for event_id, record, attributes, resource, start, end in chunk
        ]
        last = chunk[-1].event_id


def _loads(text: str | None) -> dict:
    value = _json_loads(text) if text else None
    return value if isinstance(value, dict) else {}


class _Page:
    """The projection rows, members and metric results of one page of events."""

    def __init__(self) -> None:
        self.skipped = 0
        self.clear()

    def clear(self) -> None:
        self.runs: list[dict] = []
        self.texts: list[dict] = []
        self.entities: list[dict] = []
        self.members: list[dict] = []
        self.results: dict[tuple[str, str], dict] = {}

    def add(self, event) -> None:
        if event.resource_attributes.get("service.name") != SERVICE_NAME:
            return  # TruLens's own records and evaluations are not PromptForge runs
        attrs = event.record_attributes
        span_type = attrs.get(SpanAttributes.SPAN_TYPE)
        record_id = attrs.get(SpanAttributes.RECORD_ID)
        if not record_id:
            return
        if span_type == _ROOT:
            self._root(event, attrs, record_id)
        elif span_type in (_EVAL_ROOT, _EVAL):
            self._metric_span(event, attrs, span_type)
        elif SEQ not in attrs and event.record.get("parent_span_id") == str(span_id(record_id, "root")):
            self._older_stage(event, record_id)  # a newer stage is listed on its root

    def _root(self, event, attrs: dict, record_id: str) -> None:
        try:
            run = run_of_root(attrs, event.start_timestamp, event.timestamp)
            span_ids = [str(i) for i in attrs.get(SPAN_IDS, ())]
        except (KeyError, TypeError, ValueError) as exc:
            self.skipped += 1
            reason = f"{type(exc).__name__}: {exc}"
            logger.warning("root span %s of run %s not rebuilt (%s)", event.event_id, record_id, reason)
            return
        self.runs.append(run_index.run_row(run, [event.event_id, *span_ids]))
        self.texts.append(run_index.text_row(run))
        self.entities.extend(run_index.entity_rows(run))
        if SPAN_IDS not in attrs:  # an older root: its rows are gathered from the spans themselves
            self.members.append(_member(record_id, -1, "", 0, event.event_id))
        for row in run_index.metric_rows(run):  # the unavailable ones, the only metrics on the root
            self._result(row, run.ended_at_ns, later=0, seq=0)

    def _older_stage(self, event, record_id: str) -> None:
        name = event.record.get("name") or ""
        index = _stage_index(record_id, name, int(event.event_id))  # its index is in its span id
        self.members.append(_member(record_id, 1 + index, name, 0, event.event_id))

    def _metric_span(self, event, attrs: dict, span_type: str) -> None:
        record_id = attrs.get(SpanAttributes.EVAL.TARGET_RECORD_ID) or attrs[SpanAttributes.RECORD_ID]
        name = attrs.get(SpanAttributes.EVAL.METRIC_NAME) or attrs.get(SpanAttributes.EVAL_ROOT.METRIC_NAME)
        if not name:
            return
        sub = 0 if span_type == _EVAL_ROOT else 1
        with_run = event.event_id == str(span_id(record_id, f"metric:{name}" + ("" if sub == 0 else ":eval")))
        seq = attrs.get(SEQ)
        if with_run and seq is None:  # an older span (a newer one is listed on its root)
            self.members.append(_member(record_id, _LEGACY_METRIC_POS, name, sub, event.event_id))
        if span_type != _EVAL_ROOT:
            return
        at_ns = attrs.get(RECORDED_AT_NS)
        if at_ns is None:
            at_ns = local_ns(event.timestamp)
        ok = SpanAttributes.EVAL_ROOT.SCORE in attrs
        explanation = attrs.get(SpanAttributes.EVAL_ROOT.EXPLANATION) or ""
        metric = MetricValue(
            name=name,
            value=float(attrs[SpanAttributes.EVAL_ROOT.SCORE]) if ok else None,
            higher_is_better=bool(attrs.get(SpanAttributes.EVAL_ROOT.HIGHER_IS_BETTER, True)),
            status="ok" if ok else "error",
            explanation=explanation,
        )
        row = run_index.metric_row(record_id, metric, run_index.utc(at_ns))
        self._result(row, at_ns, later=0 if with_run else 1, seq=int(seq or 0))

    def _result(self, row: dict, at_ns: int, *, later: int, seq: int) -> None:
        row = {**row, "at_ns": int(at_ns), "later": later, "seq": seq}
        key = (row["record_id"], row["name"])
        held = self.results.get(key)
        if held is None or _rank(row) > _rank(held):
            self.results[key] = row

    def write(self, conn: sa.Connection) -> None:
        if self.runs:
            conn.execute(sa.insert(schema.runs), self.runs)
            conn.execute(sa.insert(schema.run_text), self.texts)
        if self.entities:
            conn.execute(sa.insert(schema.run_entities), self.entities)
        if self.members:
            conn.execute(sa.insert(_members), self.members)
        if self.results:
            _keep_latest(conn, sorted(self.results.values(), key=lambda r: (r["record_id"], r["name"])))


def _member(record_id: str, pos: int, name: str, sub: int, event_id: str) -> dict:
    return {"record_id": record_id, "pos": int(pos), "name": name[:255], "sub": sub, "event_id": event_id}


def _rank(row: dict) -> tuple[int, int, int]:
    return row["at_ns"], row["later"], row["seq"]


def _keep_latest(conn: sa.Connection, rows: list[dict]) -> None:
    """Upsert results into the temporary table, each replacing a held one only if it ranks higher."""
    insert = upsert_into(conn, _results)
    new, old = insert.excluded, _results.c
    higher = sa.or_(
        new.at_ns > old.at_ns,
        sa.and_(new.at_ns == old.at_ns, new.later > old.later),
        sa.and_(new.at_ns == old.at_ns, new.later == old.later, new.seq > old.seq),
    )
    values = [c.name for c in _results.c if not c.primary_key]
    statement = insert.on_conflict_do_update(
        index_elements=["record_id", "name"], set_={name: new[name] for name in values}, where=higher
    )
    conn.execute(statement, rows)


def _write_older_event_ids(conn: sa.Connection, report: Progress) -> int:
    """Set the ``event_ids`` of runs whose root does not list them, from the rows gathered
    (root, stages by index, metric spans by name), page by page; returns how many."""
    r, m = schema.runs.c, _members.c
    older = sa.select(m.record_id).where(m.pos == -1)
    total = conn.execute(sa.select(sa.func.count()).select_from(older.subquery())).scalar_one()
    update = (
        sa.update(schema.runs).where(r.record_id == sa.bindparam("rid")).values(event_ids=sa.bindparam("ids"))
    )
    done, last = 0, None
    while True:
        query = older.order_by(m.record_id).limit(CHUNK)
        if last is not None:
            query = query.where(m.record_id > last)
        ids = list(conn.execute(query).scalars())
        if not ids:
            return done
        lists: dict[str, list[str]] = {record_id: [] for record_id in ids}
        members = (
            sa.select(m.record_id, m.event_id)
            .where(m.record_id.in_(ids))
            .order_by(m.record_id, m.pos, m.name, m.sub)
        )
        for record_id, event_id in conn.execute(members):
            lists[record_id].append(event_id)
        conn.execute(update, [{"rid": record_id, "ids": event_ids} for record_id, event_ids in lists.items()])
        done += len(ids)
        last = ids[-1]
        report("older", done, total)


def _write_metrics(conn: sa.Connection) -> int:
    """Copy the latest results of rebuilt runs into ``pf_run_metrics``; returns how many."""
    columns = [c.name for c in schema.run_metrics.c]
    source = sa.select(*(_results.c[name] for name in columns)).where(
        _results.c.record_id.in_(sa.select(schema.runs.c.record_id))
    )
    conn.execute(sa.insert(schema.run_metrics).from_select(columns, source))
    return int(conn.execute(sa.select(sa.func.count()).select_from(schema.run_metrics)).scalar_one())


# -- a run from its root span ---------------------------------------------------------


def run_of_root(attrs: dict[str, Any], start: datetime, end: datetime) -> RunRecord:
    """The run a RECORD_ROOT span written by PromptForge describes (no stages; its metrics:
    the unavailable results listed on it). ``start``/``end``: the span's TruLens timestamps,
    used when it carries no exact times."""
    started_ns = attrs.get(STARTED_AT_NS)
    ended_ns = attrs.get(ENDED_AT_NS)
    unavailable = json.loads(attrs.get(UNAVAILABLE_METRICS) or "[]")
    return RunRecord(
        run_id=attrs[SpanAttributes.RECORD_ID],
        app_name=attrs[ResourceAttributes.APP_NAME],
        app_version=attrs[ResourceAttributes.APP_VERSION],
        input_text=attrs.get(SpanAttributes.RECORD_ROOT.INPUT) or "",
        output_text=attrs.get(SpanAttributes.RECORD_ROOT.OUTPUT),
        status=attrs[f"{PF}.status"],
        error=attrs.get(SpanAttributes.RECORD_ROOT.ERROR),
        provider=attrs[f"{PF}.provider"],
        model=attrs[f"{PF}.model"],
        simulated=bool(attrs[f"{PF}.simulated"]),
        latency_s=float(attrs[f"{PF}.latency_s"]),
        input_tokens=int(attrs.get(SpanAttributes.COST.NUM_PROMPT_TOKENS) or 0),
        output_tokens=int(attrs.get(SpanAttributes.COST.NUM_COMPLETION_TOKENS) or 0),
        cost_usd=attrs.get(SpanAttributes.COST.COST),
        started_at_ns=int(started_ns) if started_ns is not None else local_ns(start),
        ended_at_ns=int(ended_ns) if ended_ns is not None else local_ns(end),
        stages=[],
        metrics=[
            MetricValue(m["name"], None, bool(m["higher_is_better"]), "unavailable", m.get("explanation", ""))
            for m in unavailable
        ],
        decisions=json.loads(attrs.get(f"{PF}.decisions") or "{}"),
        variables={k[len(_KWARGS) :]: v for k, v in attrs.items() if k.startswith(_KWARGS)},
        actor=attrs[f"{PF}.actor"],
        batch_id=attrs.get(f"{PF}.batch_id"),
        dataset_row=attrs.get(f"{PF}.dataset_row"),
    )


def local_ns(value: datetime) -> int:
    """A TruLens timestamp (naive local time) as nanoseconds since the epoch, to the microsecond."""
    return (value.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1) * 1000


def _stage_index(record_id: str, name: str, event_span: int) -> int:
    for index in range(_MAX_STAGES):
        if span_id(record_id, f"stage:{index}:{name}") == event_span:
            return index
    return _MAX_STAGES
