"""Screenshots of every page for a human look: ``python -m tests.e2e.screenshots [--demo]``.

Serves the app on a temporary database, opens each page in headless Chromium and
writes ``screenshots/<page>.png``. Not a test: a tool for reviewing what users see.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.browser import chromium_path, launch_chromium
from tests.e2e.conftest import ROOT, serve_app

PAGES = {
    "overview": "", "studio": "studio?prompt=complaint-reply", "playground": "playground", "evaluations": "evaluations", "compare": "compare", "review": "review", "audit": "audit",
    "security": "security", "admin": "admin", "account": "account", "health": "health",
}
EVALUATION_VIEWS = {"New evaluation": "evaluations-new", "Datasets": "evaluations-datasets", "Metric sets": "evaluations-metric-sets"}


def main(demo: bool) -> None:
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        _login_page(Path(tmp) / "accounts", out)
        # the Security page shows the last benchmark figures of this checkout, if any
        saved = ROOT / "data" / "benchmarks" / "security.json"
        if saved.is_file():
            (Path(tmp) / "benchmarks").mkdir()
            shutil.copy(saved, Path(tmp) / "benchmarks" / "security.json")
        # every page at once: single-user mode has every role
        proc, url = serve_app(Path(tmp), {"PROMPTFORGE_SINGLE_USER": "true"}, demo=demo)
        try:
            if demo:  # wait for the demo workspace (prompts, runs, an evaluation) to be recorded
                status = Path(tmp) / "demo-status.json"
                deadline = time.time() + 300
                while time.time() < deadline and '"ready"' not in (status.read_text() if status.is_file() else ""):
                    time.sleep(1)
            with sync_playwright() as pw:
                browser = launch_chromium(pw, chromium_path())
                page = browser.new_page(viewport={"width": 1400, "height": 3200})
                for name, path in PAGES.items():
                    page.goto(f"{url}/{path}")
                    page.wait_for_selector("h1", timeout=60_000)
                    page.wait_for_timeout(6000)
                    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                    print(out / f"{name}.png")
                    if name == "evaluations":
                        for view, shot in EVALUATION_VIEWS.items():
                            page.get_by_role("radio", name=view).click()
                            page.wait_for_timeout(4000)
                            page.screenshot(path=str(out / f"{shot}.png"), full_page=True)
                            print(out / f"{shot}.png")
                    if name == "playground":
                        page.get_by_role("button", name="Run governed prompt").click()
                        page.locator(".pf-scrubbed").first.wait_for(timeout=120_000)
                        page.wait_for_timeout(2000)
                        page.screenshot(path=str(out / "playground-trace.png"), full_page=True)
                        print(out / "playground-trace.png")
                browser.close()
        finally:
            proc.terminate()


def _login_page(data_dir: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    data_dir.mkdir()
    proc, url = serve_app(data_dir)
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw, chromium_path())
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            page.get_by_role("heading", name="Sign in to PromptForge").wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "login.png"), full_page=True)
            print(out / "login.png")
            browser.close()
    finally:
        proc.terminate()


if __name__ == "__main__":
    main("--demo" in sys.argv)
