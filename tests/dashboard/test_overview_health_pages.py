"""Overview and Health pages alone (AppTest) on a fresh database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ANALYST

PAGES = Path(__file__).resolve().parents[2] / "pages"


def _record(runs: list) -> None:
    from config.settings import get_settings
    from storage.trulens_store import open_store

    store = open_store(get_settings())
    store.record_runs(runs)
    store.flush()


def _run(i: int, **fields):
    """A scrubbed run of yesterday (inside the Overview's default 90 days)."""
    import time
    import uuid

    from storage.records import MetricValue, RunRecord, StageTiming

    start = time.time_ns() - 86_400 * 10**9 + i * 10**9
    values = dict(
        run_id=uuid.uuid4().hex, app_name="greet", app_version="v1", input_text=f"Hello <PERSON_1> {i}",
        output_text="Hi", status="ok", error=None, provider="offline", model="echo", simulated=True, latency_s=0.1 * (i + 1),
        input_tokens=5, output_tokens=2, cost_usd=0.001, started_at_ns=start, ended_at_ns=start + 10**8,
        stages=[StageTiming("render", start, start + 10**6, {"chars": 20}),  # its own, and one a batch shared
                StageTiming("scrub_input", start + 10**6, start + 10**8, {"batch_rows": 4, "entities": 1})],
        metrics=[MetricValue("toxicity", 0.1 * i, False)],
        decisions={"pii_in": {"PERSON": 1} if i == 0 else {}, "pii_out": {}, "injection": {"action": "allow", "score": 0.0}},
        variables={}, actor="analyst",
    )
    values.update(fields)
    return RunRecord(**values)


def test_overview_shows_figures_charts_leaderboard_and_flagged_runs(app_env):
    _record([_run(0), _run(1), _run(2, status="blocked", output_text=None, error="Blocked",
                                 decisions={"pii_in": {}, "pii_out": {}, "injection": {"action": "block", "score": 0.9}}),
             _run(3, app_version="v2", decisions={"pii_in": {}, "pii_out": {}, "injection": {"action": "flag", "score": 0.6}})])
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=120).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs"] == "4" and metrics["PII scrubbed"] == "1"
    assert metrics["Block rate"] == "25.0%" and metrics["Flag rate"] == "25.0%"
    board = at.dataframe[-2].value
    assert list(board["prompt"]) == ["greet@v1", "greet@v2"] and list(board["runs"]) == [3, 1]
    # only the open tab is drawn: Activity's two charts, not the other tabs' six
    assert [t.label for t in at.tabs] == ["Activity", "Safety", "Quality", "Latency & cost"]
    assert len(at.get("echarts_chart")) == 2
    at.session_state["ov_tab"] = "Safety"
    at.run()
    assert not at.exception and len(at.get("echarts_chart")) == 2
    assert "PII entities scrubbed" in at.get("echarts_chart")[0].proto.spec
    flagged = at.dataframe[-1].value
    assert len(flagged) == 2 and flagged["open"].iloc[0].startswith("/records?id=")
    # a filter the runs do not match: the page says so instead of drawing empty charts
    at.multiselect(key="ov_providers").set_value([]).run()
    at.selectbox(key="ov_label").set_value("Any").run()
    at.multiselect(key="ov_prompts").set_value(["greet"]).run()
    assert {m.label: m.value for m in at.metric}["Runs"] == "4"
    # the figures are shared by sessions until a run is recorded: the next render counts it
    again = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=120).run()
    assert {m.label: m.value for m in again.metric}["Runs"] == "4" and "figures as of" in again.caption[-1].value
    _record([_run(4)])
    assert {m.label: m.value for m in again.run().metric}["Runs"] == "5"


def test_overview_on_an_empty_database_invites_a_first_run(app_env):
    at = AppTest.from_file(str(PAGES / "overview.py"), default_timeout=120).run()
    assert not at.exception
    assert any("No runs in this period" in i.value for i in at.info)


def test_records_page_filters_pages_and_opens_a_run(app_env):
    runs = [_run(i, status="error" if i == 4 else "ok", output_text=None if i == 4 else f"answer {i}") for i in range(60)]
    _record(runs)
    at = AppTest.from_file(str(PAGES / "records.py"), default_timeout=120).run()
    assert not at.exception and at.title[0].value == "Records"
    table = at.dataframe[0].value
    assert len(table) == 50 and table["prompt"].iloc[0] == "greet@v1"
    assert any("Runs 1–50 of 60" in c.value for c in at.caption)
    at.button(key="rec_next").click().run()
    assert len(at.dataframe[0].value) == 10
    at.multiselect(key="rec_versions").set_value(["greet@v1"]).run()
    assert any("of 60 ·" in c.value for c in at.caption)
    at.multiselect(key="rec_status").set_value(["error"]).run()
    assert len(at.dataframe[0].value) == 1 and any("of 1 ·" in c.value for c in at.caption)
    at.text_input(key="rec_text").set_value("answer 7").run()
    assert any("No recorded run matches" in i.value for i in at.info)
    # a run's own page, as a link opens it
    at = AppTest.from_file(str(PAGES / "records.py"), default_timeout=120)
    at.query_params["id"] = runs[7].run_id
    at.run()
    assert not at.exception and at.title[0].value == "Record"
    assert [t.label for t in at.tabs][:2] == ["Trace", "Metrics (1)"]
    stages = at.dataframe[0].value
    assert list(stages["stage"]) == ["render", "scrub_input"] and list(stages["shared by rows"]) == ["", "4"]
    assert any(f"/records?id={runs[7].run_id}" in m.value for m in at.markdown)
    at.session_state["rec_tab"] = "Audit events"  # read only when its tab is opened
    at.run()
    assert not at.exception and any("No audit event names this run" in c.value for c in at.caption)
    at = AppTest.from_file(str(PAGES / "records.py"), default_timeout=120)
    at.query_params["id"] = "0" * 32
    at.run()
    assert any("No recorded run" in e.value for e in at.error)


def test_health_lists_components_and_why_they_are_missing(app_env, monkeypatch):
    at = AppTest.from_file(str(PAGES / "health.py"), default_timeout=60).run()
    assert not at.exception
    text = " ".join(md.value for md in at.markdown) + " ".join(c.value for c in at.caption)
    assert "spaCy model" in text and "Detoxify" in text and "offline" in text
    assert "multilingual-e5-small" in text  # the injection screen's second model
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
