"""The Evaluations page alone (AppTest): start a run, see its summary and rows, edit a metric set."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "evaluations.py")
TEMPLATE = "Answer in one sentence: {{ question }}"


def _seed(rows: int = 4) -> None:
    from config.settings import get_settings
    from security.identity import Principal
    from prompts.registry import PromptRegistry
    from storage import open_store
    from storage.datasets import DatasetStore

    store = open_store(get_settings())
    PromptRegistry(store, Principal.local("os", "tester")).create("faq", TEMPLATE, description="FAQ")
    DatasetStore(store).save_dataset(
        "faq-set", [{"question": f"What does transfer {i} cost?", "_expected": "It is free."} for i in range(rows)]
    )


def test_an_empty_workspace_says_how_to_start(app_env):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Evaluations"
    assert any("No evaluation runs yet" in i.value for i in at.info)
    at.session_state["ev_view"] = "New evaluation"
    at.run()
    assert any("No registered prompts" in i.value for i in at.info)


def test_start_a_run_then_read_its_summary_and_rows(app_env):
    from execution import eval_jobs

    _seed()
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.session_state["ev_view"] = "New evaluation"
    at.run()
    assert not at.exception
    assert at.selectbox(key="ev_new_dataset").value == "faq-set"
    assert "answer_relevance" in at.multiselect(key="ev_new_metrics").value  # the built-in default set
    at.multiselect(key="ev_new_metrics").set_value(["latency_s", "total_tokens", "answer_relevance"])
    at.button[0].click().run()  # Start evaluation
    assert not at.exception, at.exception
    run_id = at.session_state["ev_run"]
    assert at.session_state["ev_view"] == "Results"
    assert eval_jobs.wait(run_id, timeout=240)
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows recorded"] == "4 / 4" and metrics["Completed"] == "4"
    summary = at.dataframe[0].value
    assert set(summary["metric"]) == {"latency_s", "total_tokens", "answer_relevance"}
    assert (summary["scored"] == 4).all()
    rows = at.dataframe[1].value
    assert list(rows["row"]) == [0, 1, 2, 3] and rows["output"].str.startswith("[offline simulation]").all()
    at.selectbox(key="ev_f_status").set_value("error").run()
    assert any("No rows match" in i.value for i in at.info)


def test_metric_set_editor_saves_yaml_and_rejects_bad_yaml(app_env):
    _seed(rows=1)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.session_state["ev_view"] = "Metric sets"
    at.run()
    assert not at.exception
    editor = at.text_area[0]
    assert "answer_relevance" in editor.value
    editor.set_value("metrics:\n  - metric: latency_s\n    max_mean: 1\n  - metric: nope_metric\n").run()
    at.button(key="ev_ms_save").click().run()
    assert any("Unknown metric" in e.value for e in at.error)
    at.text_area[0].set_value("metrics:\n  - metric: latency_s\n    max_mean: 1\n").run()
    at.button(key="ev_ms_save").click().run()
    assert any("Saved" in s.value for s in at.success)
    from config.settings import get_settings
    from storage import open_store
    from storage.metric_sets import MetricSetTable

    stored = MetricSetTable(open_store(get_settings()).engine).get("faq", 0)
    assert stored.metrics == [{"metric": "latency_s", "max_mean": 1.0}]
    names = set(at.dataframe[0].value["metric"])
    assert {"toxicity", "g_eval", "assert_regex", "semantic_similarity"} <= names or {"g_eval", "assert_regex"} <= names


def test_gates_of_the_metric_set_are_shown_with_their_verdicts(app_env):
    from config.settings import get_settings
    from evaluation import MetricSet
    from execution import eval_jobs
    from execution.metric_sets import MetricSets
    from security.identity import Principal
    from storage import open_store

    _seed(rows=2)
    MetricSets(open_store(get_settings()), Principal.local("os", "tester")).save(
        "faq", 0,
        MetricSet.from_list([{"metric": "total_tokens", "max_mean": 1}, {"metric": "pii_leaked_output", "max_mean": 0}]),
    )
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.session_state["ev_view"] = "New evaluation"
    at.run()
    at.button[0].click().run()
    assert eval_jobs.wait(at.session_state["ev_run"], timeout=240)
    at.run()
    assert not at.exception
    [box] = at.error
    assert "Gates failed" in box.value and "**total_tokens**: mean ≤ 1, was" in box.value
    assert "**pii_leaked_output**: mean ≤ 0, was 0" in box.value
