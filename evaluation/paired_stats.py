"""Paired statistics for an A/B comparison of two prompt versions on the same dataset rows.

Side A is the baseline, side B the candidate; row i of A is paired with row i of B and every
difference is B − A. Pure functions and frozen dataclasses over numpy arrays (no I/O).
``to_dict()`` always gives JSON-safe dicts: a value that cannot be computed is None and a note
says why (never NaN or inf).

Conventions:

* Scores are float arrays of shape (rows,) or (rows, repeats); NaN is a missing score.
* With repeats, a side's row value is the mean of its non-missing repeats. For binary metrics
  that mean is the row's pass share (means and differences are then pass rates); McNemar needs
  one pass/fail per row and uses the majority (pass share > 0.5; a 50/50 split counts as fail).
* Means of A and B are taken over the paired rows (both sides scored), so the reported
  difference is exactly mean(B) − mean(A).
* Intervals are percentile bootstrap intervals at level 1 − alpha (95% by default). Rows are
  resampled once, and the same resamples serve every metric.
* Significance is judged on Holm-corrected p-values across the metrics of one comparison.
"""

from __future__ import annotations

import gc
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats as _st
from statsmodels.stats.contingency_tables import mcnemar as _mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.proportion import proportion_confint

KINDS = ("continuous", "binary")
PREFERENCE_LABELS = ("a", "b", "tie", "both_bad")
BETTER, WORSE, NO_DIFFERENCE, NOT_COMPARABLE = (
    "better",
    "worse",
    "no significant difference",
    "not comparable",
)
STABILITY_TOLERANCE = 0.05  # continuous repeats "agree" when max − min ≤ this
EXACT_MCNEMAR_BELOW = 25  # discordant pairs below this: exact binomial McNemar, else chi-square
POWER = 0.8
_CELLS_PER_CHUNK = 2_000_000  # resample-count cells built at once (bounds memory to ~40 MB)


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True, eq=False)
class PairedMetric:
    """One metric's scores on both sides: arrays of shape (rows,) or (rows, repeats), NaN = missing."""

    name: str
    a: np.ndarray
    b: np.ndarray
    kind: str = "continuous"  # "continuous" score or "binary" pass/fail in {0, 1}
    higher_is_better: bool = True
    guard: bool = False  # a metric B must not regress on

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, not {self.kind!r}")
        for side in ("a", "b"):
            values = np.asarray(getattr(self, side), dtype=np.float64)
            if values.ndim not in (1, 2):
                raise ValueError(
                    f"{self.name}: side {side.upper()} must have shape (rows,) or (rows, repeats)"
                )
            if self.kind == "binary":
                finite = values[np.isfinite(values)]
                if not np.isin(finite, (0.0, 1.0)).all():
                    raise ValueError(f"{self.name}: binary scores must be 0, 1 or NaN")
            object.__setattr__(self, side, values)
        if self.a.shape[0] != self.b.shape[0]:
            raise ValueError(
                f"{self.name}: A has {self.a.shape[0]} rows, B has {self.b.shape[0]}; rows must pair"
            )


@dataclass(frozen=True, eq=False)
class CostSamples:
    """Per-row cost (USD) and latency (seconds) of each side; NaN = unknown, None = not recorded."""

    cost_a: np.ndarray | None = None
    cost_b: np.ndarray | None = None
    latency_a: np.ndarray | None = None
    latency_b: np.ndarray | None = None


# ----------------------------------------------------------------------------- outputs


