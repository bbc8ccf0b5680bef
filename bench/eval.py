"""``python launch.py bench eval``: evaluation throughput against TruLens's own feedback path.

Everything runs in one process on a fresh SQLite database in a temporary folder (never the
user's ``data/``), on ``n`` deterministic banking Q&A triples (question, answer, expected
answer) generated here. Three sections, then a ``figures`` block:

1. Metric results recorded per second, PromptForge against TruLens ``compute_feedbacks``,
   for the SAME five built-in metrics (``METRIC_SET``: answer_relevance and
   semantic_similarity on the bundled all-MiniLM-L6-v2, and three assertions), i.e.
   5 results per row. Why the comparison is fair:

   - same data: both paths first record the same ``n`` triples (untimed): ours as
     ``RunRecord``s through ``store.record_runs`` (the expected answer as a call argument
     of the record root), TruLens's through its own instrumentation (``TruApp`` around
     ``bench.trulens_feedbacks.BankingAssistant``, whose main method takes the expected
     answer as an argument);
   - same metric code and options: both paths build the metrics from ``METRIC_SET``;
     TruLens's feedback functions call each metric's ``score`` for one record, ours call
     ``score_many`` on batches of ``BATCH_ROWS`` rows. Our metrics share one context, as
     an evaluation run's do (an answer read by both embedding metrics is embedded once);
     TruLens's feedback functions are independent, so each has its own;
   - same model: both use the one process-wide embedder (``config.models``), loaded and
     warmed up before either clock starts; TruLens's feedback module is imported first too;
   - same work inside the clock: each path reads the recorded rows back from the
     database, computes every result and records it (score and explanation, as EVAL_ROOT
     and EVAL events in ``trulens_events``; ours also writes its ``pf_run_metrics`` index
     rows) and flushes, so the results are in the database when the clock stops:
       ours:    read back (pf_runs + root events) -> build metrics -> score_many per batch
                -> ``store.add_metric_results`` per batch -> ``store.flush()``
       TruLens: ``TruApp.compute_feedbacks()`` (reads the app's events, one feedback call
                per record and metric on its thread pool, spans exported by its span
                processor) -> ``TruSession.force_flush()``;
   - same conditions: the rows are split into ``ROUNDS`` parts; per part one path runs
     right after the other, the order flipping each part, so load drift on this shared
     2-core machine hits both; each path's rate is its total results over its total time;
   - checked afterwards (untimed): the stored results are read back for both paths through
     TruLens's own ``get_records_and_feedback`` and counted (``n`` x 5 expected), the raw
     EVAL_ROOT events are counted too, and the per-row values of the two paths are compared
     (same code, so they must agree; the embeddings differ only by batching round-off).

   A breakdown shows where the time goes per metric (ours: inside ``score_many``; TruLens:
   the extent of each metric's EVAL_ROOT spans, which compute_feedbacks computes one metric
   after the other), so the ratio can be read apart for the model-backed metrics (the
   MiniLM forward pass, the same arithmetic on both paths) and for the assertions (where
   TruLens's per-call machinery is all there is).

   TruLens's ``compute_feedbacks`` imports ``trulens.feedback.computer`` from the
   ``trulens-feedback`` package (2.16.0, not a dependency of the app); without it the
   TruLens side is reported as not run, with that reason.

2. Detoxify texts per second, batched against one text per call (``bench.toxicity``), on
   ``DETOX_TEXTS`` of the generated answers.

3. Wall time of an ``n``-row evaluation run with the offline model: a registered prompt,
   an ``n``-row dataset, ``Evaluator.create`` + ``execute`` with ``METRIC_SET`` plus the
   pipeline signals, through ``Pipeline`` with the real Presidio scrubber and injection
   screener (both loaded and warmed up first, untimed: once-per-process costs).

Floors (printed, not asserted): ours >= 3x TruLens results/s; Detoxify batched >= 5x.
Progress goes to stderr; figures to stdout.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from config.settings import Settings

EVAL_FLOOR = 3.0  # ours / TruLens, metric results recorded per second
DETOX_FLOOR = 5.0  # batched / one at a time, texts per second
BATCH_ROWS = 256  # rows per score_many call (and per add_metric_results transaction)
ROUNDS = 4  # section 1 alternates the two paths over this many parts of the rows
DETOX_TEXTS = 256
OURS_APP = ("bench-eval-promptforge", "v1")
TRULENS_APP = ("bench-eval-trulens", "v1")
PROMPT_SLUG = "bench-banking-faq"
DATASET_NAME = "bench-banking-qa"

# An answer in JSON must carry these fields (the rows that ask for JSON get such answers;
# for the prose answers the assertion fails, as it would on a real prompt's metric set).
ANSWER_SCHEMA = {
    "type": "object",
    "required": ["answer", "topic", "escalate"],
    "properties": {
        "answer": {"type": "string", "minLength": 1},
        "topic": {"type": "string"},
        "escalate": {"type": "boolean"},
    },
}
# The five metrics both paths compute: two model-backed, three assertions.
METRIC_SET = [
    {"metric": "answer_relevance"},
    {"metric": "semantic_similarity"},
    {"metric": "assert_contains", "options": {"text": ["terms and conditions"]}},
    {"metric": "assert_length", "options": {"min": 40, "max": 500, "unit": "chars"}},
    {"metric": "assert_json_schema", "options": {"schema": ANSWER_SCHEMA}},
]
_MODEL_METRICS = ("answer_relevance", "semantic_similarity")
_ASSERTIONS = ("assert_contains", "assert_length", "assert_json_schema")
# what section 3's evaluation run adds: numbers the pipeline measured
PIPELINE_SIGNALS = [{"metric": "latency_s"}, {"metric": "pii_leaked_output"}]
EVAL_TEMPLATE = (
    "You are the customer assistant of a retail bank. Answer the customer's question accurately "
    "in two or three sentences and mention when terms and conditions apply.\n"
    "Question: {{ question }}"
)

Triple = tuple[str, str, str]  # (question, answer, expected answer)
_T0 = time.perf_counter()


def log(message: str) -> None:
    """A progress line on stderr (figures go to stdout)."""
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# -- entry point ------------------------------------------------------------------------------


def main(settings: Settings, n: int = 1000) -> int:
    from config.offline import apply_offline_env

    apply_offline_env()
    triples = banking_triples(n)
    log(f"generated {len(triples)} banking Q&A triples")
    figures: dict[str, Any] = {"rows": len(triples)}
    with tempfile.TemporaryDirectory(prefix="pf-bench-eval-") as tmp:
        local = settings.model_copy(
            update={"data_dir": Path(tmp), "database_url": f"sqlite:///{tmp}/bench.db"}
        )
        from storage.trulens_store import open_store

        store = open_store(local)
        try:
            log(f"database: {store}")
            trulens_missing = _warm_up(local)
            print(
                f"evaluation benchmark: {len(triples)} rows x {len(METRIC_SET)} metrics, fresh SQLite database"
            )
            ours, theirs = metric_throughput(local, store, triples, trulens_missing)
            figures["ours"], figures["trulens"] = ours, theirs
            figures["agreement"] = compare_paths(triples, ours, theirs) if "unavailable" not in theirs else {}
            texts = [a for _, a, _ in triples[:DETOX_TEXTS]]
            figures["detoxify"] = _guarded("detoxify", detoxify, local, texts, Path(tmp))
            figures["eval_run"] = _guarded("eval run", evaluation_run, local, store, triples)
        finally:
            store.close()
    print_figures(figures)
    return 0


def _guarded(name: str, section, *args) -> dict[str, Any]:
    """Run a section; a failure is reported in the figures (with its error), not hidden."""
    try:
        return section(*args)
    except Exception as exc:  # noqa: BLE001 - the other sections' figures still print
        log(f"{name}: FAILED: {type(exc).__name__}: {exc}")
        return {"failed": f"{type(exc).__name__}: {exc}"}


def _warm_up(settings: Settings) -> str:
    """Load and warm what both paths share, so no clock pays for loading it. Returns why
    TruLens cannot compute feedbacks here ("" when it can)."""
    from config.models import sentence_embedder

    start = time.perf_counter()
    embedder = sentence_embedder(settings)
    embedder.encode(["How do I freeze my card?", "Open the app and choose Cards, then Freeze."] * 16)
    _build_metrics(settings)  # imports the metric plugins and jsonschema once, for both paths
    log(f"embedder loaded and warmed up, metric modules imported in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    try:
        import trulens.feedback.computer  # noqa: F401  (compute_feedbacks imports it on first use)
    except ImportError as exc:
        why = (
            f"TruApp.compute_feedbacks needs trulens.feedback.computer, which is not importable ({exc}); "
            "it ships in the trulens-feedback package: pip install trulens-feedback==2.16.0"
        )
        log(why)
        return why
    log(f"trulens.feedback imported in {time.perf_counter() - start:.1f} s")
    return ""


def _build_metrics(settings: Settings, *, shared_context: bool = True):
    """The metrics of ``METRIC_SET``. Ours share one ``MetricContext`` (as the metrics of an
    evaluation run do, so an output read by two metrics is embedded once); a TruLens
    feedback function is independent of the others, so on that path each metric gets its
    own context (the embedding model itself is the one process-wide instance either way)."""
    from evaluation import MetricContext, MetricSet

    metric_set = MetricSet.from_list(METRIC_SET)
    if shared_context:
        return metric_set.build(MetricContext(settings))
    return [MetricSet([spec]).build(MetricContext(settings))[0] for spec in metric_set.specs]


# -- 1. our path against TruLens's, in alternating rounds ------------------------------------


def metric_throughput(
    settings: Settings, store, triples: list[Triple], trulens_missing: str = ""
) -> tuple[dict, dict]:
    """Both paths on the same rows, in ``ROUNDS`` rounds of rows; within a round one path
    runs after the other, and the order flips each round, so load drift on this shared
    machine hits both alike. Each path's figure is its total results over its total time.
    When TruLens cannot compute feedbacks here (``trulens_missing`` says why), only ours runs."""
    size = -(-len(triples) // ROUNDS)
    parts = [triples[i : i + size] for i in range(0, len(triples), size)]
    paths: list[OurPath | TruLensPath] = [OurPath(settings, store)]
    if not trulens_missing:
        paths.append(TruLensPath(settings, store))
    for k, part in enumerate(parts):  # untimed: both paths record every row first
        for path in paths:
            path.record(k, part)
    log(f"recorded {len(triples)} rows for each path (untimed); {len(parts)} rounds of up to {size} rows")
    for k in range(len(parts)):
        for path in paths if k % 2 == 0 else paths[::-1]:
            path.compute(k)
    ours = paths[0].summary()
    theirs = paths[1].summary() if len(paths) > 1 else {"unavailable": trulens_missing}
    return ours, theirs


class OurPath:
    """PromptForge: ``score_many`` on batches of rows, results stored with ``add_metric_results``."""

    def __init__(self, settings: Settings, store) -> None:
        self.settings, self.store = settings, store
        self.batches: list[str] = []  # one batch id per round
        self.seconds = self.read_s = 0.0
        self.stored = 0
        self.metric_s: dict[str, float] = defaultdict(float)  # seconds inside score_many, per metric

    def record(self, k: int, triples: list[Triple]) -> None:
        """The round's triples as finished runs: question in, answer out, expected as a
        variable (on the record root as a call argument, like the TruLens app's)."""
        from storage.records import RunRecord

        batch_id = uuid.uuid4().hex
        now = time.time_ns()
        self.store.record_runs(
            RunRecord(
                run_id=uuid.uuid5(uuid.NAMESPACE_URL, f"pf-bench-eval:{batch_id}:{i}").hex,
                app_name=OURS_APP[0],
                app_version=OURS_APP[1],
                input_text=question,
                output_text=answer,
                status="ok",
                error=None,
                provider="bench",
                model="canned-answers",
                simulated=True,
                latency_s=0.0,
                input_tokens=0,
                output_tokens=0,
                cost_usd=None,
                started_at_ns=now,
                ended_at_ns=now,
                stages=[],
                metrics=[],
                decisions={},
                variables={"expected": expected},
                actor="bench",
                batch_id=batch_id,
                dataset_row=i,
            )
            for i, (question, answer, expected) in enumerate(triples)
        )
        self.store.flush()
        self.batches.append(batch_id)

    def compute(self, k: int) -> None:
        """Timed: read the round's rows back, build the metrics, score them in batches of
        ``BATCH_ROWS`` rows and store every result (one transaction per batch), flush."""
        import sqlalchemy as sa

        from evaluation.registry import MetricInput
        from storage import schema
        from storage.records import MetricValue
        from storage.run_index import root_texts

        start = time.perf_counter()
        r = schema.runs.c
        query = (
            sa.select(r.record_id, r.variables, r.event_ids)
            .where(r.batch_id == self.batches[k])
            .order_by(r.dataset_row)
        )
        with self.store.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
            texts = root_texts(conn, self.store.events_table, rows)  # record_id -> (input, output)
        items = [
            MetricInput(
                input=texts[row["record_id"]][0],
                output=texts[row["record_id"]][1],
                expected=row["variables"]["expected"],
            )
            for row in rows
        ]
        read_s = time.perf_counter() - start
        metrics = _build_metrics(self.settings)
        stored = 0
        for offset in range(0, len(rows), BATCH_ROWS):
            chunk_rows, chunk = rows[offset : offset + BATCH_ROWS], items[offset : offset + BATCH_ROWS]
            results = []
            for metric in metrics:
                scored_at = time.perf_counter()
                scored = metric.score_many(chunk)
                self.metric_s[metric.result_name] += time.perf_counter() - scored_at
                for row, m in zip(chunk_rows, scored):
                    results.append(
                        (
                            row["record_id"],
                            MetricValue(m.name, m.value, m.higher_is_better, m.status, m.explanation),
                        )
                    )
            stored += self.store.add_metric_results(results)
        self.store.flush()
        seconds = time.perf_counter() - start
        self.seconds += seconds
        self.read_s += read_s
        self.stored += stored
        log(f"ours, round {k + 1}: {stored} results computed and stored in {seconds:.2f} s")

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "read_back_s": self.read_s,
            "results": self.stored,
            "results_per_s": self.stored / self.seconds,
            "metric_s": dict(self.metric_s),
            "index_rows": self._index_rows(),
            **_read_back_through_trulens(self.store, OURS_APP[0]),
        }

    def _index_rows(self) -> int:
        """Our own index rows (pf_run_metrics) of the benchmark's runs."""
        import sqlalchemy as sa

        from storage import schema

        query = (
            sa.select(sa.func.count())
            .select_from(schema.run_metrics.join(schema.runs))
            .where(schema.runs.c.batch_id.in_(self.batches))
        )
        with self.store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


