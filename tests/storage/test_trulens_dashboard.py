"""TruLens's own dashboard pages render PromptForge's records, scores and prompts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


TABS = Path(__import__("trulens.dashboard", fromlist=["x"]).__file__).parent / "tabs"


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    """The dashboard caches its TruSession and queries; each test has its own database."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("Leaderboard.py", ["loan-summary", "toxicity", "similarity"]),
        ("Records.py", ["Found 5 records", "toxicity"]),
        ("Prompts.py", ["loan-summary", "Summarise"]),
    ],
)
def test_dashboard_page_renders_our_data(sqlite_store, tmp_settings, make_run, monkeypatch, tab, expected):
    from streamlit.testing.v1 import AppTest

    sqlite_store.record_runs([make_run(i) for i in range(5)])
    sqlite_store.flush()
    from prompts.registry import PromptRegistry
    from security.identity import Principal, Role

    PromptRegistry(sqlite_store, Principal("owner", frozenset(Role), "system")).create(
        "loan-summary", "Summarise {{ customer }}"
    )
    monkeypatch.setattr(sys, "argv", ["dashboard", "--database-url", tmp_settings.resolved_database_url])

    app = AppTest.from_file(str(TABS / tab), default_timeout=60).run()
    assert not app.exception, [e.message for e in app.exception]
    text = " ".join(str(getattr(e, "value", "")) for e in app.main)
    for fragment in expected:
        assert fragment in text


def test_trace_viewer_gets_the_stage_tree(sqlite_store, tmp_settings, make_run, monkeypatch):
    from trulens.dashboard.utils.dashboard_utils import _get_event_otel_spans

    run = make_run()
    sqlite_store.record_run(run)
    sqlite_store.flush()
    monkeypatch.setattr(sys, "argv", ["dashboard", "--database-url", tmp_settings.resolved_database_url])

    spans = _get_event_otel_spans(run.run_id, run.app_name)
    by_name = {s["record"]["name"]: s for s in spans}
    root = by_name["promptforge.pipeline.run"]
    for stage in run.stages:
        assert by_name[stage.name]["record"]["parent_span_id"] == root["trace"]["span_id"]
    # the viewer gets whole seconds (TruLens truncates); get_run keeps the real durations
    assert by_name["model"]["start_timestamp"] == run.stages[3].start_ns // 1_000_000_000