def json_safe(value: Any) -> Any:
    """``value`` with dataclasses, tuples and numpy scalars made plain, and NaN/inf replaced by None."""
    if hasattr(value, "__dataclass_fields__"):
        value = asdict(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (no NaN or inf)."""
        return json_safe(self)


@dataclass(frozen=True)
class Estimate(_ToDict):
    """A point value with its interval; None where it cannot be computed (the notes say why)."""

    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class PairedTest(_ToDict):
    """The paired test that fits the metric kind, with its raw and Holm-corrected p-values."""

    name: str | None  # "wilcoxon signed-rank", "mcnemar exact", "mcnemar chi-square" or None
    statistic: float | None = None
    p_value: float | None = None
    p_holm: float | None = None


@dataclass(frozen=True)
class WinRate(_ToDict):
    """Share of paired rows where B is better than A (direction-aware), with a Wilson interval."""

    wins: int
    losses: int
    ties: int
    rate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Stability(_ToDict):
    """Share of rows whose repeats agree; ``share`` is None when it cannot be judged (see ``note``)."""

    share: float | None
    rows_checked: int
    rows_agreeing: int
    repeats: int
    note: str


@dataclass(frozen=True)
class Power(_ToDict):
    """Smallest difference detectable at 80% power (paired t approximation), in words and number."""

    min_detectable: float | None
    standardized_effect: float | None
    note: str


@dataclass(frozen=True)
class MetricComparison(_ToDict):
    """Everything about one metric: means, difference, effect, test, win rate, direction, notes."""

    name: str
    kind: str
    higher_is_better: bool
    guard: bool
    comparable: bool
    n_rows: int
    n_pairs: int
    mean_a: Estimate
    mean_b: Estimate
    difference: Estimate  # B − A over the paired rows
    effect_size: float | None
    effect_size_name: str  # "cohen_dz" or "pass_rate_difference"
    test: PairedTest
    win_rate: WinRate
    direction: str  # better | worse | no significant difference | not comparable
    stability_a: Stability
    stability_b: Stability
    power: Power
    notes: tuple[str, ...] = ()

    @property
    def significant(self) -> bool:
        return self.direction in (BETTER, WORSE)


@dataclass(frozen=True)
class PreferenceComparison(_ToDict):
    """Human pairwise judgements: counts, sign test of B wins vs A wins, B's decisive win rate."""

    counts: dict[str, int]
    decisive: int
    b_win_rate: Estimate
    test: PairedTest
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CostDelta(_ToDict):
    """A per-side figure and the difference B − A, absolute and relative (%)."""

    a: float | None
    b: float | None
    difference: float | None
    relative_pct: float | None


@dataclass(frozen=True)
class CostComparison(_ToDict):
    """Cost per 1,000 requests (USD) and mean / median latency per request (s) of each side."""

    cost_per_1k: CostDelta
    latency_mean: CostDelta
    latency_p50: CostDelta
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison(_ToDict):
    """The full A/B comparison; ``verdict()`` is the plain-language summary."""

    metrics: tuple[MetricComparison, ...]
    preferences: PreferenceComparison | None = None
    costs: CostComparison | None = None
    alpha: float = 0.05
    resamples: int = 2000
    seed: int = 0
    holm_family: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def metric(self, name: str) -> MetricComparison:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def guard_regressions(self) -> tuple[str, ...]:
        """Guard metrics on which B is significantly worse after correction."""
        return tuple(m.name for m in self.metrics if m.guard and m.direction == WORSE)

    def to_dict(self) -> dict[str, Any]:
        out = json_safe(self)
        out["guard_regressions"] = list(self.guard_regressions)
        out["verdict"] = self.verdict()
        return out

    def verdict(self) -> str:
        """A short summary a product manager can read."""
        return _verdict(self)


# ----------------------------------------------------------------------------- building blocks


def row_values(values: np.ndarray) -> np.ndarray:
    """Per-row value: the value itself, or the mean of the non-missing repeats (NaN if none)."""
    values = np.asarray(values, dtype=np.float64)
    values = np.where(np.isfinite(values), values, np.nan)
    if values.ndim == 1:
        return values
    present = ~np.isnan(values)
    counts = present.sum(axis=1)
    sums = np.where(present, values, 0.0).sum(axis=1)
    out = np.full(values.shape[0], np.nan)
    np.divide(sums, counts, out=out, where=counts > 0)
    return out


def stability(values: np.ndarray, kind: str, tolerance: float = STABILITY_TOLERANCE) -> Stability:
    """Share of rows whose repeats agree (binary: identical; continuous: max − min ≤ ``tolerance``).

    Only rows with at least two scored repeats are judged.
    """
    values = np.asarray(values, dtype=np.float64)
    repeats = 1 if values.ndim == 1 else values.shape[1]
    if repeats < 2:
        return Stability(None, 0, 0, repeats, "One run per row: stability needs at least 2 repeats.")
    values = np.where(np.isfinite(values), values, np.nan)
    judged = (~np.isnan(values)).sum(axis=1) >= 2
    checked = int(judged.sum())
    if checked == 0:
        return Stability(None, 0, 0, repeats, "No row has two or more scored repeats.")
    rows = values[judged]
    spread = np.nanmax(rows, axis=1) - np.nanmin(rows, axis=1)
    limit = 0.0 if kind == "binary" else tolerance + 1e-12  # 1e-12: float noise in max − min
    agreeing = int((spread <= limit).sum())
    rule = "all repeats identical" if kind == "binary" else f"max − min ≤ {_fmt(tolerance)}"
    note = f"{agreeing} of {checked} rows agree across {repeats} repeats ({rule})."
    if checked < values.shape[0]:
        note += f" {values.shape[0] - checked} rows with fewer than 2 scored repeats are not judged."
    return Stability(agreeing / checked, checked, agreeing, repeats, note)


def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> tuple[float | None, float | None]:
    """Wilson score interval of ``successes / n`` (statsmodels); (None, None) when n == 0."""
    if n <= 0:
        return None, None
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    return float(low), float(high)


def power_note(n: int, sd: float | None, alpha: float = 0.05, power: float = POWER) -> Power:
    """Smallest B − A difference detectable with ``n`` pairs (paired t approximation, statsmodels)."""
    if n < 2 or sd is None or not math.isfinite(sd):
        return Power(
            None,
            None,
            f"With {n} paired row{'s' if n != 1 else ''} the detectable difference "
            "cannot be estimated (at least 2 are needed).",
        )
    if sd == 0:
        return Power(
            None,
            None,
            "The paired differences do not vary (sd 0), so the detectable "
            "difference cannot be estimated from their spread.",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            effect = float(TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power))
    except Exception as exc:  # noqa: BLE001 - statsmodels' root finder may fail for tiny n
        return Power(None, None, f"The power calculation failed for {n} rows ({exc}).")
    if not math.isfinite(effect):
        return Power(None, None, f"The power calculation gave no usable answer for {n} rows.")
    detectable = effect * sd
    return Power(
        detectable,
        effect,
        f"With {n} rows a difference smaller than {_fmt(detectable)} cannot be "
        f"detected at {power:.0%} power (alpha {_fmt(alpha)}).",
    )


def holm(p_values: Sequence[float], alpha: float = 0.05) -> list[float]:
    """Holm-corrected p-values (statsmodels ``multipletests``).

    statsmodels' Holm branch calls ``gc.collect()``, about 0.3 s in a process with torch and
    streamlit loaded; the heap is frozen around the call so that collection has nothing to scan.
    """
    if not len(p_values):
        return []
    freeze = gc.get_freeze_count() == 0  # never undo a freeze made by someone else
    if freeze:
        gc.freeze()
    try:
        adjusted = multipletests(list(p_values), alpha=alpha, method="holm")[1]
    finally:
        if freeze:
            gc.unfreeze()
    return [float(p) for p in adjusted]


def paired_test(
    a: np.ndarray, b: np.ndarray, kind: str, alpha: float = 0.05
) -> tuple[PairedTest, int, list[str]]:
    """Wilcoxon signed-rank (continuous) or McNemar (binary) on paired row values.

    Returns the test, the sign of B − A that the test sees (+1, −1 or 0) and notes.
    """
    n = len(a)
    if kind == "binary":
        return _mcnemar_test(a, b, n)
    name = "wilcoxon signed-rank"
    if n < 2:
        return PairedTest(None), 0, [f"A paired test needs at least 2 paired rows; there {_are(n)}."]
    diff = b - a
    nonzero = diff[diff != 0]
    if nonzero.size == 0:
        return (
            PairedTest(None),
            0,
            [
                (
                    "Every paired difference is zero (all rows tie), so the Wilcoxon "
                    "signed-rank test is undefined; no p-value is reported."
                )
            ],
        )
    notes = []
    if nonzero.size < n:
        notes.append(
            f"{n - nonzero.size} rows with a zero difference are left out of the Wilcoxon test "
            "(zero_method='wilcox')."
        )
    if 2.0 ** (1 - nonzero.size) >= alpha:  # smallest exact two-sided p
        notes.append(
            f"With {nonzero.size} non-zero differences the Wilcoxon test cannot reach p < {_fmt(alpha)}."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _st.wilcoxon(diff)
    statistic, p = _finite(result.statistic), _finite(result.pvalue)
    if p is None:
        notes.append("scipy returned no p-value for the Wilcoxon test.")
    ranks = _st.rankdata(np.abs(nonzero))
    sign = int(np.sign(ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum()))
    return PairedTest(name, statistic, p), sign, notes


def _mcnemar_test(a: np.ndarray, b: np.ndarray, n: int) -> tuple[PairedTest, int, list[str]]:
    if n < 2:
        return PairedTest(None), 0, [f"A paired test needs at least 2 paired rows; there {_are(n)}."]
    notes = []
    split = int(((a == 0.5) | (b == 0.5)).sum())
    if split:
        notes.append(f"{split} rows split 50/50 across repeats count as fail in McNemar (majority rule).")
    pa, pb = a > 0.5, b > 0.5
    a_only, b_only = int((pa & ~pb).sum()), int((~pa & pb).sum())
    discordant = a_only + b_only
    if discordant == 0:
        return (
            PairedTest(None),
            0,
            notes
            + [
                (
                    "A and B agree on every paired row (no discordant pairs), so "
                    "McNemar's test is undefined; no p-value is reported."
                )
            ],
        )
    table = [[int((pa & pb).sum()), a_only], [b_only, int((~pa & ~pb).sum())]]
    exact = discordant < EXACT_MCNEMAR_BELOW
    result = _mcnemar(table, exact=exact, correction=True)
    notes.append(
        f"McNemar on {discordant} discordant pairs ({b_only} only B passes, {a_only} only A passes), "
        + ("exact binomial." if exact else "chi-square with continuity correction.")
    )
    name = "mcnemar exact" if exact else "mcnemar chi-square"
    return (
        PairedTest(name, _finite(result.statistic), _finite(result.pvalue)),
        int(np.sign(b_only - a_only)),
        notes,
    )


def win_rate(a: np.ndarray, b: np.ndarray, higher_is_better: bool = True, alpha: float = 0.05) -> WinRate:
    """Share of paired rows where B beats A (ties counted apart), with a Wilson interval."""
    better = b > a if higher_is_better else b < a
    worse = b < a if higher_is_better else b > a
    wins, losses = int(better.sum()), int(worse.sum())
    n = len(a)
    low, high = wilson_interval(wins, n, alpha)
    return WinRate(wins, losses, n - wins - losses, wins / n if n else None, low, high)


def bootstrap_means(
    columns: np.ndarray, valid: np.ndarray, resamples: int, seed: int, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile intervals of masked column means under paired row resampling.

    ``columns`` (rows, k) values; ``valid`` (rows, k) bool, or (rows, g) bool with ``k == g * m``
    where column j uses mask ``j // m``. One (resamples × rows) count matrix is drawn with
    ``np.bincount`` and every mean is ``(W @ (X * valid)) / (W @ valid)``. Values are centred on
    their full-sample mean first, so constant columns give exact degenerate intervals.
    Returns (low, high, used): bounds per column and the number of resamples that held at least
    one valid row of that column (resamples without any are skipped).
    """
    columns = np.asarray(columns, dtype=np.float64)
    rows, k = columns.shape
    groups = valid.shape[1]
    per = k // groups
    mask = np.repeat(valid, per, axis=1)
    safe = np.where(mask, columns, 0.0)
    counts = mask.sum(axis=0)
    centre = np.divide(safe.sum(axis=0), counts, out=np.zeros(k), where=counts > 0)
    matrix = np.concatenate([np.where(mask, columns - centre, 0.0), valid], axis=1).astype(np.float32)
    totals = np.empty((resamples, matrix.shape[1]), dtype=np.float32)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(resamples, _CELLS_PER_CHUNK // max(rows, 1)))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        picks = rng.integers(0, rows, size=(size, rows))
        picks += (np.arange(size) * rows)[:, None]
        weights = np.bincount(picks.ravel(), minlength=size * rows).reshape(size, rows).astype(np.float32)
        np.matmul(weights, matrix, out=totals[start : start + size])
    sums = totals[:, :k].astype(np.float64)
    denominators = np.repeat(totals[:, k:].astype(np.float64), per, axis=1)
    low, high, used = np.full(k, np.nan), np.full(k, np.nan), np.zeros(k, dtype=int)
    for j in range(k):
        ok = denominators[:, j] > 0
        used[j] = int(ok.sum())
        if used[j]:
            means = sums[ok, j] / denominators[ok, j] + centre[j]
            low[j], high[j] = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return low, high, used


# ----------------------------------------------------------------------------- preferences and costs


def compare_preferences(
    preferences: Mapping[str, int] | Iterable[str], alpha: float = 0.05
) -> PreferenceComparison:
    """Counts per label, binomial sign test of B wins vs A wins (scipy), B's decisive win rate."""
    if isinstance(preferences, Mapping):
        unknown = set(preferences) - set(PREFERENCE_LABELS)
        counts = {label: int(preferences.get(label, 0)) for label in PREFERENCE_LABELS}
        if any(v < 0 for v in counts.values()):
            raise ValueError("preference counts must be non-negative")
    else:
        labels = [str(x) for x in preferences]
        unknown = set(labels) - set(PREFERENCE_LABELS)
        counts = {label: labels.count(label) for label in PREFERENCE_LABELS}
    if unknown:
        raise ValueError(f"unknown preference labels {sorted(unknown)}; expected {PREFERENCE_LABELS}")
    a_wins, b_wins = counts["a"], counts["b"]
    decisive = a_wins + b_wins
    notes = []
    if counts["tie"] or counts["both_bad"]:
        notes.append(
            f"{counts['tie']} ties and {counts['both_bad']} 'both bad' judgements are left out of "
            "the sign test and the win rate."
        )
    if decisive == 0:
        notes.append(
            "No decisive judgement (neither A nor B preferred), so there is no win rate or sign test."
        )
        return PreferenceComparison(counts, 0, Estimate(None), PairedTest(None), tuple(notes))
    low, high = wilson_interval(b_wins, decisive, alpha)
    result = _st.binomtest(b_wins, decisive, 0.5, alternative="two-sided")
    test = PairedTest("binomial sign test", float(b_wins), _finite(result.pvalue))
    return PreferenceComparison(counts, decisive, Estimate(b_wins / decisive, low, high), test, tuple(notes))


def compare_costs(costs: CostSamples) -> CostComparison:
    """Cost per 1,000 requests (USD) and mean / median latency (s) per side, with B − A."""
    notes: list[str] = []
    cost_a = _side_figure(costs.cost_a, "A", "cost", np.mean, notes)
    cost_b = _side_figure(costs.cost_b, "B", "cost", np.mean, notes)
    lat_a = _side_figure(costs.latency_a, "A", "latency", np.mean, notes)
    lat_b = _side_figure(costs.latency_b, "B", "latency", np.mean, notes)
    p50_a = _side_figure(costs.latency_a, "A", "latency", np.median, [])
    p50_b = _side_figure(costs.latency_b, "B", "latency", np.median, [])
    per_1k = (None if cost_a is None else cost_a * 1000, None if cost_b is None else cost_b * 1000)
    return CostComparison(
        _delta(*per_1k, "cost per 1,000 requests", notes),
        _delta(lat_a, lat_b, "mean latency", notes),
        _delta(p50_a, p50_b, "median latency", []),
        tuple(notes),
    )


def _side_figure(values, side: str, what: str, reduce, notes: list[str]) -> float | None:
    if values is None:
        notes.append(f"No {what} recorded for {side}" + (" (no price known)." if what == "cost" else "."))
        return None
    values = np.asarray(values, dtype=np.float64).ravel()
    known = values[np.isfinite(values)]
    if known.size == 0:
        notes.append(
            f"{what.capitalize()} unknown on every row of {side}"
            + (" (no price known)." if what == "cost" else ".")
        )
        return None
    if known.size < values.size:
        notes.append(
            f"{what.capitalize()} known for {known.size} of {values.size} rows of {side}; "
            "the figure uses those rows."
        )
    return float(reduce(known))


def _delta(a: float | None, b: float | None, what: str, notes: list[str]) -> CostDelta:
    if a is None or b is None:
        notes.append(f"The difference in {what} is unknown because a side has no figure.")
        return CostDelta(a, b, None, None)
    diff = b - a
    if a == 0:
        notes.append(f"The relative difference in {what} is undefined because A's figure is 0.")
        return CostDelta(a, b, diff, None)
    return CostDelta(a, b, diff, diff / a * 100)


# ----------------------------------------------------------------------------- the comparison


def compare(
    metrics: Sequence[PairedMetric],
    preferences: Mapping[str, int] | Iterable[str] | None = None,
    costs: CostSamples | None = None,
    resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    *,
    stability_tolerance: float = STABILITY_TOLERANCE,
) -> Comparison:
    """Compare B against A on every metric (plus preferences and costs); deterministic given ``seed``."""
    metrics = list(metrics)
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ValueError("metric names must be unique")
    if len({m.a.shape[0] for m in metrics}) > 1:
        raise ValueError("every metric must have the same number of rows (rows are paired across metrics)")
    if resamples < 0:
        raise ValueError("resamples must be >= 0")
    rows = metrics[0].a.shape[0] if metrics else 0

    prepared = [_prepare(m) for m in metrics]
    boot = [p for p in prepared if p["comparable"]]
    bounds: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if boot and resamples:
        columns = np.stack([col for p in boot for col in (p["ra"], p["rb"], p["rb"] - p["ra"])], axis=1)
        valid = np.stack([p["valid"] for p in boot], axis=1)
        low, high, used = bootstrap_means(columns, valid, resamples, seed, alpha)
        for i, p in enumerate(boot):
            bounds[p["metric"].name] = (
                low[3 * i : 3 * i + 3],
                high[3 * i : 3 * i + 3],
                used[3 * i : 3 * i + 3],
            )

    results = [
        _analyse(p, bounds.get(p["metric"].name), resamples, alpha, stability_tolerance) for p in prepared
    ]

    tested = [i for i, (r, _) in enumerate(results) if r.test.p_value is not None]
    adjusted = holm([results[i][0].test.p_value for i in tested], alpha)
    final = []
    for i, (result, sign) in enumerate(results):
        if i in tested:
            result = replace(result, test=replace(result.test, p_holm=adjusted[tested.index(i)]))
        else:
            why = "it has no p-value (see above)" if result.comparable else "it is not comparable"
            result = replace(
                result, notes=result.notes + (f"Left out of the Holm correction because {why}.",)
            )
        final.append(_with_direction(result, sign, alpha))

    notes = [f"{len(tested)} metric(s) in the Holm family (alpha {_fmt(alpha)})."]
    if boot and resamples:
        notes.append(
            f"Bootstrap: {resamples} paired resamples of the {rows} rows (seed {seed}), shared by "
            "every metric; percentile intervals."
        )
    elif not resamples:
        notes.append("Bootstrap disabled (resamples = 0): no intervals for means and differences.")
    return Comparison(
        metrics=tuple(final),
        preferences=None if preferences is None else compare_preferences(preferences, alpha),
        costs=None if costs is None else compare_costs(costs),
        alpha=alpha,
        resamples=resamples,
        seed=seed,
        holm_family=tuple(names[i] for i in tested),
        notes=tuple(notes),
    )


def _prepare(metric: PairedMetric) -> dict[str, Any]:
    ra, rb = row_values(metric.a), row_values(metric.b)
    has_a, has_b = ~np.isnan(ra), ~np.isnan(rb)
    valid = has_a & has_b
    notes = []
    nonfinite = int(np.isinf(metric.a).sum() + np.isinf(metric.b).sum())
    if nonfinite:
        notes.append(f"{nonfinite} infinite scores were treated as missing.")
    n_rows = len(ra)
    reason = None
    if n_rows == 0:
        reason = "There are no rows."
    elif not has_a.any() and not has_b.any():
        reason = "Neither side has any score for this metric."
    elif not has_a.any():
        reason = "A has no score for this metric on any row (metric unavailable on A)."
    elif not has_b.any():
        reason = "B has no score for this metric on any row (metric unavailable on B)."
    elif not valid.any():
        reason = "No row has a score on both sides, so nothing can be paired."
    if reason:
        notes.insert(0, f"Not comparable: {reason}")
    else:
        only_a, only_b, neither = (
            int((has_a & ~has_b).sum()),
            int((~has_a & has_b).sum()),
            int((~has_a & ~has_b).sum()),
        )
        dropped = only_a + only_b + neither
        if dropped:
            parts = [
                f"{only_a} with no score on B" if only_a else "",
                f"{only_b} with no score on A" if only_b else "",
                f"{neither} with no score on either side" if neither else "",
            ]
            notes.append(
                f"{dropped} of {n_rows} rows dropped from the pairing: "
                + ", ".join(p for p in parts if p)
                + "."
            )
    if metric.kind == "binary" and any(v.ndim == 2 and v.shape[1] > 1 for v in (metric.a, metric.b)):
        notes.append(
            "Binary metric with repeats: each row's value is its pass share across repeats, so means "
            "are pass rates; McNemar uses the majority per row."
        )
    return {
        "metric": metric,
        "ra": ra,
        "rb": rb,
        "valid": valid,
        "comparable": reason is None,
        "n_rows": n_rows,
        "notes": notes,
    }


def _analyse(
    p: dict[str, Any], bounds, resamples: int, alpha: float, tolerance: float
) -> tuple[MetricComparison, int]:
    metric: PairedMetric = p["metric"]
    notes: list[str] = list(p["notes"])
    stab_a = stability(metric.a, metric.kind, tolerance)
    stab_b = stability(metric.b, metric.kind, tolerance)
    effect_name = "pass_rate_difference" if metric.kind == "binary" else "cohen_dz"
    a, b = p["ra"][p["valid"]], p["rb"][p["valid"]]
    n = len(a)
    if not p["comparable"]:
        empty = Estimate(None)
        return MetricComparison(
            metric.name,
            metric.kind,
            metric.higher_is_better,
            metric.guard,
            False,
            p["n_rows"],
            n,
            empty,
            empty,
            empty,
            None,
            effect_name,
            PairedTest(None),
            WinRate(0, 0, 0, None, None, None),
            NOT_COMPARABLE,
            stab_a,
            stab_b,
            Power(None, None, "Not comparable, so no power estimate."),
            tuple(notes),
        ), 0

    diff = b - a
    mean_a, mean_b = float(a.mean()), float(b.mean())
    mean_d = mean_b - mean_a
    if n == 1:
        notes.append("Only 1 paired row: no test, no spread; the intervals are degenerate.")
    elif n == 2:
        notes.append("Only 2 paired rows: the test cannot be significant and the intervals are very rough.")
    estimates = []
    if bounds is None:
        estimates = [Estimate(mean_a), Estimate(mean_b), Estimate(mean_d)]
    else:
        low, high, used = bounds
        for j, value in enumerate((mean_a, mean_b, mean_d)):
            estimates.append(Estimate(value, _finite(low[j]), _finite(high[j])))
        skipped = resamples - int(used[0])
        if skipped:
            notes.append(
                f"{skipped} of {resamples} bootstrap resamples held none of the paired rows and were skipped."
            )

    sd = float(diff.std(ddof=1)) if n >= 2 else None
    effect: float | None
    if metric.kind == "binary":
        effect = mean_d
    elif sd is None:
        effect = None
        notes.append("Cohen's d_z needs at least 2 paired rows.")
    elif sd == 0:
        effect = None
        notes.append(
            "Cohen's d_z is undefined: every paired difference is the same (sd 0)"
            + ("." if mean_d == 0 else ", so it would be infinite.")
        )
    else:
        effect = mean_d / sd
    if n >= 2 and np.ptp(a) == 0 and np.ptp(b) == 0:
        notes.append("Both sides are constant on the paired rows; the intervals are degenerate (zero width).")

    test, sign, test_notes = paired_test(a, b, metric.kind, alpha)
    notes.extend(test_notes)
    result = MetricComparison(
        metric.name,
        metric.kind,
        metric.higher_is_better,
        metric.guard,
        True,
        p["n_rows"],
        n,
        estimates[0],
        estimates[1],
        estimates[2],
        _finite(effect),
        effect_name,
        test,
        win_rate(a, b, metric.higher_is_better, alpha),
        NO_DIFFERENCE,
        stab_a,
        stab_b,
        power_note(n, sd, alpha),
        tuple(notes),
    )
    return result, sign


def _with_direction(result: MetricComparison, sign: int, alpha: float) -> MetricComparison:
    if not result.comparable:
        return result
    p = result.test.p_holm
    if p is None or p >= alpha:
        return replace(result, direction=NO_DIFFERENCE)
    mean_sign = int(np.sign(result.difference.value or 0.0))
    if mean_sign == 0 or mean_sign != sign:
        note = (
            "The test is significant but the mean difference points the other way (skewed differences); "
            "reported as no significant difference."
        )
        return replace(result, direction=NO_DIFFERENCE, notes=result.notes + (note,))
    improved = (mean_sign > 0) == result.higher_is_better
    return replace(result, direction=BETTER if improved else WORSE)


# ----------------------------------------------------------------------------- the verdict


def _verdict(c: Comparison) -> str:
    guard = [m for m in c.metrics if m.guard and m.direction == WORSE]
    other = [m for m in c.metrics if m.significant and not (m.guard and m.direction == WORSE)]
    parts = [f"guard metric {m.name} regressed: B is worse by {_magnitude(m)}" for m in guard]
    parts += [
        f"B {'improves' if m.direction == BETTER else 'is worse on'} {m.name} by {_magnitude(m)}"
        for m in other
    ]
    if not parts:
        if c.holm_family:
            parts.append(
                f"no significant difference between A and B on the {len(c.holm_family)} tested "
                f"metric{'s' if len(c.holm_family) != 1 else ''}"
            )
        else:
            untested = [m.name for m in c.metrics if m.comparable]
            parts.append(
                "no metric could be tested for a difference"
                + (f" ({', '.join(untested)}: no p-value, see the notes)" if untested else "")
            )
    if c.preferences is not None:
        parts.append(_preference_phrase(c.preferences, c.alpha))
    if c.costs is not None:
        parts.append(_cost_phrase(c.costs))
    if not guard and any(m.guard for m in c.metrics):
        # a guard scored the same on every paired row did not regress, though no test can run on it
        unchanged = [m.name for m in c.metrics if m.guard and _unchanged(m)]
        unchecked = [m.name for m in c.metrics if m.guard and m.test.p_holm is None and m.name not in unchanged]
        if unchecked and len(unchecked) == sum(m.guard for m in c.metrics):
            plural = "s" if len(unchecked) > 1 else ""
            parts.append(f"guard metric{plural} {', '.join(unchecked)} could not be checked")
        else:
            notes = ([f"{', '.join(unchanged)} unchanged on every row"] if unchanged else []) + (
                [f"{', '.join(unchecked)} could not be checked"] if unchecked else []
            )
            parts.append("no guard metric regressed" + (f" ({'; '.join(notes)})" if notes else ""))
    not_comparable = [m.name for m in c.metrics if not m.comparable]
    text = "; ".join(parts)
    text = text[0].upper() + text[1:] + "."
    if not_comparable:
        text += f" Not comparable: {', '.join(not_comparable)}."
    return text


def _unchanged(m: MetricComparison) -> bool:
    """Both sides scored every paired row the same (so no paired test applies)."""
    return m.comparable and m.n_pairs > 0 and m.win_rate.wins == 0 and m.win_rate.losses == 0


def _magnitude(m: MetricComparison) -> str:
    d = m.difference
    value = abs(d.value or 0.0)
    low, high = d.low, d.high
    if low is not None and high is not None and (d.value or 0.0) < 0:
        low, high = -high, -low
    scale, unit = (100, " percentage points") if m.kind == "binary" else (1, "")
    shown = [x * scale for x in (value, low, high) if x is not None]
    digits = _decimals(shown)
    text = f"{value * scale:.{digits}f}{unit}"
    if low is not None and high is not None:
        text += f" [{low * scale:.{digits}f}, {high * scale:.{digits}f}]"
    if not m.higher_is_better:
        text += " (lower is better)"
    return text + f", {_p_text(m.test.p_holm)} after correction"


def _preference_phrase(p: PreferenceComparison, alpha: float) -> str:
    if p.b_win_rate.value is None:
        return "reviewers made no decisive judgement"
    rate = f"reviewers preferred B in {p.b_win_rate.value:.0%} of {p.decisive} decisive judgements"
    if p.test.p_value is not None and p.test.p_value < alpha:
        return f"{rate} ({_p_text(p.test.p_value)})"
    return f"{rate}, not significant ({_p_text(p.test.p_value)})"


def _cost_phrase(c: CostComparison) -> str:
    pct = c.cost_per_1k.relative_pct
    per_1k = c.cost_per_1k
    if per_1k.a == 0 and per_1k.b == 0:
        cost = "neither side costs anything"
    elif pct is None and per_1k.difference is not None:
        cost = f"costs ${abs(per_1k.difference):.4f} {'more' if per_1k.difference > 0 else 'less'} per 1,000 requests"
    elif pct is None:
        cost = "cost difference unknown (no price for one side's model)"
    elif abs(pct) < 0.5:
        cost = "costs about the same"
    else:
        cost = f"costs {abs(pct):.0f}% {'more' if pct > 0 else 'less'}"
    lat = c.latency_mean
    # latency is worth a word when it moves by at least 10 ms and 5%: below that it is noise to a reader
    if (
        lat.difference is not None and abs(lat.difference) >= 0.01
        and (lat.relative_pct is None or abs(lat.relative_pct) >= 5)
    ):
        cost += (
            f" and is {_fmt(abs(lat.difference))} s {'slower' if lat.difference > 0 else 'faster'} on average"
        )
    return cost


# ----------------------------------------------------------------------------- small helpers


def _finite(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(x: float) -> str:
    """Three significant digits, no exponent for ordinary magnitudes."""
    if x == 0:
        return "0"
    text = f"{x:.3g}"
    if "e" in text and 1e-6 <= abs(x) < 1e15:
        text = f"{x:.{max(0, 2 - math.floor(math.log10(abs(x))))}f}"
    return text


def _decimals(values: Sequence[float]) -> int:
    """Decimals giving the largest of ``values`` three significant digits (at most 6)."""
    largest = max((abs(v) for v in values), default=0.0)
    if largest == 0:
        return 2
    return int(min(6, max(0, 2 - math.floor(math.log10(largest)))))


def _p_text(p: float | None) -> str:
    if p is None:
        return "no p-value"
    if p < 0.001:
        return "p < 0.001"
    # two significant digits, so 0.047 never reads as the 0.05 it is significant against
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def _are(n: int) -> str:
    return f"is {n}" if n == 1 else f"are {n}"
