"""``python launch.py trulens``: TruLens's own dashboard on PromptForge's database.

    trulens [--host H] [--port P]    serve it (default http://127.0.0.1:8502) until Ctrl+C

The database is opened here first (migrated like the app does, so a new database shows an empty
leaderboard rather than an error), then TruLens's dashboard entry point
(``trulens/dashboard/main.py``, through ``dashboard/trulens_app.py``) is served by Streamlit in a
child process, in the foreground, on the same database opened **read only**: TruLens's buttons
that write (new prompt versions, label moves, app metadata, virtual versions with scores) would
bypass PromptForge's permissions, approvals and audit trail, so they fail there.

TruLens's ``run_dashboard`` is not called: it starts whichever ``streamlit`` comes first on PATH,
puts the database URL, password included, on that process's command line (readable by every
user of the machine), leaves Streamlit's usage statistics to its configuration, and reports a
port in use only as a start-up timeout after 30 seconds. This starts the same entry point with
the same Streamlit options, and also: this interpreter's Streamlit; the URL in the child's
environment; ``browser.gatherUsageStats`` off; Streamlit's welcome message off (bound to all
interfaces it looks up the machine's public address on checkip.amazonaws.com); a folder
without PromptForge's ``.streamlit`` as working folder (its secrets stay out of that process).
"""

from __future__ import annotations

import argparse
import errno
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from config.errors import ConfigError
from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "trulens_app.py"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8502  # the app serves on 8501
URL_ENV = "TRULENS_DATABASE_URL"  # read by dashboard/trulens_app.py (the name TruLens's own CLI reads)
START_NOTICE_S = 120.0
READ_ONLY_PG = "-c default_transaction_read_only=on"
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - names, not a bind

# what ``trulens.dashboard.run.run_dashboard`` passes to ``streamlit run`` (TruLens's look)
TRULENS_LOOK = (
    "--theme.base=dark",
    "--theme.primaryColor=#E0735C",
    "--theme.font=sans-serif",
    "--client.toolbarMode=viewer",
    "--global.disableWidgetStateDuplicationWarning=true",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trulens", help="serve TruLens's own dashboard on the same database (default http://127.0.0.1:8502)",
        description=(
            "TruLens's native dashboard (leaderboard by app version, records with their spans and "
            "feedback, compare, prompts) on PromptForge's database, read only, until Ctrl+C. "
            "Nothing is fetched from outside the machine and no usage statistics are sent."
        ),
    )
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; the app uses 8501)"
    )
    p.set_defaults(handler=cmd_trulens)


def cmd_trulens(args) -> int:
    from config.settings import get_settings

    return serve_trulens_dashboard(get_settings(), host=args.host, port=args.port)


def serve_trulens_dashboard(
    settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
    out: Callable[[str], None] = lambda text: print(text, flush=True),
) -> int:
    """Open the database, serve TruLens's dashboard on ``host:port`` and wait until it stops.

    Returns the exit status: 0 after Ctrl+C or SIGTERM, the server's status if it stopped by itself.
    """
    url = dashboard_database_url(settings)
    check_port_free(host, port)
    prefix = _prepare_database(settings)
    env = {**os.environ, URL_ENV: url, "TRULENS_OTEL_TRACING": "1"}
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"  # the command line says so too
    address = browser_url(host, port) + ("  (listening on every interface)" if host in WILDCARDS else "")
    out(f"TruLens's dashboard: starting on {address}  (database: {settings.display_database_url()})")
    with tempfile.TemporaryDirectory(prefix="pf-trulens-") as workdir:
        server = subprocess.Popen(streamlit_command(host, port, prefix), cwd=workdir, env=env)
        previous = _stop_on_sigterm(server)
        try:
            if _wait_until_serving(server, host, port):
                out(f"TruLens's dashboard: ready at {address}  (Ctrl+C stops it)")
            status = server.wait()
        except KeyboardInterrupt:  # the terminal sent the server its own SIGINT too
            server.terminate()
            status = 0
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass  # killed below
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    if status not in (0, -signal.SIGTERM, -signal.SIGINT):
        out(f"TruLens's dashboard stopped with exit status {status}; its messages are above.")
        return status if status > 0 else 1
    out("TruLens's dashboard stopped.")
    return 0


