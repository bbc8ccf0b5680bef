"""The API on a temporary SQLite database: a pipeline sharing the session's scrubber, accounts, a
token per scope, and the app served by uvicorn on a free port for the real OpenAI client."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import pytest

from security.identity import Role
from security.identity.principal import Principal

ADMIN = Principal("root", frozenset({Role.ADMIN}))


@dataclass
class ApiWorld:
    app: object
    settings: object
    pipeline: object
    tokens: dict[str, str]  # scope (or a name) -> token
    service: object  # TokenService

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def build_world(settings, make_pipeline) -> ApiWorld:
    from api.app import SERVICE, create_app
    from security.identity.bootstrap import account_service
    from security.identity.tokens import token_service

    accounts = account_service(settings)
    accounts.ensure_user("svc", {Role.ANALYST, Role.PRODUCT}, by="test")
    accounts.ensure_user("rita", {Role.REVIEWER}, by="test")
    service = token_service(settings)
    tokens = {scope: service.create(ADMIN, "svc", f"{scope}-token", [scope])[1] for scope in ("read", "run", "evaluate")}
    tokens["reviewer"] = service.create(ADMIN, "rita", "reviewer-token", ["evaluate"])[1]
    pipeline = make_pipeline(settings, principal=SERVICE)
    return ApiWorld(create_app(settings, pipeline=pipeline), settings, pipeline, tokens, service)


@pytest.fixture
def api(tmp_settings, make_pipeline) -> ApiWorld:
    return build_world(tmp_settings, make_pipeline)


@pytest.fixture
def client(api):
    from fastapi.testclient import TestClient

    with TestClient(api.app, raise_server_exceptions=False) as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(api):
    """(base URL of the API, the world): uvicorn serving the app in a thread."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(api.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", api
    server.should_exit = True
    thread.join(timeout=10)
