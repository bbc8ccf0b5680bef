"""``python launch.py`` serves the app, and stopping the launcher stops the server."""

from __future__ import annotations

import socket
import time

from tests.e2e.conftest import serve_app


def _listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, int(port))) == 0


def test_terminating_the_launcher_stops_the_streamlit_server(tmp_path):
    proc, url = serve_app(tmp_path)
    assert _listening(url)
    proc.terminate()
    proc.wait(timeout=20)
    deadline = time.time() + 15
    while _listening(url) and time.time() < deadline:
        time.sleep(0.2)
    assert not _listening(url), "the Streamlit server outlived its launcher"
