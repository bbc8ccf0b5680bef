"""End to end: an analyst writes a prompt in Prompt Studio, saves a second version, reads the diff
and requests production; an approver approves it from the inbox; the Playground and
``launch.py run --prompt SLUG@production`` then both use v2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, _stop, serve_app
from tests.e2e.helpers import choose, open_page, settle, shoot, sign_in, sign_out, type_into

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SLUG = "complaint-reply"
V1 = "Write a short reply to {{ customer }} about their complaint."
V2 = "Write a short, courteous reply to {{ customer }} about their complaint."
INSERTED = "courteous"
NOTE = "Ask for a courteous tone"
REASON = "Tone agreed with the complaints team"


def _create_accounts(settings) -> dict[str, str]:
    """An analyst and an approver, through the account service, before the app is served
    (``first_start`` then creates no administrator: accounts exist)."""
    from security.identity import Role
    from security.identity.bootstrap import account_service

    accounts = account_service(settings)
    created = {
        "ana": accounts.ensure_user("ana", {Role.ANALYST}, by="system:e2e-test"),
        "apolline": accounts.ensure_user("apolline", {Role.APPROVER}, by="system:e2e-test"),
    }
    assert all(created.values()), created
    return created


@pytest.fixture
def studio_app(tmp_path):
    from config.settings import Settings

    database_url = f"sqlite:///{(tmp_path / 'promptforge.db').resolve()}"
    env = {"PROMPTFORGE_DATA_DIR": str(tmp_path), "PROMPTFORGE_DATABASE_URL": database_url}
    credentials = _create_accounts(Settings(data_dir=tmp_path, database_url=database_url))
    proc, url = serve_app(tmp_path, env)
    yield url, credentials, env
    _stop(proc)


# -- the test ---------------------------------------------------------------------------------


def test_author_requests_production_an_approver_approves_and_production_serves_v2(studio_app, page, tmp_path):
    url, credentials, env = studio_app
    try:
        _flow(page, url, credentials, env, tmp_path)
    except BaseException:
        page.screenshot(path=str(tmp_path / "studio-failure.png"))  # what the browser showed
        print(f"screenshot of the failure: {tmp_path / 'studio-failure.png'}")
        raise


def _flow(page, url: str, credentials: dict[str, str], env: dict[str, str], tmp_path: Path) -> None:
    # the analyst creates the prompt (v1)
    sign_in(page, url, "ana", credentials["ana"])
    open_page(page, "Prompt Studio")
    page.get_by_text("No prompts yet.").wait_for()
    page.get_by_role("button", name="New prompt").click()
    page.get_by_role("heading", name="New prompt").wait_for()
    settle(page)
    type_into(page, page.get_by_role("textbox", name="Slug"), SLUG)
    type_into(page, page.get_by_role("textbox", name="Template (Jinja2)"), V1)
    # the variable was detected (the data editor is a canvas; its accessible cells are hidden)
    page.locator("td[role=gridcell]", has_text="customer").first.wait_for(state="attached")
    page.get_by_role("button", name="Create prompt").click()
    page.get_by_text(f"Saved {SLUG}@v1").wait_for()
    page.get_by_role("heading", name=SLUG).wait_for()
    settle(page)

    # edits the template, writes a change note, saves v2
    page.get_by_text("Editing on top of v1").wait_for()
    type_into(page, page.get_by_role("textbox", name="Template (Jinja2)"), V2)
    type_into(page, page.get_by_role("textbox", name="Change note"), NOTE)
    page.get_by_role("button", name="Save version").click()
    page.get_by_text(f"Saved {SLUG}@v2").wait_for()
    page.get_by_text("Editing on top of v2").wait_for()
    settle(page)

    # History & diff: v1 against v2, the inserted word marked as an insertion
    page.get_by_role("tab", name="History & diff").click()
    history = page.get_by_role("tabpanel", name="History & diff")
    inserted = history.locator("ins.pf-ins").filter(has_text=INSERTED)
    inserted.first.wait_for()
    assert history.locator("del.pf-del").filter(has_text=INSERTED).count() == 0
    settle(page)
    shoot(page, "studio-diff.png", tmp_path)

    # Labels & approvals: request production for v2
    page.get_by_role("tab", name="Labels & approvals").click()
    labels = page.get_by_role("tabpanel", name="Labels & approvals")
    request = labels.get_by_test_id("stForm").filter(has_text="Request production")
    # the picker offers the newest version first, also when the tab was drawn before v2 existed
    request.get_by_role("textbox", name="Reason").fill(REASON)
    request.get_by_role("button", name="Request production").click()
    page.get_by_text("Requested production for v2.").wait_for()
    settle(page)
    sign_out(page)

    # the approver finds the request in the inbox and approves it
    sign_in(page, url, "apolline", credentials["apolline"])
    open_page(page, "Prompt Studio")
    inbox = page.get_by_test_id("stExpander").filter(has_text="your decision")
    inbox.wait_for()
    inbox.get_by_text(f"{SLUG}: move production to v2").wait_for()
    inbox.get_by_text("requested by").first.wait_for()
    inbox.get_by_text(REASON).wait_for()
    inbox.get_by_text("Nothing is in production yet").wait_for()
    shoot(page, "studio-inbox.png", tmp_path)
    inbox.get_by_role("button", name="Approve").click()
    page.get_by_text("Approved: production → v2.").wait_for()
    settle(page)
    assert page.get_by_test_id("stExpander").filter(has_text="your decision").count() == 0
    sign_out(page)

    # the Playground (analysts run prompts) serves production = v2
    sign_in(page, url, "ana", credentials["ana"])
    page.get_by_role("link", name="Playground").click()
    page.get_by_role("heading", name="Playground").wait_for()
    settle(page)
    page.get_by_test_id("stButtonGroup").get_by_text("Registered prompt", exact=True).click()
    settle(page)
    choose(page, page, "Version or label", "production")
    page.get_by_text("label production").wait_for()
    caption = page.get_by_text("label production").inner_text()
    assert "v2" in caption, caption
    code = page.get_by_test_id("stCode").first
    code.get_by_text(INSERTED).first.wait_for()
    assert "short, courteous reply" in code.inner_text()

    # and so does the command line, on the same database
    done = subprocess.run(
        [sys.executable, str(ROOT / "launch.py"), "run", "--prompt", f"{SLUG}@production",
         "--var", "customer=Ada Lovelace", "--provider", "offline"],
        env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["app_name"] == SLUG and out["app_version"] == "v2", out
