"""The metric registry.

A metric is a small class registered by name. It says what it reads, its range
and direction, and optional thresholds that raise a flag. Built-ins register
through the same ``register_metric`` call a user's plugin uses.

Metrics score a batch of ``MetricInput`` at once (``score_many``) so model-backed
metrics can batch; simple metrics implement ``score`` for one input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

Reads = Literal["input", "output", "expected", "context", "signals"]


@dataclass(frozen=True)
class MetricInput:
    """What a metric may look at: scrubbed text only, plus the pipeline's signals."""

    input: str
    output: str | None
    expected: str | None = None
    context: str | None = None
    # numbers the pipeline measured: latency_s, input_tokens, output_tokens,
    # cost_usd, injection_score, pii_in_count, pii_out_count
    signals: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricResult:
    name: str
    value: float | None
    higher_is_better: bool
    status: Literal["ok", "unavailable", "error"] = "ok"
    explanation: str = ""
    flagged: bool = False

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "value": self.value,
            "higher_is_better": self.higher_is_better,
            "status": self.status,
            "explanation": self.explanation,
            "flagged": self.flagged,
        }


class Metric:
    """Base class. Subclasses set the class attributes and implement ``score``."""

    name: ClassVar[str]
    description: ClassVar[str]
    reads: ClassVar[tuple[Reads, ...]]
    higher_is_better: ClassVar[bool]
    value_range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)
    unit: ClassVar[str] = ""

    def __init__(self, flag_above: float | None = None, flag_below: float | None = None) -> None:
        self.flag_above = flag_above
        self.flag_below = flag_below

    def score(self, item: MetricInput) -> MetricResult:
        raise NotImplementedError

    def score_many(self, items: list[MetricInput]) -> list[MetricResult]:
        return [self._safe_score(item) for item in items]

    def availability(self) -> tuple[bool, str]:
        """Whether the metric can compute now, and if not, why and how to fix it."""
        return True, ""

    # helpers for subclasses -------------------------------------------------
    def result(self, value: float | None, explanation: str = "") -> MetricResult:
        flagged = value is not None and (
            (self.flag_above is not None and value > self.flag_above)
            or (self.flag_below is not None and value < self.flag_below)
        )
        return MetricResult(self.name, value, self.higher_is_better, "ok", explanation, flagged)

    def unavailable(self, reason: str) -> MetricResult:
        return MetricResult(self.name, None, self.higher_is_better, "unavailable", reason)

    def _safe_score(self, item: MetricInput) -> MetricResult:
        try:
            return self.score(item)
        except Exception as exc:  # noqa: BLE001 - one metric failing never sinks a run
            return MetricResult(self.name, None, self.higher_is_better, "error", f"{type(exc).__name__}: {exc}")


_REGISTRY: dict[str, type[Metric]] = {}


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Register a metric class by its ``name`` (usable as a decorator)."""
    if not getattr(cls, "name", None):
        raise ValueError(f"{cls.__name__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def registered_metrics() -> dict[str, type[Metric]]:
    _load_builtins()
    return dict(_REGISTRY)


def build_metrics(names: list[str], thresholds: dict[str, dict[str, float]] | None = None) -> list[Metric]:
    """Instantiate metrics by name with optional ``{"name": {"flag_above": x}}`` thresholds."""
    from config.errors import ConfigError

    available = registered_metrics()
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ConfigError(
            f"Unknown metric(s): {', '.join(unknown)}.", f"Available metrics: {', '.join(sorted(available))}."
        )
    thresholds = thresholds or {}
    return [available[n](**thresholds.get(n, {})) for n in names]


def _load_builtins() -> None:
    import evaluation.signals  # noqa: F401  (registers on import)
