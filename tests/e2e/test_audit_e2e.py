"""End to end: first start prints credentials; an auditor signs in, opens the Audit page, verifies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def test_auditor_signs_in_and_verifies_the_audit_chain(served_app_with_accounts, page):
    url, credentials = served_app_with_accounts
    assert {"admin", "demo-auditor", "demo-analyst"} <= set(credentials)
    page.goto(url)
    page.get_by_role("heading", name="Sign in to PromptForge").wait_for()
    page.get_by_label("User name").fill("demo-auditor")
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong user name or password").wait_for()
    page.get_by_role("textbox", name="Password").fill(credentials["demo-auditor"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()

    page.get_by_role("link", name="Audit trail").click()
    page.get_by_role("heading", name="Audit trail").wait_for()
    page.get_by_role("button", name="Verify audit chain").click()
    verdict = page.get_by_text("audit chain intact")
    verdict.wait_for()
    assert "events verified" in verdict.inner_text()
    page.get_by_text("login_failed").first.wait_for()  # the failed attempt above is on record
    if os.environ.get("PROMPTFORGE_SCREENSHOTS"):
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)
