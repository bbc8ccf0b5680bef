"""Several processes, one PostgreSQL database: an evaluation started by ``launch.py eval`` and
killed mid-run is resumed by ``launch.py api`` in another process; every dataset row is recorded
exactly once and the audit chain still verifies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from storage import schema
from tests.api.conftest import ADMIN
from tests.conftest import ANALYST

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
ROWS = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _records(engine: sa.Engine, run_id: str) -> list[tuple]:
    r = schema.runs.c
    with engine.connect() as conn:
        return list(conn.execute(sa.select(r.record_id, r.dataset_row).where(r.batch_id == run_id)))


def test_a_run_killed_in_one_process_is_resumed_by_the_api_in_another(fresh_pg_url, tmp_path, make_pipeline, llm_server):
    pg_url = fresh_pg_url  # a database of its own: the session's is exported by other tests
    from config.settings import Settings
    from execution.evaluate import Evaluator
    from prompts.registry import PromptRegistry
    from security.identity import Role
    from security.identity.bootstrap import account_service
    from security.identity.tokens import token_service
    from storage.audit import AuditLog
    from storage.datasets import DatasetStore

    settings = Settings(data_dir=tmp_path, database_url=pg_url)
    pipeline = make_pipeline(settings)
    slug, dataset = f"resume-{uuid.uuid4().hex[:6]}", f"rows-{uuid.uuid4().hex[:6]}"
    PromptRegistry(pipeline.store, ANALYST).create(slug, "Answer in one sentence: {{ question }}")
    DatasetStore(pipeline.store).save_dataset(dataset, [{"question": f"What is the fee for transfer {i}?"} for i in range(ROWS)])
    account_service(settings).ensure_user("evaluator", {Role.ANALYST}, by="test")
    _, token = token_service(settings).create(ADMIN, "evaluator", "resumer", ["evaluate"])
    for _ in range(ROWS):
        llm_server.enqueue(text="Task: answered.", delay_s=0.02)
    env = {
        **os.environ, "PROMPTFORGE_DATABASE_URL": pg_url, "PROMPTFORGE_DATA_DIR": str(tmp_path),
        "PROMPTFORGE_PII_WORKERS": "0", "PROMPTFORGE_BATCH_CONCURRENCY": "2", "PROMPTFORGE_CLI_ACCOUNT": "evaluator",
    }
    provider = f"compat:m@{llm_server.openai_base_url}"
    evaluator = Evaluator(pipeline)
    engine = pipeline.store.engine

    # process one: the command line, killed once some rows are recorded
    first = subprocess.Popen(
        [sys.executable, str(ROOT / "launch.py"), "eval", "--prompt", slug, "--dataset", dataset, "--provider", provider,
         "--metrics", "latency_s", "total_tokens"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    run_id = None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and first.poll() is None:
            runs = [r for r in evaluator.list_runs(limit=200) if r.prompt_ref.startswith(slug)]
            if runs and len(_records(engine, runs[0].id)) >= 48:
                run_id = runs[0].id
                break
            time.sleep(0.2)
        assert first.poll() is None and run_id, first.communicate()[1][-2000:]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    before = _records(engine, run_id)
    assert 48 <= len(before) < ROWS and evaluator.get(run_id).status == "running"
    with engine.begin() as conn:  # the dead runner's heartbeat goes stale (aged here instead of waiting)
        conn.execute(sa.update(schema.eval_runs).where(schema.eval_runs.c.id == run_id)
                     .values(heartbeat_at=schema.utcnow().replace(year=2000)))

    # process two: the API resumes it
    port = _free_port()
    api_env = {k: v for k, v in env.items() if k != "PROMPTFORGE_CLI_ACCOUNT"}
    second = subprocess.Popen([sys.executable, str(ROOT / "launch.py"), "api", "--port", str(port)], env=api_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/health", timeout=1).close()
                break
            except OSError:
                assert second.poll() is None, second.stderr.read()[-2000:]
                time.sleep(0.2)
        resumed = httpx.post(f"{base}/v1/evaluations/{run_id}/resume", headers=headers, timeout=60)
        assert resumed.status_code == 202, resumed.text
        deadline, report = time.monotonic() + 240, {}
        while time.monotonic() < deadline:
            report = httpx.get(f"{base}/v1/evaluations/{run_id}", headers=headers, timeout=60).json()
            if report.get("status") == "done":
                break
            time.sleep(0.5)
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert report["status"] == "done" and report["recorded"] == ROWS, report
    records = _records(engine, run_id)
    assert len(records) == ROWS and sorted(row for _, row in records) == list(range(ROWS))  # none twice, none missing
    assert {r for r, _ in before} <= {r for r, _ in records}
    assert AuditLog(engine).verify().ok
