"""End to end: the served app, a real browser, a prompt with PII, the scrubbed trace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def test_playground_runs_a_prompt_with_pii_offline_and_shows_the_scrubbed_trace(served_app, page):
    page.goto(served_app + "/playground")
    page.get_by_role("heading", name="Playground").wait_for()
    message = page.get_by_label("message")
    message.fill("Call Maria Gonzalez on (212) 555-0143 or mail maria.gonzalez@example.com about card 4111 1111 1111 1111.")
    page.get_by_role("button", name="Run governed prompt").click()

    trace = page.locator(".pf-scrubbed").first
    trace.wait_for(timeout=120_000)
    scrubbed = trace.inner_text()
    assert "(212) 555-0143" not in scrubbed and "4111 1111 1111 1111" not in scrubbed
    assert "maria.gonzalez@example.com" not in scrubbed
    assert "<PHONE_NUMBER_1>" in scrubbed or "PHONE_NUMBER" in scrubbed
    types = {m.get_attribute("data-type") for m in page.locator("mark.pf-entity").all()}
    assert {"PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD"} <= types
    page.get_by_text("Offline simulation").first.wait_for()
    page.get_by_text("Injection screen").first.wait_for()
    if os.environ.get("PROMPTFORGE_SCREENSHOTS"):
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "playground.png"), full_page=True)
