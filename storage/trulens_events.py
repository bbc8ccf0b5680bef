"""A run as rows of TruLens's ``trulens_events`` table (OpenTelemetry mode).

The rows are what TruLens's own span exporter would write for an instrumented
app call, built directly so spans carry the pipeline's real start/end times and
the run id as the record id:

- one RECORD_ROOT span (main input/output, cost, tokens, variables as call kwargs),
- one child span per pipeline stage (``workflow_step`` unless the stage says
  otherwise; ``generation`` stages get the GenAI model/token attributes),
- per metric, an EVAL_ROOT span (plus an EVAL child when there is an
  explanation), as ``TruSession.add_feedback_result`` records a score.

Span ids are derived from the run id, so writing the same run twice collides
on the primary key instead of duplicating it.

Besides TruLens's semantic keys, the rows carry what PromptForge's projection
(``pf_runs`` and the tables beside it) needs to be rebuilt from them alone
(``storage.reindex``): the root holds every ``pf_runs`` field under ``promptforge.*``, the
run's exact start and end in nanoseconds (TruLens's timestamps are naive local time), its
unavailable metric results (they have no EVAL span) and the span ids of the rows written
with it, in order (``pf_runs.event_ids`` after the root's own); every other row holds
``promptforge.seq``, its place among the rows written with it, and an EVAL_ROOT
``promptforge.recorded_at_ns``, when its result was given.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from trulens.core.schema.app import AppDefinition
from trulens.core.schema.event import EventRecordType
from trulens.otel.semconv.trace import GenAIAttributes, ResourceAttributes, SpanAttributes

from storage.records import MetricValue, RunRecord

SpanType = SpanAttributes.SpanType
ROOT_SPAN_NAME = "promptforge.pipeline.run"
SERVICE_NAME = "promptforge"
PF = "promptforge"  # prefix of our own span attributes
SEQ = f"{PF}.seq"  # a row's place among the rows written with it (the root is 0)
RECORDED_AT_NS = f"{PF}.recorded_at_ns"  # when an EVAL_ROOT's result was given, ns since the epoch
STARTED_AT_NS, ENDED_AT_NS = f"{PF}.started_at_ns", f"{PF}.ended_at_ns"  # a run's exact times
UNAVAILABLE_METRICS = f"{PF}.unavailable_metrics"  # JSON [{name, higher_is_better, explanation}]
SPAN_IDS = f"{PF}.span_ids"  # on the root: the ids of the other rows written with the run, in order
_KIND_INTERNAL, _KIND_CLIENT = 1, 3  # protobuf SpanKind values, as TruLens stores them
_SPAN_TYPES = {t.value for t in SpanType}
# span types a stage may not claim: they mean "record" or "evaluation" to TruLens
_RESERVED_TYPES = {
    t.value
    for t in (
        SpanType.RECORD_ROOT,
        SpanType.NESTED_RECORD_ROOT,
        SpanType.EVAL_ROOT,
        SpanType.EVAL,
        SpanType.EVAL_DECISION,
    )
}


@lru_cache(maxsize=4096)
def app_id_for(app_name: str, app_version: str) -> str:
    """TruLens's deterministic app id for a name and version."""
    return AppDefinition._compute_app_id(app_name, app_version)


def span_id(run_id: str, key: str) -> int:
    """A stable, non-zero 64-bit span id for ``key`` within a run."""
    digest = hashlib.blake2b(f"{run_id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") or 1


def to_datetime(ns: int) -> datetime:
    """Nanoseconds since the epoch as TruLens stores them (naive local time)."""
    return datetime.fromtimestamp(ns / 1e9)


