"""Serve the real app with ``launch.py`` and drive it with Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.browser import chromium_path, launch_chromium

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium():
    """Module-scoped: Playwright's sync API holds an event loop on this thread while open."""
    path = chromium_path()
    if not path:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI: apt-get install chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw, path)
        yield browser
        browser.close()


def serve_app(data_dir: Path, extra_env: dict[str, str] | None = None, demo: bool = False):
    """Start ``python launch.py`` on a free port; returns (process, base URL)."""
    port = _free_port()
    env = {**os.environ, "PROMPTFORGE_DATA_DIR": str(data_dir), **(extra_env or {})}
    args = [sys.executable, str(ROOT / "launch.py"), "--port", str(port), "--host", "127.0.0.1"]
    if not demo:
        args.append("--no-demo")
    log = open(data_dir / "server.log", "wb")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the app did not start: " + (data_dir / "server.log").read_text()[-2000:])


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def served_demo(folder: Path, username: str, role):
    """The demo workspace in ``folder``, an account ``username`` with ``role``, and the app served on
    it: yields (url, password, what the demo seeded, settings); stops the app and releases the
    process's TruLens session after."""
    from config.settings import Settings
    from execution.demo import seed_demo
    from security.identity.bootstrap import account_service
    from storage.trulens_store import close_all_stores

    database_url = f"sqlite:///{(folder / 'promptforge.db').resolve()}"
    settings = Settings(data_dir=folder, database_url=database_url)
    seeded = seed_demo(settings, log=lambda message: None)
    password = account_service(settings).ensure_user(username, {role}, by="system:e2e-test")
    proc, url = serve_app(folder, {"PROMPTFORGE_DATA_DIR": str(folder), "PROMPTFORGE_DATABASE_URL": database_url})
    try:
        yield url, password, seeded, settings
    finally:
        _stop(proc)
        close_all_stores()  # TruLens keeps one session per process: release it for the tests that follow


@pytest.fixture
def served_app(tmp_path):
    """The app in single-user mode (no login)."""
    proc, url = serve_app(tmp_path, {"PROMPTFORGE_SINGLE_USER": "true"})
    yield url
    _stop(proc)


@pytest.fixture
def served_app_with_accounts(tmp_path):
    """The app with local accounts and the demo workspace: (URL, {user: password}) read
    from what ``launch.py`` printed on its first start."""
    proc, url = serve_app(tmp_path, demo=True)
    log = tmp_path / "server.log"
    deadline = time.time() + 30
    credentials: dict[str, str] = {}
    while time.time() < deadline and "demo-auditor" not in credentials:
        credentials = dict(
            line.split()[:2] for line in log.read_text().splitlines() if line.startswith("    ") and len(line.split()) >= 2
        )
        time.sleep(0.2)
    yield url, credentials
    _stop(proc)


@pytest.fixture
def page(chromium, tmp_path):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    shots = ROOT / "screenshots"
    if os.environ.get("PROMPTFORGE_SCREENSHOTS"):
        shots.mkdir(exist_ok=True)
    context.close()