class TruLensPath:
    """TruLens: an instrumented app recorded through ``TruApp``, feedbacks computed by
    ``TruApp.compute_feedbacks()`` (one app version per round, so each round's call reads
    and computes only that round's records)."""

    def __init__(self, settings: Settings, store) -> None:
        from bench import trulens_feedbacks

        self.store = store
        metrics = _build_metrics(settings, shared_context=False)  # the same metric set, one context each
        trulens_feedbacks.use_metrics(metrics)  # the instances the feedback functions call
        self.feedbacks = trulens_feedbacks.trulens_metrics(metrics)
        self.recorders: list[Any] = []
        self.seconds = self.record_s = 0.0
        self.records = 0
        self.errors: list[str] = []

    def record(self, k: int, triples: list[Triple]) -> None:
        """Untimed: one call of the app's main method per row, inside TruApp's recording."""
        from trulens.apps.app import TruApp

        from bench.trulens_feedbacks import BankingAssistant

        app = BankingAssistant({q: a for q, a, _ in triples})
        recorder = TruApp(
            app,
            app_name=TRULENS_APP[0],
            app_version=f"{TRULENS_APP[1]}-round{k + 1}",
            main_method=app.answer,
            feedbacks=self.feedbacks,
            start_evaluator=False,  # no background evaluation: feedbacks run only inside the clock
        )
        start = time.perf_counter()
        with recorder as recording:
            for question, _, expected in triples:
                app.answer(question, expected)
        self.store.session.force_flush()
        self.record_s += time.perf_counter() - start
        self.records += len(recording.records)
        self.recorders.append(recorder)

    def compute(self, k: int) -> None:
        """Timed: ``compute_feedbacks()`` (reads the round's events, one feedback call per
        record and metric, spans to the database through TruLens's span processor), then
        ``force_flush()`` so every result is written when the clock stops."""
        start = time.perf_counter()
        try:
            self.recorders[k].compute_feedbacks()
        except Exception as exc:  # noqa: BLE001 - reported in the figures, never hidden
            self.errors.append(f"round {k + 1}: {type(exc).__name__}: {exc}")
            log(f"trulens, round {k + 1}: compute_feedbacks raised {type(exc).__name__}: {exc}")
        self.store.session.force_flush()
        seconds = time.perf_counter() - start
        self.seconds += seconds
        log(f"trulens, round {k + 1}: compute_feedbacks + flush took {seconds:.2f} s")

    def summary(self) -> dict[str, Any]:
        readback = _read_back_through_trulens(self.store, TRULENS_APP[0])
        return {
            "metric_s": self._metric_seconds(),
            "seconds": self.seconds,
            "record_s": self.record_s,
            "records": self.records,
            "results": readback["stored"],
            "results_per_s": readback["stored"] / self.seconds,
            "error": "; ".join(self.errors) or None,
            **readback,
        }

    def _metric_seconds(self) -> dict[str, float]:
        """Per metric, the time TruLens spent computing it: compute_feedbacks runs one
        metric after the other, so per round it is the extent of that metric's EVAL_ROOT
        spans (first start to last end), summed over the rounds."""
        from trulens.otel.semconv.trace import ResourceAttributes, SpanAttributes

        events = self.store.session.connector.get_events(app_name=TRULENS_APP[0], app_version=None)
        extents: dict[tuple[str, str], list] = {}
        for attrs, resource, began, ended in zip(
            events["record_attributes"],
            events["resource_attributes"],
            events["start_timestamp"],
            events["timestamp"],
        ):
            if attrs.get(SpanAttributes.SPAN_TYPE) != SpanAttributes.SpanType.EVAL_ROOT.value:
                continue
            key = (
                attrs.get(SpanAttributes.EVAL_ROOT.METRIC_NAME),
                resource.get(ResourceAttributes.APP_VERSION),
            )
            low, high = extents.setdefault(key, [began, ended])
            extents[key] = [min(low, began), max(high, ended)]
        seconds: dict[str, float] = defaultdict(float)
        for (name, _), (began, ended) in extents.items():
            seconds[name] += (ended - began).total_seconds()
        return dict(seconds)


