"""The Review page alone (AppTest): annotate an item, a submit with missing answers, a queue's
progress and agreement, a new queue that matches nothing yet, a rubric edit."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "review_page.py")
ANSWERS = {"policy_breach": "No", "personal_data_exposure": "No", "unsuitable_advice": "No", "tone": "good",
           "factual_error": "No"}


def _seed(rows: int = 3):
    from config.settings import get_settings
    from execution.pipeline import Pipeline
    from review.queues import QueueFilter, Queues
    from security.identity import Principal, Role

    pipeline = Pipeline(get_settings(), principal=Principal("ann", frozenset({Role.ANALYST})))
    template = pipeline.template("Answer the customer: {{ q }}")
    pipeline.run_batch(template, [{"q": f"Is transfer {i} free?"} for i in range(rows)], provider="offline")
    pipeline.store.flush()
    Queues(pipeline.store, Principal("lee", frozenset({Role.LEAD_REVIEWER})), pipeline.audit).create("weekly", QueueFilter())
    return pipeline


def _open() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def test_an_empty_page_says_there_is_no_queue(app_env):
    at = _open()
    assert not at.exception, at.exception
    assert at.title[0].value == "Review"
    assert any("No review queues yet" in i.value for i in at.info)


def test_annotate_an_item_then_the_next_one_is_shown(app_env):
    pipeline = _seed()
    at = _open()
    assert not at.exception, at.exception
    first = [s for s in at.segmented_control if s.key and s.key.endswith("_policy_breach")][0].key
    prefix = first.removesuffix("_policy_breach")
    at.button(key=f"{prefix}_submit").click().run()  # nothing answered yet
    assert any("Answer every item first" in e.value for e in at.error)
    for item, answer in ANSWERS.items():
        at.segmented_control(key=f"{prefix}_{item}").set_value(answer)
    at.number_input(key=f"{prefix}_overall").set_value(4.0)
    at.button(key=f"{prefix}_submit").click().run()
    assert not at.exception, at.exception
    from storage.review import ReviewTables

    [annotation] = ReviewTables(pipeline.store.engine).annotations()
    assert annotation.scores["tone"] == "good" and annotation.scores["overall"] == 4.0
    assert annotation.reviewer == "single-user:root"
    again = [s for s in at.segmented_control if s.key and s.key.endswith("_policy_breach")][0].key
    assert again != first  # the next item, with its own claim
    assert {m.label: m.value for m in at.metric}["Done by you"] == "1"


def test_queues_show_progress_agreement_and_a_queue_that_matches_nothing(app_env):
    _seed()
    at = _open()
    at.session_state["rv_view"] = "Queues"
    at.run()
    assert not at.exception, at.exception
    assert any("every recorded run" in m.value for m in at.markdown)
    agreement = at.dataframe[-1].value
    assert "policy_breach" in set(agreement["item"])

    at.session_state["rv_view"] = "New queue"
    at.run()
    at.text_input(key="rv_new_name").set_value("never")
    at.text_input(key="rv_new_provider").set_value("no-such-provider")
    at.button[0].click().run()  # Create queue (the form's one button)
    assert not at.exception, at.exception
    assert at.session_state["rv_view"] == "Queues" and at.session_state["rv_q_queue"] == "never"
    assert any("No recorded run matches" in i.value for i in at.info)


def test_a_rubric_edit_makes_a_new_version_and_a_bad_one_keeps_the_text(app_env):
    _seed(1)
    at = _open()
    at.session_state["rv_view"] = "Rubrics"
    at.run()
    assert not at.exception, at.exception
    key = "rv_rubric_yaml_compliance"
    text = at.text_area(key=key).value
    at.text_area(key=key).set_value(text.replace("title: Compliance", "title: Compliance review", 1))
    at.button[-1].click().run()
    assert not at.exception, at.exception
    from config.settings import get_settings
    from storage import open_store
    from storage.review import ReviewTables

    versions = ReviewTables(open_store(get_settings()).engine).rubric_versions("compliance")
    assert [v.version for v in versions] == [1, 2]
    broken = "schema: 1\nname: compliance\ntitle: Compliance\nitems: []\n"
    at.text_area(key=key).set_value(broken)
    at.button[-1].click().run()
    assert any("no items" in e.value.lower() for e in at.error)
    assert at.text_area(key=key).value == broken  # nothing typed is lost


def test_previous_shows_your_last_annotation_and_a_correction_supersedes_it(app_env):
    pipeline = _seed()
    at = _open()
    prefix = [s for s in at.segmented_control if s.key and s.key.endswith("_policy_breach")][0].key.removesuffix("_policy_breach")
    for item, answer in ANSWERS.items():
        at.segmented_control(key=f"{prefix}_{item}").set_value(answer)
    at.number_input(key=f"{prefix}_overall").set_value(4.0)
    at.button(key=f"{prefix}_submit").click().run()
    at.button(key="rv_prev").click().run()  # back to what you just judged
    assert not at.exception, at.exception
    from storage.review import ReviewTables

    [first] = ReviewTables(pipeline.store.engine).annotations()
    fix = f"rv_fix_{first.id}"
    assert at.segmented_control(key=f"{fix}_tone").value == "good"  # the form starts from your answers
    at.segmented_control(key=f"{fix}_tone").set_value("acceptable")
    at.button(key=f"{fix}_save").click().run()
    assert not at.exception, at.exception
    history = ReviewTables(pipeline.store.engine).annotations(record_id=first.record_id)
    assert [a.scores["tone"] for a in history] == ["good", "acceptable"]
    assert history[0].superseded_by == history[1].id
