"""The metric registry.

A metric is a small class registered by name. It says what it reads, its range
and direction, and optional thresholds that raise a flag. Built-ins register
through the same ``register_metric`` call a user's plugin uses; plugins are
found in a configured folder of Python files and in the ``promptforge.metrics``
entry-point group (see ``evaluation.plugins``).

Metrics score a batch of ``MetricInput`` at once (``score_many``) so model-backed
metrics can batch; simple metrics implement ``score`` for one input. Heavy
things (the embedder, Detoxify, a judge model) come from the ``MetricContext``
the metrics of one run share, so each is built once and tests inject small ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from config.models import Embedder
    from config.settings import Settings
    from evaluation.judge import Judge

Reads = Literal["input", "output", "expected", "context", "signals"]
EMBEDDING_CACHE_SIZE = 20_000  # vectors a metric context keeps (384 floats each, about 30 MB)
Kind = Literal["signal", "model", "judge", "rule", "assertion", "custom"]


@dataclass(frozen=True)
class MetricInput:
    """What a metric may look at: scrubbed text only, plus the pipeline's signals."""

    input: str
    output: str | None
    expected: str | None = None
    context: str | None = None
    # numbers the pipeline measured: latency_s, total_tokens, cost_usd,
    # injection_score, pii_in_count, pii_out_count
    signals: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricResult:
    name: str
    value: float | None
    higher_is_better: bool
    status: Literal["ok", "unavailable", "error"] = "ok"
    explanation: str = ""
    flagged: bool = False
    # a score from the offline judge: shown as simulated, never as a real score
    simulated: bool = False
    # what judging this result cost (judge metrics only)
    cost_usd: float | None = None
    latency_s: float | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "value": self.value,
            "higher_is_better": self.higher_is_better,
            "status": self.status,
            "explanation": self.explanation,
            "flagged": self.flagged,
            "simulated": self.simulated,
            "cost_usd": self.cost_usd,
            "latency_s": self.latency_s,
        }


def crosses(value: float | None, flag_above: float | None, flag_below: float | None) -> bool:
    """Whether a score is beyond its thresholds (what raises a flag)."""
    return value is not None and (
        (flag_above is not None and value > flag_above) or (flag_below is not None and value < flag_below)
    )


class MetricContext:
    """The heavy things the metrics of one run share, each built on first use.

    ``embedder`` and ``judge`` may be injected (tests pass small ones); otherwise
    the embedder is the bundled all-MiniLM-L6-v2 from ``config.models`` and there
    is no judge (judge metrics then report "unavailable").
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        judge: Judge | None = None,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self.judge = judge
        self._lock = threading.Lock()
        self._cache: dict[str, Any] = {}

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from config.settings import get_settings

            self._settings = get_settings()
        return self._settings

    def embedder(self) -> Embedder:
        """The sentence embedder (raises ``ConfigError`` with the fix when it is missing)."""
        if self._embedder is None:
            from config.models import sentence_embedder

            self._embedder = sentence_embedder(self.settings)
        return self._embedder

    def embed(self, texts: list[str]):
        """Unit-length embeddings of ``texts`` (float32 rows), each distinct text encoded once
        per context: the metrics of one run that read the same output (similarity to the
        expected answer, relevance to the prompt) share its vector."""
        import numpy as np

        with self._lock:
            cache = self._cache.setdefault("embeddings", {})
            missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            vectors = self.embedder().encode(missing)  # outside our lock: the embedder has its own
            with self._lock:
                for text, vector in zip(missing, vectors):
                    cache[text] = vector
                while len(cache) > EMBEDDING_CACHE_SIZE:  # oldest first
                    cache.pop(next(iter(cache)))
        with self._lock:
            found = [cache.get(t) for t in texts]
        if any(v is None for v in found):  # evicted meanwhile by another thread: encode those again
            again = self.embedder().encode([t for t, v in zip(texts, found) if v is None])
            it = iter(again)
            found = [v if v is not None else next(it) for v in found]
        return np.stack(found) if found else np.zeros((0, 384), dtype=np.float32)

    def shared(self, key: str, build):
        """A value built once per context by ``build()`` (e.g. a loaded model)."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]


