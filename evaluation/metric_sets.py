"""Metric sets: which metrics (with options and thresholds) apply to a prompt.

A ``MetricSpec`` names a registered metric, optionally gives its result another
name (two regex assertions on one prompt), sets row thresholds that raise a
flag (``flag_above`` / ``flag_below``) and run gates that fail an evaluation
(``min_mean``, ``max_mean``, ``min_pass_rate``: the share of scored rows not
flagged). A ``MetricSet`` is a list of specs; it round-trips through YAML and
plain dicts (how storage keeps it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from config.errors import ConfigError

if TYPE_CHECKING:
    from evaluation.registry import Metric, MetricContext

_GATES = ("min_mean", "max_mean", "min_pass_rate")
_NUMBERS = ("flag_above", "flag_below", *_GATES)


@dataclass
class MetricSpec:
    metric: str
    name: str | None = None
    flag_above: float | None = None
    flag_below: float | None = None
    min_mean: float | None = None
    max_mean: float | None = None
    min_pass_rate: float | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def result_name(self) -> str:
        return self.name or self.metric

    @property
    def gates(self) -> dict[str, float]:
        return {g: getattr(self, g) for g in _GATES if getattr(self, g) is not None}

    def to_dict(self) -> dict[str, Any]:
        """Only what is set, so YAML stays short."""
        return {k: v for k, v in asdict(self).items() if v not in (None, {}) or k == "metric"}

    @classmethod
    def from_dict(cls, data: Any, where: str = "metric") -> MetricSpec:
        if isinstance(data, str):
            data = {"metric": data}
        if not isinstance(data, dict) or not isinstance(data.get("metric"), str) or not data["metric"].strip():
            raise ConfigError(f"{where}: each entry needs a 'metric' name.", "Write e.g. '- metric: toxicity'.")
        unknown = set(data) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ConfigError(
                f"{where} ({data['metric']}): unknown key(s) {', '.join(sorted(unknown))}.",
                f"Allowed keys: {', '.join(cls.__dataclass_fields__)}.",
            )
        values = dict(data)
        for key in _NUMBERS:
            value = values.get(key)
            if value is not None:
                try:
                    values[key] = float(value)
                except (TypeError, ValueError):
                    raise ConfigError(
                        f"{where} ({data['metric']}): {key} must be a number, not {value!r}.", "Fix the value."
                    ) from None
        if values.get("min_pass_rate") is not None and not 0.0 <= values["min_pass_rate"] <= 1.0:
            raise ConfigError(f"{where} ({data['metric']}): min_pass_rate must be between 0 and 1.", "e.g. 0.95.")
        if not isinstance(values.get("options") or {}, dict):
            raise ConfigError(f"{where} ({data['metric']}): options must be a mapping.", "Write 'options: {key: value}'.")
        values["options"] = dict(values.get("options") or {})
        return cls(**values)


@dataclass
class MetricSet:
    specs: list[MetricSpec] = field(default_factory=list)

    # -- building ---------------------------------------------------------------
    def build(self, context: MetricContext | None = None) -> list[Metric]:
        """One metric instance per spec, sharing ``context``; ``ConfigError`` names what is wrong."""
        from evaluation.registry import MetricContext, registered_metrics

        context = context or MetricContext()
        available = registered_metrics(context.settings)
        self.check_names(available)
        metrics = []
        for spec in self.specs:
            try:
                # an unset threshold keeps the metric's own default (an assertion flags a failure)
                flags = {k: getattr(spec, k) for k in ("flag_above", "flag_below") if getattr(spec, k) is not None}
                metrics.append(available[spec.metric](context, result_name=spec.name, **flags, **spec.options))
            except TypeError as exc:
                raise ConfigError(f"Metric '{spec.metric}' cannot be built: {exc}.", "Check its options.") from None
        return metrics

    def check_names(self, available: dict[str, Any]) -> None:
        unknown = sorted({s.metric for s in self.specs} - set(available))
        if unknown:
            raise ConfigError(
                f"Unknown metric(s): {', '.join(unknown)}.", f"Available metrics: {', '.join(sorted(available))}."
            )
        names = [s.result_name for s in self.specs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(
                f"The metric set names {', '.join(repeated)} more than once.",
                "Give each repeated metric its own 'name'.",
            )

    def spec(self, result_name: str) -> MetricSpec | None:
        return next((s for s in self.specs if s.result_name == result_name), None)

    def only(self, names: list[str]) -> MetricSet:
        """The specs with these result or metric names, plus a default spec for any other name."""
        chosen = [s for s in self.specs if s.result_name in names or s.metric in names]
        covered = {s.result_name for s in chosen} | {s.metric for s in chosen}
        return MetricSet(chosen + [MetricSpec(metric=n) for n in names if n not in covered])

    # -- plain data and YAML ----------------------------------------------------------
    def to_list(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.specs]

    @classmethod
    def from_list(cls, data: Any) -> MetricSet:
        if data is None:
            return cls()
        if isinstance(data, dict) and "metrics" in data:
            data = data["metrics"]
        if not isinstance(data, list):
            raise ConfigError("A metric set is a list of metrics.", "Start each entry with '- metric: NAME'.")
        return cls([MetricSpec.from_dict(item, f"entry {i + 1}") for i, item in enumerate(data)])

    def to_yaml(self, header: dict[str, Any] | None = None) -> str:
        import yaml

        return yaml.safe_dump({**(header or {}), "metrics": self.to_list()}, sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str) -> MetricSet:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" at line {where.line + 1}" if where is not None else ""
            raise ConfigError(f"The metric set is not valid YAML{line}.", "Check the indentation and colons.") from None
        return cls.from_list(data)
