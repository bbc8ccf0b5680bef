"""What the governed pipeline hands to storage: one finished, already-scrubbed run.

Storage never receives raw text: every string here has been through the PII
scrubber. ``validate_run`` checks the shape cheaply on the caller's thread so a
malformed run fails where it was made, not later in the background writer.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

RUN_STATUSES = ("ok", "blocked", "error")
METRIC_STATUSES = ("ok", "unavailable", "error")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")

AttributeValue = str | int | float | bool


@dataclass
class StageTiming:
    """One pipeline stage with its real start and end (``time.time_ns()``).

    ``attributes`` land on the stage's span. The key ``span_type`` picks the
    TruLens span type (``generation``, ``guardrail``, ...; default
    ``workflow_step``).
    """

    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, AttributeValue] = field(default_factory=dict)


@dataclass
class MetricValue:
    """One metric result; ``value`` is None unless ``status == "ok"``."""

    name: str
    value: float | None
    higher_is_better: bool
    status: str = "ok"  # ok | unavailable | error
    explanation: str = ""


@dataclass
class RunRecord:
    """A finished run, scrubbed, with timings, metrics and policy decisions."""

    run_id: str  # uuid4 hex; becomes the TruLens record_id
    app_name: str  # prompt slug, "adhoc" for ad-hoc templates
    app_version: str  # "v3", or "sha-<12 hex>" for ad-hoc templates
    input_text: str  # scrubbed rendered prompt
    output_text: str | None  # scrubbed model output; None when blocked / failed
    status: str  # ok | blocked | error
    error: str | None
    provider: str
    model: str
    simulated: bool
    latency_s: float
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    started_at_ns: int
    ended_at_ns: int
    stages: list[StageTiming]
    metrics: list[MetricValue]
    decisions: dict  # {"pii_in": {...}, "pii_out": {...}, "injection": {...}}
    variables: dict[str, str]  # scrubbed variable values
    actor: str
    batch_id: str | None = None
    dataset_row: int | None = None


def validate_run(run: RunRecord) -> None:
    """Raise ``ValueError`` (``TypeError`` for a non-run) naming the first malformed field."""
    if not isinstance(run, RunRecord):
        raise TypeError(f"expected a RunRecord, got {type(run).__name__}")
    if not _RUN_ID.match(run.run_id or ""):
        raise ValueError("run_id must be 32 lowercase hex characters (uuid4().hex)")
    if not run.app_name or not run.app_version:
        raise ValueError("app_name and app_version must be non-empty")
    if run.status not in RUN_STATUSES:
        raise ValueError(f"status must be one of {RUN_STATUSES}, got {run.status!r}")
    if run.ended_at_ns < run.started_at_ns:
        raise ValueError("ended_at_ns is before started_at_ns")
    for stage in run.stages:
        if stage.end_ns < stage.start_ns:
            raise ValueError(f"stage {stage.name!r} ends before it starts")
    for name in ("latency_s", "cost_usd"):
        value = getattr(run, name)
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number")
    if "\x00" in run.input_text or "\x00" in (run.output_text or ""):
        raise ValueError("input_text and output_text must not contain NUL characters")
    names = [m.name for m in run.metrics]
    if len(set(names)) != len(names):
        raise ValueError("metric names must be unique within a run")
    for metric in run.metrics:
        validate_metric(metric)
    try:
        json.dumps(run.decisions, allow_nan=False)
        json.dumps(run.variables, allow_nan=False)
        json.dumps([stage.attributes for stage in run.stages], allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"decisions, variables and stage attributes must be JSON-safe: {exc}") from None


def validate_metric(metric: MetricValue) -> None:
    """Raise ``ValueError`` if a metric's status or value is malformed."""
    if metric.status not in METRIC_STATUSES:
        raise ValueError(f"metric {metric.name!r}: status must be one of {METRIC_STATUSES}")
    if metric.status == "ok" and (metric.value is None or not math.isfinite(metric.value)):
        raise ValueError(f"metric {metric.name!r}: status ok needs a finite value")
