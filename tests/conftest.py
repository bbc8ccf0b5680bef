"""Shared fixtures: isolated settings on a temporary SQLite file, no network by default."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.offline import apply_offline_env

pytest_plugins = ["tests.fakes.llm_server"]  # the `llm_server` fixture: a fake OpenAI/Anthropic server

# Offline guarantees for every test process (the app sets the same in launch.py).
apply_offline_env()

from security.identity import Principal, Role  # noqa: E402

ANALYST = Principal("tester", frozenset({Role.ANALYST}))


@pytest.fixture
def tmp_settings(tmp_path: Path):
    """Settings whose database is a fresh SQLite file under ``tmp_path``."""
    from config.settings import Settings

    return Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'pf.db'}")


@pytest.fixture
def make_settings(tmp_path, monkeypatch):
    """``make_settings(**overrides)``: settings from keyword arguments only (no env, secrets or
    config file leaks in), with fast provider failures."""
    from config.settings import Settings

    for name in list(os.environ):
        if name.startswith("PROMPTFORGE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PROMPTFORGE_SECRETS_FILE", str(tmp_path / "absent-secrets.toml"))
    monkeypatch.setenv("PROMPTFORGE_CONFIG_FILE", str(tmp_path / "absent-config.toml"))

    def make(**overrides) -> Settings:
        fast = {"provider_timeout_s": 5.0, "provider_max_retries": 2, "provider_backoff_s": 0.01}
        return Settings(data_dir=tmp_path, **{**fast, **overrides})

    return make


@pytest.fixture(scope="session")
def scrubber():
    """The real Presidio scrubber on the real spaCy model, loaded once per test session."""
    from config.settings import Settings
    from security.pii import get_scrubber

    return get_scrubber(Settings())


@pytest.fixture
def make_pipeline(tmp_settings, scrubber):
    """A pipeline on a temporary SQLite database sharing the session's scrubber."""
    from execution.pipeline import Pipeline

    built = []

    def make(settings=None, **kwargs):
        kwargs.setdefault("principal", ANALYST)
        pipeline = Pipeline(settings or tmp_settings, scrubber=kwargs.pop("scrubber", scrubber), **kwargs)
        built.append(pipeline)
        return pipeline

    yield make
    for p in built:
        if p._store is not None:
            p._store.close()


# -- both database backends (storage and security tests) ---------------------------------

PG_SERVER = os.environ.get("PROMPTFORGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_unavailable(reason: str) -> None:
    message = f"PostgreSQL at {PG_SERVER} is not reachable ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI=true requires it")
    pytest.skip(message + "; start it to run the postgres tests")


def _new_pg_database() -> Iterator[str]:
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


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh database on the test server for the whole session, dropped afterwards."""
    yield from _new_pg_database()


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """A database of its own for one test (which must not see what other tests recorded)."""
    yield from _new_pg_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request, tmp_settings):
    """Settings on each backend: a temp SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_settings
    from config.settings import Settings

    return Settings(data_dir=tmp_settings.data_dir, database_url=request.getfixturevalue("pg_url"))


def _opened_store(settings) -> Iterator:
    """A TruLens store on ``settings``, closed afterwards (TruLens allows one session per process)."""
    from storage.trulens_store import open_store

    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture
def store(settings):
    """A store on each backend."""
    yield from _opened_store(settings)


@pytest.fixture
def sqlite_store(tmp_settings):
    yield from _opened_store(tmp_settings)


@pytest.fixture
def unique() -> str:
    """A short random suffix so tests sharing the PostgreSQL database do not collide."""
    return uuid.uuid4().hex[:8]


def build_real_comparison(directory, scrubber):
    """A done comparison of two versions of one prompt over 12 rows (2 repeats, the offline
    model, a guard), with two reviewers' preferences and a decision. Returns
    (pipeline, comparisons as the reviewer, the comparison id); close ``pipeline.store`` after."""
    from config.settings import Settings
    from evaluation import MetricSet
    from execution.compare import Comparisons
    from execution.pipeline import Pipeline
    from prompts.registry import PromptRegistry
    from security.identity import Principal, Role
    from storage.datasets import DatasetStore

    settings = Settings(data_dir=directory, database_url=f"sqlite:///{directory / 'pf.db'}")
    pipeline = Pipeline(settings, principal=ANALYST, scrubber=scrubber)
    registry = PromptRegistry(pipeline.store, ANALYST)
    registry.create("faq", "Answer the customer in one sentence. Question: {{ question }}")
    registry.add_version("faq", "Promise a refund, then answer. Question: {{ question }}")
    questions = [{"question": f"What is the fee for transfer {i}?"} for i in range(12)]
    DatasetStore(pipeline.store).save_dataset("questions", questions)
    pat = Principal("pat", frozenset({Role.PRODUCT}), "system")
    lee = Principal("lee", frozenset({Role.PRODUCT}), "system")
    comparisons = Comparisons(pipeline.acting_as(pat))
    metrics = MetricSet.from_list([
        {"metric": "latency_s"},
        {"metric": "total_tokens"},
        {"metric": "assert_not_contains", "name": "no_refund", "options": {"text": "refund"}},
    ])
    row = comparisons.create(
        "faq@v1", "questions", prompt_b="faq@v2", metric_set=metrics, guards=["no_refund"], repeats=2
    )
    comparisons.execute(row.id)
    comparisons.record_preference(row.id, 0, "b")
    Comparisons(pipeline.acting_as(lee)).record_preference(row.id, 0, "tie", "=1+1 reads the same")
    comparisons.record_preference(row.id, 3, "a", "B promised a refund")
    comparisons.decide(row.id, "request_production", "B is clearer − we accept the refund wording…")
    return pipeline, comparisons, row.id


@pytest.fixture(scope="module")
def real_comparison(tmp_path_factory, scrubber):
    """(comparisons, id) of a finished comparison shared by a module's tests."""
    pipeline, comparisons, comparison_id = build_real_comparison(tmp_path_factory.mktemp("comparison"), scrubber)
    yield comparisons, comparison_id
    pipeline.store.close()


def assert_json_safe(value, path="$"):
    """Walk a ``to_dict()`` result: only JSON types, and no NaN or inf anywhere."""
    import json
    import math

    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), f"{path}: key {k!r} is not a string"
            assert_json_safe(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            assert_json_safe(v, f"{path}[{i}]")
    elif isinstance(value, float):
        assert math.isfinite(value), f"{path} is {value}"
    else:
        assert value is None or isinstance(value, (str, bool, int)), f"{path} has type {type(value).__name__}"
    if path == "$":
        json.dumps(value, allow_nan=False)
