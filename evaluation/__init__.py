"""Metrics: a registry of small classes, each scoring scrubbed inputs and outputs."""

from evaluation.metric_sets import MetricSet, MetricSpec
from evaluation.registry import (
    Metric,
    MetricContext,
    MetricInput,
    MetricResult,
    build_metrics,
    metric_function,
    register_metric,
    registered_metrics,
)

__all__ = [
    "Metric",
    "MetricContext",
    "MetricInput",
    "MetricResult",
    "MetricSet",
    "MetricSpec",
    "build_metrics",
    "metric_function",
    "register_metric",
    "registered_metrics",
]
