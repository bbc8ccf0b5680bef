"""End to end: a reviewer annotates three items of a queue with the keyboard and sees her
progress; a second reviewer, signed in at the same time in another browser, gets other items."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import _stop, serve_app
from tests.e2e.helpers import open_page, settle, shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
# the compliance rubric from the keyboard: No, No, No, tone "good" (4th), No, overall 4 (4th of 1–5)
KEYS = ["1", "1", "1", "4", "1", "4"]


@pytest.fixture
def review_app(tmp_path):
    from config.settings import Settings
    from execution.pipeline import Pipeline
    from review.queues import QueueFilter, Queues
    from security.identity import Principal, Role
    from security.identity.bootstrap import account_service

    database_url = f"sqlite:///{(tmp_path / 'promptforge.db').resolve()}"
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    pipeline = Pipeline(settings, principal=Principal("ann", frozenset({Role.ANALYST})))
    template = pipeline.template("Answer the customer in one sentence: {{ q }}")
    pipeline.run_batch(template, [{"q": f"Is transfer number {i} free of charge?"} for i in range(6)], provider="offline")
    pipeline.store.flush()
    Queues(pipeline.store, Principal("lee", frozenset({Role.LEAD_REVIEWER})), pipeline.audit).create(
        "answers", QueueFilter(), overlap=1
    )
    accounts = account_service(settings)
    passwords = {name: accounts.ensure_user(name, {Role.REVIEWER}, by="system:e2e-test") for name in ("rhea", "ravi")}
    proc, url = serve_app(tmp_path, {"PROMPTFORGE_DATA_DIR": str(tmp_path), "PROMPTFORGE_DATABASE_URL": database_url})
    yield url, passwords, pipeline
    _stop(proc)
    from storage.trulens_store import close_all_stores

    close_all_stores()  # TruLens keeps one session per process: release it for the tests that follow


def _record(page) -> str:
    text = page.get_by_text("claimed until").inner_text()
    return re.search(r"record\s+([0-9a-f]{12})", text).group(1)


def _annotate_with_keys(page) -> str:
    record = _record(page)
    for key in KEYS:
        page.locator("body").press(key)
        settle(page, 300)
    page.get_by_text("Every question is answered").wait_for()
    page.locator("body").press("Control+Enter")
    page.wait_for_function(  # the next item (another record) or the end of the queue
        "r => !document.body.innerText.includes('record ' + r) || document.body.innerText.includes('Nothing left')",
        arg=record,
    )
    settle(page)
    return record


def test_a_reviewer_annotates_with_the_keyboard_and_a_second_one_gets_other_items(review_app, page, chromium, tmp_path):
    url, passwords, pipeline = review_app
    other = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.set_default_timeout(60_000)
    try:
        sign_in(page, url, "rhea", passwords["rhea"])
        sign_in(other, url, "ravi", passwords["ravi"])
        open_page(page, "Review")
        open_page(other, "Review")  # both hold a claim now, on different items
        theirs = _record(other)
        mine = [_annotate_with_keys(page) for _ in range(3)]
        assert theirs not in mine and len(set(mine)) == 3
        page.get_by_text("Done by you").wait_for()
        assert "3" in page.get_by_test_id("stMetric").filter(has_text="Done by you").inner_text()
        shoot(page, "review-annotate.png", tmp_path)
        assert _annotate_with_keys(other) == theirs  # the second reviewer's own item, judged from the keyboard
    except BaseException:
        page.screenshot(path="/tmp/review-failure.png", full_page=True)
        other.screenshot(path="/tmp/review-failure-other.png", full_page=True)
        raise
    finally:
        other.context.close()

    from storage.review import ReviewTables

    annotations = ReviewTables(pipeline.store.engine).annotations()
    by = {}
    for a in annotations:
        by.setdefault(a.reviewer, []).append(a.record_id[:12])
    assert sorted(by["user:rhea"]) == sorted(mine) and by["user:ravi"] == [theirs]
    assert all(a.scores["tone"] == "good" and a.scores["overall"] == 4.0 for a in annotations)
