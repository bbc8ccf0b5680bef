"""``python launch.py bench scale``: every page and export at 100,000 runs, on SQLite and PostgreSQL,
beside TruLens's own ``get_records_and_feedback`` and ``get_leaderboard`` on the same database.

The databases are made once and kept (re-seeded only when they hold fewer runs than asked):
a SQLite file under ``<data_dir>/bench/`` and a PostgreSQL database ``pf_bench_scale_<N>`` on the
server of ``PROMPTFORGE_BENCH_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``'s
server). They are filled by ``python launch.py seed-demo --runs N``: the demo workspace and a
year of runs with their metrics, annotations, label moves and audit events.

Each backend is measured in a process of its own (TruLens keeps one session per process, and
``get_records_and_feedback`` at 100,000 runs holds gigabytes):

- the Overview's data (``TruLensStore.overview``, the default 90 days and the whole year) and
  the Records page's (the default 30 days), median of 5 after one cold call;
- each page's first render for a new session in Chromium, against ``python launch.py`` on that
  database: from navigation in a new tab until the page's last element is shown and Streamlit
  reports the script done (median of 3; the browser's cache holds Streamlit's scripts, as a
  returning user's does; the very first visit, which also warms the server, is its cold start),
  and the same for a one-line Streamlit page with the project's settings: the framework's floor;
- one page of records with filters (30 days, PII found, one provider, slowest first; and a free-text
  search), one record's detail;
- TruLens's ``get_leaderboard()`` and ``get_records_and_feedback()`` (once each), and how many
  times faster a page of records is;
- a full-year CSV export and PDF report through ``python launch.py export``, each in a process
  of its own: wall time and the process's peak resident memory (``ru_maxrss``).

Floors: a page's first render at most 1 s, a page of records at most 300 ms, at least 20 times
faster than ``get_records_and_feedback``, an export under 500 MB peak memory.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from config.settings import Settings

N_RUNS = 100_000
FLOOR_RENDER_S = 1.0
FLOOR_PAGE_S = 0.300
FLOOR_SPEEDUP = 20.0
FLOOR_EXPORT_MB = 500.0
ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("PROMPTFORGE_BENCH_PG", os.environ.get("PROMPTFORGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(settings: Settings, n: int = N_RUNS, backends: tuple[str, ...] = ("sqlite", "postgres")) -> int:
    from bench.figures import load_average

    started = datetime.now().astimezone()
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        try:
            url = database_url(settings, backend, n)
        except RuntimeError as exc:
            log(f"{backend}: {exc}")
            continue
        ensure_seeded(url, n, settings)
        log(f"{backend}: measuring")
        results[backend] = measure_in_child(url, settings)
    print_grid(results, started, n)
    print(f"  load average at the end: {load_average()}")
    return 0


# -- the databases -----------------------------------------------------------------------------


def database_url(settings: Settings, backend: str, n: int) -> str:
    if backend == "sqlite":
        folder = Path(settings.data_dir) / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(folder / f'scale-{n}.db').resolve()}"
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(PG_SERVER)
    name = f"pf_bench_scale_{n}"
    try:
        with psycopg.connect(server.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True,
                             connect_timeout=3) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise RuntimeError(f"PostgreSQL at {PG_SERVER} is not reachable ({exc}); skipped") from exc
    return server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def _env(url: str, settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PROMPTFORGE_DATABASE_URL": url,
        "PROMPTFORGE_DATA_DIR": str(Path(settings.data_dir) / "bench"),
        "PROMPTFORGE_SINGLE_USER": "true",
    }


def ensure_seeded(url: str, n: int, settings: Settings) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            have = conn.execute(sa.text("SELECT count(*) FROM pf_runs")).scalar_one()
    except sa.exc.SQLAlchemyError:
        have = 0
    finally:
        engine.dispose()
    if have >= n:
        log(f"{_backend(url)}: {have:,} runs already seeded")
        return
    log(f"{_backend(url)}: seeding {n - have:,} runs (python launch.py seed-demo --runs)")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "launch.py"), "seed-demo", "--runs", str(n - have)],
                   env=_env(url, settings), cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    log(f"{_backend(url)}: seeded in {time.perf_counter() - t0:,.0f} s")


def _backend(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


# -- measuring (in a child process per backend) ---------------------------------------------------


def measure_in_child(url: str, settings: Settings) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.scale", url], env=_env(url, settings), cwd=ROOT,
                          capture_output=True, text=True)
    sys.stderr.write(done.stderr[-4000:] if done.returncode else "")
    if done.returncode:
        return {"error": f"the measuring process failed ({done.returncode})"}
    results = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"{_backend(url)}: first renders in Chromium")
    results.update(browser_renders(url, settings, results.pop("record_id")))
    results.update(export_figures(url, settings))
    return results


def _median(fn, repeats: int = 5) -> tuple[float, float]:
    """(cold, median of ``repeats`` warm) seconds of ``fn()``."""
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return cold, statistics.median(times)


def browser_renders(url: str, settings: Settings, record_id: str) -> dict[str, Any]:
    """Each page's first render for a new session in Chromium: from navigation until the page's
    last element is on screen and Streamlit reports the script done (median of 3 sessions, after
    one visit that warms the server process). Beside them, the same for a one-line Streamlit page
    served with the project's Streamlit settings: the framework's own floor on this machine."""
    import shutil
    import tempfile

    from bench.browser import chromium_path, launch_chromium

    path = chromium_path()
    if path is None:
        return {"render_error": "no Chromium (apt-get install chromium): first renders not measured"}
    from playwright.sync_api import sync_playwright

    pages = {
        "render_overview": ("", "Newest flagged runs"),
        "render_records": ("records", "Runs 1–"),
        "render_record": (f"records?id={record_id}", "Link to this record"),
    }
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pf-bench-serve-") as tmp, sync_playwright() as pw:
        browser = launch_chromium(pw, path)
        env = {**_env(url, settings), "PROMPTFORGE_DATA_DIR": tmp}
        app = [sys.executable, str(ROOT / "launch.py"), "--no-demo", "--single-user", "--host", "127.0.0.1", "--port"]
        with _serving(app, ROOT, env) as base:
            t0 = time.perf_counter()
            _visit(browser.new_context(), base + "/", "Newest flagged runs", close=True)
            out["render_cold_start"] = time.perf_counter() - t0
            # one browser (its cache holds Streamlit's scripts, as a returning user's does), and
            # a new tab, so a new session, for every visit
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            _visit(context, base + "/", "Newest flagged runs")
            for key, (address, last) in pages.items():
                out[key] = _median_visit(context, f"{base}/{address}", last)
        floor = Path(tmp) / "floor"
        floor.mkdir()
        shutil.copytree(ROOT / ".streamlit", floor / ".streamlit", ignore=shutil.ignore_patterns("secrets*"))
        (floor / "one_line.py").write_text('import streamlit as st\n\nst.title("PromptForge")\nst.write("Ready.")\n')
        one_line = [sys.executable, "-m", "streamlit", "run", "one_line.py", "--server.address", "127.0.0.1", "--server.port"]
        with _serving(one_line, floor, dict(os.environ)) as base:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            _visit(context, base + "/", "Ready.")
            out["render_floor"] = _median_visit(context, base + "/", "Ready.")
        browser.close()
    return out


@contextmanager
def _serving(command: list[str], cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """Run ``command`` + a free port until its health check answers; yields its base address."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*command, str(port)], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def _median_visit(context, address: str, last_text: str, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _visit(context, address, last_text)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _visit(context, address: str, last_text: str, close: bool = False) -> None:
    """Open ``address`` in a new tab (a new session) and wait for ``last_text`` and the end of the
    script run."""
    page = context.new_page()
    page.goto(address)
    page.get_by_text(last_text, exact=False).first.wait_for(timeout=90_000)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'",
        timeout=90_000,
    )
    page.close()
    if close:
        context.close()


