"""``python launch.py bench compare``: A/B comparison statistics against TruLens's ``compare_runs``.

Everything runs in one process; section 3 on a fresh SQLite database in a temporary folder
(never the user's ``data/``). Prints figures with floors beside them; asserts nothing.

The data: ``n`` paired rows (default 10,000) of the eight metrics of ``METRICS``, generated
here with a fixed seed: six continuous scores in [0, 1] (two embedding metrics, four judge
metrics rounded to 0.1 as judges answer), B shifted by a small true difference on three of
them (``shift``), and two assertions (pass/fail) whose pass rate moves on one. Each row has
a shared "how hard is this question" level, so the metrics of one row are correlated, and
both sides' scores of a row are that row's score plus each side's own noise (the pairing
matters; with no shift, A and B follow the same law). About 1% of the judge scores are
missing (NaN) on either side.

1. ``evaluation.paired_stats.compare`` on the ``n`` rows x 8 metrics with ``RESAMPLES``
   (2,000) bootstrap resamples, called as ``Comparisons.statistics`` calls it (with the
   rows' costs and latencies, and a few reviewers' preferences): median and min of
   ``STATS_REPEATS`` calls. Floor: ``FLOOR_STATS_S``.
2. TruLens's own ``trulens.core.run.compare_runs`` on the same rows and metrics, in the
   same process: two duck-typed runs (``run_name`` and ``get_records()`` returning a
   DataFrame with ``record_id``, ``input`` - unique per row, the same on both sides - and
   one column per metric), directions from our metric registry. ``compare_runs`` takes no
   resample counts: its helpers ``bootstrap_ci`` (``n_bootstrap``) and
   ``paired_permutation_pvalue`` (``permutations``) do, 10,000 each by default, and
   ``compare_runs`` calls them with the defaults. So the default call is timed as shipped,
   and a like-for-like line runs it with those two helpers' defaults set to ``RESAMPLES``
   for the duration of the call (the module attributes ``compare_runs`` looks up; restored
   afterwards). The time inside each helper is measured by wrapping it, so the rest
   (pandas merge, ``iterrows`` and one ``ItemDiff`` per row and metric) reads apart.
   The two sides compute different things; both lists are printed, and the shared figure
   (the mean difference B - A per metric) is checked to agree.
3. What the Compare page loads for a recorded comparison of ``PAGE_ROWS`` (1,000) rows x
   8 metrics: ``Comparisons.paired`` + ``statistics(data=...)`` + ``rows(order=
   "disagreement", limit=20, data=...)``, median of ``PAGE_REPEATS`` after one warm-up,
   and each part apart (plus the three calls without sharing the paired data, as a caller
   that does not pass ``data`` pays). The comparison is written directly, not run through
   the pipeline (2 x 1,000 governed runs would take minutes and measure the pipeline,
   not the page): a registered prompt with two versions, a 1,000-row dataset, the two
   sides' records as ``RunRecord``s (ids ``execution.evaluate.record_id(run, row)``,
   scrubbed-looking banking questions and answers from ``bench.eval.banking_triples``,
   the 8 metric values, latency and cost) through ``store.record_runs`` + ``flush``, two
   ``pf_eval_runs`` rows marked done and the ``pf_comparisons`` row, status done, with its
   statistics stored as ``Comparisons._finish`` stores them. Floor: ``FLOOR_PAGE_S``.

Where the time goes is printed for sections 1 and 3 (one cProfile'd call each, untimed).
Progress goes to stderr; figures to stdout.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import resource
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.figures import Row, load_average, ms, print_table
from config.settings import Settings

RESAMPLES = 2_000  # ours: paired_stats.compare's default
STATS_REPEATS = 5
TRULENS_DEFAULT_REPEATS = 1  # ~30 s a call on 10,000 rows x 8 metrics on this 2-core machine
TRULENS_LIKE_REPEATS = 3
TRULENS_DEFAULT_RESAMPLES = 10_000  # bootstrap_ci's n_bootstrap and paired_permutation_pvalue's permutations
PAGE_ROWS = 1_000
PAGE_REPEATS = 5
PAGE_LIMIT = 20
PREFERENCES = 25  # rows of the recorded comparison a reviewer judged
FLOOR_STATS_S = 2.0
FLOOR_PAGE_S = 1.0
SEED = 20240611
SLUG = "bench-card-faq"

# The comparison's metric set, and per metric: the true shift of B (continuous: added to the
# score; binary: added to the pass probability), and how it is generated.
METRICS: list[dict[str, Any]] = [
    {"spec": {"metric": "answer_relevance"}, "shift": 0.015, "gen": "embedding"},
    {"spec": {"metric": "semantic_similarity"}, "shift": 0.0, "gen": "embedding"},
    {"spec": {"metric": "faithfulness"}, "shift": 0.02, "gen": "judge"},
    {"spec": {"metric": "answer_relevancy"}, "shift": 0.0, "gen": "judge"},
    {"spec": {"metric": "non_advice"}, "shift": -0.01, "gen": "judge"},
    {"spec": {"metric": "bias"}, "shift": 0.0, "gen": "judge"},
    {
        "spec": {"metric": "assert_contains", "options": {"text": ["terms and conditions"]}},
        "shift": 0.03,
        "gen": "binary",
        "pass_rate": 0.70,
    },
    {
        "spec": {"metric": "assert_length", "options": {"min": 40, "max": 500, "unit": "chars"}},
        "shift": 0.0,
        "gen": "binary",
        "pass_rate": 0.88,
    },
]
NAMES = [m["spec"]["metric"] for m in METRICS]
_T0 = time.perf_counter()


def log(message: str) -> None:
    """A progress line on stderr (figures go to stdout)."""
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# -- the data -----------------------------------------------------------------------------------


@dataclass
class PairedScores:
    """``n`` paired rows: per metric (A, B) arrays of shape (n,), NaN = missing; latency and cost."""

    scores: dict[str, tuple[np.ndarray, np.ndarray]]
    latency: tuple[np.ndarray, np.ndarray]
    cost: tuple[np.ndarray, np.ndarray]
    preferences: list[str]


def paired_scores(n: int, seed: int = SEED, preferences: int = 200) -> PairedScores:
    """The same rows for the same ``n`` and seed (see the module docstring)."""
    rng = np.random.default_rng(seed)
    level = rng.beta(5, 2, n)  # how well the prompt can do on this row, shared by every metric
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for m in METRICS:
        name, shift = m["spec"]["metric"], m["shift"]
        if m["gen"] == "binary":
            p_a = np.clip(m["pass_rate"] + (level - level.mean()) * 0.8, 0.0, 1.0)
            a = (rng.random(n) < p_a).astype(np.float64)
            # B keeps A's outcome on most rows; a few flip, more towards pass when shift > 0
            flip = rng.random(n) < 0.12
            b = np.where(flip, (rng.random(n) < np.clip(p_a + shift / 0.12, 0, 1)).astype(np.float64), a)
        else:
            row = level + rng.normal(0.0, 0.10, n)  # this metric's score of the row, before each side's noise
            a = np.clip(row + rng.normal(0.0, 0.06, n), 0.0, 1.0)
            b = np.clip(row + shift + rng.normal(0.0, 0.06, n), 0.0, 1.0)  # same law as A when shift is 0
            if m["gen"] == "judge":
                a, b = np.round(a, 1), np.round(b, 1)
                a[rng.random(n) < 0.01] = np.nan  # the judge gave no parseable answer
                b[rng.random(n) < 0.01] = np.nan
        scores[name] = (a, b)
    latency_a = rng.lognormal(np.log(1.2), 0.35, n)
    latency = (latency_a, latency_a * rng.lognormal(np.log(0.9), 0.1, n))
    tokens = rng.integers(300, 900, n)
    cost = (tokens * 0.15e-6 + 600 * 0.6e-6, tokens * 0.15e-6 + 520 * 0.6e-6)
    prefs = list(rng.choice(["a", "b", "tie", "both_bad"], size=preferences, p=[0.3, 0.45, 0.2, 0.05]))
    return PairedScores(scores, latency, cost, prefs)


def _directions() -> dict[str, bool]:
    from evaluation.registry import metric_class

    return {name: bool(metric_class(name).higher_is_better) for name in NAMES}


def _kinds() -> dict[str, str]:
    from evaluation.registry import metric_class

    return {name: "binary" if metric_class(name).kind == "assertion" else "continuous" for name in NAMES}


# -- entry point --------------------------------------------------------------------------------


def main(settings: Settings, n: int = 10_000) -> int:
    from config.offline import apply_offline_env

    apply_offline_env()
    started = datetime.now().astimezone()
    data = paired_scores(n)
    log(f"generated {n:,} paired rows x {len(METRICS)} metrics")
    print(
        f"comparison benchmark: {n:,} paired rows x {len(METRICS)} metrics ({sum(k == 'continuous' for k in _kinds().values())} "
        f"continuous, {sum(k == 'binary' for k in _kinds().values())} binary); {os.cpu_count()} cores; "
        f"{started:%Y-%m-%d %H:%M %Z}; load average at start {load_average()}"
    )
    rows: list[Row] = []
    notes: list[str] = []
    ours, stats_rows = ours_statistics(data)
    rows += stats_rows
    rss_after_ours = _max_rss_mb()
    rows += trulens_compare(data, ours, stats_rows[0].seconds, notes)
    notes.append(
        f"process peak RSS: {rss_after_ours:,.0f} MB after section 1 (ours), "
        f"{_max_rss_mb():,.0f} MB after section 2 (TruLens)"
    )
    with tempfile.TemporaryDirectory(prefix="pf-bench-compare-") as tmp:
        local = settings.model_copy(
            update={"data_dir": Path(tmp), "database_url": f"sqlite:///{tmp}/bench.db"}
        )
        from storage.trulens_store import open_store

        store = open_store(local)
        try:
            log(f"database: {store}")
            rows += page_load(local, store, notes)
        finally:
            store.close()
    print_table(rows, started, notes, measured=30, floor=9)
    return 0


# -- 1. ours ------------------------------------------------------------------------------------


def _paired_metrics(data: PairedScores) -> list:
    from evaluation.paired_stats import PairedMetric

    directions, kinds = _directions(), _kinds()
    return [
        PairedMetric(name, a, b, kind=kinds[name], higher_is_better=directions[name])
        for name, (a, b) in data.scores.items()
    ]


def ours_statistics(data: PairedScores):
    """``paired_stats.compare`` as ``Comparisons.statistics`` calls it, ``STATS_REPEATS`` times."""
    from evaluation.paired_stats import CostSamples, compare

    metrics = _paired_metrics(data)
    costs = CostSamples(data.cost[0], data.cost[1], data.latency[0], data.latency[1])

    def call():
        return compare(metrics, preferences=data.preferences, costs=costs, resamples=RESAMPLES)

    n = len(data.latency[0])
    times = []
    result = None
    for k in range(STATS_REPEATS):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
        log(f"ours: paired_stats.compare call {k + 1}/{STATS_REPEATS}: {times[-1]:.2f} s")
    print(
        f"\n1. PromptForge paired_stats.compare: {n:,} paired rows x {len(metrics)} metrics, "
        f"{RESAMPLES:,} bootstrap resamples ({STATS_REPEATS} calls)"
    )
    print(f"  calls: {', '.join(f'{t:.2f} s' for t in times)}")
    print(textwrap.fill(f"verdict: {result.verdict()}", 100, initial_indent="  ", subsequent_indent="    "))
    _where_time_goes(call, "paired_stats.compare")
    table = [
        Row(
            f"ours: paired_stats.compare, {n:,} x {len(metrics)}, median of {STATS_REPEATS}",
            statistics.median(times),
            FLOOR_STATS_S,
        ),
        Row(
            f"ours: paired_stats.compare, {n:,} x {len(metrics)}, min of {STATS_REPEATS}",
            min(times),
            FLOOR_STATS_S,
        ),
    ]
    return result, table


# -- 2. TruLens ---------------------------------------------------------------------------------


@dataclass
class DuckRun:
    """What ``compare_runs`` reads of a TruLens ``Run``: its name and its records."""

    run_name: str
    records: Any  # pandas DataFrame

    def get_records(self):
        return self.records


def _duck_runs(data: PairedScores) -> tuple[DuckRun, DuckRun]:
    import pandas as pd

    n = len(data.latency[0])
    inputs = [f'{{"question": "banking question {i:05d}"}}' for i in range(n)]
    runs = []
    for side, name in ((0, "A"), (1, "B")):
        frame = pd.DataFrame(
            {
                "record_id": [
                    uuid.uuid5(uuid.NAMESPACE_URL, f"pf-bench-compare:{name}:{i}").hex for i in range(n)
                ],
                "input": inputs,
                **{metric: pair[side] for metric, pair in data.scores.items()},
            }
        )
        runs.append(DuckRun(f"{name}: bench", frame))
    return runs[0], runs[1]


class _TruLensHelpers:
    """For the duration of a ``with`` block: time spent inside TruLens's two resampling helpers,
    and (when ``resamples`` is given) their resample counts set to it. ``compare_runs`` looks
    the helpers up on the module at each call, so replacing the module attributes reaches it."""

    def __init__(self, resamples: int | None = None) -> None:
        self.resamples = resamples
        self.seconds: dict[str, float] = defaultdict(float)

    def __enter__(self):
        from trulens.core.utils import stats as tl_stats

        self._module = tl_stats
        self._boot, self._perm = tl_stats.bootstrap_ci, tl_stats.paired_permutation_pvalue

        def bootstrap_ci(diffs, *args, **kwargs):
            if self.resamples is not None:
                kwargs.setdefault("n_bootstrap", self.resamples)
            start = time.perf_counter()
            try:
                return self._boot(diffs, *args, **kwargs)
            finally:
                self.seconds["bootstrap"] += time.perf_counter() - start

        def paired_permutation_pvalue(diffs, *args, **kwargs):
            if self.resamples is not None:
                kwargs.setdefault("permutations", self.resamples)
            start = time.perf_counter()
            try:
                return self._perm(diffs, *args, **kwargs)
            finally:
                self.seconds["permutation"] += time.perf_counter() - start

        tl_stats.bootstrap_ci, tl_stats.paired_permutation_pvalue = bootstrap_ci, paired_permutation_pvalue
        return self

    def __exit__(self, *exc) -> None:
        self._module.bootstrap_ci, self._module.paired_permutation_pvalue = self._boot, self._perm


def trulens_compare(data: PairedScores, ours, ours_s: float, notes: list[str]) -> list[Row]:
    """TruLens's ``compare_runs`` on the same rows: as shipped, then with 2,000 resamples."""
    import inspect

    from trulens.core.run import compare_runs

    run_a, run_b = _duck_runs(data)
    directions = _directions()
    n = len(run_a.records)
    shipped = inspect.signature(compare_runs).parameters
    counts_are_arguments = any(
        p in shipped for p in ("n_bootstrap", "permutations", "resamples", "n_resamples")
    )

    def timed(resamples: int | None, repeats: int, label: str):
        times, inside, diff = [], defaultdict(float), None
        for k in range(repeats):
            with _TruLensHelpers(resamples) as helpers:
                start = time.perf_counter()
                diff = compare_runs(run_a, run_b, metric_directions=directions)
                times.append(time.perf_counter() - start)
            for part, s in helpers.seconds.items():
                inside[part] += s / repeats
            log(f"trulens: compare_runs ({label}) call {k + 1}/{repeats}: {times[-1]:.2f} s")
        return times, dict(inside), diff

    log(
        f"trulens: compare_runs on {n:,} rows x {len(NAMES)} metrics, as shipped ({TRULENS_DEFAULT_RESAMPLES:,} resamples)"
    )
    shipped_times, shipped_inside, diff = timed(None, TRULENS_DEFAULT_REPEATS, "as shipped")
    like_times, like_inside, like_diff = timed(RESAMPLES, TRULENS_LIKE_REPEATS, f"{RESAMPLES:,} resamples")

    print(f"\n2. TruLens compare_runs on the same {n:,} rows x {len(NAMES)} metrics, same process")
    print("  what each side computes, per metric:")
    print(
        f"    PromptForge  means of A and B and B - A, each with a percentile bootstrap interval\n"
        f"                 ({RESAMPLES:,} paired row resamples shared by every metric, one matrix product);\n"
        "                 paired test: Wilcoxon signed-rank (continuous) or McNemar (binary); Holm\n"
        "                 correction across the metrics; effect size (Cohen's d_z / pass-rate difference);\n"
        "                 win rate with a Wilson interval; repeat stability; smallest detectable\n"
        "                 difference at 80% power; a direction per metric and a verdict; plus cost and\n"
        "                 latency per side and a sign test of the reviewers' preferences"
    )
    print(
        "    TruLens      pairs the records by normalised input (pandas merge); per row and metric a\n"
        "                 delta and a regression flag (one ItemDiff object each, built in iterrows);\n"
        f"                 mean delta with a percentile bootstrap interval ({TRULENS_DEFAULT_RESAMPLES:,} resamples,\n"
        f"                 drawn per metric) and a sign-flip permutation p-value ({TRULENS_DEFAULT_RESAMPLES:,}\n"
        "                 permutations per metric); no intervals for the means of A and B, no paired\n"
        "                 rank or McNemar test, no multiple-comparison correction (binary metrics are\n"
        "                 treated as continuous deltas of -1/0/+1)"
    )
    if counts_are_arguments:
        print("  compare_runs takes the resample counts as arguments")
    else:
        print(
            f"  compare_runs takes no resample counts (its arguments: {', '.join(shipped)});\n"
            f"  the like-for-like line sets its helpers' defaults, bootstrap_ci(n_bootstrap) and\n"
            f"  paired_permutation_pvalue(permutations), to {RESAMPLES:,} for the call"
        )
    for label, times, inside in (
        (
            f"as shipped ({TRULENS_DEFAULT_RESAMPLES:,} + {TRULENS_DEFAULT_RESAMPLES:,})",
            shipped_times,
            shipped_inside,
        ),
        (f"at {RESAMPLES:,} + {RESAMPLES:,}", like_times, like_inside),
    ):
        median = statistics.median(times)
        rest = median - inside.get("bootstrap", 0.0) - inside.get("permutation", 0.0)
        print(
            f"  {label:<24} calls {', '.join(f'{t:.2f} s' for t in times)}\n"
            f"  {'':<24} per call: inside bootstrap_ci {inside.get('bootstrap', 0.0):.2f} s, "
            f"paired_permutation_pvalue {inside.get('permutation', 0.0):.2f} s,\n"
            f"  {'':<24} the rest (merge, iterrows, ItemDiffs; median call minus both) {rest:.2f} s"
        )

    print("\n  the shared figure, B - A per metric (ours: interval from our bootstrap, p Holm-corrected;")
    print("  TruLens as shipped: interval from its bootstrap, p from its permutations, uncorrected)")
    print(
        f"  {'metric':<20} {'kind':<10} {'ours B-A':>9} {'ours 95% interval':>19} {'p(Holm)':>8} {'':1} "
        f"{'TruLens B-A':>11} {'TruLens 95% interval':>21} {'p':>8}"
    )
    worst = 0.0
    ours_sig = theirs_sig = 0
    for m in ours.metrics:
        t = diff.metrics.get(m.name)
        d = m.difference
        worst = max(worst, abs((d.value or 0.0) - t.mean_delta)) if t else worst
        ours_sig += m.significant
        theirs_sig += bool(t and t.p_value < 0.05)
        print(
            f"  {m.name:<20} {m.kind:<10} {d.value:>+9.4f} {f'[{d.low:+.4f}, {d.high:+.4f}]':>19} "
            f"{_p(m.test.p_holm):>8}   {t.mean_delta:>+11.4f} {f'[{t.ci_lower:+.4f}, {t.ci_upper:+.4f}]':>21} {_p(t.p_value):>8}"
        )
    agree = worst < 1e-9 and set(diff.metrics) == set(NAMES)
    print(
        f"  mean differences agree: {'yes' if agree else 'NO'} (max |ours - TruLens| {worst:.1e}); "
        f"significant at 0.05: ours {ours_sig} (Holm), TruLens {theirs_sig} (uncorrected)"
    )
    like_worst = max(abs(like_diff.metrics[k].mean_delta - diff.metrics[k].mean_delta) for k in diff.metrics)
    notes.append(
        f"TruLens at {RESAMPLES:,} resamples gives the same mean deltas (max |diff| {like_worst:.1e}); "
        "only its intervals and p-values move with the resample count"
    )
    shipped_label = f"TruLens: compare_runs as shipped ({TRULENS_DEFAULT_RESAMPLES // 1000}k+{TRULENS_DEFAULT_RESAMPLES // 1000}k)"

    def vs_ours(seconds: float) -> str:
        return f"({seconds / ours_s:,.0f}x ours)"

    shipped_s = statistics.median(shipped_times)
    rows = [
        Row(
            f"{shipped_label}, {'median' if len(shipped_times) > 1 else 'one call'}",
            shipped_s,
            text=vs_ours(shipped_s),
        )
    ]
    if len(shipped_times) > 1:
        rows.append(Row(f"{shipped_label}, min", min(shipped_times)))
    like_label = f"TruLens: compare_runs at {RESAMPLES // 1000}k+{RESAMPLES // 1000}k (helpers' defaults)"
    like_s = statistics.median(like_times)
    rows += [
        Row(f"{like_label}, median of {len(like_times)}", like_s, text=vs_ours(like_s)),
        Row(f"{like_label}, min of {len(like_times)}", min(like_times)),
    ]
    return rows


