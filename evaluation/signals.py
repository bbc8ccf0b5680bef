"""Metrics that report the governed pipeline's own measurements.

Each reads one number the pipeline measured (``MetricInput.signals``) and
reports it as a metric so it is stored, charted and thresholded like any other.
"""

from __future__ import annotations

from typing import ClassVar

from evaluation.registry import Metric, MetricInput, MetricResult, register_metric


class SignalMetric(Metric):
    """A metric whose value is ``signals[signal]``, computed upstream by the pipeline."""

    kind = "signal"
    reads = ("signals",)
    signal: ClassVar[str]

    def score(self, item: MetricInput) -> MetricResult:
        value = item.signals.get(self.signal)
        if value is None:
            return self.unavailable(f"The pipeline did not measure {self.signal} for this run.")
        return self.result(float(value))


@register_metric
class PIILeakedInOutput(SignalMetric):
    name = "pii_leaked_output"
    description = "PII entities the model produced in its answer (found, then scrubbed before storage)."
    higher_is_better = False
    value_range = (0.0, None)
    unit = "entities"
    signal = "pii_out_count"

    def __init__(self, context=None, *, flag_above: float | None = 0.0, **kwargs) -> None:
        super().__init__(context, flag_above=flag_above, **kwargs)


@register_metric
class PIIInInput(SignalMetric):
    name = "pii_in_input"
    description = "PII entities found (and scrubbed) in the rendered prompt before it was sent."
    higher_is_better = False
    value_range = (0.0, None)
    unit = "entities"
    signal = "pii_in_count"


@register_metric
class InjectionScore(SignalMetric):
    name = "injection_score"
    description = "Prompt-injection screening score of the prompt and untrusted variables (0 clean, 1 attack)."
    higher_is_better = False
    signal = "injection_score"


@register_metric
class Latency(SignalMetric):
    name = "latency_s"
    description = "Wall time of the model call in seconds (including retries and fallbacks)."
    higher_is_better = False
    value_range = (0.0, None)
    unit = "s"
    signal = "latency_s"


@register_metric
class TokenCount(SignalMetric):
    name = "total_tokens"
    description = "Input plus output tokens of the model call."
    higher_is_better = False
    value_range = (0.0, None)
    unit = "tokens"
    signal = "total_tokens"


@register_metric
class Cost(SignalMetric):
    name = "cost_usd"
    description = "Cost of the model call in US dollars (unavailable when the model has no known price)."
    higher_is_better = False
    value_range = (0.0, None)
    unit = "USD"
    signal = "cost_usd"


DEFAULT_METRICS = [
    PIILeakedInOutput.name,
    PIIInInput.name,
    InjectionScore.name,
    Latency.name,
    TokenCount.name,
    Cost.name,
]