def _read_back_through_trulens(store, app_name: str) -> dict[str, Any]:
    """Per metric, the stored values by question, read with TruLens's own query (what its
    dashboard shows); ``stored`` counts the non-empty results."""
    from trulens.otel.semconv.trace import SpanAttributes

    frame, names = store.session.get_records_and_feedback(app_name=app_name)
    values = {
        name: {
            q: float(v) for q, v in zip(frame["input"], frame[name]) if v is not None and not math.isnan(v)
        }
        for name in names
    }
    # and the raw rows: EVAL_ROOT events of the app that carry a score
    events = store.session.connector.get_events(app_name=app_name, app_version=None)
    roots = [
        a
        for a in events["record_attributes"]
        if a.get(SpanAttributes.SPAN_TYPE) == SpanAttributes.SpanType.EVAL_ROOT.value
    ]
    return {
        "stored": sum(len(v) for v in values.values()),
        "eval_roots": len(roots),
        "eval_roots_scored": sum(a.get(SpanAttributes.EVAL_ROOT.SCORE) is not None for a in roots),
        "records_read": len(frame),
        "values": values,
    }


def compare_paths(triples, ours: dict, theirs: dict) -> dict[str, Any]:
    """Means per metric for both paths and the largest per-row difference."""
    questions = [q for q, _, _ in triples]
    rows = {}
    for spec in METRIC_SET:
        name = spec["metric"]
        a, b = ours["values"].get(name, {}), theirs["values"].get(name, {})
        both = [q for q in questions if q in a and q in b]
        rows[name] = {
            "ours_n": len(a),
            "trulens_n": len(b),
            "ours_mean": statistics.fmean(a.values()) if a else None,
            "trulens_mean": statistics.fmean(b.values()) if b else None,
            "max_abs_diff": max((abs(a[q] - b[q]) for q in both), default=None),
            "compared": len(both),
        }
    return rows


