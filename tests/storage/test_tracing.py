"""Stage spans over OTLP/HTTP only when an endpoint is configured."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from config.settings import Settings
from storage.tracing import StageExporter, traces_url
from storage.trulens_store import open_store


class Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self):  # the http.server API names it so
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector():
    Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_no_endpoint_means_no_exporter(tmp_settings):
    assert tmp_settings.otlp_endpoint is None
    assert StageExporter.from_settings(tmp_settings) is None


def test_traces_url():
    assert traces_url("http://c:4318") == "http://c:4318/v1/traces"
    assert traces_url("http://c:4318/custom/path") == "http://c:4318/custom/path"


def test_recorded_runs_are_exported_with_their_stages(tmp_path, collector, make_run):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'pf.db'}", otlp_endpoint=collector
    )
    store = open_store(settings)
    run = make_run()
    store.record_run(run)
    store.flush()
    store.close()

    assert Collector.received and Collector.received[0][0] == "/v1/traces"
    spans = []
    for _, body in Collector.received:
        request = ExportTraceServiceRequest.FromString(body)
        spans += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    names = [s.name for s in spans]
    assert sorted(names) == sorted(["promptforge.pipeline.run", *[s.name for s in run.stages]])
    model = next(s for s in spans if s.name == "model")
    assert model.end_time_unix_nano - model.start_time_unix_nano == 2_000_000  # the real duration
    assert all(run.input_text not in body.decode("latin-1") for _, body in Collector.received)  # no text