def _p(p: float | None) -> str:
    if p is None:
        return "-"
    return "<1e-4" if p < 1e-4 else f"{p:.4f}"


# -- 3. the Compare page's data -----------------------------------------------------------------


def page_load(settings: Settings, store, notes: list[str]) -> list[Row]:
    """Write a done comparison of ``PAGE_ROWS`` rows directly, then time what the page loads."""
    from execution.compare import Comparisons
    from execution.pipeline import Pipeline
    from security.identity import Principal

    principal = Principal.local("os")
    pipeline = Pipeline(settings, store=store, principal=principal)
    start = time.perf_counter()
    comparison_id = record_comparison(store, principal, PAGE_ROWS)
    comparisons = Comparisons(pipeline)
    stats = comparisons.statistics(comparison_id)
    comparisons.table.update(comparison_id, statistics=stats.to_dict())  # as Comparisons._finish stores it
    setup_s = time.perf_counter() - start
    log(
        f"page: comparison of {PAGE_ROWS:,} rows x {len(METRICS)} metrics written in {setup_s:.1f} s (untimed)"
    )

    def load(parts: dict[str, list[float]] | None = None):
        t0 = time.perf_counter()
        data = comparisons.paired(comparison_id)
        t1 = time.perf_counter()
        result = comparisons.statistics(comparison_id, data=data)
        t2 = time.perf_counter()
        page, total = comparisons.rows(comparison_id, order="disagreement", limit=PAGE_LIMIT, data=data)
        t3 = time.perf_counter()
        if parts is not None:
            for name, s in (
                ("paired", t1 - t0),
                ("statistics", t2 - t1),
                ("rows", t3 - t2),
                ("total", t3 - t0),
            ):
                parts[name].append(s)
        return result, page, total

    def load_unshared(times: list[float]):
        t0 = time.perf_counter()
        comparisons.paired(comparison_id)
        comparisons.statistics(comparison_id)
        comparisons.rows(comparison_id, order="disagreement", limit=PAGE_LIMIT)
        times.append(time.perf_counter() - t0)

    _, page, total = load()  # warm-up: imports, the metric registry, SQLite's page cache
    load_unshared([])
    parts: dict[str, list[float]] = defaultdict(list)
    unshared: list[float] = []
    for k in range(PAGE_REPEATS):
        load(parts)
        load_unshared(unshared)
        log(f"page: load {k + 1}/{PAGE_REPEATS}: {parts['total'][-1]:.3f} s (unshared {unshared[-1]:.3f} s)")
    shown = [p for p in page if p["input_a"] and p["output_a"] and p["output_b"]]
    print(
        f"\n3. the Compare page's data: a recorded comparison of {PAGE_ROWS:,} rows x {len(METRICS)} metrics, "
        f"fresh SQLite database (written directly in {setup_s:.1f} s, untimed)"
    )
    print(
        f"  each load: Comparisons.paired, then statistics(data=...) and rows(order='disagreement', "
        f"limit={PAGE_LIMIT}, data=...); median of {PAGE_REPEATS} after one warm-up"
    )
    print(
        f"  rows(...) returned {len(page)} of {total:,} rows, {len(shown)} with both outputs and the input read back"
    )
    for name in ("paired", "statistics", "rows", "total"):
        print(f"  {name:<11} " + ", ".join(f"{ms(t)}" for t in parts[name]))
    _where_time_goes(lambda: load(), "page load")
    label = f"page: paired+statistics+rows, {PAGE_ROWS // 1000}k x {len(METRICS)}"
    return [
        Row(f"{label}, median of {PAGE_REPEATS}", statistics.median(parts["total"]), FLOOR_PAGE_S),
        Row("  of which Comparisons.paired", statistics.median(parts["paired"])),
        Row("  of which statistics(data=...)", statistics.median(parts["statistics"])),
        Row(f"  of which rows(disagreement, limit={PAGE_LIMIT}, data=...)", statistics.median(parts["rows"])),
        Row(
            "page: the same three calls without passing data, median",
            statistics.median(unshared),
            FLOOR_PAGE_S,
            "(paired read 3 times)",
        ),
    ]


