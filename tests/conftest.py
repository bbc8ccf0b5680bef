"""Shared fixtures: isolated settings on a temporary SQLite file, no network by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.offline import apply_offline_env

pytest_plugins = ["tests.fakes.llm_server"]  # the `llm_server` fixture: a fake OpenAI/Anthropic server

# Offline guarantees for every test process (the app sets the same in launch.py).
apply_offline_env()


@pytest.fixture
def tmp_settings(tmp_path: Path):
    """Settings whose database is a fresh SQLite file under ``tmp_path``."""
    from config.settings import Settings

    return Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'pf.db'}")