def run_events(run: RunRecord) -> list[dict[str, Any]]:
    """The rows for a run's trace and its metric results; the root row comes first."""
    common = _common_attributes(run.run_id, run.app_name, run.app_version)
    resource = _resource(run.app_name, run.app_version)
    trace_id = int(run.run_id, 16)
    root_id = span_id(run.run_id, "root")
    rows = [
        _row(
            name=ROOT_SPAN_NAME,
            span=root_id,
            parent=0,
            trace_id=trace_id,
            start_ns=run.started_at_ns,
            end_ns=run.ended_at_ns,
            attributes={**common, **_root_attributes(run)},
            resource=resource,
            error=run.status == "error",
        )
    ]
    for index, stage in enumerate(run.stages):
        span_type = _stage_span_type(stage.attributes)
        attributes = {**common, SpanAttributes.SPAN_TYPE: span_type, SpanAttributes.CALL.FUNCTION: stage.name}
        attributes.update(
            (k, v)
            for k, v in stage.attributes.items()
            if k != "span_type" and not k.startswith(SpanAttributes.COST.base)
        )
        if span_type == SpanType.GENERATION.value:
            attributes.update(_genai_attributes(run))
        attributes[SEQ] = len(rows)
        rows.append(
            _row(
                name=stage.name,
                span=span_id(run.run_id, f"stage:{index}:{stage.name}"),
                parent=root_id,
                trace_id=trace_id,
                start_ns=stage.start_ns,
                end_ns=stage.end_ns,
                attributes=attributes,
                resource=resource,
                kind=_KIND_CLIENT if span_type == SpanType.GENERATION.value else _KIND_INTERNAL,
            )
        )
    for metric in run.metrics:
        rows.extend(
            metric_events(
                run.run_id,
                run.app_name,
                run.app_version,
                metric,
                run.ended_at_ns,
                f"metric:{metric.name}",
                seq=len(rows),
            )
        )
    rows[0]["record_attributes"][SPAN_IDS] = [row["event_id"] for row in rows[1:]]
    return rows


def metric_events(
    record_id: str,
    app_name: str,
    app_version: str,
    metric: MetricValue,
    at_ns: int,
    key: str,
    *,
    seq: int = 0,
) -> list[dict[str, Any]]:
    """EVAL_ROOT (+ EVAL child) rows for one metric result; none when unavailable.

    ``seq``: the EVAL_ROOT's place among the rows written with it (the child's is the next);
    of two results of one name given at the same time, the one with the higher ``seq`` stands."""
    if metric.status == "unavailable":
        return []
    common = _common_attributes(record_id, app_name, app_version)
    resource = _resource(app_name, app_version)
    trace_id = span_id(record_id, f"{key}:trace") << 64 | span_id(record_id, f"{key}:trace2")
    root_id = span_id(record_id, key)
    eval_common = {
        **common,
        SpanAttributes.EVAL.TARGET_RECORD_ID: record_id,
        SpanAttributes.EVAL.METRIC_NAME: metric.name,
        SpanAttributes.EVAL.EVAL_ROOT_ID: str(root_id),
    }
    root = {
        **eval_common,
        SpanAttributes.SPAN_TYPE: SpanType.EVAL_ROOT.value,
        SpanAttributes.EVAL_ROOT.METRIC_NAME: metric.name,
        SpanAttributes.EVAL_ROOT.HIGHER_IS_BETTER: metric.higher_is_better,
        RECORDED_AT_NS: at_ns,
        SEQ: seq,
    }
    if metric.status == "ok":
        root[SpanAttributes.EVAL_ROOT.SCORE] = float(metric.value)
    else:
        root[SpanAttributes.EVAL_ROOT.ERROR] = metric.explanation or "metric failed"
    if metric.explanation:
        root[SpanAttributes.EVAL_ROOT.EXPLANATION] = metric.explanation
    rows = [
        _row(
            name="eval_root",
            span=root_id,
            parent=0,
            trace_id=trace_id,
            start_ns=at_ns,
            end_ns=at_ns,
            attributes=root,
            resource=resource,
            error=metric.status == "error",
        )
    ]
    if metric.status == "ok" and metric.explanation:  # the dashboard shows explanations from EVAL spans
        child = {
            **eval_common,
            SpanAttributes.SPAN_TYPE: SpanType.EVAL.value,
            SpanAttributes.EVAL.SCORE: float(metric.value),
            SpanAttributes.EVAL.EXPLANATION: metric.explanation,
            SEQ: seq + 1,
        }
        rows.append(
            _row(
                name="eval-0",
                span=span_id(record_id, f"{key}:eval"),
                parent=root_id,
                trace_id=trace_id,
                start_ns=at_ns,
                end_ns=at_ns,
                attributes=child,
                resource=resource,
            )
        )
    return rows


def _common_attributes(record_id: str, app_name: str, app_version: str) -> dict[str, Any]:
    return {
        SpanAttributes.RECORD_ID: record_id,
        ResourceAttributes.APP_NAME: app_name,
        ResourceAttributes.APP_VERSION: app_version,
        ResourceAttributes.APP_ID: app_id_for(app_name, app_version),
        SpanAttributes.RUN_NAME: "",
        SpanAttributes.INPUT_ID: "",
    }


