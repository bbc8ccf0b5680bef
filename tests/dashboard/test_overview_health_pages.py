"""Overview and Health pages alone (AppTest) on a fresh database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ANALYST

PAGES = Path(__file__).resolve().parents[2] / "pages"


@pytest.mark.slow
def test_overview_counts_and_lists_recorded_runs(app_env):
    from config.settings import get_settings
    from execution.pipeline import Pipeline
    from execution.prompt_ref import PromptRef

    pipeline = Pipeline(get_settings(), principal=ANALYST)
    template = pipeline.template("Reply to {{ msg }}")
    pipeline.run_batch(template, [{"msg": "call 212-555-0143"}, {"msg": "hello"}], prompt=PromptRef("greet", "v1"))

    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=120).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Recorded runs"] == "2" and metrics["PII entities scrubbed"] == "1"
    table = at.dataframe[0].value
    assert set(table["prompt"]) == {"greet@v1"} and "(simulated)" in table["provider"].iloc[0]


def test_overview_on_an_empty_database_invites_a_first_run(app_env):
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=120).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Recorded runs"] == "0"
    assert any("No runs yet" in md.value for md in at.markdown)


def test_health_lists_components_and_why_they_are_missing(app_env, monkeypatch):
    at = AppTest.from_file(str(PAGES / "health.py"), default_timeout=60).run()
    assert not at.exception
    text = " ".join(md.value for md in at.markdown) + " ".join(c.value for c in at.caption)
    assert "spaCy model" in text and "Detoxify" in text and "offline" in text
    assert "PROMPTFORGE_OPENAI_API_KEY" in text  # why OpenAI is unavailable, and the fix
    assert "journal wal" in text


@pytest.mark.slow
def test_security_page_without_and_with_benchmark_figures(app_env):
    import json

    at = AppTest.from_file(str(PAGES / "security.py"), default_timeout=120).run()
    assert not at.exception and at.title[0].value == "Security"
    assert any("bench security" in i.value for i in at.info)
    policy = at.dataframe[0].value
    assert {"CREDIT_CARD", "DATE_OF_BIRTH", "DATE_TIME"} <= set(policy["entity type"])
    assert not policy.set_index("entity type").loc["DATE_TIME", "scrubbed"]
    recognizers = set(at.dataframe[1].value["recognizer"])
    assert {"RoutingNumberRecognizer", "SwiftCodeRecognizer", "BirthDateRecognizer"} <= recognizers

    saved = app_env / "benchmarks" / "security.json"
    saved.parent.mkdir()
    saved.write_text(json.dumps({
        "at": "2026-11-21T20:00:00+00:00",
        "floors": [{"floor": "CREDIT_CARD leaks 0", "ok": True}, {"floor": "PERSON leak <= half", "ok": False}],
        "pii_surviving": {"PERSON": {"n": 10, "bare": 0.2, "ours": 0.3}},
        "speed": {"bare_texts_per_s": 21.0, "ours_texts_per_s": 80.0, "n": 5},
    }))
    at.run()
    assert {m.label: m.value for m in at.metric}["Floors met"] == "1 of 2"
    assert list(at.dataframe[0].value["floor"]) == ["CREDIT_CARD leaks 0", "PERSON leak <= half"]
