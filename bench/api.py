"""``python launch.py bench api``: governed runs through the API and the gateway, against the same
runs in-process.

On a fresh PostgreSQL database (the server of ``PROMPTFORGE_BENCH_PG``, default the test server;
SQLite when none is reachable, said so), with the offline model, ``n`` runs (default 160) of one
registered prompt with short banking questions, for 1, 8 and 32 concurrent clients:

- in-process: ``Pipeline.run`` from that many threads;
- API: ``POST /v1/runs`` to ``python launch.py api`` in its own process, one HTTP connection per
  client thread;
- gateway: ``POST /v1/chat/completions`` to the same server (model ``prompt:SLUG``).

Prints runs per second, p50 and p95 latency and the requests that did not come back 200, then
the floors: the gateway adds at most 20 ms p50 over in-process at one client, and 32 clients lose
no request. Nothing is asserted.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("PROMPTFORGE_BENCH_PG", os.environ.get("PROMPTFORGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
CLIENTS = (1, 8, 32)
SLUG = "bench-faq"
TEMPLATE = "Answer the customer in one sentence. Question: {{ question }}"
QUESTIONS = (
    "What does an international transfer of {n} EUR cost?",
    "My name is Ana Lima; why was card ending {n} declined yesterday?",
    "How long does a SEPA transfer take on a Friday evening (reference {n})?",
    "Can I raise my daily withdrawal limit to {n} EUR while travelling?",
    "Please explain the fee on statement {n} for account holder Jan Kowalski.",
)
GATEWAY_FLOOR_S = 0.020


def main(settings: Settings, n: int = 160) -> int:
    url, drop = _database(settings)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    started = datetime.now(UTC)
    print(f"api benchmark: {n} governed runs per configuration, offline model, {backend}, "
          f"{os.cpu_count()} cores, {started:%Y-%m-%d %H:%M} UTC")
    bench_settings = settings.model_copy(update={"database_url": url, "default_provider": "offline", "fallback_providers": []})
    questions = [QUESTIONS[i % len(QUESTIONS)].format(n=1000 + i) for i in range(n)]
    try:
        token, pipeline = _prepare(bench_settings)
        results: dict[tuple[str, int], dict] = {}
        template = pipeline.template(TEMPLATE)
        from execution.prompt_ref import PromptRef

        ref = PromptRef.registered(SLUG, 1)

        def in_process(question: str) -> bool:
            return pipeline.run(template, {"question": question}, prompt=ref).status == "ok"

        for _ in range(3):  # warm: models loaded, connections open
            in_process(questions[0])
        for clients in CLIENTS:
            results[("in-process", clients)] = _measure(in_process, questions, clients)
            _report("in-process Pipeline.run", clients, results[("in-process", clients)])
        server, base, start_s = _serve(bench_settings)
        print(f"  (API server up in {start_s:.1f} s)")
        try:
            import httpx

            local = threading.local()

            def client() -> httpx.Client:
                if not hasattr(local, "client"):
                    local.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)
                return local.client

            def via_runs(question: str) -> bool:
                response = client().post("/v1/runs", json={"prompt": SLUG, "variables": {"question": question}})
                return response.status_code == 200 and response.json()["status"] == "ok"

            def via_gateway(question: str) -> bool:
                response = client().post("/v1/chat/completions", json={
                    "model": f"prompt:{SLUG}", "messages": [{"role": "user", "content": question}],
                })
                return response.status_code == 200

            for name, call in (("API POST /v1/runs", via_runs), ("gateway /v1/chat/completions", via_gateway)):
                for _ in range(3):
                    call(questions[0])
                for clients in CLIENTS:
                    results[(name, clients)] = _measure(call, questions, clients)
                    _report(name, clients, results[(name, clients)])
        finally:
            server.terminate()
            server.wait(timeout=30)
        pipeline.store.close()
    finally:
        drop()
    base_p50 = results[("in-process", 1)]["p50"]
    gateway = results[("gateway /v1/chat/completions", 1)]
    added = gateway["p50"] - base_p50
    lost = results[("gateway /v1/chat/completions", 32)]["failed"] + results[("API POST /v1/runs", 32)]["failed"]
    print("\nagainst the floors:")
    print(f"  {'OK    ' if added <= GATEWAY_FLOOR_S else 'MISSED'} the gateway adds {added * 1000:.1f} ms p50 at one client "
          f"({gateway['p50'] * 1000:.1f} against {base_p50 * 1000:.1f} ms in-process) <= 20 ms")
    print(f"  {'OK    ' if lost == 0 else 'MISSED'} 32 clients lost {lost} of {2 * n} requests (API and gateway) == 0")
    return 0


def _measure(call: Callable[[str], bool], questions: list[str], clients: int) -> dict:
    latencies: list[float] = []
    failed = 0
    lock = threading.Lock()

    def one(question: str) -> None:
        nonlocal failed
        t0 = time.perf_counter()
        try:
            ok = call(question)
        except Exception:  # noqa: BLE001 - a lost request is counted, whatever lost it
            ok = False
        elapsed = time.perf_counter() - t0
        with lock:
            latencies.append(elapsed)
            failed += not ok

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, questions))
    wall = time.perf_counter() - t0
    latencies.sort()
    return {
        "rate": len(questions) / wall,
        "p50": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "failed": failed,
    }


def _report(name: str, clients: int, r: dict) -> None:
    print(f"  {name:<30} {clients:>2} client(s): {r['rate']:6.1f} runs/s   p50 {r['p50'] * 1000:7.1f} ms   "
          f"p95 {r['p95'] * 1000:7.1f} ms   not 200: {r['failed']}")


def _prepare(settings: Settings):
    """An account and a run-scoped token, the registered prompt, and the in-process pipeline."""
    from execution.pipeline import Pipeline
    from prompts.registry import PromptRegistry
    from security.identity import Role
    from security.identity.bootstrap import account_service
    from security.identity.principal import Principal
    from security.identity.tokens import token_service

    account_service(settings).ensure_user("bench", {Role.ANALYST, Role.PRODUCT}, by="system:bench")
    admin = Principal("bench-admin", frozenset({Role.ADMIN}), "system")
    _, token = token_service(settings).create(admin, "bench", "bench-api", ["run"], days=1)
    pipeline = Pipeline(settings, principal=Principal("bench", frozenset({Role.ANALYST, Role.PRODUCT}), "system"))
    PromptRegistry(pipeline.store, pipeline.principal, limits=pipeline.limits).create(SLUG, TEMPLATE, description="bench api")
    return token, pipeline


def _serve(settings: Settings) -> tuple[subprocess.Popen, str, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PROMPTFORGE_DATABASE_URL": settings.resolved_database_url,
           "PROMPTFORGE_DATA_DIR": str(settings.data_dir), "PROMPTFORGE_DEFAULT_PROVIDER": "offline"}
    env.pop("PROMPTFORGE_TOKEN", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "launch.py"), "api", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=1):
                return proc, base, time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the API server exited: " + proc.stderr.read().decode(errors="replace")[-2000:])
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the API server did not start in 180 s")


def _database(settings: Settings) -> tuple[str, Callable[[], None]]:
    """A fresh database for the run and how to drop it: PostgreSQL when reachable, else SQLite."""
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        server = make_url(PG_SERVER)
        admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
        name = f"pf_bench_api_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False), drop
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: measure on SQLite and say so
        print(f"note: PostgreSQL at {PG_SERVER} is not reachable ({type(exc).__name__}); measuring on SQLite")
        folder = Path(settings.data_dir) / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"api-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path.resolve()}", lambda: path.unlink(missing_ok=True)