def record_comparison(store, principal, n: int) -> str:
    """A done comparison of ``n`` rows, written directly (see the module docstring); its id."""
    from bench.eval import banking_triples
    from evaluation import MetricSet
    from execution.evaluate import record_id
    from prompts.registry import PromptRegistry
    from storage.comparisons import ComparisonTable
    from storage.datasets import DatasetStore
    from storage.eval_runs import EvalRunTable
    from storage.records import MetricValue, RunRecord
    from storage.schema import utcnow

    triples = banking_triples(n)
    data = paired_scores(n, seed=SEED + 1)
    directions = _directions()
    registry = PromptRegistry(store, principal)
    template_a = "You are the bank's card assistant. Answer briefly.\nQuestion: {{ question }}"
    template_b = (
        "You are the bank's card assistant. Answer in two or three sentences and say when terms and "
        "conditions apply.\nQuestion: {{ question }}"
    )
    registry.create(SLUG, template_a, description="benchmark prompt", variables=["question"])
    registry.add_version(SLUG, template_b, "mention terms and conditions")
    datasets = DatasetStore(store)
    dataset_id = datasets.save_dataset(
        "bench-compare-qa", [{"question": q, "_expected": e} for q, _, e in triples]
    )
    metric_set = MetricSet.from_list([m["spec"] for m in METRICS])
    evals = EvalRunTable(store.engine)
    run_ids = {}
    now = time.time_ns()
    for side, (version, template) in enumerate(((1, template_a), (2, template_b))):
        run_id = uuid.uuid4().hex
        run_ids["ab"[side]] = [run_id]
        records = []
        for i, (question, answer, _) in enumerate(triples):
            if side == 1 and "terms and conditions" not in answer.lower() and i % 3:
                answer = answer + " Terms and conditions apply."
            metrics = []
            for name, pair in data.scores.items():
                value = float(pair[side][i])
                if np.isnan(value):
                    metrics.append(
                        MetricValue(name, None, directions[name], "unavailable", "the judge gave no score")
                    )
                else:
                    metrics.append(MetricValue(name, value, directions[name], "ok"))
            latency = float(data.latency[side][i])
            records.append(
                RunRecord(
                    run_id=record_id(run_id, i),
                    app_name=SLUG,
                    app_version=f"v{version}",
                    input_text=template.replace("{{ question }}", question),
                    output_text=answer,
                    status="ok",
                    error=None,
                    provider="offline",
                    model="offline-echo",
                    simulated=True,
                    latency_s=latency,
                    input_tokens=60 + i % 40,
                    output_tokens=40 + i % 60,
                    cost_usd=float(data.cost[side][i]),
                    started_at_ns=now,
                    ended_at_ns=now + int(latency * 1e9),
                    stages=[],
                    metrics=metrics,
                    decisions={},
                    variables={},
                    actor=principal.actor,
                    batch_id=run_id,
                    dataset_row=i,
                )
            )
        store.record_runs(records)
        evals.create(
            id=run_id,
            prompt_ref=f"{SLUG}@v{version}",
            app_name=SLUG,
            app_version=f"v{version}",
            dataset="bench-compare-qa",
            dataset_id=dataset_id,
            total_rows=n,
            provider="offline",
            judge=None,
            metrics=metric_set.to_list(),
            created_by=principal.actor,
            status="done",
            done_rows=n,
            started_at=utcnow(),
            heartbeat_at=utcnow(),
            finished_at=utcnow(),
        )
    store.flush()
    table = ComparisonTable(store.engine)
    comparison = table.create(
        id=uuid.uuid4().hex,
        title=f"{SLUG}: v1 on offline vs v2 on offline",
        slug=SLUG,
        side_a={"slug": SLUG, "version": 1, "provider": "offline", "label": None},
        side_b={"slug": SLUG, "version": 2, "provider": "offline", "label": None},
        dataset="bench-compare-qa",
        dataset_id=dataset_id,
        total_rows=n,
        metrics=metric_set.to_list(),
        guards=["assert_length"],
        repeats=1,
        run_ids=run_ids,
        reused=[],
        created_by=principal.actor,
        status="done",
    )
    for k, label in enumerate(data.preferences[:PREFERENCES]):
        table.set_preference(comparison.id, k * (n // PREFERENCES), principal.actor, label, "")
    return comparison.id


# -- where the time goes ------------------------------------------------------------------------


def _where_time_goes(fn: Callable[[], Any], label: str, reps: int = 1) -> None:
    """One cProfile'd call (untimed): the project's functions by cumulative time, and the
    functions with the most own time."""
    root = str(Path(__file__).resolve().parent.parent)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(reps):
        fn()
    profiler.disable()
    entries = pstats.Stats(profiler).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    total = max((v[3] for v in entries.values()), default=0.0) / reps
    ours = sorted(
        ((k, v) for k, v in entries.items() if k[0].startswith(root) and "/bench/" not in k[0]),
        key=lambda kv: -kv[1][3],
    )[:6]
    own = sorted(entries.items(), key=lambda kv: -kv[1][2])[:4]
    print(f"  where the time goes (one cProfile'd {label}, {ms(total)} under the profiler):")
    for (file, line, name), (_, calls, _, ct, _) in ours:
        print(
            f"    {ms(ct / reps):>10} cumulative  {name} ({_short(file, root)}:{line}, {calls // reps} calls)"
        )
    for (file, line, name), (_, calls, tt, _, _) in own:
        print(
            f"    {ms(tt / reps):>10} own         {name} ({_short(file, root)}:{line}, {calls // reps} calls)"
        )


def _short(file: str, root: str) -> str:
    if file.startswith(root):
        return file[len(root) + 1 :]
    parts = Path(file).parts
    return "/".join(parts[-3:]) if len(parts) > 3 else file


# -- printing -----------------------------------------------------------------------------------




def _max_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
