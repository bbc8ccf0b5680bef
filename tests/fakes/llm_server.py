"""A scriptable local LLM server speaking just enough of two wire protocols.

- OpenAI Chat Completions: ``POST /v1/chat/completions`` (non-streaming)
- Anthropic Messages: ``POST /v1/messages``

The real SDK and LangChain client code talk to it over HTTP on 127.0.0.1, so
tests exercise timeouts, status codes, headers and usage parsing for real.

Script it with :meth:`FakeLLMServer.enqueue` (one scripted response per request,
first in first out); when the queue is empty it answers with ``default_text``
(a string, or a callable taking the :class:`RecordedRequest`). Every request
is appended to ``requests``.

    with FakeLLMServer() as server:
        server.enqueue(status=429, headers={"retry-after": "0"})
        server.enqueue(text="hi", usage={"input_tokens": 3, "output_tokens": 1})
        ChatOpenAI(base_url=server.openai_base_url, api_key="k", model="m").invoke("x")
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import pytest

_DEFAULT = object()  # sentinel: "compute a plausible usage block"

_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_denied",
    404: "not_found",
    429: "rate_limit_exceeded",
}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass
class RecordedRequest:
    """One request as the server received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    protocol: str  # "openai" | "anthropic" | "unknown"

    @property
    def prompt_text(self) -> str:
        """All message text of the request, joined by newlines (system first)."""
        parts: list[str] = []
        if not isinstance(self.body, dict):
            return ""
        system = self.body.get("system")
        parts.extend(_texts(system))
        for message in self.body.get("messages", []):
            parts.extend(_texts(message.get("content")))
        return "\n".join(parts)


@dataclass
class ScriptedResponse:
    """What to answer to one request."""

    status: int = 200
    text: str | None = None
    usage: Any = _DEFAULT  # dict(input_tokens=, output_tokens=), None to omit, _DEFAULT to compute
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    body: Any = None  # a raw JSON body, sent as is (overrides text/usage)


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [block.get("text", "") for block in content if isinstance(block, dict)]
    return []


def _protocol(path: str) -> str:
    if path.rstrip("/").endswith("/chat/completions"):
        return "openai"
    if path.rstrip("/").endswith("/messages"):
        return "anthropic"
    return "unknown"


def _openai_body(request: RecordedRequest, text: str, usage: dict | None) -> dict:
    body: dict[str, Any] = {
        "id": f"chatcmpl-fake-{len(text)}",
        "object": "chat.completion",
        "created": 0,
        "model": request.body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
    }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["input_tokens"] + usage["output_tokens"],
        }
    return body


def _anthropic_body(request: RecordedRequest, text: str, usage: dict | None) -> dict:
    body: dict[str, Any] = {
        "id": f"msg_fake_{len(text)}",
        "type": "message",
        "role": "assistant",
        "model": request.body.get("model", "fake"),
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }
    # the real Messages API always sends usage; usage=None leaves it out to test fallbacks
    if usage is not None:
        body["usage"] = {"input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"]}
    return body


def _error_body(protocol: str, status: int) -> dict:
    message = f"fake server scripted HTTP {status}"
    if protocol == "anthropic":
        kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind = _OPENAI_ERROR_TYPES.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class FakeLLMServer:
    """A threaded HTTP server on 127.0.0.1 (free port) with a response script."""

    def __init__(self, default_text: str | Callable[[RecordedRequest], str] = "fake answer") -> None:
        self.default_text = default_text
        self.requests: list[RecordedRequest] = []
        self._queue: deque[ScriptedResponse] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-llm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # wakes handlers sleeping in a scripted delay
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """Root URL (what the Anthropic SDK takes as ``base_url``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """Root URL plus ``/v1`` (what OpenAI-style clients take as ``base_url``)."""
        return f"{self.base_url}/v1"

    # -- scripting ---------------------------------------------------------
    def enqueue(
        self,
        *,
        status: int = 200,
        text: str | None = None,
        usage: Any = _DEFAULT,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
        body: Any = None,
    ) -> None:
        """Script the answer to the next unanswered request."""
        scripted = ScriptedResponse(status, text, usage, dict(headers or {}), delay_s, body)
        with self._lock:
            self._queue.append(scripted)

    def requests_to(self, protocol: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.protocol == protocol]

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    # -- request handling --------------------------------------------------
    def _next(self, request: RecordedRequest) -> ScriptedResponse:
        with self._lock:
            self.requests.append(request)
            return self._queue.popleft() if self._queue else ScriptedResponse()

    def _respond(self, request: RecordedRequest) -> tuple[ScriptedResponse, dict]:
        scripted = self._next(request)
        if scripted.delay_s:
            self._closing.wait(scripted.delay_s)
        if scripted.body is not None:
            return scripted, scripted.body
        if request.protocol == "unknown":
            return ScriptedResponse(status=404), {"error": {"message": f"no route {request.path}"}}
        if isinstance(request.body, dict) and request.body.get("stream"):
            return ScriptedResponse(status=400), _error_body(request.protocol, 400)
        if scripted.status >= 400:
            return scripted, _error_body(request.protocol, scripted.status)
        text = scripted.text
        if text is None:
            text = self.default_text(request) if callable(self.default_text) else self.default_text
        usage = scripted.usage
        if usage is _DEFAULT:
            usage = {"input_tokens": len(request.prompt_text.split()), "output_tokens": len(text.split())}
        render = _anthropic_body if request.protocol == "anthropic" else _openai_body
        return scripted, render(request, text, usage)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                request = RecordedRequest(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    protocol=_protocol(self.path),
                )
                scripted, payload = server._respond(request)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(scripted.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in scripted.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (e.g. its timeout fired first)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler


@pytest.fixture
def llm_server() -> Iterator[FakeLLMServer]:
    """A started :class:`FakeLLMServer`, stopped after the test."""
    with FakeLLMServer() as server:
        yield server