# -- 2. Detoxify --------------------------------------------------------------------------------


def detoxify(settings: Settings, texts: list[str], tmp: Path) -> dict[str, Any]:
    """Batched against one-at-a-time Detoxify throughput, measured by ``bench.toxicity``."""
    from bench import toxicity
    from config.errors import ConfigError

    settings, model_note = toxicity.detoxify_settings(settings, tmp)
    log(f"detoxify: {model_note}; {len(texts)} texts")
    try:
        figures = toxicity.measure(settings, texts, batch_size=32)
    except ConfigError as exc:
        log(f"detoxify: model unavailable: {exc}")
        return {"skipped": str(exc), "model": model_note}
    log(
        f"detoxify: batched {figures.get('batched_texts_per_s')} texts/s, "
        f"one at a time {figures.get('one_at_a_time_texts_per_s')} texts/s"
    )
    return {**figures, "model": model_note}


# -- 3. an evaluation run -----------------------------------------------------------------------


def evaluation_run(settings: Settings, store, triples: list[Triple]) -> dict[str, Any]:
    """Register a prompt, store the dataset, then time ``Evaluator.create`` + ``execute``."""
    from evaluation import MetricSet
    from execution.evaluate import Evaluator
    from execution.pipeline import Pipeline
    from security.identity import Principal
    from security.injection import get_screener
    from security.pii import get_scrubber
    from prompts.registry import PromptRegistry
    from storage.datasets import DatasetStore

    principal = Principal.local("os")
    start = time.perf_counter()
    scrubber = get_scrubber(settings)
    scrubber.warm_up()
    screener = get_screener(settings)
    for rule in screener.rules:  # the semantic injection rules embed their example bank once per process
        if getattr(rule, "uses_model", False):
            rule.embedder  # noqa: B018
    warm_s = time.perf_counter() - start
    log(
        f"eval run: Presidio scrubber and injection screener loaded and warmed up in {warm_s:.1f} s (untimed)"
    )
    pipeline = Pipeline(settings, scrubber=scrubber, screener=screener, store=store, principal=principal)
    PromptRegistry(store, principal).create(PROMPT_SLUG, EVAL_TEMPLATE, description="benchmark prompt")
    start = time.perf_counter()
    DatasetStore(store).save_dataset(DATASET_NAME, [{"question": q, "_expected": e} for q, _, e in triples])
    dataset_s = time.perf_counter() - start
    log(f"eval run: {len(triples)}-row dataset stored in {dataset_s:.2f} s")

    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 10 or done == total:
            last[0] = time.perf_counter()
            log(f"eval run: {done}/{total} rows")

    # ---- timed: create (checks, builds the metric set) + execute (every row, recorded) -----
    start = time.perf_counter()
    evaluator = Evaluator(pipeline)
    run = evaluator.create(
        PROMPT_SLUG,
        DATASET_NAME,
        provider="offline",
        metric_set=MetricSet.from_list(METRIC_SET + PIPELINE_SIGNALS),
    )
    report = evaluator.execute(run.id, progress=progress)
    seconds = time.perf_counter() - start
    # ---- end of timed section ----------------------------------------------------------------

    log(f"eval run: {report.recorded} rows in {seconds:.1f} s, status {report.run.status}")
    return {
        "seconds": seconds,
        "rows_per_s": report.recorded / seconds,
        "dataset_s": dataset_s,
        "warm_up_s": warm_s,
        "status": report.run.status,
        "counts": report.counts,
        "metrics": {m.name: {"n": m.n, "mean": m.mean} for m in report.metrics},
    }


