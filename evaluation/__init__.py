"""Metrics: a registry of small classes, each scoring scrubbed inputs and outputs."""

from evaluation.registry import (
    Metric,
    MetricInput,
    MetricResult,
    build_metrics,
    register_metric,
    registered_metrics,
)

__all__ = ["Metric", "MetricInput", "MetricResult", "build_metrics", "register_metric", "registered_metrics"]
