"""The rows of a compliance export, read a page at a time inside one snapshot of the database.

A ``RunFilter`` is the scope. Runs are filtered by all of it and come with their scrubbed
input and output (from each run's root TruLens event, read by primary key) and their metric
results (``pf_run_metrics``, human ``human_*`` scores included). The other datasets are
filtered by the scope's dates, and by prompt where the row names one:

==========================  ===============================================  =====================================
dataset                     rows                                             in scope when
==========================  ===============================================  =====================================
``annotations``             ``pf_annotations``                               made in the period; of a queue and by
                                                                             a reviewer of the scope, of a run of
                                                                             its prompts and versions, if it names
                                                                             them
``label_moves``             TruLens's ``trulens_prompt_label_history``       moved in the period, of the prompts
``label_requests``          ``pf_label_requests`` (requests, approvals,      made or decided in the period, of the
                            rejections, emergency moves)                     prompts
``comparisons``             ``pf_comparisons`` (with their decisions)        made or decided in the period, of the
                                                                             prompts
``comparison_preferences``  ``pf_comparison_preferences``                    recorded in the period, of a
                                                                             comparison of the prompts
``user_changes``            audit events that create or change accounts     in the period
``audit_events``            ``pf_audit_events`` with their hashes            in the period
==========================  ===============================================  =====================================

("The prompts" are the scope's prompts and the prompts of its versions; none: every prompt.)

Every dataset is read in keyset order (its time, then its key), ``PAGE`` rows per query, so
memory stays flat whatever the size; ``snapshot()`` holds one read transaction for the whole
export (SQLite: a deferred ``BEGIN``, which WAL readers hold without blocking writers;
PostgreSQL: ``REPEATABLE READ``, read only), so the counts taken first are the rows read
after, and rows recorded meanwhile are in neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from config.errors import InputError
from storage import schema
from storage.compliance import ACCOUNT_ACTIONS
from storage.engine import storage_errors
from storage.run_filter import RunFilter
from storage.run_index import root_texts

PAGE = 2_000
# the audit actions that create or change an account (the compliance report's, and a user's own
# password change)
USER_CHANGE_ACTIONS = (*ACCOUNT_ACTIONS, "password_changed")
DATASETS = (
    "runs", "metric_results", "annotations", "label_moves", "label_requests", "comparisons",
    "comparison_preferences", "user_changes", "audit_events",
)

Key = tuple[sa.ColumnElement, str]  # an ordering column and its name in the row


@dataclass(frozen=True)
class Source:
    """One dataset's query (all its columns and conditions) and its keyset order."""

    name: str
    query: sa.Select
    keys: tuple[Key, ...]
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None)


@cache
def trulens_tables() -> Any:
    """TruLens's ORM for its default table prefix (``storage.migrate.ensure`` creates the tables).
    Called as TruLens calls it (keyword argument): the cached ORM is then the session's own,
    not a second one that would define the same tables again."""
    from trulens.core.database.orm import make_orm_for_prefix

    return make_orm_for_prefix(table_prefix="trulens_")