# -- printing -----------------------------------------------------------------------------------


def print_figures(f: dict[str, Any]) -> None:
    """Each section's details, then the ``figures`` block with every number and verdict."""
    _print_metric_paths(f)
    _print_detoxify(f["detoxify"])
    _print_eval_run(f)
    ours, theirs, d, e = f["ours"], f["trulens"], f["detoxify"], f["eval_run"]
    expected = f["rows"] * len(METRIC_SET)
    print("\nfigures")
    print(f"  rows                                   {f['rows']}")
    print(
        f"  PromptForge results/s                  {ours['results_per_s']:.1f}  ({ours['stored']}/{expected} stored)"
    )
    if "unavailable" in theirs:
        print(f"  TruLens compute_feedbacks results/s    not measured: {theirs['unavailable']}")
    else:
        ratio = ours["results_per_s"] / theirs["results_per_s"] if theirs["results_per_s"] else float("inf")
        print(
            f"  TruLens compute_feedbacks results/s    {theirs['results_per_s']:.1f}  ({theirs['stored']}/{expected} stored)"
        )
        print(
            f"  ratio                                  {ratio:.2f}x  (floor >= {EVAL_FLOOR:g}x)  {_verdict(ratio >= EVAL_FLOOR)}"
        )
        for kind, names in (("embedding metrics", _MODEL_METRICS), ("assertions", _ASSERTIONS)):
            a = sum(ours["metric_s"].get(name, 0.0) for name in names)
            b = sum(theirs["metric_s"].get(name, 0.0) for name in names)
            print(f"    {kind + ' only':<36} {_num(b / a if a else None, '.2f')}x  (time inside the metrics)")
        stored = all(p["stored"] == p["eval_roots_scored"] == expected for p in (ours, theirs))
        print(f"  every result stored, both paths        {'yes' if stored else 'NO'}")
        agreement = f["agreement"].values()
        agree = all(
            a["max_abs_diff"] is not None and a["max_abs_diff"] < 1e-4 and a["compared"] == f["rows"]
            for a in agreement
        )
        worst = max((a["max_abs_diff"] or 0.0) for a in agreement)
        print(f"  per-row values agree (max |diff|)      {'yes' if agree else 'NO'} ({worst:.2e})")
    if "ratio" not in d:
        print(
            "  Detoxify batched / one at a time       not measured: "
            + (d.get("skipped") or d.get("failed") or "bench.toxicity returned no ratio")
        )
    else:
        small = " (small local checkpoint)" if d["model"].startswith("no real") else ""
        print(f"  Detoxify batched texts/s               {d['batched_texts_per_s']:.1f}{small}")
        print(f"  Detoxify one-at-a-time texts/s         {d['one_at_a_time_texts_per_s']:.1f}")
        print(
            f"  Detoxify ratio                         {d['ratio']:.2f}x  (floor >= {DETOX_FLOOR:g}x)  "
            f"{_verdict(d['ratio'] >= DETOX_FLOOR)}"
        )
        print(f"  Detoxify ceiling on this CPU           {d['ceiling']:.2f}x  (matmul peak / one-at-a-time GFLOP/s)")
    if "failed" in e:
        print(f"  evaluation run wall time               not measured: FAILED: {e['failed']}")
    else:
        print(
            f"  evaluation run wall time               {e['seconds']:.1f} s  ({e['rows_per_s']:.1f} rows/s, "
            f"{f['rows']} rows, status {e['status']})"
        )


