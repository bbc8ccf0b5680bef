"""Recording runs into the shared TruLens database, and reading them back.

One ``TruSession`` per process, on our engine (so TruLens's SQLite connections
get the same WAL mode and busy timeout). ``record_run`` validates and queues;
a background writer turns each batch of runs into TruLens OTel events (see
``storage.trulens_events``) plus ``pf_runs`` index rows, in one transaction.
``flush()`` returns only when everything handed over is in the database.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

import pandas as pd
import sqlalchemy as sa

from config.errors import StorageError
from config.settings import Settings
from storage import migrate, rollups, run_index, schema
from storage.engine import check_writable, describe, make_engine, storage_errors, translate_error
from storage.records import MetricValue, RunRecord, validate_metric, validate_run
from storage.tracing import StageExporter
from storage.trulens_events import metric_events, run_events
from storage.writer import BatchWriter

logger = logging.getLogger(__name__)


class TruLensStore:
    """Records finished runs as TruLens records and answers paginated queries."""

    def __init__(self, settings: Settings, session: Any | None = None, *, max_batch: int = 256) -> None:
        """Open (or reuse) the TruSession on the configured database and apply migrations.

        A ``session`` passed in is used as is, on its own engine.
        """
        self.settings = settings
        self._owns_session = False
        self.engine = make_engine(settings) if session is None else session.connector.db.engine
        with storage_errors(self.engine):
            if session is None:
                session, self._owns_session = _open_session(self.engine)
            self.session = session
            try:
                migrate.upgrade(self.engine)
                check_writable(self.engine)
                rollups.fill_if_empty(self.engine)
            except BaseException:
                if self._owns_session:
                    _close_session(session)
                self.engine.dispose()  # pooled connections may hold the failed state
                raise
        self._events: sa.Table = session.connector.db.orm.Event.__table__
        self._known_apps: set[tuple[str, str]] = set()
        self._apps_lock = threading.Lock()
        self._stage_exporter = StageExporter.from_settings(settings)
        self._writer: BatchWriter[RunRecord] = BatchWriter(
            self._write_batch, to_error=partial(translate_error, engine=self.engine), max_batch=max_batch
        )
        self._closed = False
        atexit.register(self._close_at_exit)

    # -- recording ---------------------------------------------------------------

    def record_run(self, run: RunRecord) -> str:
        """Queue one run; returns its TruLens record id (the run id)."""
        return self.record_runs([run])[0]

    def record_runs(self, runs: Iterable[RunRecord]) -> list[str]:
        """Queue runs for the background writer; returns their record ids."""
        runs = list(runs)
        for run in runs:
            try:
                validate_run(run)
                run_index.check_fits(run)
            except (TypeError, ValueError) as exc:
                raise StorageError(f"Cannot record this run: {exc}.", "This is a bug in the caller.") from exc
        self._writer.submit(runs)
        return [run.run_id for run in runs]

    def add_metric_result(self, record_id: str, metric: MetricValue) -> None:
        """Attach a metric result (e.g. a human annotation) to a recorded run, synchronously."""
        self.add_metric_results([(record_id, metric)])

    def add_metric_results(
        self, results: Iterable[tuple[str, MetricValue]], *, at_ns: Sequence[int] | None = None
    ) -> int:
        """Attach metric results to recorded runs in one transaction (a result replaces an
        earlier one of the same name on that run); returns how many were stored.
        ``at_ns``: when each result was given (default: now), e.g. for imported history."""
        results = list(results)
        for _, metric in results:
            try:
                validate_metric(metric)
            except ValueError as exc:
                raise StorageError(f"Cannot record this metric: {exc}.", "This is a bug in the caller.") from exc
        if at_ns is not None and len(at_ns) != len(results):
            raise StorageError("Cannot record these metrics: one time per result is needed.", "This is a bug in the caller.")
        if not results:
            return 0
        now = time.time_ns()
        events: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        with storage_errors(self.engine), self.engine.begin() as conn:
            apps = run_index.apps_of(conn, sorted({record_id for record_id, _ in results}))
            for i, (record_id, metric) in enumerate(results):
                app_name, app_version = apps[record_id]
                at = now if at_ns is None else at_ns[i]
                key = f"metric:{metric.name}:{at}:{i}"
                events.extend(metric_events(record_id, app_name, app_version, metric, at, key, seq=len(events)))
                rows.append(run_index.metric_row(record_id, metric, run_index.utc(at)))
            if events:
                conn.execute(sa.insert(self._events), events)
            # TruLens keeps every result; of two of one name on one run here, the later one stands
            run_index.replace_metrics(conn, list({(r["record_id"], r["name"]): r for r in rows}.values()))
        return len(rows)

    @property
    def events_table(self) -> sa.Table:
        """TruLens's ``trulens_events`` table (read-only use)."""
        return self._events

    @property
    def pending(self) -> int:
        """Runs handed over but not yet in the database."""
        return self._writer.pending

    def flush(self, timeout: float | None = None) -> None:
        """Return once every run handed over is in the database; ``StorageError`` otherwise."""
        self._writer.flush(timeout)
        self.session.force_flush()
        if self._stage_exporter is not None:
            self._stage_exporter.flush()

    def close(self) -> None:
        """Flush, stop the writer and release the TruLens session and connections."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._close_at_exit)
        try:
            self._writer.close()
            self.session.force_flush()
        finally:
            if self._stage_exporter is not None:
                self._stage_exporter.shutdown()
            if self._owns_session:
                _close_session(self.session)
            _forget_store(self)
            self.engine.dispose()

    def _close_at_exit(self) -> None:
        try:
            self.close()
        except StorageError as exc:
            logger.error("Runs not recorded at exit: %s", exc)

    def _write_batch(self, runs: list[RunRecord]) -> None:
        self._register_apps(runs)
        written = self._insert_or_split(runs)
        if self._stage_exporter is not None:
            try:
                self._stage_exporter.export(written)
            except Exception:  # OTLP is a secondary copy; the database has the runs
                logger.exception("exporting stage spans over OTLP failed")

    def _insert_or_split(self, runs: list[RunRecord]) -> list[RunRecord]:
        """Insert runs in one transaction; on a key clash, one by one, skipping runs already stored."""
        try:
            self._insert(runs)
            return runs
        except sa.exc.IntegrityError:
            if len(runs) > 1:
                return [written for run in runs for written in self._insert_or_split([run])]
            if not self._is_recorded(runs[0].run_id):
                raise
            logger.warning("run %s was already recorded; skipped", runs[0].run_id)
            return []

    def _insert(self, runs: list[RunRecord]) -> None:
        events: list[dict[str, Any]] = []
        run_rows: list[dict[str, Any]] = []
        metric_rows: list[dict[str, Any]] = []
        entity_rows: list[dict[str, Any]] = []
        for run in runs:
            rows = run_events(run)
            events.extend(rows)
            run_rows.append(run_index.run_row(run, [r["event_id"] for r in rows]))
            metric_rows.extend(run_index.metric_rows(run))
            entity_rows.extend(run_index.entity_rows(run))
        with self.engine.begin() as conn:
            conn.execute(sa.insert(schema.runs), run_rows)
            conn.execute(sa.insert(schema.run_text), [run_index.text_row(run) for run in runs])
            conn.execute(sa.insert(self._events), events)
            if metric_rows:
                conn.execute(sa.insert(schema.run_metrics), metric_rows)
            if entity_rows:
                conn.execute(sa.insert(schema.run_entities), entity_rows)
            rollups.add(conn, run_rows, metric_rows, entity_rows)

    def _is_recorded(self, record_id: str) -> bool:
        with self.engine.connect() as conn:
            query = sa.select(schema.runs.c.record_id).where(schema.runs.c.record_id == record_id)
            return conn.execute(query).first() is not None

    def _register_apps(self, runs: list[RunRecord]) -> None:
        """Make each app version known to TruLens (its apps table) once."""
        from trulens.core.schema.app import AppDefinition
        from trulens.core.utils.pyschema import Class

        with self._apps_lock:
            new = {(r.app_name, r.app_version) for r in runs} - self._known_apps
            for app_name, app_version in sorted(new):
                self.session.add_app(
                    AppDefinition(
                        app_name=app_name,
                        app_version=app_version,
                        root_class=Class.of_class(TruLensStore),
                        app={},
                        metadata={"recorded_by": "promptforge"},
                    )
                )
                self._known_apps.add((app_name, app_version))

    # -- reading -----------------------------------------------------------------

    def list_runs(
        self,
        app_name: str | None = None,
        limit: int = 50,
        offset: int = 0,
        *,
        app_version: str | None = None,
        batch_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """A page of runs, newest first, with metric values; filtered in SQL."""
        with storage_errors(self.engine), self.engine.connect() as conn:
            return run_index.list_runs(
                conn,
                app_name=app_name,
                app_version=app_version,
                batch_id=batch_id,
                limit=limit,
                offset=offset,
            )

    def count_runs(
        self, app_name: str | None = None, *, app_version: str | None = None, batch_id: str | None = None
    ) -> int:
        with storage_errors(self.engine), self.engine.connect() as conn:
            return run_index.count_runs(conn, app_name=app_name, app_version=app_version, batch_id=batch_id)

    def get_run(self, record_id: str) -> dict[str, Any]:
        """Input, output, stages, metrics, decisions, provider, latency and cost of one run."""
        with storage_errors(self.engine), self.engine.connect() as conn:
            return run_index.get_run(conn, self._events, record_id)

    def page_of_runs(self, run_filter, **options):
        """A sorted page of runs under a ``RunFilter`` (see ``storage.records_query.page_of_runs``)."""
        from storage import records_query

        with storage_errors(self.engine), self.engine.connect() as conn:
            return records_query.page_of_runs(conn, self._events, run_filter, **options)

    def run_detail(self, record_id: str, audit: bool = True):
        """One run with its annotations, evaluation run, comparisons, queues and (``audit``) audit events."""
        from storage import records_query

        with storage_errors(self.engine), self.engine.connect() as conn:
            return records_query.run_detail(conn, self._events, record_id, audit=audit)

    def run_audit(self, record_id: str, started_at) -> list:
        """The audit events that name a run (see ``storage.records_query.run_audit``)."""
        from storage import records_query

        with storage_errors(self.engine), self.engine.connect() as conn:
            return records_query.run_audit(conn, record_id, started_at)

    def filter_choices(self) -> dict[str, list[str]]:
        """What the filters can pick: prompts, providers and metric names recorded so far."""
        from storage import records_query

        with storage_errors(self.engine), self.engine.connect() as conn:
            return {
                "prompts": records_query.distinct_values(conn, "app_name"),
                "providers": records_query.distinct_values(conn, "provider"),
                "versions": records_query.versions(conn),
                "metrics": records_query.metric_names(conn),
            }

    def summarize_runs(self, app_name: str | None = None) -> list[dict[str, Any]]:
        """Per app version: counts, latency, cost, tokens and metric means (SQL aggregates)."""
        with storage_errors(self.engine), self.engine.connect() as conn:
            return run_index.summarize(conn, app_name)

    def overview(self, run_filter=None, bucket: str | None = None):
        """The Overview's figures under a ``RunFilter`` (see ``storage.overview``), in SQL."""
        from storage import overview
        from storage.run_filter import RunFilter

        with storage_errors(self.engine), self.engine.connect() as conn:
            return overview.overview(conn, run_filter or RunFilter(), bucket)

    def leaderboard(self) -> pd.DataFrame:
        """TruLens's own leaderboard (loads records into pandas: keep for small data)."""
        with storage_errors(self.engine):
            return self.session.get_leaderboard()

    def __repr__(self) -> str:
        return f"TruLensStore({describe(self.engine)})"


