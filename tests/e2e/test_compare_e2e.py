"""End to end: a product user compares two versions of a demo prompt over the demo dataset in
Chromium, records two preferences with the keyboard, reads the verdict and requests production
from it; the request reaches the approval flow with the comparison attached."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import _stop, serve_app
from tests.e2e.helpers import open_page, settle, shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REASON = "Shorter replies read better and no guard regressed"


@pytest.fixture
def demo_app(tmp_path):
    """The demo workspace seeded before the app starts, and a product user."""
    from config.settings import Settings
    from execution.demo import seed_demo
    from security.identity import Role
    from security.identity.bootstrap import account_service

    database_url = f"sqlite:///{(tmp_path / 'promptforge.db').resolve()}"
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    seed_demo(settings, log=lambda message: None)
    password = account_service(settings).ensure_user("pia", {Role.PRODUCT}, by="system:e2e-test")
    proc, url = serve_app(tmp_path, {"PROMPTFORGE_DATA_DIR": str(tmp_path), "PROMPTFORGE_DATABASE_URL": database_url})
    yield url, password, settings
    _stop(proc)
    from storage.trulens_store import close_all_stores

    close_all_stores()  # TruLens keeps one session per process: release it for the tests that follow


def test_compare_two_demo_versions_judge_with_the_keyboard_and_request_production(demo_app, page, tmp_path):
    url, password, settings = demo_app
    try:
        _flow(page, url, password, settings, tmp_path)
    except BaseException:
        failure = Path("/tmp") / "compare-failure.png"  # outlives pytest's rotation of tmp folders
        page.screenshot(path=str(failure), full_page=True)
        print(f"screenshot of the failure: {failure}")
        raise


def _flow(page, url: str, password: str, settings, tmp_path: Path) -> None:
    sign_in(page, url, "pia", password)
    open_page(page, "Compare")

    # a new comparison: production (A) against the latest version (B) over the demo complaints
    page.get_by_test_id("stButtonGroup").get_by_text("New comparison").click()
    settle(page)
    form = page.get_by_test_id("stForm")
    assert form.get_by_role("combobox").first.input_value().startswith("demo-complaints")
    form.get_by_role("button", name="Start comparison").click()
    # the demo already ran both versions with this metric set: the runs are reused, it ends at once
    page.get_by_role("tab", name="Statistics").wait_for(timeout=180_000)
    settle(page)
    verdict = page.get_by_test_id("stAlert").first
    verdict_text = verdict.inner_text()
    assert "after correction" in verdict_text  # e.g. "B improves answer_relevance by 0.0372 [...], p = 0.047 after correction"
    shoot(page, "compare.png", tmp_path)

    # side by side: 2 (B better) on the first row, then 1 (A better) on the next
    page.get_by_role("tab", name="Side by side").click()
    panel = page.get_by_role("tabpanel", name="Side by side")
    panel.get_by_text("Row 1 · 1 of").wait_for()
    settle(page)
    page.locator("body").press("2")
    panel.get_by_text("Row 2 · 2 of").wait_for()
    settle(page)
    page.locator("body").press("1")
    panel.get_by_text("Row 3 · 3 of").wait_for()
    settle(page)
    shoot(page, "compare-side-by-side.png", tmp_path)

    # the decision: request production for B, with the comparison attached
    page.get_by_role("tab", name="Decision").click()
    decision = page.get_by_role("tabpanel", name="Decision")
    decision.get_by_text("Request production for B").first.click()
    decision.get_by_role("textbox", name="Reason").fill(REASON)
    decision.get_by_role("button", name="Record decision").click()
    page.get_by_role("tabpanel", name="Decision").get_by_text(REASON).wait_for()
    settle(page)

    from execution.compare import Comparisons
    from execution.pipeline import Pipeline
    from prompts.label_moves import LabelMoves
    from security.identity import Principal, Role

    reader = Pipeline(settings, principal=Principal("check", frozenset({Role.AUDITOR, Role.APPROVER})))
    comparisons = Comparisons(reader)
    newest = comparisons.list(limit=1)[0]
    assert [(p.dataset_row, p.preference, p.actor) for p in comparisons.table.preferences(newest.id)] == [
        (0, "b", "user:pia"), (1, "a", "user:pia"),
    ]
    assert newest.decision["action"] == "request_production" and newest.decided_by == "user:pia"
    [request] = LabelMoves(comparisons.evaluator._registry(), reader.audit).pending("complaint-reply")
    assert request.comparison_id == newest.id and request.version == newest.side_b["version"]
    assert request.reason == REASON