class Metric:
    """Base class. Subclasses set the class attributes and implement ``score``
    (or ``score_many`` to batch).

    ``name`` names the result; a metric set may give one instance another name
    (two regex assertions, say) through ``result_name``. Subclasses that take
    options accept them as keyword arguments of ``__init__`` and must reject
    what they do not understand (``options_error``).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    reads: ClassVar[tuple[Reads, ...]]
    higher_is_better: ClassVar[bool]
    value_range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)
    unit: ClassVar[str] = ""
    kind: ClassVar[Kind] = "custom"
    # option name -> one line on what it does (shown in the metric-set editor)
    option_help: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        context: MetricContext | None = None,
        *,
        flag_above: float | None = None,
        flag_below: float | None = None,
        result_name: str | None = None,
        **options: Any,
    ) -> None:
        if options:
            raise self.options_error(options)
        self.context = context or MetricContext()
        self.flag_above = flag_above
        self.flag_below = flag_below
        self.result_name = result_name or self.name

    def score(self, item: MetricInput) -> MetricResult:
        raise NotImplementedError

    def score_many(self, items: list[MetricInput]) -> list[MetricResult]:
        ok, why = self.availability()
        if not ok:
            return [self.unavailable(why) for _ in items]
        return [self._safe_score(item) for item in items]

    def availability(self) -> tuple[bool, str]:
        """Whether the metric can compute now, and if not, why and how to fix it."""
        return True, ""

    # helpers for subclasses -------------------------------------------------
    def is_flagged(self, value: float | None) -> bool:
        return crosses(value, self.flag_above, self.flag_below)

    def result(self, value: float | None, explanation: str = "", **extra: Any) -> MetricResult:
        return MetricResult(
            self.result_name, value, self.higher_is_better, "ok", explanation, self.is_flagged(value), **extra
        )

    def unavailable(self, reason: str) -> MetricResult:
        return MetricResult(self.result_name, None, self.higher_is_better, "unavailable", reason)

    def failed(self, exc: BaseException) -> MetricResult:
        return MetricResult(self.result_name, None, self.higher_is_better, "error", f"{type(exc).__name__}: {exc}")

    def config_error(self, message: str, hint: str):
        """A ``ConfigError`` about this metric's configuration, naming it (and its result name)."""
        from config.errors import ConfigError

        label = f"'{self.name}'" + (f" ('{self.result_name}')" if self.result_name != self.name else "")
        return ConfigError(f"Metric {label}: {message}", hint)

    def options_error(self, options: dict[str, Any]):
        from config.errors import ConfigError

        known = ", ".join(sorted(self.option_help)) or "none"
        return ConfigError(
            f"Metric '{self.name}' does not take the option(s) {', '.join(sorted(options))}.",
            f"Its options: {known}.",
        )

    def _safe_score(self, item: MetricInput) -> MetricResult:
        try:
            return self.score(item)
        except Exception as exc:  # noqa: BLE001 - one metric failing never sinks a run
            return self.failed(exc)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """What the UI and the CLI show about this metric."""
        return {
            "name": cls.name,
            "description": cls.description,
            "kind": cls.kind,
            "reads": list(cls.reads),
            "range": _range_text(cls.value_range),
            "higher_is_better": cls.higher_is_better,
            "unit": cls.unit,
            "options": dict(cls.option_help),
            "source": cls.__module__,
        }


def _range_text(value_range: tuple[float | None, float | None]) -> str:
    low, high = value_range
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    if low is not None:
        return f"{low:g} or more"
    return "any number" if high is None else f"up to {high:g}"


_REGISTRY: dict[str, type[Metric]] = {}
_REGISTRY_LOCK = threading.Lock()


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Register a metric class by its ``name`` (usable as a decorator).

    Registering a second class under a taken name is an error, unless it is the
    same class (a module imported twice)."""
    name = getattr(cls, "name", None)
    if not name or not isinstance(name, str):
        raise ValueError(f"{cls.__name__} has no name")
    for attr in ("description", "reads", "higher_is_better"):
        if not hasattr(cls, attr):
            raise ValueError(f"metric {name!r} ({cls.__name__}) does not set {attr}")
    with _REGISTRY_LOCK:
        taken = _REGISTRY.get(name)
        if taken is not None and f"{taken.__module__}.{taken.__qualname__}" != f"{cls.__module__}.{cls.__qualname__}":
            raise ValueError(f"metric name {name!r} is taken by {taken.__module__}.{taken.__qualname__}")
        _REGISTRY[name] = cls
    return cls


def metric_function(
    name: str,
    *,
    description: str,
    reads: tuple[Reads, ...] = ("output",),
    higher_is_better: bool = True,
    value_range: tuple[float | None, float | None] = (0.0, 1.0),
    unit: str = "",
):
    """Register a plain function as a metric (usable as a decorator).

    The function takes a ``MetricInput`` and returns a number, or a pair
    ``(number, explanation)``; ``None`` means "not applicable to this row"
    (reported as unavailable)::

        @metric_function("mentions_fee", description="1 if the answer mentions a fee")
        def mentions_fee(item):
            return float("fee" in (item.output or "").lower())
    """

    def wrap(fn):
        def score(self: Metric, item: MetricInput) -> MetricResult:
            value = fn(item)
            explanation = ""
            if isinstance(value, tuple):
                value, explanation = value
            if value is None:
                return self.unavailable(explanation or f"{name} does not apply to this row.")
            return self.result(float(value), str(explanation))

        cls = type(
            f"FunctionMetric_{name}",
            (Metric,),
            {
                "name": name,
                "description": description,
                "reads": tuple(reads),
                "higher_is_better": higher_is_better,
                "value_range": value_range,
                "unit": unit,
                "score": score,
                "__module__": fn.__module__,
                "__qualname__": f"FunctionMetric_{name}",
            },
        )
        register_metric(cls)
        fn.metric_class = cls
        return fn

    return wrap


def unregister_metric(name: str) -> None:
    """Forget a metric (tests, and reloading a plugin folder)."""
    with _REGISTRY_LOCK:
        _REGISTRY.pop(name, None)


def registered_metrics(settings: Settings | None = None) -> dict[str, type[Metric]]:
    """Every metric: built-ins, then plugins (folder and entry points) for ``settings``."""
    _load_builtins()
    from evaluation.plugins import load_plugins

    load_plugins(settings)
    with _REGISTRY_LOCK:
        return dict(_REGISTRY)


def metric_class(name: str) -> type[Metric] | None:
    """The registered metric called ``name`` (built-ins, and plugins loaded so far), or None."""
    _load_builtins()
    with _REGISTRY_LOCK:
        return _REGISTRY.get(name)


def build_metrics(
    names: list[str],
    thresholds: dict[str, dict[str, float]] | None = None,
    context: MetricContext | None = None,
) -> list[Metric]:
    """Instantiate metrics by name with optional ``{"name": {"flag_above": x}}`` thresholds."""
    from evaluation.metric_sets import MetricSet, MetricSpec

    thresholds = thresholds or {}
    specs = [MetricSpec(metric=n, **thresholds.get(n, {})) for n in names]
    return MetricSet(specs=specs).build(context)


def _load_builtins() -> None:
    import evaluation.builtins  # noqa: F401  (registers on import)
