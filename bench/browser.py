"""Debian's Chromium driven by Playwright: shared by the browser tests and the start-up benchmark."""

from __future__ import annotations

import os
import shutil

# Without the background-networking switches Chromium tries to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("PROMPTFORGE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright, path: str):
    return playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
