"""Evaluation runs: a prompt version × a dataset × a provider × a metric set.

``Evaluator.create`` checks everything it can before any model is paid for (the
prompt, the dataset and its columns, the metric set, the judge) and stores the
run as ``queued``. ``Evaluator.execute`` runs the rows not yet recorded, through
the governed pipeline, in chunks:

- every row's record id is derived from (run, row), and the rows already
  recorded are read from the database first, so a crash, a closed browser or a
  cancel followed by a resume goes on from the last recorded row and never
  records a row twice;
- a row that cannot run (a render error, a model failure) is recorded as a
  failed run with its error, never dropped;
- the runner touches the run's row every few seconds: a run whose runner died
  shows as interrupted and can be resumed (by another process, too);
- a cancel (an ``Event`` in this process, or ``request_cancel`` from any
  process) stops after the current chunk.

When the rows are done the run's summary (means with confidence intervals, pass
rates, cost) is computed in SQL and its gates (``min_mean``, ``max_mean``,
``min_pass_rate``) are stored, so the CLI can serve as a CI gate.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from config.errors import ConfigError, InputError, NotFoundError, PromptForgeError
from evaluation import MetricContext, MetricSet
from evaluation.registry import crosses
from evaluation.summary import GateResult, MetricSummary, all_gates, gates_passed, metric_errors, summarize
from execution.datasets import check_columns
from execution.pipeline import BatchOptions, Pipeline
from execution.prompt_ref import PromptRef
from security.identity import Permission
from storage.eval_runs import EvalRunRow, EvalRunTable

logger = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
_NAMESPACE = uuid.UUID("8c5d1f8e-4f7b-4b43-9d7e-2a0f3c6b9e51")

Progress = Callable[[int, int], None]


def record_id(run_id: str, row: int) -> str:
    """The record id of dataset row ``row`` in evaluation ``run_id`` (stable across resumes)."""
    return uuid.uuid5(_NAMESPACE, f"{run_id}:{row}").hex


@dataclass
class EvalReport:
    """An evaluation run with its progress, counts, cost and metric summaries."""

    run: EvalRunRow
    counts: dict[str, int]
    usage: dict[str, Any]
    metrics: list[MetricSummary] = field(default_factory=list)

    @property
    def gates(self) -> list[GateResult]:
        return all_gates(self.metrics)

    @property
    def passed(self) -> bool:
        return gates_passed(self.metrics)

    @property
    def metric_errors(self) -> list[MetricSummary]:
        """Metrics that errored on some row (a judge that did not answer, a metric that crashed)."""
        return metric_errors(self.metrics)

    @property
    def recorded(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        judge_cost = next((m.mean * m.n for m in self.metrics if m.name == "judge_cost_usd" and m.mean is not None), None)
        return {
            "evaluation": run.id,
            "prompt": run.prompt_ref,
            "dataset": run.dataset,
            "provider": run.provider,
            "judge": run.judge,
            "status": run.display_status,
            "rows": run.total_rows,
            "recorded": self.recorded,
            **self.counts,
            "model_cost_usd": self.usage.get("cost_usd"),
            "judge_cost_usd": judge_cost,
            "metrics": {
                m.name: {
                    "n": m.n,
                    "mean": m.mean,
                    "ci95": [m.ci_low, m.ci_high],
                    "pass_rate": m.pass_rate,
                    "flagged": m.flagged,
                    "unavailable": m.unavailable,
                    "errors": m.errors,
                    **({"first_error": m.first_error} if m.errors else {}),
                    **({"simulated": True} if m.simulated else {}),
                }
                for m in self.metrics
            },
            "gates": [g.to_dict() for g in self.gates],
            "passed": self.passed,
            "metric_errors": [m.name for m in self.metric_errors],
        }


class Evaluator:
    """Creates, runs, resumes, cancels and summarises evaluation runs."""

    def __init__(self, pipeline: Pipeline, *, judge_factory=None) -> None:
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.table = EvalRunTable(pipeline.store.engine)
        self._judge_factory = judge_factory  # tests inject; default builds from the provider registry

    @property
    def principal(self):
        return self.pipeline.principal

    # -- creating ------------------------------------------------------------------
    def create(
        self,
        prompt_ref: str,
        dataset: str,
        *,
        provider: str | None = None,
        judge: str | None = None,
        metrics: list[str] | None = None,
        metric_set: MetricSet | None = None,
    ) -> EvalRunRow:
        """Check and store a queued run; nothing is sent to a model yet."""
        self.principal.require(Permission.EVALUATE, "start evaluation runs")
        version = self._registry().resolve(prompt_ref)
        dataset_info = self._datasets().get_dataset(dataset)
        rows = self._datasets().load_dataset(dataset_info["id"])
        if not rows:
            raise InputError(f"Dataset {dataset!r} has no rows.", "Upload a dataset with at least one row.")
        _check_columns(rows, version.variables)
        if metric_set is None:
            from execution.metric_sets import MetricSets

            metric_set, _source = MetricSets(self.pipeline.store, self.principal).effective(version.slug, version.version)
        if metrics:
            metric_set = metric_set.only(metrics)
        if not metric_set.specs:
            raise ConfigError("The metric set is empty.", "Choose at least one metric.")
        # the caller's provider, else the version's default, else the configured one
        default = self._registry().template(version).run.provider
        provider_spec = provider or default or self.settings.default_provider
        self.pipeline.provider(provider_spec)  # an unknown provider or a missing key fails now
        judge_obj = self._judge(judge)
        built = metric_set.build(MetricContext(self.settings, judge=judge_obj))  # bad options fail now
        for spec, metric in zip(metric_set.specs, built):  # the run keeps the thresholds it used
            spec.flag_above, spec.flag_below = metric.flag_above, metric.flag_below
        run = self.table.create(
            id=uuid.uuid4().hex,
            prompt_ref=f"{version.slug}@v{version.version}",
            app_name=version.slug,
            app_version=f"v{version.version}",
            dataset=dataset_info["name"],
            dataset_id=dataset_info["id"],
            total_rows=len(rows),
            provider=provider_spec,
            judge=judge,
            metrics=metric_set.to_list(),
            created_by=self.principal.actor,
        )
        self.pipeline.audit.append(
            self.principal.actor, "eval_created", f"prompt:{version.slug}",
            {"evaluation": run.id, "version": version.version, "dataset": dataset, "rows": len(rows),
             "provider": provider_spec, "judge": judge, "metrics": [s.result_name for s in metric_set.specs]},
        )
        return run

    # -- running -------------------------------------------------------------------
    def execute(
        self, run_id: str, *, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> EvalReport:
        """Run (or resume) every row not yet recorded; returns the report.

        Raises ``InputError`` when another runner holds the run. Any other failure
        marks the run failed (resumable) and is raised."""
        self.principal.require(Permission.EVALUATE, "run evaluations")
        run = self._get(run_id)
        if run.status == "done":
            return self.report(run_id)
        if not self.table.claim(run_id):
            raise InputError(
                f"Evaluation {run_id[:8]} is being run by another runner.",
                "Wait for it, or cancel it first.",
            )
        cancel = cancel or threading.Event()
        stop_beat = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(run_id, stop_beat, cancel), daemon=True)
        beat.start()
        try:
            self._run_rows(run, progress, cancel)
            self.pipeline.store.flush()
            if cancel.is_set():
                self._finish(run, "cancelled")
                return self.report(run_id)
            report = self.report(run_id)
            self._finish(run, "done", gates=[g.to_dict() for g in report.gates], passed=report.passed)
            return replace(report, run=self._get(run_id))  # the same figures, with the run's final row
        except BaseException as exc:
            self._finish(run, "failed", error=_describe(exc))
            raise
        finally:
            stop_beat.set()
            beat.join(timeout=5)

    def _run_rows(self, run: EvalRunRow, progress: Progress | None, cancel: threading.Event) -> None:
        registry = self._registry()
        version = registry.resolve(run.prompt_ref)
        template = registry.template(version)
        rows = self._datasets().load_dataset(run.dataset_id)
        done = self.table.recorded_rows(run.id)
        pending = [i for i in range(len(rows)) if i not in done]
        counts = {"done": len(done), "failed": self.table.status_counts(run.id)["error"]}
        if progress:
            progress(counts["done"], len(rows))
        if not pending:
            return
        metric_set = MetricSet.from_list(run.metrics)
        metrics = metric_set.build(MetricContext(self.settings, judge=self._judge(run.judge)))

        def on_chunk(results) -> None:
            counts["done"] += len(results)
            counts["failed"] += sum(r.status == "error" for r in results)
            status = self.table.touch(run.id, counts["done"], counts["failed"])
            if status == "cancelling":
                cancel.set()
            if progress:
                progress(counts["done"], len(rows))

        self.pipeline.run_batch(
            template,
            [rows[i] for i in pending],
            prompt=PromptRef.registered(version.slug, version.version),
            provider=run.provider,
            options=BatchOptions(
                batch_id=run.id,
                row_numbers=pending,
                record_id=lambda row: record_id(run.id, row),
                metrics=metrics,
                record_rejected=True,
                cancel=cancel,
                on_chunk=on_chunk,
            ),
        )

    def _heartbeat(self, run_id: str, stop: threading.Event, cancel: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                if self.table.touch(run_id) == "cancelling":
                    cancel.set()
            except PromptForgeError:
                logger.warning("evaluation %s: heartbeat failed", run_id[:8])

    def _finish(self, run: EvalRunRow, status: str, *, error: str | None = None, gates=None, passed=None) -> None:
        try:
            self.table.finish(run.id, status, error=error, gates=gates)
            details = {"evaluation": run.id, "status": status}
            if passed is not None:
                details["gates_passed"] = passed
            self.pipeline.audit.append(self.principal.actor, "eval_finished", f"prompt:{run.app_name}", details)
        except PromptForgeError:
            logger.exception("evaluation %s: could not record its end (%s)", run.id[:8], status)

    def cancel(self, run_id: str) -> str:
        """Ask the run to stop after its current chunk (from any process)."""
        self.principal.require(Permission.EVALUATE, "cancel evaluations")
        self._get(run_id)
        return self.table.request_cancel(run_id)

    # -- reading -------------------------------------------------------------------
    def list_runs(self, limit: int = 50, offset: int = 0, app_name: str | None = None) -> list[EvalRunRow]:
        self.principal.require(Permission.READ_RUNS, "read evaluations")
        return self.table.list(limit, offset, app_name)

    def get(self, run_id: str) -> EvalRunRow:
        self.principal.require(Permission.READ_RUNS, "read evaluations")
        return self._get(run_id)

    def report(self, run_id: str) -> EvalReport:
        """Counts, cost and metric summaries of a run, aggregated in SQL."""
        self.principal.require(Permission.READ_RUNS, "read evaluations")
        run = self._get(run_id)
        metric_set = MetricSet.from_list(run.metrics)
        stats = self.table.metric_stats(run_id, thresholds(metric_set))
        return EvalReport(run, self.table.status_counts(run_id), self.table.usage(run_id), summarize(metric_set, stats))

    def results(self, run_id: str, **filters: Any) -> tuple[list[dict[str, Any]], int]:
        """A page of the run's rows (see ``EvalRunTable.results`` for the filters), each
        with ``flags``: the names of the metrics whose thresholds it crosses."""
        self.principal.require(Permission.READ_RUNS, "read evaluations")
        run = self._get(run_id)
        limits = thresholds(MetricSet.from_list(run.metrics))
        rows, total = self.table.results(run_id, self.pipeline.store.events_table, thresholds=limits, **filters)
        for row in rows:
            row["flags"] = [
                name
                for name, (above, below) in limits.items()
                if (m := row["metrics"].get(name)) and m["status"] == "ok" and crosses(m["value"], above, below)
            ]
        return rows, total

    def count_results(self, run_id: str, **filters: Any) -> int:
        """How many of the run's rows the filters of ``results`` match."""
        self.principal.require(Permission.READ_RUNS, "read evaluations")
        limits = thresholds(MetricSet.from_list(self._get(run_id).metrics))
        return self.table.count_results(run_id, thresholds=limits, **filters)

    def find(self, id_prefix: str) -> EvalRunRow:
        """The one run whose id starts with ``id_prefix`` (as the CLI takes it)."""
        self.principal.require(Permission.READ_RUNS, "read evaluations")
        ids = self.table.ids_starting_with(id_prefix.strip(), limit=2)
        if len(ids) != 1:
            raise NotFoundError(f"No single evaluation run starts with {id_prefix!r}.", "Give more of its id.")
        return self._get(ids[0])

    def metric_values(self, run_id: str, name: str) -> list[float]:
        self.principal.require(Permission.READ_RUNS, "read evaluations")
        return self.table.metric_values(run_id, name)

    # -- helpers -------------------------------------------------------------------
    def _get(self, run_id: str) -> EvalRunRow:
        run = self.table.get(run_id)
        if run is None:
            raise NotFoundError(f"No evaluation run {run_id[:12]!r}.", "Pick one from the list of runs.")
        return run

    def _registry(self):
        from prompts.registry import PromptRegistry

        return PromptRegistry(self.pipeline.store, self.principal, limits=self.pipeline.limits)

    def _datasets(self):
        from storage.datasets import DatasetStore

        return DatasetStore(self.pipeline.store)

    def _judge(self, spec: str | None):
        if not spec:
            return None
        if self._judge_factory is not None:
            return self._judge_factory(spec)
        from execution.judges import build_judge

        return build_judge(spec, self.settings)


def thresholds(metric_set: MetricSet) -> dict[str, tuple[float | None, float | None]]:
    """Result name -> (flag_above, flag_below) for the specs that set one."""
    return {
        s.result_name: (s.flag_above, s.flag_below)
        for s in metric_set.specs
        if s.flag_above is not None or s.flag_below is not None
    }


def _check_columns(rows: list[dict[str, str]], variables: list[str]) -> None:
    problems = check_columns({k for row in rows for k in row}, variables)
    if problems:
        raise InputError(
            " ".join(problems), "Add those columns to the dataset, or pick the prompt version it was made for."
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PromptForgeError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"