def _print_metric_paths(f: dict[str, Any]) -> None:
    ours, theirs = f["ours"], f["trulens"]
    expected = f["rows"] * len(METRIC_SET)
    print(
        f"\n1. metric results computed and recorded ({f['rows']} rows x {len(METRIC_SET)} metrics = {expected})"
    )
    print(f"  {'path':<44} {'seconds':>8} {'results/s':>10} {'stored':>7}")
    print(
        f"  {'PromptForge score_many + add_metric_results':<44} {ours['seconds']:8.2f} "
        f"{ours['results_per_s']:10.1f} {ours['stored']:7d}"
    )
    if "unavailable" in theirs:
        print(f"  TruLens compute_feedbacks: NOT RUN: {theirs['unavailable']}")
        return
    print(
        f"  {'TruLens compute_feedbacks':<44} {theirs['seconds']:8.2f} {theirs['results_per_s']:10.1f} {theirs['stored']:7d}"
    )
    print("  stored: non-empty values read back with TruLens's get_records_and_feedback")
    for label, p in (("PromptForge", ours), ("TruLens", theirs)):
        index = f"; {p['index_rows']} pf_run_metrics rows" if "index_rows" in p else ""
        print(
            f"  {label}: {p['eval_roots']} EVAL_ROOT events in trulens_events, {p['eval_roots_scored']} with a score{index}"
        )
    print(
        f"  (inside PromptForge's clock, reading the rows back took {ours['read_back_s']:.2f} s; "
        f"untimed, TruLens recorded {theirs['records']} records through TruApp in {theirs['record_s']:.1f} s)"
    )
    if theirs["error"]:
        print(f"  TruLens compute_feedbacks raised: {theirs['error']}")

    print("\n  where the time goes, seconds (PromptForge: inside score_many; TruLens: first start to last")
    print("  end of the metric's EVAL_ROOT spans, per round: its threads and span overhead included)")
    print(f"  {'metric':<26} {'PromptForge':>11} {'TruLens':>9} {'TL/PF':>7}")
    for spec in METRIC_SET:
        name = spec["metric"]
        a, b = ours["metric_s"].get(name), theirs["metric_s"].get(name)
        print(
            f"  {name:<26} {_num(a, '.2f'):>11} {_num(b, '.2f'):>9} {_num(b / a if a and b else None, '.1f'):>7}"
        )
    rest_ours = ours["seconds"] - sum(ours["metric_s"].values())
    rest_theirs = theirs["seconds"] - sum(theirs["metric_s"].values())
    print(f"  {'rest (read, store, flush)':<26} {rest_ours:11.2f} {rest_theirs:9.2f}")

    print("\n  agreement (the same metric code on the same rows)")
    print(f"  {'metric':<26} {'PF n':>5} {'PF mean':>8} {'TL n':>5} {'TL mean':>8} {'max |diff|':>11}")
    for name, a in f["agreement"].items():
        print(
            f"  {name:<26} {a['ours_n']:5d} {_num(a['ours_mean']):>8} {a['trulens_n']:5d} "
            f"{_num(a['trulens_mean']):>8} {_num(a['max_abs_diff'], '.2e'):>11}"
        )


def _print_detoxify(d: dict[str, Any]) -> None:
    print("\n2. Detoxify, batched against one text per call (bench.toxicity.measure)")
    if "ratio" not in d:
        why = d.get("skipped") or d.get("failed") or f"bench.toxicity.measure returned no ratio: {d}"
        print(f"  not measured: {why}")
        return
    print(f"  model: {d['model']}")
    print(
        f"  {d.get('texts')} texts ({d.get('chars_min')}-{d.get('chars_max')} chars), batch size "
        f"{d.get('batch_size')}, median of {d.get('rounds')} rounds, torch threads {d.get('torch_threads')}"
    )
    print(
        f"  batched {d['batched_texts_per_s']:.1f} texts/s, one at a time {d['one_at_a_time_texts_per_s']:.1f} texts/s"
    )
    from bench.toxicity import ceiling_line

    print(f"  {ceiling_line(d)}")


def _print_eval_run(f: dict[str, Any]) -> None:
    e = f["eval_run"]
    print(
        f"\n3. evaluation run: offline model, {f['rows']} rows, the metric set + latency_s + pii_leaked_output"
    )
    if "failed" in e:
        print(f"  FAILED: {e['failed']}")
        return
    print(
        f"  create + execute: {e['seconds']:.1f} s = {e['rows_per_s']:.1f} rows/s; status {e['status']}, rows {e['counts']}"
    )
    print(
        f"  (untimed: dataset stored in {e['dataset_s']:.2f} s; scrubber + screener warm-up {e['warm_up_s']:.1f} s)"
    )
    print("  " + ", ".join(f"{k} n={v['n']} mean={_num(v['mean'])}" for k, v in e["metrics"].items()))


def _num(value: float | None, fmt: str = ".4f") -> str:
    return "-" if value is None else format(value, fmt)


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


# -- data -----------------------------------------------------------------------------------------

