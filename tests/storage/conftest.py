"""Fixtures: a store per test on SQLite (tmp file) and PostgreSQL (a fresh database per session)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from storage.records import MetricValue, RunRecord, StageTiming

PG_SERVER = os.environ.get("PROMPTFORGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
STAGES = ("render", "scrub_input", "injection", "model", "scrub_output", "metrics")


def _pg_unavailable(reason: str) -> None:
    message = f"PostgreSQL at {PG_SERVER} is not reachable ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI=true requires it")
    pytest.skip(message + "; start it to run the postgres tests")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh database ``pf_test_<random>`` on the test server, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(PG_SERVER)
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _pg_unavailable(str(exc).splitlines()[0])
    name = f"pf_test_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(
                hide_password=False
            )
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request, tmp_settings):
    """Settings on each backend: a temp SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_settings
    from config.settings import Settings

    return Settings(data_dir=tmp_settings.data_dir, database_url=request.getfixturevalue("pg_url"))


@pytest.fixture
def store(settings):
    from storage.trulens_store import open_store

    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_settings):
    from storage.trulens_store import open_store

    opened = open_store(tmp_settings)
    yield opened
    opened.close()


@pytest.fixture
def unique() -> str:
    """A short random suffix so tests sharing the PostgreSQL database do not collide."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def make_run() -> Callable[..., RunRecord]:
    """Build a realistic, scrubbed run; keyword arguments override fields."""

    def build(i: int = 0, **overrides) -> RunRecord:
        start = time.time_ns() - 10_000_000_000 + i * 1_000_000
        stages, t = [], start
        for name in STAGES:
            duration = 2_000_000 if name == "model" else 500_000
            attributes = {"span_type": "generation"} if name == "model" else {"ok": True}
            stages.append(StageTiming(name, t, t + duration, attributes))
            t += duration
        fields = {
            "run_id": uuid.uuid4().hex,
            "app_name": "loan-summary",
            "app_version": "v1",
            "input_text": f"Summarise the loan of <PERSON_1> (row {i}).",
            "output_text": f"<PERSON_1> asked for a loan (row {i}).",
            "status": "ok",
            "error": None,
            "provider": "offline",
            "model": "echo-1",
            "simulated": True,
            "latency_s": (t - start) / 1e9,
            "input_tokens": 12,
            "output_tokens": 8,
            "cost_usd": 0.002,
            "started_at_ns": start,
            "ended_at_ns": t,
            "stages": stages,
            "metrics": [
                MetricValue("toxicity", 0.1 + (i % 2) * 0.2, higher_is_better=False, explanation="low"),
                MetricValue("similarity", 0.9, higher_is_better=True),
                MetricValue("detoxify", None, higher_is_better=False, status="unavailable"),
            ],
            "decisions": {
                "pii_in": {"PERSON": 1},
                "pii_out": {},
                "injection": {"action": "allow", "score": 0.05},
            },
            "variables": {"customer": "<PERSON_1>"},
            "actor": "analyst",
            "batch_id": None,
            "dataset_row": None,
        }
        fields.update(overrides)
        return RunRecord(**fields)

    return build
