"""AppTest fixtures: each page runs alone against a fresh temporary database."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    import streamlit as st

    from config.settings import get_settings

    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PROMPTFORGE_SINGLE_USER", "true")  # pages alone; the login gate has its own tests
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    get_settings.cache_clear()
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    from storage.trulens_store import close_all_stores

    close_all_stores()  # TruLens keeps one session per process: release it for the next test
    get_settings.cache_clear()
    st.cache_resource.clear()
    st.cache_data.clear()