# Banking Q&A topics. Each has slot values, question phrasings, the reference ("expected")
# answer, and the assistant's answer in other words (plus a partial answer). Products and
# numbers are made up; there is no personal data.
_SLOTS = {
    "amount": ["£50", "£120", "£250", "£480", "£1,200", "£3,500", "€900", "$2,000", "£75", "£640"],
    "country": [
        "Spain",
        "France",
        "Poland",
        "India",
        "the United States",
        "Portugal",
        "Germany",
        "Nigeria",
        "Italy",
    ],
    "product": [
        "Everyday Current Account",
        "Premier Current Account",
        "Student Account",
        "Joint Current Account",
    ],
    "card": ["debit card", "Premier Credit Card", "Rewards Credit Card", "Everyday Credit Card"],
    "saver": ["Flex Saver", "Easy Access Saver", "Fixed Rate Bond", "Regular Saver"],
    "merchant": [
        "my gym",
        "the energy supplier",
        "a mobile phone network",
        "a streaming service",
        "the council",
    ],
    "days": ["2", "3", "5", "7", "10"],
    "rate": ["3.10", "3.85", "4.25", "4.60", "5.10"],
    "fee": ["£2", "£5", "£9.50", "£15"],
    "pct": ["1.5", "2.75", "2.99"],
    "limit": ["£300", "£500", "£750", "£1,000", "£5,000", "£8,000"],
    "when": ["yesterday", "this morning", "on the train", "at a restaurant last night", "abroad"],
}
_TOPICS: list[dict[str, Any]] = [
    {
        "topic": "international_transfer",
        "q": [
            "How much does it cost to send {amount} to {country} from my {product}?",
            "What fees apply if I transfer {amount} to a bank in {country}?",
            "Is there a charge for an international payment of {amount} to {country}?",
        ],
        "expected": (
            "Sending money abroad from the {product} costs a flat {fee} per transfer, plus the exchange "
            "rate margin shown before you confirm. Payments to {country} usually arrive within {days} working days."
        ),
        "good": (
            "An international payment of {amount} to {country} has a fixed fee of {fee}; the exchange rate margin "
            "is shown on the confirmation screen. Most transfers there arrive in {days} working days."
        ),
        "partial": "International payments can take a few days. You can see the fee in the app.",
    },
    {
        "topic": "lost_card",
        "q": [
            "I lost my {card} {when}, what should I do?",
            "My {card} went missing {when}. How do I stop anyone using it?",
            "What do I do if my {card} was lost {when}?",
        ],
        "expected": (
            "Freeze the card straight away in the app under Cards > Freeze, then report it lost to order a "
            "replacement. The new card arrives within {days} working days and your PIN stays the same."
        ),
        "good": (
            "Please freeze your {card} now in the app (Cards, then Freeze) and report it as lost; a replacement "
            "is sent automatically and should reach you within {days} working days with the same PIN."
        ),
        "partial": "Sorry to hear that. Please call us.",
    },
    {
        "topic": "overdraft",
        "q": [
            "What's the interest rate on an arranged overdraft on the {product}?",
            "How much interest will I pay if I go {amount} into my arranged overdraft on the {product}?",
            "Does the {product} charge interest on overdrafts?",
        ],
        "expected": (
            "The arranged overdraft on the {product} has a representative rate of 39.9% EAR (variable). "
            "Interest is charged daily on the overdrawn balance and taken monthly."
        ),
        "good": (
            "Arranged overdrafts on the {product} cost 39.9% EAR variable, worked out daily on what you owe and "
            "charged once a month. On {amount} for a month that is roughly {fee} in interest."
        ),
        "partial": "Overdraft rates depend on your account.",
    },
    {
        "topic": "savings_rate",
        "q": [
            "What interest does the {saver} pay on {amount}?",
            "If I put {amount} in the {saver}, what rate do I get?",
            "Is the {saver} rate fixed or variable, and what is it?",
        ],
        "expected": (
            "The {saver} pays {rate}% AER on balances up to £250,000, calculated daily and paid monthly. "
            "The rate is variable unless the account is a fixed rate bond."
        ),
        "good": (
            "The {saver} currently pays {rate}% AER, worked out on your daily balance and paid into the account "
            "each month; on {amount} you would earn interest at that rate before tax."
        ),
        "partial": "Our savings accounts pay competitive interest.",
    },
    {
        "topic": "mortgage_overpayment",
        "q": [
            "Can I overpay my mortgage by {amount} this year without a fee?",
            "Is there a penalty if I pay an extra {amount} off my mortgage?",
            "How much can I overpay on my fixed rate mortgage each year?",
        ],
        "expected": (
            "You can overpay up to 10% of your outstanding balance each year without an early repayment "
            "charge. Above that, a charge applies to the excess during your fixed rate period."
        ),
        "good": (
            "Overpayments of up to 10% of the balance per year, such as {amount}, carry no early repayment "
            "charge; anything above 10% during the fixed period is charged on the excess only."
        ),
        "partial": "Please speak to a mortgage adviser about overpayments.",
    },
    {
        "topic": "direct_debit",
        "q": [
            "How do I cancel the direct debit to {merchant}?",
            "Can I stop a direct debit for {merchant} in the app?",
            "I want to cancel my direct debit with {merchant}, how?",
        ],
        "expected": (
            "Open Payments > Direct Debits in the app, choose the one for {merchant} and tap Cancel. Do it at "
            "least one working day before the next collection and let {merchant} know too."
        ),
        "good": (
            "In the app go to Payments, then Direct Debits, select {merchant} and cancel it. Cancel at least one "
            "working day before the next payment is due, and tell {merchant} so they stop collecting."
        ),
        "partial": "Direct debits can be managed online.",
    },
    {
        "topic": "atm_limit",
        "q": [
            "What is the daily cash withdrawal limit on my {card}?",
            "How much cash can I take out per day with my {card}?",
            "Can I withdraw {limit} in cash today with my {card}?",
        ],
        "expected": (
            "The daily cash machine limit on the {card} is {limit}. You can lower it in the app; to raise it, "
            "call us and we will check your account first."
        ),
        "good": (
            "You can withdraw up to {limit} a day with your {card}. The limit can be reduced in the app, and an "
            "increase needs a call to our team."
        ),
        "partial": "Cash limits vary by card.",
    },
    {
        "topic": "dispute",
        "q": [
            "{merchant} charged me {amount} twice. How do I get it back?",
            "I was charged {amount} by {merchant} for something I cancelled. Can you refund it?",
            "How do I dispute a {amount} payment to {merchant}?",
        ],
        "expected": (
            "First ask {merchant} for a refund. If they do not respond within 14 days, raise a dispute on the "
            "transaction in the app; we aim to resolve disputes within {days} working days."
        ),
        "good": (
            "Please contact {merchant} first to ask for the {amount} back. If that fails after 14 days, open the "
            "transaction in the app and choose Dispute; we usually resolve it within {days} working days."
        ),
        "partial": "We can't refund merchant payments.",
    },
    {
        "topic": "card_abroad",
        "q": [
            "Are there fees for using my {card} in {country}?",
            "Will I be charged for paying by card in {country} with my {card}?",
            "What does it cost to take cash out in {country} with my {card}?",
        ],
        "expected": (
            "Card payments in {country} have a non-sterling transaction fee of {pct}% and cash withdrawals a "
            "further {fee}. The Premier Credit Card has no foreign transaction fees."
        ),
        "good": (
            "Using the {card} in {country} adds a {pct}% non-sterling transaction fee to each payment, and "
            "{fee} for each cash withdrawal; only the Premier Credit Card is free of foreign fees."
        ),
        "partial": "Fees may apply abroad.",
    },
    {
        "topic": "account_opening",
        "q": [
            "What documents do I need to open a {product}?",
            "Can I open a {product} online and what ID do you need?",
            "How long does it take to open a {product}?",
        ],
        "expected": (
            "You need photo ID (a passport or driving licence) and proof of address dated within the last "
            "three months. You can open the {product} in the app in about ten minutes."
        ),
        "good": (
            "To open a {product} you need a passport or driving licence and a recent proof of address (less than "
            "three months old). Applying in the app takes around ten minutes."
        ),
        "partial": "Visit a branch to open an account.",
    },
    {
        "topic": "standing_order",
        "q": [
            "How do I set up a monthly standing order of {amount} to my landlord?",
            "Can I pay my rent of {amount} by standing order from the {product}?",
            "How do I change the amount of my standing order to {amount}?",
        ],
        "expected": (
            "In the app go to Payments > Standing orders > New, enter the payee's sort code and account "
            "number, {amount} and the first payment date. Changes must be made by 11:59pm the day before a payment."
        ),
        "good": (
            "Set it up in the app under Payments, Standing orders, New: add your landlord's sort code and account "
            "number, the amount of {amount} and the start date. Any change needs to be in by 11:59pm the day before."
        ),
        "partial": "Standing orders are available in online banking.",
    },
    {
        "topic": "credit_limit",
        "q": [
            "Can I increase the credit limit on my {card} to {limit}?",
            "How do I ask for a higher limit on my {card}?",
            "Will asking for a {limit} credit limit affect my credit score?",
        ],
        "expected": (
            "You can request a limit increase in the app after six months of account history. We run a soft "
            "check first, which does not affect your credit score; a decision usually takes {days} working days."
        ),
        "good": (
            "Once the {card} has six months of history you can ask for a new limit such as {limit} in the app. "
            "We start with a soft search that leaves your credit score untouched, and decide within {days} working days."
        ),
        "partial": "Credit limits are reviewed regularly.",
    },
]
_CONTEXT = [
    "",
    "I'm travelling next week. ",
    "Quick question. ",
    "Hi, ",
    "I'm a new customer. ",
    "Hello. ",
    "Sorry to bother you. ",
    "I'm on the app now. ",
]
_VERBOSE = (
    " To help you further, here is some more detail: our customer team is available every day from 8am "
    "to 8pm, the app shows every fee before you confirm a payment, and you can find our full tariff, "
    "including every charge and rate for your account, in the Help section. If anything is unclear, "
    "reply here and we will explain it step by step."
)
_TERMS = " Terms and conditions apply."
_JSON_ASK = " Please answer in JSON with the fields answer, topic and escalate."