# -- the process-wide TruLens session -----------------------------------------


def _open_session(engine: sa.Engine) -> tuple[Any, bool]:
    """TruLens's default ``TruSession`` on ``engine``: (session, created_here).

    ``TruSession`` is a process-wide singleton and TruLens's own helpers call
    ``TruSession()``, so ours must be that default instance. Another one open on
    a different database is an error.
    """
    from trulens.core.database.connector import DefaultDBConnector
    from trulens.core.session import TruSession

    from storage.trulens_threads import use_context_threads

    use_context_threads()
    connector = DefaultDBConnector(database_engine=engine)
    session = TruSession(connector=connector)
    if session.connector is connector:
        return session, True
    if session.connector.db.engine.url == engine.url:
        return session, False
    raise StorageError(
        f"A TruLens session on {describe(session.connector.db.engine)} is already open in this process.",
        "Close that store (TruLensStore.close()) before opening another database.",
    )


def _close_session(session: Any) -> None:
    """Stop exporting through the session's span processor and drop the singleton."""
    from trulens.core.session import TruSession

    exporter = session.experimental_otel_exporter
    if exporter is not None and hasattr(exporter, "disable"):
        exporter.disable()
    TruSession.delete_singleton_by_name(None)


# -- one store per database URL ------------------------------------------------

_stores: dict[str, TruLensStore] = {}
_stores_lock = threading.Lock()


def open_store(settings: Settings) -> TruLensStore:
    """The store for ``settings``' database, built (and migrated) once per URL."""
    key = settings.resolved_database_url
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = TruLensStore(settings)
            _stores[key] = store
        return store


def _forget_store(store: TruLensStore) -> None:
    with _stores_lock:
        for key, value in list(_stores.items()):
            if value is store:
                del _stores[key]


def close_all_stores() -> None:
    """Close every store this process opened (tests, and shutting a server down)."""
    with _stores_lock:
        stores = list(_stores.values())
    for store in stores:
        store.close()
