"""The Compare page alone (AppTest): start a comparison, read its verdict and figures, judge a
row, decide; an auditor reads but cannot judge or decide."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "compare.py")
METRICS = [
    {"metric": "total_tokens"},
    {"metric": "assert_not_contains", "name": "no_refund", "options": {"text": "refund"}},
]


def _seed(rows: int = 12):
    from config.settings import get_settings
    from evaluation import MetricSet
    from execution.metric_sets import MetricSets
    from prompts.registry import PromptRegistry
    from security.identity import Principal, Role
    from storage import open_store
    from storage.datasets import DatasetStore

    store = open_store(get_settings())
    owner = Principal("ann", frozenset({Role.ANALYST}))
    registry = PromptRegistry(store, owner)
    registry.create("faq", "Answer in one sentence: {{ question }}", description="FAQ")
    registry.add_version("faq", "Promise a refund, then answer: {{ question }}", "warmer")
    MetricSets(store, owner).save("faq", 0, MetricSet.from_list(METRICS))
    DatasetStore(store).save_dataset("faq-set", [{"question": f"What does transfer {i} cost?"} for i in range(rows)])


def _finished_comparison() -> str:
    from config.settings import get_settings
    from execution.compare import Comparisons
    from execution.pipeline import Pipeline
    from security.identity import Principal, Role

    pipeline = Pipeline(get_settings(), principal=Principal("pat", frozenset({Role.PRODUCT})))
    comparisons = Comparisons(pipeline)
    row = comparisons.create("faq@v1", "faq-set", prompt_b="faq@v2", guards=["no_refund"])
    comparisons.execute(row.id)
    return row.id


def test_an_empty_page_says_how_to_start(app_env):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Compare"
    assert any("No comparisons yet" in i.value for i in at.info)


def test_start_a_comparison_then_judge_and_decide(app_env):
    from execution import eval_jobs
    from prompts.label_moves import LabelMoves

    _seed()
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.session_state["cmp_view"] = "New comparison"
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="cmp_new_a").set_value("v1")
    at.selectbox(key="cmp_new_b").set_value("v2")
    at.run()
    at.multiselect(key="cmp_new_guards").set_value(["no_refund"])
    at.button[0].click().run()  # Start comparison (the form's one button)
    assert not at.exception, at.exception
    comparison_id = at.session_state["cmp_id"]
    assert eval_jobs.wait(f"comparison:{comparison_id}", timeout=240)
    at.run()
    assert not at.exception, at.exception
    assert any("no_refund regressed" in e.value for e in at.error)  # the verdict names the guard
    figures = at.dataframe[0].value
    assert set(figures["metric"]) == {"total_tokens", "no_refund (guard)"}

    at.button(key="cmp_pref_b").click().run()  # B better, on the first row
    assert not at.exception, at.exception
    from execution.compare import Comparisons

    comparisons = _comparisons()
    [pref] = comparisons.table.preferences(comparison_id)
    assert (pref.dataset_row, pref.preference) == (0, "b")
    assert at.session_state["cmp_pos"] == 1  # moved on to the next row

    at.radio(key="cmp_action").set_value("request_production")
    at.text_area(key="cmp_reason").set_value("B reads better to our reviewers")
    at.button(key="FormSubmitter:cmp_decide-Record decision").click().run()
    assert not at.exception, at.exception
    row = comparisons.get(comparison_id)
    assert row.decision["action"] == "request_production"
    [request] = LabelMoves(comparisons.evaluator._registry(), comparisons.pipeline.audit).pending("faq")
    assert request.comparison_id == comparison_id
    assert isinstance(comparisons, Comparisons)


def test_an_auditor_reads_but_cannot_judge_or_decide(app_env, monkeypatch):
    from security.identity import Principal, Role
    from security.identity.sessions import Session
    from storage.schema import utcnow

    _seed()
    comparison_id = _finished_comparison()
    monkeypatch.setenv("PROMPTFORGE_SINGLE_USER", "false")
    from config.settings import get_settings

    get_settings.cache_clear()
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["pf_session"] = Session(Principal("aud", frozenset({Role.AUDITOR})), utcnow(), utcnow())
    at.query_params["comparison"] = comparison_id
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["cmp_id"] == comparison_id
    assert not [b for b in at.button if (b.key or "").startswith("cmp_pref_")]
    assert any("Decisions are recorded by product teams" in i.value for i in at.info)
    assert [s.value for s in at.segmented_control if s.key == "cmp_view"] == ["Comparisons"]  # no "New comparison"


def _comparisons():
    from config.settings import get_settings
    from execution.compare import Comparisons
    from execution.pipeline import Pipeline
    from security.identity import Principal, Role

    return Comparisons(Pipeline(get_settings(), principal=Principal("pat", frozenset({Role.PRODUCT}))))