def banking_triples(n: int, seed: int = 20240611) -> list[Triple]:
    """``n`` distinct (question, answer, expected answer) triples, the same for the same seed.

    Answers are a mix, as an assistant's would be: ~55% good (a paraphrase of the expected
    answer, most ending with the terms line), ~12% verbose (over the length limit), ~10%
    partial or unhelpful, ~23% for questions that ask for JSON (mostly valid JSON; some
    miss a field or wrap it in a ```json fence)."""
    rng = random.Random(seed)
    triples: list[Triple] = []
    seen: set[str] = set()
    while len(triples) < n:
        topic = rng.choice(_TOPICS)
        slots = {k: rng.choice(v) for k, v in _SLOTS.items()}
        question = rng.choice(_CONTEXT) + rng.choice(topic["q"]).format(**slots)
        wants_json = rng.random() < 0.23
        if wants_json:
            question += _JSON_ASK
        if question in seen:
            continue
        seen.add(question)
        expected = topic["expected"].format(**slots)
        good = topic["good"].format(**slots)
        kind = rng.random()
        if wants_json:
            body = {"answer": good, "topic": topic["topic"], "escalate": kind < 0.1}
            if kind > 0.85:
                del body["escalate"]  # fails the schema
            answer = json.dumps(body)
            if 0.7 < kind <= 0.85:
                answer = f"```json\n{json.dumps(body, indent=2)}\n```"
        elif kind < 0.70:
            answer = good + (_TERMS if kind < 0.55 else "")
        elif kind < 0.85:
            answer = good + _VERBOSE + _TERMS
        else:
            answer = topic["partial"].format(**slots)
        triples.append((question, answer, expected))
    return triples