@contextmanager
def snapshot(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection holding one read-only transaction until the block ends (see the module
    docstring). Database errors raise ``StorageError``; errors of the caller's block pass
    through untouched (a full disk stays a full disk)."""
    with storage_errors(engine):
        conn = engine.connect()
    try:
        with storage_errors(engine):
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")
            elif engine.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            conn.execute(sa.select(sa.func.count()).select_from(schema.runs))  # the snapshot starts here
        yield conn
    finally:
        try:
            conn.rollback()
        finally:
            conn.close()


def check_scope(scope: RunFilter) -> None:
    """An export needs both ends of its period."""
    if scope.start is None or scope.end is None:
        raise InputError(
            "An export needs a period: both a first and a last day.", "Give --from DATE and --to DATE (UTC days)."
        )


def prompt_names(scope: RunFilter) -> list[str]:
    """The prompts the scope names, directly or through its versions (empty: every prompt)."""
    return sorted({*scope.prompts, *(app for app, _ in scope.versions)})


def prompt_slugs(conn: sa.Connection) -> set[str]:
    """Every prompt name the workspace knows: those with versions and those with runs."""
    specs = sa.select(schema.prompt_specs.c.slug).distinct()
    ran = sa.select(schema.runs.c.app_name).distinct()
    return {row[0] for query in (specs, ran) for row in _execute(conn, query) if row[0]}


# -- counting and paging ------------------------------------------------------------------


def count(conn: sa.Connection, source: Source) -> int:
    query = sa.select(sa.func.count()).select_from(source.query.order_by(None).subquery())
    return int(_execute(conn, query).scalar_one())


def pages(conn: sa.Connection, source: Source, page: int = PAGE) -> Iterator[list[dict[str, Any]]]:
    """The source's rows in keyset order, ``page`` at a time."""
    after: tuple[Any, ...] | None = None
    columns = [column for column, _ in source.keys]
    while True:
        query = source.query.order_by(*columns).limit(page)
        if after is not None:
            query = query.where(_after(columns, after))
        rows = [dict(row._mapping) for row in _execute(conn, query)]
        if not rows:
            return
        after = tuple(rows[-1][name] for _, name in source.keys)
        if source.convert is not None:
            rows = [source.convert(row) for row in rows]
        yield rows
        if len(rows) < page:
            return


def _after(columns: Sequence[sa.ColumnElement], values: Sequence[Any]) -> sa.ColumnElement:
    """Rows after ``values`` in the lexicographic order of ``columns``."""
    alternatives = []
    for i, column in enumerate(columns):
        equal = [columns[j] == values[j] for j in range(i)]
        alternatives.append(sa.and_(*equal, column > values[i]))
    return sa.or_(*alternatives)


def _execute(conn: sa.Connection, query: sa.Executable) -> sa.CursorResult:
    with storage_errors(conn.engine):
        return conn.execute(query)


# -- runs and their metric results ------------------------------------------------------------


def run_source(scope: RunFilter, columns: Sequence[str] = ()) -> Source:
    """The runs in scope: ``columns`` of ``pf_runs`` (default: all of them) and ``event_ids``."""
    r = schema.runs.c
    names = [c.name for c in schema.runs.c if not columns or c.name in columns or c.name == "event_ids"]
    query = sa.select(*(r[name] for name in names)).where(*scope.conditions())
    return Source("runs", query, ((r.started_at, "started_at"), (r.record_id, "record_id")))


def count_metric_results(conn: sa.Connection, scope: RunFilter) -> int:
    m = schema.run_metrics.c
    in_scope = sa.select(schema.runs.c.record_id).where(*scope.conditions())
    return int(_execute(conn, sa.select(sa.func.count()).where(m.record_id.in_(in_scope))).scalar_one())


def run_pages(
    conn: sa.Connection, scope: RunFilter, page: int = PAGE, columns: Sequence[str] = ()
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(runs, their metric results) a page of runs at a time, oldest run first. Each run has
    ``columns`` of ``pf_runs`` (default: all but ``event_ids``), plus ``input_text`` and
    ``output_text`` (None when its root event is missing); metric results come by run, then name."""
    events = trulens_tables().Event.__table__
    m = schema.run_metrics.c
    for runs in pages(conn, run_source(scope, columns), page):
        with storage_errors(conn.engine):
            texts = root_texts(conn, events, runs)
        ids = [run["record_id"] for run in runs]
        metrics = [
            dict(row._mapping)
            for row in _execute(
                conn, sa.select(schema.run_metrics).where(m.record_id.in_(ids)).order_by(m.record_id, m.name)
            )
        ]
        for run in runs:
            run.pop("event_ids", None)
            run["input_text"], run["output_text"] = texts.get(run["record_id"], (None, None))
        order = {record_id: i for i, record_id in enumerate(ids)}
        metrics.sort(key=lambda row: (order[row["record_id"]], row["name"]))
        yield runs, metrics


# -- the other datasets -----------------------------------------------------------------------


def sources(scope: RunFilter) -> list[Source]:
    """Every dataset but the runs and their metric results, in ``DATASETS`` order."""
    check_scope(scope)
    return [
        _annotations(scope), _label_moves(scope), _label_requests(scope), _comparisons(scope),
        _comparison_preferences(scope), _audit(scope, "user_changes", USER_CHANGE_ACTIONS), _audit(scope, "audit_events"),
    ]


def _between(column: sa.ColumnElement, scope: RunFilter) -> sa.ColumnElement:
    return sa.and_(column >= scope.start, column < scope.end)


def _annotations(scope: RunFilter) -> Source:
    a, r = schema.annotations.c, schema.runs.c
    where = [_between(a.created_at, scope)]
    if scope.queues:
        where.append(a.queue_id.in_(scope.queues))
    if scope.reviewers:
        where.append(a.reviewer.in_(scope.reviewers))
    if scope.prompts or scope.versions:
        named = RunFilter(prompts=scope.prompts, versions=scope.versions)
        where.append(a.record_id.in_(sa.select(r.record_id).where(*named.conditions())))
    return Source("annotations", sa.select(schema.annotations).where(*where), ((a.created_at, "created_at"), (a.id, "id")))


def _label_moves(scope: RunFilter) -> Source:
    orm = trulens_tables()
    h, p = orm.PromptLabelHistory.__table__, orm.Prompt.__table__
    before, after = schema.prompt_specs.alias("before"), schema.prompt_specs.alias("after")
    query = (
        sa.select(
            h.c.history_id, p.c.slug, h.c.label, before.c.number.label("from_version"),
            after.c.number.label("to_version"), h.c.previous_version_id, h.c.new_version_id, h.c.moved_by,
            h.c.timestamp.label("moved_at"),
        )
        .select_from(
            h.join(p, p.c.prompt_id == h.c.prompt_id)
            .outerjoin(before, before.c.version_id == h.c.previous_version_id)
            .outerjoin(after, after.c.version_id == h.c.new_version_id)
        )
        .where(h.c.timestamp >= _epoch(scope.start), h.c.timestamp < _epoch(scope.end))
    )
    if prompt_names(scope):
        query = query.where(p.c.slug.in_(prompt_names(scope)))

    def convert(row: dict[str, Any]) -> dict[str, Any]:
        row["moved_at"] = datetime.fromtimestamp(float(row["moved_at"]), tz=UTC).replace(tzinfo=None)
        return row

    return Source("label_moves", query, ((h.c.timestamp, "moved_at"), (h.c.history_id, "history_id")), convert)


def _made_or_decided(made: sa.ColumnElement, decided: sa.ColumnElement, scope: RunFilter) -> sa.ColumnElement:
    return sa.or_(_between(made, scope), sa.and_(decided.is_not(None), _between(decided, scope)))


def _label_requests(scope: RunFilter) -> Source:
    lr = schema.label_requests.c
    query = sa.select(schema.label_requests).where(_made_or_decided(lr.requested_at, lr.decided_at, scope))
    if prompt_names(scope):
        query = query.where(lr.slug.in_(prompt_names(scope)))
    return Source("label_requests", query, ((lr.requested_at, "requested_at"), (lr.id, "id")))


def _comparisons(scope: RunFilter) -> Source:
    c = schema.comparisons.c
    query = sa.select(schema.comparisons).where(_made_or_decided(c.created_at, c.decided_at, scope))
    if prompt_names(scope):
        query = query.where(c.slug.in_(prompt_names(scope)))
    return Source("comparisons", query, ((c.created_at, "created_at"), (c.id, "id")))


def _comparison_preferences(scope: RunFilter) -> Source:
    cp, c = schema.comparison_preferences.c, schema.comparisons.c
    query = sa.select(schema.comparison_preferences).where(_between(cp.recorded_at, scope))
    if prompt_names(scope):
        query = query.where(cp.comparison_id.in_(sa.select(c.id).where(c.slug.in_(prompt_names(scope)))))
    keys = ((cp.recorded_at, "recorded_at"), (cp.comparison_id, "comparison_id"), (cp.dataset_row, "dataset_row"), (cp.actor, "actor"))
    return Source("comparison_preferences", query, keys)


def _audit(scope: RunFilter, name: str, actions: Sequence[str] = ()) -> Source:
    t = schema.audit_events.c
    query = sa.select(schema.audit_events).where(_between(t.ts, scope))
    if actions:
        query = query.where(t.action.in_(actions))
    return Source(name, query, ((t.seq, "seq"),))


def audit_tail(conn: sa.Connection) -> tuple[int, str, str] | None:
    """(seq, hash, alg) of the newest audit event in the snapshot, or None."""
    t = schema.audit_events.c
    row = _execute(conn, sa.select(t.seq, t.hash, t.alg).order_by(t.seq.desc()).limit(1)).first()
    return tuple(row) if row else None


def _epoch(value: datetime) -> float:
    """A naive UTC time as seconds since the epoch (TruLens's label history stores those)."""
    return value.replace(tzinfo=UTC).timestamp()


# -- what a scope can name ----------------------------------------------------------------------


def scope_options(conn: sa.Connection) -> dict[str, list]:
    """What an export form offers: recorded prompts and their versions, review queues
    ``(id, name)`` and the reviewers who annotated."""
    r, a, q = schema.runs.c, schema.annotations.c, schema.review_queues.c
    versions = [
        (name, version)
        for name, version in _execute(conn, sa.select(r.app_name, r.app_version).group_by(r.app_name, r.app_version))
    ]
    return {
        "prompts": sorted({name for name, _ in versions}),
        "versions": sorted(versions),
        "queues": [(qid, name) for qid, name in _execute(conn, sa.select(q.id, q.name).order_by(q.name))],
        "reviewers": [name for (name,) in _execute(conn, sa.select(a.reviewer).group_by(a.reviewer).order_by(a.reviewer))],
    }
