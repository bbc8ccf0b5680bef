"""End to end: ``python launch.py trulens`` serves TruLens's own dashboard on a database holding
PromptForge's recorded runs, offline, on the address asked; Chromium sees the apps, versions,
records, scores and prompts, cannot move a label there (read only); stopping the launcher stops
the server.

Every Python process of the command (the launcher and its Streamlit server) runs with a guard
installed from ``sitecustomize``: a connection or name lookup to anything but this machine is
refused and written down. Chromium's requests are watched the same way.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil  # a requirement of trulens-dashboard
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, _free_port
from tests.e2e.helpers import choose, settle
from tests.storage.conftest import make_run  # noqa: F401 - the fixture, shared with the storage tests

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APPS = {"loan-summary": ("v1", 3), "card-dispute": ("v2", 2)}  # app name: (version, runs)

GUARD = r'''
import json, os, socket

_log = os.environ["PF_NETWORK_LOG"]
_LOCAL = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}


def _write(entry):
    with open(_log, "a") as f:
        f.write(json.dumps({"pid": os.getpid(), **entry}) + "\n")


def _local(host):
    host = host.decode() if isinstance(host, bytes) else host
    return host in _LOCAL or str(host).startswith("127.")


def _refuse(kind, target):
    _write({"attempt": f"{kind} {target!r}"})
    raise OSError(f"network blocked by test: {kind} {target!r}")


_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _refuse("connect", address)
    return _connect(self, address)


def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _refuse("connect_ex", address)
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        _refuse("getaddrinfo", host)
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
_write({"loaded": True})
'''


@pytest.fixture
def recorded(tmp_settings, make_run):  # noqa: F811 - the imported fixture
    """A SQLite database holding runs of two apps, as the pipeline records them, and a prompt."""
    from prompts.registry import PromptRegistry
    from security.identity import Principal, Role
    from storage.trulens_store import TruLensStore

    store = TruLensStore(tmp_settings)
    try:
        runs = [
            make_run(i, app_name=app, app_version=version)
            for app, (version, count) in APPS.items()
            for i in range(count)
        ]
        store.record_runs(runs)
        store.flush()
        PromptRegistry(store, Principal("owner", frozenset(Role), "system")).create(
            "loan-summary", "Summarise {{ customer }}"
        )
    finally:
        store.close()
    return tmp_settings


def _labels(settings) -> list[tuple[str, str]]:
    import sqlalchemy as sa

    engine = sa.create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(sa.text("SELECT label, version_id FROM trulens_prompt_labels")).all())
    finally:
        engine.dispose()


def _get(port: int, path: str) -> tuple[int, str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


def _serve(settings, tmp_path: Path, port: int) -> subprocess.Popen:
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    env = {
        **os.environ,
        "PROMPTFORGE_DATA_DIR": str(settings.data_dir),
        "PROMPTFORGE_DATABASE_URL": settings.resolved_database_url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(guard), os.environ.get("PYTHONPATH")])),
        "PF_NETWORK_LOG": str(tmp_path / "network.jsonl"),
    }
    args = [sys.executable, str(ROOT / "launch.py"), "trulens", "--port", str(port), "--host", "127.0.0.1"]
    with open(tmp_path / "trulens.log", "wb") as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            if _get(port, "/_stcore/health")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the dashboard did not start: " + (tmp_path / "trulens.log").read_text()[-3000:])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_trulens_dashboard_serves_our_runs_offline_and_stops_with_its_launcher(recorded, tmp_path, chromium):
    port = _free_port()
    launcher = _serve(recorded, tmp_path, port)
    try:
        # the server TruLens's dashboard runs in: bound where asked, told not to gather usage statistics,
        # without the database URL on its command line
        children = psutil.Process(launcher.pid).children(recursive=True)
        (server,) = [p for p in children if "streamlit" in p.cmdline()]
        cmdline = server.cmdline()
        asked = {"--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false"}
        assert asked <= set(cmdline)
        database = recorded.resolved_database_url.removeprefix("sqlite:///")
        assert not any(database in part for part in cmdline + psutil.Process(launcher.pid).cmdline())
        sockets = server.connections("inet")
        bound = {(c.laddr.ip, c.laddr.port) for c in sockets if c.status == psutil.CONN_LISTEN}
        assert bound == {("127.0.0.1", port)}

        status, content_type, body = _get(port, "/")
        assert status == 200 and content_type.startswith("text/html") and 'id="root"' in body
        # the launcher polls the same health route every 0.2 s: it says "ready" just after we saw it answer
        log = tmp_path / "trulens.log"
        deadline = time.time() + 10
        while f"ready at http://127.0.0.1:{port}" not in log.read_text() and time.time() < deadline:
            time.sleep(0.1)
        assert f"ready at http://127.0.0.1:{port}" in log.read_text()

        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        outside: list[str] = []
        base = f"http://127.0.0.1:{port}"
        local = (base, "data:", "blob:", "about:")
        context.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            page.goto(base)
            settle(page, 1000)
            page.get_by_role("heading", name="Leaderboard").wait_for()
            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_test_id("stSelectbox").click()
            assert sorted(page.get_by_role("option").all_inner_texts()) == sorted(APPS)
            page.keyboard.press("Escape")
            for app, (version, count) in APPS.items():
                choose(page, sidebar, "Select an app", app)
                expect(page.get_by_text(f"Showing app {app}")).to_be_visible()
                page.get_by_role("tab", name="List View").click()
                settle(page)
                listed = page.get_by_test_id("stMain").inner_text()
                assert version in listed and "toxicity" in listed, listed[-800:]
                assert f"Records\n\n{count}" in listed, listed[-800:]
            page.get_by_role("link", name="Records").click()
            settle(page)
            expect(page.get_by_text(f"Found {APPS['card-dispute'][1]} records.")).to_be_visible()

            # the prompt is there; moving its production label there fails: the database is read only
            labels = _labels(recorded)
            page.get_by_role("link", name="Prompts").click()
            settle(page)
            page.get_by_role("heading", name="Labels").wait_for()
            expect(page.get_by_role("combobox", name="Prompt")).to_have_value("loan-summary")
            page.get_by_role("button", name="Move label").click()
            settle(page)
            expect(page.get_by_test_id("stException")).to_contain_text("readonly database")
            assert _labels(recorded) == labels
            icons = page.eval_on_selector_all("link[rel*=icon]", "links => links.map(l => l.href)")
            assert icons and all(i.startswith(("data:", base)) for i in icons), icons
            assert outside == [], f"the page fetched from outside the machine: {outside}"
        finally:
            context.close()
    finally:
        launcher.terminate()
        launcher.wait(timeout=60)
    assert launcher.returncode == 0, (tmp_path / "trulens.log").read_text()[-2000:]
    deadline = time.time() + 15
    while _listening(port) and time.time() < deadline:
        time.sleep(0.2)
    assert not _listening(port), "the dashboard outlived its launcher"

    entries = [json.loads(line) for line in (tmp_path / "network.jsonl").read_text().splitlines()]
    assert len({e["pid"] for e in entries if e.get("loaded")}) >= 2  # the launcher and the Streamlit server
    assert [e["attempt"] for e in entries if "attempt" in e] == []