def measure(url: str) -> dict[str, Any]:
    """Every figure but the exports, on the database at ``url`` (run in a child process)."""
    import resource

    from config.offline import apply_offline_env

    apply_offline_env()
    from storage.run_filter import RunFilter
    from storage.trulens_store import open_store
    from config.settings import get_settings

    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    store = open_store(get_settings())
    out["open"] = time.perf_counter() - t0
    out["runs"] = store.count_runs()
    today = date.today()
    overview_scope = RunFilter.for_days(today - timedelta(days=89), today)
    records_scope = RunFilter.for_days(today - timedelta(days=29), today)
    log("overview and records data")
    out["overview_cold"], out["overview"] = _median(lambda: store.overview(overview_scope))
    _, out["overview_year"] = _median(lambda: store.overview(RunFilter.for_days(today - timedelta(days=364), today)))
    out["records_cold"], out["records"] = _median(lambda: store.page_of_runs(records_scope))
    filtered = RunFilter.for_days(today - timedelta(days=29), today, flags=("pii",), providers=(_top_provider(store),))
    _, out["records_filtered"] = _median(lambda: store.page_of_runs(filtered, sort="slowest"))
    words = RunFilter.for_days(today - timedelta(days=29), today, text="card statement")
    _, out["records_text"] = _median(lambda: store.page_of_runs(words))
    record_id = store.page_of_runs(records_scope, page_size=1).rows[0]["record_id"]
    _, out["detail"] = _median(lambda: store.run_detail(record_id))

    out["record_id"] = record_id
    log("TruLens: get_leaderboard")
    t0 = time.perf_counter()
    board = store.session.get_leaderboard()
    out["trulens_leaderboard"] = time.perf_counter() - t0
    out["trulens_leaderboard_rows"] = len(board)
    log("TruLens: get_records_and_feedback")
    t0 = time.perf_counter()
    records, _ = store.session.get_records_and_feedback()
    out["trulens_records"] = time.perf_counter() - t0
    out["trulens_records_rows"] = len(records)
    del records, board
    out["child_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.close()
    return out


def _top_provider(store) -> str:
    providers = store.filter_choices()["providers"]
    return next((p for p in providers if p.startswith("openai")), providers[0])


def export_figures(url: str, settings: Settings) -> dict[str, Any]:
    """A full-year CSV export and PDF report, each in a process of its own: seconds and peak MB."""
    import tempfile

    from security.identity import Role
    from security.identity.bootstrap import account_service

    today = date.today()
    out: dict[str, Any] = {}
    # the command line acts as a named account on PostgreSQL: an auditor of the bench's own
    account_service(Settings(data_dir=settings.data_dir, database_url=url)).ensure_user(
        "bench-auditor", {Role.AUDITOR}, by="system:bench"
    )
    env = {**_env(url, settings), "PROMPTFORGE_CLI_ACCOUNT": "bench-auditor"}
    for fmt in ("csv", "pdf"):
        log(f"{_backend(url)}: export --format {fmt}")
        with tempfile.TemporaryDirectory(prefix="pf-bench-export-") as tmp:
            code = (
                "import resource, sys, time, launch; t = time.perf_counter(); "
                f"rc = launch.main(['export', '--from', '{today - timedelta(days=364)}', '--to', '{today}', "
                f"'--format', '{fmt}', '--out', '{tmp}/out']); "
                "print(rc, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
            )
            done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
            try:
                rc, seconds, peak = done.stdout.strip().splitlines()[-1].split()
            except (IndexError, ValueError):
                rc, seconds, peak = "1", "nan", "nan"
            if rc != "0":
                sys.stderr.write(done.stderr[-3000:])
                out[f"export_{fmt}_error"] = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {rc}"
            out[f"export_{fmt}"] = float(seconds)
            out[f"export_{fmt}_mb"] = float(peak)
    return out


# -- the table -----------------------------------------------------------------------------------

FIGURES = [
    # (key, label, kind, floor)
    ("runs", "runs in the database", "count", None),
    ("overview", "Overview data, 90 days (median)", "s", None),
    ("overview_year", "Overview data, a year (median)", "s", None),
    ("render_overview", "Overview first render (new session)", "s", FLOOR_RENDER_S),
    ("records", "a page of records, 30 days (median)", "s", FLOOR_PAGE_S),
    ("records_filtered", "a page with filters (PII, provider, slowest)", "s", FLOOR_PAGE_S),
    ("records_text", "a page with a free-text search", "s", FLOOR_PAGE_S),
    ("render_records", "Records first render (new session)", "s", FLOOR_RENDER_S),
    ("detail", "one record's detail (data)", "s", FLOOR_PAGE_S),
    ("render_record", "a record's page first render", "s", FLOOR_RENDER_S),
    ("render_cold_start", "the server's first page (cold start)", "s", None),
    ("render_floor", "a one-line Streamlit page (the framework's floor)", "s", None),
    ("trulens_leaderboard", "TruLens get_leaderboard()", "s", None),
    ("trulens_records", "TruLens get_records_and_feedback()", "s", None),
    ("speedup", "page of records vs get_records_and_feedback", "x", FLOOR_SPEEDUP),
    ("export_csv", "CSV export of the year", "s", None),
    ("export_csv_mb", "CSV export peak memory", "MB", FLOOR_EXPORT_MB),
    ("export_pdf", "PDF report of the year", "s", None),
    ("export_pdf_mb", "PDF report peak memory", "MB", FLOOR_EXPORT_MB),
    ("child_peak_mb", "peak memory of the measuring process", "MB", None),
]


def _value(results: dict[str, Any], key: str) -> float | None:
    if key == "speedup":
        if results.get("trulens_records") and results.get("records"):
            return results["trulens_records"] / results["records"]
        return None
    value = results.get(key)
    return None if value is None or value != value else float(value)


def _show(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "s":
        return f"{value * 1000:,.1f} ms" if value < 10 else f"{value:,.1f} s"
    if kind == "x":
        return f"{value:,.0f}x"
    if kind == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.0f}"


def _met(value: float | None, kind: str, floor: float | None) -> str | None:
    if floor is None or value is None:
        return None
    return "yes" if (value >= floor if kind == "x" else value <= floor) else "NO"


def print_grid(results: dict[str, dict[str, Any]], started: datetime, n: int) -> None:
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    backends = list(results)
    print(f"\nscale: {n:,} runs ({os.cpu_count()} cores, {started:%Y-%m-%d %H:%M %Z})")
    width = max(len(label) for _, label, _, _ in FIGURES)
    header = f"  {'figure':<{width}}" + "".join(f" | {names[b]:>14}" for b in backends) + f" | {'floor':>10} | met?"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for key, label, kind, floor in FIGURES:
        values = [_value(results[b], key) for b in backends]
        verdicts = [_met(v, kind, floor) for v in values]
        met = "-" if all(v is None for v in verdicts) else "yes" if all(v in ("yes", None) for v in verdicts) else "NO"
        limit = "-" if floor is None else (f">= {floor:,.0f}x" if kind == "x" else f"<= {_show(floor, kind)}")
        print(f"  {label:<{width}}" + "".join(f" | {_show(v, kind):>14}" for v in values) + f" | {limit:>10} | {met}")
    for backend in backends:
        for key, value in results[backend].items():
            if key.endswith("_error") or key == "error":
                print(f"  note: {names[backend]} {key}: {value}")


if __name__ == "__main__":  # the measuring child: python -m bench.scale URL
    print(json.dumps(measure(sys.argv[1])))
