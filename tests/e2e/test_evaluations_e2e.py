"""End to end: upload a dataset with PII in a real browser, run an evaluation, read the results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import _stop, serve_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
CSV = (
    "question,expected_output\n"
    "What is the fee for an international transfer? My name is Maria Gonzalez.,The fee is 5 EUR.\n"
    "How long does a SEPA transfer take?,One business day.\n"
    "Can I raise my card limit? Call me on (212) 555-0143.,Yes: in the app under Cards.\n"
)


def _register_prompt(data_dir: Path) -> None:
    from config.settings import Settings
    from security.identity import Principal
    from prompts.registry import PromptRegistry
    from storage.trulens_store import TruLensStore

    store = TruLensStore(Settings(data_dir=data_dir, database_url=""))
    try:
        PromptRegistry(store, Principal.local("os", "tester")).create(
            "faq-answer", "Answer the customer in two sentences.\nQuestion: {{ question }}", description="FAQ answers"
        )
    finally:
        store.close()


@pytest.fixture
def app_with_prompt(tmp_path):
    _register_prompt(tmp_path)
    proc, url = serve_app(tmp_path, {"PROMPTFORGE_SINGLE_USER": "true"})
    yield url, tmp_path
    _stop(proc)


def test_upload_a_dataset_run_an_evaluation_and_see_the_results(app_with_prompt, page, tmp_path):
    url, data_dir = app_with_prompt
    upload = tmp_path / "faq-questions.csv"
    upload.write_text(CSV)

    page.goto(url + "/evaluations")
    page.get_by_role("heading", name="Evaluations").wait_for()
    page.get_by_text("No evaluation runs yet").wait_for()

    page.get_by_role("radio", name="Datasets").click()
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name="Scrub and store dataset").click()
    stored = page.get_by_text("Stored faq-questions")
    stored.wait_for(timeout=120_000)
    assert "3 of 3 rows" in stored.inner_text() and "PERSON" in stored.inner_text()
    if os.environ.get("PROMPTFORGE_SCREENSHOTS"):
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "evaluations-datasets.png"), full_page=True)

    page.get_by_role("radio", name="New evaluation").click()
    page.get_by_role("button", name="Start evaluation").click()
    page.get_by_text("Rows recorded").wait_for(timeout=60_000)
    page.get_by_text("3 / 3").wait_for(timeout=180_000)
    page.get_by_role("heading", name="Summary").wait_for()
    page.get_by_role("heading", name="Distributions").wait_for()
    page.get_by_role("heading", name="Rows").wait_for()
    page.get_by_text("Select a row to open its full trace").wait_for()
    if os.environ.get("PROMPTFORGE_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / "evaluations.png"), full_page=True)

    # what the browser was shown is what the database holds: scores and scrubbed text only
    from config.settings import Settings
    from storage.trulens_store import TruLensStore

    db = (data_dir / "promptforge.db").read_bytes()
    assert b"Maria Gonzalez" not in db and b"555-0143" not in db
    store = TruLensStore(Settings(data_dir=data_dir, database_url=""))
    try:
        board = store.leaderboard().reset_index()
        assert {"answer_relevance", "latency_s"} <= set(board.columns)
    finally:
        store.close()
