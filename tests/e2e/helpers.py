"""Helpers for driving the real app in Chromium: wait for Streamlit, sign in and out, open a
page from the sidebar, fill widgets, pick from a selectbox, take screenshots."""

from __future__ import annotations

import os
import time
from pathlib import Path

from playwright.sync_api import expect

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def settle(page, quiet_ms: int = 500) -> None:
    """Wait until Streamlit has finished its rerun: the app root reports ``notRunning`` (the
    attribute Streamlit's own browser tests read) for ``quiet_ms`` in a row."""
    app = page.get_by_test_id("stApp")
    deadline = time.time() + 120
    calm_since = None
    while time.time() < deadline:
        if app.get_attribute("data-test-script-state") != "notRunning":
            calm_since = None
        elif calm_since is None:
            calm_since = time.time()
        elif (time.time() - calm_since) * 1000 >= quiet_ms:
            return
        page.wait_for_timeout(100)
    raise AssertionError("Streamlit kept running for two minutes")


def sign_in(page, url: str, user: str, password: str) -> None:
    if not page.get_by_role("heading", name="Sign in to PromptForge").is_visible():
        page.goto(url)
    page.get_by_role("heading", name="Sign in to PromptForge").wait_for()
    page.get_by_label("User name").fill(user)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()
    page.get_by_text(f"Signed in as {user}").wait_for()
    settle(page)


def sign_out(page) -> None:
    page.get_by_role("link", name="Your account").click()
    page.get_by_role("heading", name="Your account").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to PromptForge").wait_for()
    settle(page)


def open_page(page, name: str) -> None:
    # a link in the sidebar: a page load (goto) would start a new, signed-out Streamlit session
    page.get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name).wait_for()
    settle(page)


def type_into(page, field, text: str) -> None:
    """Fill a text widget and blur it, so that Streamlit receives the value before a click."""
    field.fill(text)
    field.press("Tab")
    settle(page)


def shoot(page, name: str, tmp_path: Path) -> Path:
    folder = SHOTS if os.environ.get("PROMPTFORGE_SCREENSHOTS") else tmp_path
    folder.mkdir(exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def choose(page, scope, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label`` inside ``scope``."""
    box = scope.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(box.get_by_role("combobox")).to_have_value(option)
    settle(page)
