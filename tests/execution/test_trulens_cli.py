"""``python launch.py trulens``: how TruLens's dashboard is started, and the errors before it starts.

Serving it for real, in Chromium, is ``tests/e2e/test_trulens_dashboard_e2e.py``.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from config.errors import ConfigError
from execution.trulens_cli import (
    APP,
    DEFAULT_HOST,
    DEFAULT_PORT,
    browser_url,
    check_port_free,
    dashboard_database_url,
    serve_trulens_dashboard,
    streamlit_command,
)
from tests.storage.conftest import make_run  # noqa: F401 - the fixture, shared with the storage tests


@pytest.fixture
def listening():
    """A socket listening on 127.0.0.1: its port is in use."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_the_subcommand_defaults_to_port_8502_on_this_machine_only():
    import launch

    args = launch._parser().parse_args(["trulens"])
    assert (args.host, args.port) == (DEFAULT_HOST, DEFAULT_PORT) == ("127.0.0.1", 8502)
    args = launch._parser().parse_args(["trulens", "--port", "9000", "--host", "0.0.0.0"])
    assert (args.host, args.port, args.handler.__name__) == ("0.0.0.0", 9000, "cmd_trulens")


def test_streamlit_is_told_to_stay_local_and_gather_no_usage_statistics():
    cmd = streamlit_command("127.0.0.1", 8502, "trulens_")
    assert cmd[1:5] == ["-m", "streamlit", "run", str(APP)]
    for option in (
        "--server.address=127.0.0.1", "--server.port=8502", "--server.headless=true",
        "--browser.gatherUsageStats=false", "--logger.hideWelcomeMessage=true",
    ):
        assert option in cmd
    assert cmd[-3:] == ["--", "--database-prefix", "trulens_"]
    # the URL goes in the environment
    assert not any("database-url" in part or "sqlite" in part for part in cmd)


def test_a_port_in_use_is_a_clear_error_before_anything_starts(listening, tmp_settings):
    with pytest.raises(ConfigError, match=rf"Port {listening} is in use on 127\.0\.0\.1:{listening}") as err:
        serve_trulens_dashboard(tmp_settings, port=listening)
    assert f"--port {listening + 1}" in err.value.hint
    assert not Path(tmp_settings.resolved_database_url.removeprefix("sqlite:///")).exists()  # nothing opened


def test_the_command_line_prints_one_line_and_exits_2_on_a_port_in_use(
    listening, tmp_settings, monkeypatch, capsys
):
    import launch
    from config.settings import get_settings

    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", tmp_settings.resolved_database_url)
    get_settings.cache_clear()
    try:
        assert launch.main(["trulens", "--port", str(listening)]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: Port {listening} is in use") and "\n" not in err


def test_a_free_port_passes_and_an_impossible_one_is_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    check_port_free("127.0.0.1", free)
    with pytest.raises(ConfigError, match="not a TCP port"):
        check_port_free("127.0.0.1", 70000)
    with pytest.raises(ConfigError, match="Cannot listen on 192.0.2.1"):  # TEST-NET-1: not this machine's
        check_port_free("192.0.2.1", free)


def test_the_dashboard_opens_the_sqlite_file_by_absolute_path_read_only(make_settings, tmp_path, monkeypatch):
    from sqlalchemy.engine import make_url

    monkeypatch.chdir(tmp_path)
    url = make_url(dashboard_database_url(make_settings(database_url="sqlite:///data/pf.db")))
    assert url.database == f"file:{tmp_path / 'data' / 'pf.db'}"
    assert dict(url.query) == {"uri": "true", "mode": "ro"}
    pg = make_url(dashboard_database_url(make_settings(database_url="postgresql://u:secret@db.internal/pf")))
    assert (pg.drivername, pg.password) == ("postgresql+psycopg", "secret")  # the child reads it from its env
    assert pg.query["options"] == "-c default_transaction_read_only=on"


def test_the_dashboard_reads_but_cannot_write(settings, make_run):  # noqa: F811 - the imported fixture
    """TruLens's Prompts page can move labels and its Leaderboard add scores: opened read only,
    neither can bypass PromptForge's approvals and audit trail."""
    import sqlalchemy as sa

    from storage.trulens_store import TruLensStore

    store = TruLensStore(settings)
    try:
        store.record_run(make_run())
        store.flush()
    finally:
        store.close()
    engine = sa.create_engine(dashboard_database_url(settings))
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM trulens_events")).scalar() > 0
            with pytest.raises(sa.exc.DBAPIError, match="read-only|readonly"):
                conn.execute(sa.text("DELETE FROM trulens_events"))
    finally:
        engine.dispose()


def test_an_in_memory_database_is_refused(make_settings):
    with pytest.raises(ConfigError, match="in memory") as err:
        dashboard_database_url(make_settings(database_url="sqlite://"))
    assert "PROMPTFORGE_DATABASE_URL" in err.value.hint


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8502"),
        ("0.0.0.0", "http://127.0.0.1:8502"),
        ("::", "http://[::1]:8502"),
        ("dash.example", "http://dash.example:8502"),
    ],
)
def test_the_address_printed_is_one_a_browser_on_this_machine_opens(host, url):
    assert browser_url(host, 8502) == url
