"""A/B comparisons: is version B better than version A, on what, by how much, how sure?

A comparison pins two sides, each a prompt version on a provider (two versions or labels
of one prompt, or one version on two providers: a model migration), to one dataset and
one metric set. Each side runs as ordinary evaluation runs, one per repeat, so progress,
cancel and resume are the evaluation runs' own; a done evaluation run of the same
version, provider, dataset and metric set is reused instead of paying for it again.
Rows are paired by their dataset row. The figures (``evaluation.paired_stats``) are
computed from the recorded scores; reviewers' pairwise preferences are stored per row and
as feedback on both TruLens records; a decision (promote B to staging, request
production through the four-eyes flow with the comparison attached, keep A, or adopt
B's model) is stored with the comparison and in the audit trail.
"""

from __future__ import annotations

import json
import threading
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from config.errors import ConfigError, InputError, NotFoundError, PromptForgeError
from evaluation import MetricSet
from evaluation.paired_stats import PREFERENCE_LABELS, Comparison, CostSamples, PairedMetric, compare
from evaluation.registry import metric_class
from evaluation.summary import MetricSummary
from execution.evaluate import Evaluator
from execution.pipeline import Pipeline
from security.identity import Permission
from security.typed_text import TypedText
from storage.comparisons import DECISIONS, PREFERENCE_NAMES, ComparisonRow, ComparisonTable, Preference
from storage.records import MetricValue

