"""Shared fixtures: isolated settings on a temporary SQLite file, no network by default."""

from __future__ import annotations

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
