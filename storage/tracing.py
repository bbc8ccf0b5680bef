"""Pipeline stage spans over OTLP/HTTP, for an observability stack beyond TruLens.

Only when ``settings.otlp_endpoint`` is set: ``StageExporter.from_settings``
returns None otherwise, and nothing touches the network. It uses its own
``TracerProvider`` (TruLens owns the global one) and exports metadata only:
names, timings, ids, status, model, tokens, cost — never prompt or output text.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlparse

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from config.settings import Settings
from storage.records import RunRecord
from storage.trulens_events import PF, ROOT_SPAN_NAME, SERVICE_NAME

TRACES_PATH = "/v1/traces"


def traces_url(endpoint: str) -> str:
    """A collector base URL (``http://host:4318``) gets the OTLP/HTTP traces path."""
    return endpoint.rstrip("/") + TRACES_PATH if urlparse(endpoint).path in ("", "/") else endpoint


class StageExporter:
    """Turns recorded runs into OTel spans with their real start and end times."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
        self._provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=65536))
        self._tracer = self._provider.get_tracer("promptforge.storage")

    @classmethod
    def from_settings(cls, settings: Settings) -> StageExporter | None:
        """An OTLP/HTTP exporter to ``settings.otlp_endpoint``, or None when unset."""
        if not settings.otlp_endpoint:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return cls(OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint)))

    def export(self, runs: Iterable[RunRecord]) -> None:
        for run in runs:
            root = self._tracer.start_span(
                ROOT_SPAN_NAME,
                start_time=run.started_at_ns,
                attributes={
                    f"{PF}.run_id": run.run_id,
                    f"{PF}.app_name": run.app_name,
                    f"{PF}.app_version": run.app_version,
                    f"{PF}.status": run.status,
                    f"{PF}.provider": run.provider,
                    f"{PF}.model": run.model,
                    f"{PF}.simulated": run.simulated,
                    f"{PF}.input_tokens": run.input_tokens,
                    f"{PF}.output_tokens": run.output_tokens,
                    f"{PF}.cost_usd": run.cost_usd if run.cost_usd is not None else -1.0,
                },
            )
            if run.status == "error":
                root.set_status(trace.StatusCode.ERROR)
            context = trace.set_span_in_context(root)
            for stage in run.stages:
                span = self._tracer.start_span(
                    stage.name,
                    context=context,
                    start_time=stage.start_ns,
                    attributes={f"{PF}.run_id": run.run_id, **stage.attributes},
                )
                span.end(end_time=stage.end_ns)
            root.end(end_time=run.ended_at_ns)

    def flush(self, timeout_millis: int = 30_000) -> bool:
        return self._provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._provider.shutdown()