Progress = Callable[[int, int], None]
MAX_REPEATS = 10
PREFERENCE_METRIC = "pairwise_preference"  # the human feedback both TruLens records carry
# the value each side's record gets for a judgement: (A's record, B's record)
PREFERENCE_SCORES = {"a": (1.0, 0.0), "b": (0.0, 1.0), "tie": (0.5, 0.5), "both_bad": (0.0, 0.0)}


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a prompt version on a provider."""

    slug: str
    version: int
    provider: str
    label: str | None = None  # the label it was chosen by, if any

    @property
    def ref(self) -> str:
        return f"{self.slug}@v{self.version}"

    @property
    def display(self) -> str:
        label = f" ({self.label})" if self.label else ""
        return f"v{self.version}{label} on {self.provider}"

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "version": self.version, "provider": self.provider, "label": self.label}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Side:
        return cls(data["slug"], int(data["version"]), data["provider"], data.get("label"))


@dataclass
class PairedData:
    """Both sides of a comparison as arrays: rows × repeats, NaN where no score."""

    rows: list[int]  # dataset row of each array row
    scores: dict[str, tuple[np.ndarray, np.ndarray]]  # metric -> (A, B)
    latency: tuple[np.ndarray, np.ndarray]
    cost: tuple[np.ndarray, np.ndarray]
    records: tuple[dict[int, str], dict[int, str]]  # dataset row -> first repeat's record id, per side
    status: tuple[dict[int, str], dict[int, str]]  # dataset row -> first repeat's status, per side


@dataclass
class TruLensRunView:
    """One side in the shape TruLens's ``compare_runs`` reads a run: ``run_name`` and
    ``get_records()`` (``record_id``, ``input`` and one column per metric)."""

    run_name: str
    records: Any  # a pandas DataFrame

    def get_records(self):
        return self.records


class Comparisons:
    """Comparisons as ``pipeline.principal`` may use them."""

    def __init__(self, pipeline: Pipeline, evaluator: Evaluator | None = None) -> None:
        self.pipeline = pipeline
        self.evaluator = evaluator or Evaluator(pipeline)
        self.table = ComparisonTable(pipeline.store.engine)

    @property
    def principal(self):
        return self.pipeline.principal

    # -- creating ------------------------------------------------------------------------

    def create(
        self,
        prompt_a: str,
        dataset: str,
        *,
        prompt_b: str | None = None,
        provider_a: str | None = None,
        provider_b: str | None = None,
        metrics: list[str] | None = None,
        metric_set: MetricSet | None = None,
        guards: list[str] | tuple[str, ...] = (),
        repeats: int = 1,
        reuse: bool = True,
        title: str | None = None,
    ) -> ComparisonRow:
        """Check and store a comparison; its evaluation runs are created (or reused), none
        is run yet. ``prompt_b`` defaults to ``prompt_a`` (a model migration: give
        ``provider_b``)."""
        self.principal.require(Permission.EVALUATE, "start comparisons")
        if not 1 <= int(repeats) <= MAX_REPEATS:
            raise InputError(f"Repeats must be between 1 and {MAX_REPEATS}.", "Use 1 for deterministic models.")
        title = TypedText(self.pipeline.scrubber).limited(title, "The title", 255)
        registry = self.evaluator._registry()
        version_a = registry.resolve(prompt_a)  # an unreadable prompt fails here
        version_b = registry.resolve(prompt_b or prompt_a)
        if version_a.slug != version_b.slug:
            raise InputError(
                f"A is {version_a.slug!r} and B is {version_b.slug!r}: a comparison is of one prompt.",
                "Compare two versions or labels of one prompt, or one version on two providers.",
            )
        side_a = Side(version_a.slug, version_a.version, self._provider(registry, version_a, provider_a), _label(prompt_a))
        side_b = Side(
            version_b.slug, version_b.version, self._provider(registry, version_b, provider_b), _label(prompt_b or prompt_a)
        )
        if (side_a.version, side_a.provider) == (side_b.version, side_b.provider):
            raise InputError(
                f"A and B are identical ({side_a.ref} on {side_a.provider}).",
                "Pick another version for B, or another provider (--b-provider) for a model migration.",
            )
        if metric_set is None:
            from execution.metric_sets import MetricSets

            metric_set, _ = MetricSets(self.pipeline.store, self.principal).effective(side_a.slug, side_a.version)
        if metrics:
            metric_set = metric_set.only(list(metrics))
        if not metric_set.specs:
            raise ConfigError("The metric set is empty.", "Choose at least one metric.")
        names = [s.result_name for s in metric_set.specs]
        unknown = [g for g in guards if g not in names]
        if unknown:
            raise InputError(
                f"Guard metric{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                f"{'are' if len(unknown) > 1 else 'is'} not in the comparison's metric set.",
                "Guards must be among: " + ", ".join(names) + ".",
            )
        dataset_info = self.evaluator._datasets().get_dataset(dataset)
        run_ids: dict[str, list[str]] = {"a": [], "b": []}
        reused: list[str] = []
        for key, side in (("a", side_a), ("b", side_b)):
            found = self._reusable(side, dataset_info["id"], metric_set, repeats) if reuse else []
            reused += [r for r in found if r not in reused]
            run_ids[key] = list(found)
            while len(run_ids[key]) < repeats:
                run = self.evaluator.create(side.ref, dataset_info["id"], provider=side.provider, metric_set=metric_set)
                run_ids[key].append(run.id)
        row = self.table.create(
            id=uuid.uuid4().hex,
            title=title or f"{side_a.slug}: {side_a.display} vs {side_b.display}",
            slug=side_a.slug,
            side_a=side_a.to_dict(),
            side_b=side_b.to_dict(),
            dataset=dataset_info["name"],
            dataset_id=dataset_info["id"],
            total_rows=int(dataset_info["rows"]),
            metrics=metric_set.to_list(),
            guards=list(guards),
            repeats=int(repeats),
            run_ids=run_ids,
            reused=reused,
            created_by=self.principal.actor,
        )
        self._audit(
            "comparison_created", row,
            {"a": side_a.ref, "a_provider": side_a.provider, "b": side_b.ref, "b_provider": side_b.provider,
             "dataset": row.dataset, "repeats": row.repeats, "guards": row.guards, "reused": len(reused)},
        )
        return row

    def from_runs(self, run_a: str, run_b: str, *, guards: list[str] | tuple[str, ...] = (), title: str | None = None) -> ComparisonRow:
        """A comparison of two evaluation runs that exist (ids or unique prefixes)."""
        self.principal.require(Permission.EVALUATE, "start comparisons")
        a, b = self.evaluator.find(run_a), self.evaluator.find(run_b)
        if a.id == b.id:
            raise InputError("A and B are the same evaluation run.", "Pick two different runs.")
        if a.dataset_id != b.dataset_id:
            raise InputError(
                f"The runs used different datasets ({a.dataset!r} and {b.dataset!r}, or two versions of it).",
                "Compare runs over the same dataset rows, or start a comparison that runs both sides.",
            )
        names_a = {s.result_name for s in MetricSet.from_list(a.metrics).specs}
        names_b = {s.result_name for s in MetricSet.from_list(b.metrics).specs}
        if names_a != names_b:
            only = sorted(names_a ^ names_b)
            raise InputError(
                "These metrics were scored on one side only: " + ", ".join(only) + ".",
                "Compare runs with the same metric set, or start a comparison that runs both sides with one set.",
            )
        registry = self.evaluator._registry()
        side_a = Side(a.app_name, int(a.app_version.lstrip("v")), a.provider)
        side_b = Side(b.app_name, int(b.app_version.lstrip("v")), b.provider)
        registry.resolve(side_a.ref), registry.resolve(side_b.ref)  # the caller may read both prompts
        if side_a.slug != side_b.slug:
            raise InputError("The runs are of two different prompts.", "Compare runs of one prompt.")
        unknown = [g for g in guards if g not in names_a]
        if unknown:
            raise InputError(f"Guard metric not in the runs' metric set: {', '.join(unknown)}.", "Name a metric both runs scored.")
        row = self.table.create(
            id=uuid.uuid4().hex,
            title=(title or "").strip()[:255] or f"{side_a.slug}: {side_a.display} vs {side_b.display}",
            slug=side_a.slug, side_a=side_a.to_dict(), side_b=side_b.to_dict(),
            dataset=a.dataset, dataset_id=a.dataset_id, total_rows=a.total_rows, metrics=a.metrics,
            guards=list(guards), repeats=1, run_ids={"a": [a.id], "b": [b.id]}, reused=[a.id, b.id],
            created_by=self.principal.actor,
        )
        self._audit("comparison_created", row, {"a_run": a.id, "b_run": b.id, "guards": row.guards})
        if a.status == b.status == "done":
            return self._finish(row)
        return row

    # -- running -------------------------------------------------------------------------

    def execute(
        self, comparison_id: str, *, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> ComparisonRow:
        """Run (or resume) every evaluation run of both sides; when all are done, compute and
        store the figures. A cancel stops after the current chunk; run again to resume."""
        self.principal.require(Permission.EVALUATE, "run comparisons")
        row = self._get(comparison_id)
        cancel = cancel or threading.Event()
        self.table.update(row.id, status="running", error=None)
        total = row.total_rows * len(row.all_runs)
        finished = 0
        try:
            for run_id in row.all_runs:
                run = self.evaluator.get(run_id)
                if run.status != "done":

                    def step(done: int, _total: int, base: int = finished) -> None:
                        if progress:
                            progress(base + done, total)

                    run = self.evaluator.execute(run_id, progress=step, cancel=cancel).run
                if run.status != "done":  # cancelled (here or from elsewhere)
                    self.table.update(row.id, status="cancelled")
                    return self._get(row.id)
                finished += run.total_rows
                if progress:
                    progress(finished, total)
        except PromptForgeError as exc:
            self.table.update(row.id, status="failed", error=str(exc))
            raise
        except BaseException as exc:
            self.table.update(row.id, status="failed", error=f"{type(exc).__name__}: {exc}")
            raise
        return self._finish(row)

    def _finish(self, row: ComparisonRow) -> ComparisonRow:
        """Both sides are done: compute and keep the figures."""
        stats = self.statistics(row.id)
        self.table.update(row.id, status="done", statistics=stats.to_dict())
        self._audit("comparison_done", row, {"verdict": stats.verdict(), "guard_regressions": list(stats.guard_regressions)})
        return self._get(row.id)

    def cancel(self, comparison_id: str) -> str:
        """Ask the running side to stop after its current chunk (from any process)."""
        self.principal.require(Permission.EVALUATE, "cancel comparisons")
        row = self._get(comparison_id)
        for run_id in row.all_runs:
            if self.evaluator.get(run_id).status in ("running", "queued"):
                self.evaluator.cancel(run_id)
        if row.status in ("queued", "running"):
            self.table.update(row.id, status="cancelled")
        return "cancelled"

    def progress(self, comparison_id: str) -> tuple[int, int]:
        """(rows recorded, rows to record) over both sides and every repeat."""
        self.principal.require(Permission.READ_RUNS, "read comparisons")
        row = self._get(comparison_id)
        runs = [self.evaluator.get(r) for r in row.all_runs]
        return sum(r.done_rows for r in runs), sum(r.total_rows for r in runs)

    # -- reading -------------------------------------------------------------------------

    def list(self, limit: int = 50, offset: int = 0, slug: str | None = None) -> list[ComparisonRow]:
        self.principal.require(Permission.READ_RUNS, "read comparisons")
        return self.table.list(limit, offset, slug)

    def count(self, slug: str | None = None) -> int:
        self.principal.require(Permission.READ_RUNS, "read comparisons")
        return self.table.count(slug)

    def get(self, comparison_id: str) -> ComparisonRow:
        self.principal.require(Permission.READ_RUNS, "read comparisons")
        return self._get(comparison_id)

    def find(self, id_prefix: str) -> ComparisonRow:
        self.principal.require(Permission.READ_RUNS, "read comparisons")
        ids = self.table.ids_starting_with(id_prefix.strip(), limit=2)
        if len(ids) != 1:
            raise NotFoundError(f"No single comparison starts with {id_prefix!r}.", "Give more of its id.")
        return self._get(ids[0])

    def metric_errors(self, row: ComparisonRow) -> list[tuple[str, MetricSummary]]:
        """(side and run, metric) for every metric that errored on some row of a side's runs."""
        return [
            (f"{side.upper()} (run {run_id[:8]})", m)
            for side in ("a", "b")
            for run_id in row.run_ids.get(side, [])
            for m in self.evaluator.report(run_id).metric_errors
        ]

    def sides(self, row: ComparisonRow) -> tuple[Side, Side]:
        return Side.from_dict(row.side_a), Side.from_dict(row.side_b)

    def paired(self, comparison_id: str) -> PairedData:
        """Both sides' scores, latency and cost, paired by dataset row."""
        self.principal.require(Permission.READ_RUNS, "read comparisons")
        return self._paired(self._get(comparison_id))

    def statistics(self, comparison_id: str, data: PairedData | None = None) -> Comparison:
        """Every figure of the comparison, from the recorded scores and preferences."""
        self.principal.require(Permission.READ_RUNS, "read comparisons")
        row = self._get(comparison_id)
        data = data or self._paired(row)
        metrics = []
        for spec in MetricSet.from_list(row.metrics).specs:
            cls = metric_class(spec.metric)
            a, b = data.scores[spec.result_name]
            metrics.append(
                PairedMetric(
                    spec.result_name, a, b,
                    kind="binary" if cls is not None and cls.kind == "assertion" else "continuous",
                    higher_is_better=_higher_is_better(spec.metric),
                    guard=spec.result_name in row.guards,
                )
            )
        prefs = [p.preference for p in self.table.preferences(row.id)]
        costs = CostSamples(data.cost[0], data.cost[1], data.latency[0], data.latency[1])
        return compare(metrics, preferences=prefs or None, costs=costs)

    def rows(
        self,
        comparison_id: str,
        *,
        order: str = "row",
        only_guard_regressions: bool = False,
        limit: int = 20,
        offset: int = 0,
        data: PairedData | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of paired rows for reading side by side: both outputs, every metric of both
        sides, and the preferences recorded. ``order``: ``row`` (dataset order) or
        ``disagreement`` (rows where the sides' scores differ most first);
        ``only_guard_regressions``: rows where B scored worse than A on a guard metric."""
        self.principal.require(Permission.READ_RUNS, "read comparisons")
        row = self._get(comparison_id)
        data = data or self._paired(row)
        specs = MetricSet.from_list(row.metrics).specs
        higher = {s.result_name: _higher_is_better(s.metric) for s in specs}
        positions = list(range(len(data.rows)))
        if only_guard_regressions:
            positions = [i for i in positions if _regressed(data, i, row.guards, higher)]
        if order == "disagreement":
            gap = _disagreement(data)
            positions.sort(key=lambda i: (-gap[i], i))
        total = len(positions)
        page = positions[offset : offset + limit]
        ids = [rid for i in page for rid in (data.records[0].get(data.rows[i]), data.records[1].get(data.rows[i])) if rid]
        texts = self.table.texts(ids, self.pipeline.store.events_table)
        prefs: dict[int, list[Preference]] = {}
        for p in self.table.preferences(row.id):
            prefs.setdefault(p.dataset_row, []).append(p)
        out = []
        for i in page:
            dataset_row = data.rows[i]
            rec_a, rec_b = data.records[0].get(dataset_row), data.records[1].get(dataset_row)
            out.append({
                "dataset_row": dataset_row,
                "record_a": rec_a,
                "record_b": rec_b,
                "status_a": data.status[0].get(dataset_row),
                "status_b": data.status[1].get(dataset_row),
                "input_a": texts.get(rec_a, (None, None))[0],
                "input_b": texts.get(rec_b, (None, None))[0],
                "output_a": texts.get(rec_a, (None, None))[1],
                "output_b": texts.get(rec_b, (None, None))[1],
                "metrics": {name: _row_means(data, name, i) for name in data.scores},
                "guard_regressed": _regressed(data, i, row.guards, higher),
                "preferences": [p.__dict__ for p in prefs.get(dataset_row, [])],
            })
        return out, total

    def trulens_runs(self, comparison_id: str) -> tuple[TruLensRunView, TruLensRunView]:
        """Both sides as TruLens's ``trulens.core.run.compare_runs`` reads runs: one record
        per dataset row, its input the (scrubbed) dataset row, one column per metric (the
        mean over repeats). TruLens pairs the two by input, as it pairs its own runs."""
        self.principal.require(Permission.READ_RUNS, "read comparisons")
        import pandas as pd

        row = self._get(comparison_id)
        data = self._paired(row)
        dataset = self.evaluator._datasets().load_dataset(row.dataset_id)
        views = []
        for side, name in ((0, "A"), (1, "B")):
            records = []
            for i, dataset_row in enumerate(data.rows):
                if dataset_row not in data.records[side]:
                    continue
                values = {m: _row_means(data, m, i)[side] for m in data.scores}
                records.append({
                    "record_id": data.records[side][dataset_row],
                    "input": json.dumps(dataset[dataset_row], sort_keys=True, ensure_ascii=False),
                    **{m: (np.nan if v is None else v) for m, v in values.items()},
                })
            views.append(TruLensRunView(f"{name}: {self.sides(row)[side].display}", pd.DataFrame(records)))
        return views[0], views[1]

    # -- judging -------------------------------------------------------------------------

    def record_preference(self, comparison_id: str, dataset_row: int, preference: str, comment: str = "") -> None:
        """One reviewer's judgement of one row: stored with the comparison, as feedback on
        both TruLens records (``pairwise_preference``) and in the audit trail. The comment
        is scrubbed before it is stored anywhere."""
        self.principal.require(Permission.COMPARE, "record preferences")
        if preference not in PREFERENCE_LABELS:
            raise InputError(f"Unknown preference {preference!r}.", "Use one of: " + ", ".join(PREFERENCE_LABELS) + ".")
        row = self._get(comparison_id)
        data = self._paired(row)
        if dataset_row not in data.records[0] or dataset_row not in data.records[1]:
            raise InputError(f"Row {dataset_row} has no record on both sides yet.", "Judge a row both sides answered.")
        comment = (comment or "").strip()
        if len(comment) > 2000:
            raise InputError("The comment is longer than 2,000 characters.", "Shorten it.")
        scrubbed = self.pipeline.scrubber.scrub(comment).text if comment else ""
        self.table.set_preference(row.id, dataset_row, self.principal.actor, preference, scrubbed)
        side_a, side_b = self.sides(row)
        score_a, score_b = PREFERENCE_SCORES[preference]
        said = f"{self.principal.actor}: {PREFERENCE_NAMES[preference]} (comparison {row.id[:8]}, row {dataset_row})"
        said += f". {scrubbed}" if scrubbed else ""
        self.pipeline.store.add_metric_results([
            (data.records[0][dataset_row], MetricValue(PREFERENCE_METRIC, score_a, True, "ok", f"{said}; this is A, {side_a.display}")),
            (data.records[1][dataset_row], MetricValue(PREFERENCE_METRIC, score_b, True, "ok", f"{said}; this is B, {side_b.display}")),
        ])
        self._audit("comparison_preference", row, {"row": dataset_row, "preference": preference, "commented": bool(scrubbed)})

    def decide(self, comparison_id: str, action: str, reason: str) -> ComparisonRow:
        """Record the decision; ``promote_staging`` moves B's version to staging,
        ``request_production`` asks for production through the four-eyes flow with this
        comparison attached, ``keep_a`` and ``adopt_b`` (a model migration) are recorded."""
        self.principal.require(Permission.COMPARE, "decide comparisons")
        if action not in DECISIONS:
            raise InputError(f"Unknown decision {action!r}.", "Use one of: " + ", ".join(DECISIONS) + ".")
        reason = (reason or "").strip()
        if not reason:
            raise InputError("Say why.", "The reason is stored with the decision and read by approvers and auditors.")
        row = self._get(comparison_id)
        if row.status != "done":
            raise InputError("The comparison has not finished.", "Run it to the end before deciding.")
        if row.decision:
            raise InputError(
                f"{row.decided_by} already decided this comparison ({DECISIONS[row.decision['action']]}).",
                "Start a new comparison to revisit the question.",
            )
        side_a, side_b = self.sides(row)
        same_version = side_a.version == side_b.version
        if action in ("promote_staging", "request_production") and same_version:
            raise InputError(
                "A and B are the same version on two providers: there is no version to promote.",
                "Record 'adopt B's model' or 'keep A'.",
            )
        if action == "adopt_b" and not same_version:
            raise InputError("'Adopt B's model' is for a model migration.", "Promote B or request production instead.")
        scrubbed = self.pipeline.scrubber.scrub(reason).text
        decision: dict[str, Any] = {"action": action, "reason": scrubbed}
        if action == "promote_staging":
            self.evaluator._registry().move_label(side_b.slug, side_b.version, "staging", {"comparison": row.id})
        elif action == "request_production":
            from prompts.label_moves import LabelMoves

            moves = LabelMoves(self.evaluator._registry(), self.pipeline.audit, self.pipeline.scrubber)
            request = moves.request(side_b.slug, side_b.version, scrubbed, comparison_id=row.id)
            decision["request_id"] = request.id
        from storage.schema import utcnow

        self.table.update(row.id, decision=decision, decided_by=self.principal.actor, decided_at=utcnow())
        self._audit("comparison_decided", row, {"action": action, "b": side_b.ref, **({"request": decision["request_id"]} if "request_id" in decision else {})})
        return self._get(row.id)

    # -- helpers -------------------------------------------------------------------------

    def _get(self, comparison_id: str) -> ComparisonRow:
        row = self.table.get(comparison_id)
        if row is None:
            raise NotFoundError(f"No comparison {comparison_id[:12]!r}.", "Pick one from the list of comparisons.")
        return row

    def _provider(self, registry, version, provider: str | None) -> str:
        provider = provider or registry.template(version).run.provider or self.pipeline.settings.default_provider
        self.pipeline.provider(provider)  # an unknown provider or a missing key fails now
        return provider

    def _reusable(self, side: Side, dataset_id: str, metric_set: MetricSet, repeats: int) -> list[str]:
        """Done evaluation runs of this side over these rows with this metric set, newest first."""
        wanted = _metric_identity(metric_set.to_list())
        runs = self.evaluator.table.done_runs(side.slug, f"v{side.version}", dataset_id, side.provider)
        return [r.id for r in runs if _metric_identity(r.metrics) == wanted and not r.judge][:repeats]

    def _paired(self, row: ComparisonRow) -> PairedData:
        names = [s.result_name for s in MetricSet.from_list(row.metrics).specs]
        repeats = max(len(row.run_ids["a"]), len(row.run_ids["b"]), 1)
        facts = self.table.row_facts(row.all_runs)
        rows = sorted({f.dataset_row for f in facts if f.dataset_row is not None})
        where = {r: i for i, r in enumerate(rows)}
        slot = {run_id: (side, k) for side in (0, 1) for k, run_id in enumerate(row.run_ids["ab"[side]])}
        shape = (len(rows), repeats)
        scores = {n: (np.full(shape, np.nan), np.full(shape, np.nan)) for n in names}
        latency = (np.full(shape, np.nan), np.full(shape, np.nan))
        cost = (np.full(shape, np.nan), np.full(shape, np.nan))
        records: tuple[dict[int, str], dict[int, str]] = ({}, {})
        status: tuple[dict[int, str], dict[int, str]] = ({}, {})
        for f in facts:
            side, k = slot[f.run_id]
            i = where[f.dataset_row]
            if f.status == "ok":
                latency[side][i, k] = f.latency_s
                if f.cost_usd is not None:
                    cost[side][i, k] = f.cost_usd
            if k == 0:
                records[side][f.dataset_row] = f.record_id
                status[side][f.dataset_row] = f.status
        for run_id, dataset_row, name, value in self.table.metric_values(row.all_runs, names):
            side, k = slot[run_id]
            if value is not None:
                scores[name][side][where[dataset_row], k] = value
        return PairedData(rows, scores, latency, cost, records, status)

    def _audit(self, action: str, row: ComparisonRow, details: dict[str, Any]) -> None:
        self.pipeline.audit.append(self.principal.actor, action, f"prompt:{row.slug}", {"comparison": row.id, **details})


def _label(ref: str) -> str | None:
    """The label a reference names (``slug@production``), None for ``slug@v3`` or ``slug``."""
    _, _, selector = ref.partition("@")
    return selector if selector and not (selector.startswith("v") and selector[1:].isdigit()) else None


def _metric_identity(metrics: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """What makes two runs' metric sets the same for pairing (thresholds aside)."""
    return sorted(
        (s.result_name, s.metric, json.dumps(s.options, sort_keys=True)) for s in MetricSet.from_list(metrics).specs
    )


def _higher_is_better(metric: str) -> bool:
    cls = metric_class(metric)
    return bool(cls.higher_is_better) if cls is not None else True


def _row_means(data: PairedData, name: str, i: int) -> tuple[float | None, float | None]:
    a, b = data.scores[name]
    return (
        float(np.nanmean(a[i])) if np.isfinite(a[i]).any() else None,
        float(np.nanmean(b[i])) if np.isfinite(b[i]).any() else None,
    )


def _regressed(data: PairedData, i: int, guards: list[str], higher: dict[str, bool]) -> bool:
    for name in guards:
        a, b = _row_means(data, name, i)
        if a is not None and b is not None and ((b < a) if higher.get(name, True) else (b > a)):
            return True
    return False


def _disagreement(data: PairedData) -> np.ndarray:
    """Per row, the largest |B − A| over the metrics, each scaled by its spread across rows."""
    gaps = []
    for a, b in data.scores.values():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows or metrics with no score at all
            diff = np.abs(np.nanmean(b, axis=1) - np.nanmean(a, axis=1))
            spread = np.nanstd(np.concatenate([a.ravel(), b.ravel()]))
        scale = spread if np.isfinite(spread) and spread > 0 else 1.0
        gaps.append(np.nan_to_num(diff / scale, nan=0.0))
    return np.max(np.vstack(gaps), axis=0) if gaps else np.zeros(len(data.rows))
