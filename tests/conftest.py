"""Shared fixtures: isolated settings on a temporary SQLite file, no network by default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Offline guarantees for every test process (the app sets the same in launch.py).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")
os.environ.setdefault("TRULENS_OTEL_TRACING", "1")


@pytest.fixture
def tmp_settings(tmp_path: Path):
    """Settings whose database is a fresh SQLite file under ``tmp_path``."""
    from config.settings import Settings

    return Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'pf.db'}")
