"""End to end: a reload keeps a signed-in user signed in on the same page (the HttpOnly session
cookie), a shared link opened while signed out goes through sign-in to the item it names, and
after sign-out a reload shows the sign-in page again."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import served_demo
from tests.e2e.helpers import open_page, settle, shoot, sign_in, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def linked_app(tmp_path_factory):
    """The demo workspace (an evaluation run, a comparison, a review queue) and an analyst."""
    from security.identity import Role

    with served_demo(tmp_path_factory.mktemp("sessions"), "ana", Role.ANALYST) as served:
        yield served


def _session_cookie(page, present: bool = True, timeout: float = 15) -> dict | None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        cookie = next((c for c in page.context.cookies() if c["name"] == "pf_session"), None)
        if (cookie is not None) == present:
            return cookie
        page.wait_for_timeout(100)
    raise AssertionError(f"the pf_session cookie is {'missing' if present else 'still there'}")


def _audit_actions(settings) -> list[str]:
    engine = sa.create_engine(settings.database_url)
    with engine.connect() as conn:
        actions = [r[0] for r in conn.execute(sa.text("SELECT action FROM pf_audit_events ORDER BY seq"))]
    engine.dispose()
    return actions


def _failure_shot(page, name: str) -> None:
    failure = Path("/tmp") / name  # outlives pytest's rotation of tmp folders
    page.screenshot(path=str(failure), full_page=True)
    print(f"screenshot of the failure: {failure}")


def test_a_reload_keeps_the_user_signed_in_on_the_same_page(linked_app, page, tmp_path):
    url, password, seeded, settings = linked_app
    try:
        sign_in(page, url, "ana", password)
        cookie = _session_cookie(page)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert cookie["expires"] == -1  # a browser-session cookie: closing the browser drops it
        assert page.evaluate("document.cookie").find("pf_session") == -1  # page scripts cannot read it
        open_page(page, "Compare")
        expect(page).to_have_url(re.compile(r"/compare\?id=" + seeded["comparison"]))

        page.reload()
        page.get_by_role("heading", name="Compare").wait_for()
        page.get_by_text("Signed in as ana").wait_for()
        settle(page)
        expect(page).to_have_url(re.compile(r"/compare\?id=" + seeded["comparison"]))
        assert page.get_by_role("heading", name="Sign in to PromptForge").count() == 0
        shoot(page, "sessions-after-reload.png", tmp_path)

        # a page the roles do not include says so, by address too
        page.goto(url + "/audit")
        page.get_by_text("do not include this page").wait_for()

        sign_out(page)
        _session_cookie(page, present=False)
        page.reload()
        page.get_by_role("heading", name="Sign in to PromptForge").wait_for()
        settle(page)
        assert page.get_by_text("Signed in as").count() == 0
        actions = _audit_actions(settings)
        assert {"session_started", "session_resumed", "logout"} <= set(actions)
    except BaseException:
        _failure_shot(page, "sessions-reload-failure.png")
        raise


def test_a_link_opened_while_signed_out_lands_on_its_item_after_sign_in(linked_app, page, tmp_path):
    url, password, seeded, _ = linked_app
    comparison = seeded["comparison"]
    try:
        page.goto(f"{url}/compare?id={comparison}")
        page.get_by_role("heading", name="Sign in to PromptForge").wait_for()
        page.get_by_text("Sign in to open Compare").wait_for()
        settle(page)
        expect(page).to_have_url(re.compile(r"/compare\?id=" + comparison))
        shoot(page, "sign-in-for-a-link.png", tmp_path)

        page.get_by_label("User name").fill("ana")
        page.get_by_role("textbox", name="Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Compare").wait_for()
        settle(page)
        expect(page).to_have_url(re.compile(r"/compare\?id=" + comparison))
        link = page.get_by_role("link", name=re.compile(r"compare\?id="))
        expect(link).to_have_attribute("href", f"{url}/compare?id={comparison}")
        shoot(page, "compare-from-a-link.png", tmp_path)

        # signed in (the cookie), another link opens at once: an evaluation run
        _session_cookie(page)
        page.goto(f"{url}/evaluations?run={seeded['evaluation']}")
        page.get_by_role("heading", name="Evaluations").wait_for()
        settle(page)
        expect(page.get_by_role("link", name=re.compile(r"evaluations\?run="))).to_contain_text(seeded["evaluation"])
        expect(page).to_have_url(re.compile(r"/evaluations\?run=" + seeded["evaluation"]))
    except BaseException:
        _failure_shot(page, "sessions-link-failure.png")
        raise