def streamlit_command(host: str, port: int, prefix: str) -> list[str]:
    """``streamlit run dashboard/trulens_app.py`` with the options that keep it local and quiet."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.headless=true",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        "--browser.gatherUsageStats=false",
        "--logger.hideWelcomeMessage=true",
        *TRULENS_LOOK,
        "--", "--database-prefix", prefix,
    ]


def dashboard_database_url(settings: Settings) -> str:
    """The URL the dashboard process opens: the app's database, **read only**.

    TruLens's dashboard has buttons that write (its Prompts page creates versions and moves
    labels, production included; its Leaderboard edits app metadata and adds virtual versions with
    scores): changes that would bypass PromptForge's permissions, approvals and audit trail. Opened
    read only, they fail. A SQLite path is made absolute (the dashboard runs in another folder) and
    opened as a ``mode=ro`` URI; PostgreSQL (on psycopg 3, as the app) gets read-only transactions.
    """
    from storage.engine import normalize_url

    url = normalize_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or "mode=memory" in str(url):
            raise ConfigError(
                "The database is in memory: TruLens's dashboard runs in its own process and cannot see it.",
                "Set PROMPTFORGE_DATABASE_URL to a SQLite file or a PostgreSQL database.",
            )
        if not url.database.startswith("file:"):  # a plain path; a URI is kept as written
            path = Path(url.database).expanduser().resolve()
            url = url.set(database=f"file:{quote(str(path))}")
        url = url.update_query_dict({"uri": "true", "mode": "ro"})
    elif url.get_backend_name() == "postgresql":
        options = " ".join(filter(None, [url.query.get("options"), READ_ONLY_PG]))
        url = url.update_query_dict({"options": options})
    return url.render_as_string(hide_password=False)


def check_port_free(host: str, port: int) -> None:
    """Raise ``ConfigError`` if ``host:port`` cannot be bound (something listens there, or the
    address is not this machine's), as the server would find out only after starting."""
    if not 0 < port < 65536:
        raise ConfigError(f"Port {port} is not a TCP port.", "Pass --port with a number from 1 to 65535.")
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(
            f"The address {host!r} is unknown ({exc.strerror}).",
            "Pass --host 127.0.0.1, or this machine's name or address.",
        ) from exc
    for family, kind, proto, _name, sockaddr in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                probe.bind(sockaddr)
            except OSError as exc:
                where = f"{sockaddr[0]}:{port}"
                if exc.errno == errno.EADDRINUSE:
                    raise ConfigError(
                        f"Port {port} is in use on {where} (the app itself serves on 8501).",
                        "Stop what listens there, or pass another one: "
                        f"python launch.py trulens --port {port + 1}.",
                    ) from exc
                raise ConfigError(
                    f"Cannot listen on {where}: {exc.strerror or exc}.",
                    "Pass --host 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).",
                ) from exc


def browser_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches the dashboard."""
    host = WILDCARDS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _prepare_database(settings: Settings) -> str:
    """Open the database as the app does (migrating a new or older one); TruLens's table prefix."""
    from storage.trulens_store import TruLensStore

    store = TruLensStore(settings)
    try:
        return store.session.connector.db.table_prefix
    finally:
        store.close()


def _wait_until_serving(server: subprocess.Popen, host: str, port: int) -> bool:
    """Poll Streamlit's health route until it answers (True) or the server exits (False).
    Plain ``http.client``: ``urllib`` would follow an ``http_proxy`` set in the environment."""
    host = WILDCARDS.get(host, host)
    started, noticed = time.monotonic(), False
    while server.poll() is None:
        connection = http.client.HTTPConnection(f"[{host}]" if ":" in host else host, port, timeout=1)
        try:
            connection.request("GET", "/_stcore/health")
            if connection.getresponse().status == 200:
                return True
        except OSError:
            pass
        finally:
            connection.close()
        if not noticed and time.monotonic() - started > START_NOTICE_S:
            print("TruLens's dashboard: still starting…", file=sys.stderr, flush=True)
            noticed = True
        time.sleep(0.2)
    return False


def _stop_on_sigterm(server: subprocess.Popen):
    """Stopping this process (a supervisor, a test) stops the server too; the previous handler."""
    try:
        return signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    except ValueError:  # not the main thread: whoever runs us stops the server
        return None
