"""The summary of an evaluation run: per metric mean with its confidence interval,
pass rate, flags, and the run gates of its metric set (a CI gate for prompts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evaluation.metric_sets import MetricSet
from evaluation.registry import metric_class
from evaluation.stats import mean_interval, proportion_interval

SIMULATED_SUFFIX = " [simulated]"


@dataclass
class GateResult:
    metric: str
    gate: str  # min_mean | max_mean | min_pass_rate
    limit: float
    actual: float | None
    passed: bool | None  # None: not judged (nothing scored, or simulated scores)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MetricSummary:
    name: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    min: float | None
    max: float | None
    unavailable: int
    errors: int
    flagged: int
    pass_rate: float | None  # share of scored rows not flagged (None without thresholds)
    pass_low: float | None
    pass_high: float | None
    higher_is_better: bool
    simulated: bool = False
    gates: list[GateResult] = field(default_factory=list)
    first_error: str = ""  # the explanation of the first row it errored on

    @property
    def error_note(self) -> str:
        """"NAME: K of N rows errored; first: ..." ("" when it errored on none)."""
        if not self.errors:
            return ""
        total = self.n + self.unavailable + self.errors
        return f"{self.name}: {self.errors} of {total} rows errored; first: {self.first_error or 'no explanation'}"


def summarize(metric_set: MetricSet, stats: dict[str, dict[str, Any]]) -> list[MetricSummary]:
    """``stats`` per result name as ``storage.eval_runs.EvalRunTable.metric_stats`` gives it."""
    out = []
    for name, row in stats.items():
        base = name.removesuffix(SIMULATED_SUFFIX)
        spec = metric_set.spec(base)
        simulated = name.endswith(SIMULATED_SUFFIX)
        n = row["n"]
        low, high = _within_range(mean_interval(n, row["mean"], row["sum_sq"]), spec)
        has_threshold = spec is not None and (spec.flag_above is not None or spec.flag_below is not None)
        passed = n - row["flagged"]
        pass_rate = passed / n if has_threshold and n else None
        p_low, p_high = proportion_interval(passed, n) if pass_rate is not None else (None, None)
        summary = MetricSummary(
            name=name,
            n=n,
            mean=row["mean"],
            ci_low=low,
            ci_high=high,
            min=row["min"],
            max=row["max"],
            unavailable=row["unavailable"],
            errors=row["errors"],
            flagged=row["flagged"],
            pass_rate=pass_rate,
            pass_low=p_low,
            pass_high=p_high,
            higher_is_better=row["higher_is_better"],
            simulated=simulated,
            first_error=row.get("first_error", ""),
        )
        if spec is not None:
            summary.gates = _gates(spec.gates, summary)
        out.append(summary)
    order = {s.result_name: i for i, s in enumerate(metric_set.specs)}
    return sorted(out, key=lambda s: (order.get(s.name.removesuffix(SIMULATED_SUFFIX), len(order)), s.name))


def _within_range(interval: tuple[float | None, float | None], spec) -> tuple[float | None, float | None]:
    """A mean's interval cut to the values its metric can take (a rate near 0 over few rows
    gives a t-interval below 0: the mean of scores from 0 to 1 cannot be negative)."""
    low, high = interval
    cls = metric_class(spec.metric) if spec is not None else None
    if cls is None or low is None or high is None:
        return low, high
    least, most = cls.value_range
    if least is not None:
        low, high = max(low, least), max(high, least)
    if most is not None:
        low, high = min(low, most), min(high, most)
    return low, high


def _gates(gates: dict[str, float], summary: MetricSummary) -> list[GateResult]:
    results = []
    for gate, limit in gates.items():
        actual = summary.pass_rate if gate == "min_pass_rate" else summary.mean
        if summary.simulated:
            results.append(GateResult(summary.name, gate, limit, actual, None, "simulated scores are not judged"))
        elif actual is None:
            why = "no scored rows" if summary.n == 0 else "no thresholds to count passes"
            results.append(GateResult(summary.name, gate, limit, None, False, why))
        else:
            actual = float(actual)
            ok = actual >= limit if gate in ("min_mean", "min_pass_rate") else actual <= limit
            results.append(GateResult(summary.name, gate, limit, actual, bool(ok)))
    return results


def all_gates(summaries: list[MetricSummary]) -> list[GateResult]:
    return [g for s in summaries for g in s.gates]


def metric_errors(summaries: list[MetricSummary]) -> list[MetricSummary]:
    """The metrics that errored on at least one row: an error is never a pass, whatever the gates say."""
    return [s for s in summaries if s.errors]


def gates_passed(summaries: list[MetricSummary]) -> bool:
    """False when any judged gate failed (a gate with nothing scored fails)."""
    return all(g.passed is not False for g in all_gates(summaries))