def _resource(app_name: str, app_version: str) -> dict[str, Any]:
    return {
        "service.name": SERVICE_NAME,
        ResourceAttributes.APP_NAME: app_name,
        ResourceAttributes.APP_VERSION: app_version,
        ResourceAttributes.APP_ID: app_id_for(app_name, app_version),
    }


def _root_attributes(run: RunRecord) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        SpanAttributes.SPAN_TYPE: SpanType.RECORD_ROOT.value,
        SpanAttributes.CALL.FUNCTION: ROOT_SPAN_NAME,
        SpanAttributes.RECORD_ROOT.INPUT: run.input_text,
        SpanAttributes.COST.MODEL: run.model,
        SpanAttributes.COST.CURRENCY: "USD",
        SpanAttributes.COST.NUM_PROMPT_TOKENS: run.input_tokens,
        SpanAttributes.COST.NUM_COMPLETION_TOKENS: run.output_tokens,
        SpanAttributes.COST.NUM_TOKENS: run.input_tokens + run.output_tokens,
        f"{PF}.status": run.status,
        f"{PF}.provider": run.provider,
        f"{PF}.model": run.model,
        f"{PF}.simulated": run.simulated,
        f"{PF}.latency_s": run.latency_s,
        f"{PF}.actor": run.actor,
        f"{PF}.decisions": json.dumps(run.decisions, sort_keys=True),
        STARTED_AT_NS: run.started_at_ns,
        ENDED_AT_NS: run.ended_at_ns,
    }
    unavailable = [
        {"name": m.name, "higher_is_better": bool(m.higher_is_better), "explanation": m.explanation or ""}
        for m in run.metrics
        if m.status == "unavailable"
    ]
    if unavailable:  # they have no EVAL span; listed so a rebuilt projection keeps them
        attributes[UNAVAILABLE_METRICS] = json.dumps(unavailable)
    if run.output_text is not None:
        attributes[SpanAttributes.RECORD_ROOT.OUTPUT] = run.output_text
    if run.error:
        attributes[SpanAttributes.RECORD_ROOT.ERROR] = run.error
    if run.cost_usd is not None:
        attributes[SpanAttributes.COST.COST] = float(run.cost_usd)
    if run.batch_id is not None:
        attributes[f"{PF}.batch_id"] = run.batch_id
    if run.dataset_row is not None:
        attributes[f"{PF}.dataset_row"] = run.dataset_row
    for name, value in run.variables.items():
        attributes[f"{SpanAttributes.CALL.KWARGS}.{name}"] = value
    return attributes


def _genai_attributes(run: RunRecord) -> dict[str, Any]:
    return {
        GenAIAttributes.REQUEST.MODEL: run.model,
        GenAIAttributes.SYSTEM.NAME: run.provider,
        GenAIAttributes.USAGE.INPUT_TOKENS: run.input_tokens,
        GenAIAttributes.USAGE.OUTPUT_TOKENS: run.output_tokens,
    }


def _stage_span_type(attributes: dict[str, Any]) -> str:
    wanted = str(attributes.get("span_type", SpanType.WORKFLOW_STEP.value))
    if wanted not in _SPAN_TYPES or wanted in _RESERVED_TYPES:
        return SpanType.WORKFLOW_STEP.value
    return wanted


def _row(
    *,
    name: str,
    span: int,
    parent: int,
    trace_id: int,
    start_ns: int,
    end_ns: int,
    attributes: dict[str, Any],
    resource: dict[str, Any],
    kind: int = _KIND_INTERNAL,
    error: bool = False,
) -> dict[str, Any]:
    parent_text = str(parent) if parent else ""
    return {
        "event_id": str(span),
        "record": {
            "name": name,
            "kind": kind,
            "parent_span_id": parent_text,
            "status": "STATUS_CODE_ERROR" if error else "STATUS_CODE_UNSET",
        },
        "record_attributes": attributes,
        "record_type": EventRecordType.SPAN,
        "resource_attributes": resource,
        "start_timestamp": to_datetime(start_ns),
        "timestamp": to_datetime(end_ns),
        "trace": {"span_id": str(span), "trace_id": str(trace_id), "parent_id": parent_text},
    }
