"""``python launch.py bench audit``: the audit chain's write and verify speed.

For SQLite (a temporary file: WAL, synchronous=NORMAL, as the app runs it) and PostgreSQL (a
temporary database on ``PROMPTFORGE_BENCH_PG``, default postgresql://postgres@127.0.0.1:5432,
dropped afterwards; skipped when unreachable), prints:
- events appended per second by one writer, one ``append`` (one transaction) per event;
- total events per second by 4 writer processes appending one event at a time at once,
  and whether the chain they left verifies;
- seconds to verify a chain of 100,000 events.
Events are ``hmac-sha256`` (a random key), the hardened configuration.
Floors (printed beside the figures, not asserted): >= 1,000 events/s for one writer,
100,000 events verified in < 5 s.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import secrets
import tempfile
import time
import uuid
from pathlib import Path

from config.settings import Settings

PG_SERVER = os.environ.get("PROMPTFORGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SINGLE_EVENTS = 3_000
WRITERS = 4
EVENTS_PER_WRITER = 750
VERIFY_EVENTS = 100_000
BUILD_BATCH = 5_000
FLOOR_EVENTS_PER_S = 1_000
FLOOR_VERIFY_S = 5.0


def main(
    settings: Settings | None = None,
    *,
    pg_server: str = PG_SERVER,
    single_events: int = SINGLE_EVENTS,
    writers: int = WRITERS,
    events_per_writer: int = EVENTS_PER_WRITER,
    verify_events: int = VERIFY_EVENTS,
) -> int:
    key = secrets.token_hex(32)
    sizes = (single_events, writers, events_per_writer, verify_events)
    print(
        f"audit chain benchmark (hmac-sha256): {single_events:,} single appends, {writers} writer processes "
        f"x {events_per_writer:,}, verify {verify_events:,} events; {os.cpu_count()} CPUs"
    )
    results = {}
    with tempfile.TemporaryDirectory(prefix="pf-audit-bench-") as tmp:
        print("\nSQLite (temporary file, WAL, synchronous=NORMAL):")
        results["SQLite"] = _backend(f"sqlite:///{Path(tmp) / 'audit.db'}", Path(tmp), key, *sizes)

        print(f"\nPostgreSQL (temporary database on {_hide_password(pg_server)}):")
        try:
            url, drop = _pg_database(pg_server)
        except Exception as exc:  # noqa: BLE001 - any failure to reach the server means "skipped"
            print(f"  skipped: PostgreSQL is not reachable ({str(exc).splitlines()[0] if str(exc) else exc!r})")
        else:
            try:
                results["PostgreSQL"] = _backend(url, Path(tmp), key, *sizes)
            finally:
                _dispose(url, Path(tmp))
                drop()

    print("\nagainst the floors:")
    for name, (single_rate, _, verify_s) in results.items():
        print(
            f"  {name:<10} single writer {single_rate:8,.0f} events/s (floor >= {FLOOR_EVENTS_PER_S:,})  "
            f"{'OK' if single_rate >= FLOOR_EVENTS_PER_S else 'MISSED'};  "
            f"verify {verify_events:,} in {verify_s:5.2f} s (floor < {FLOOR_VERIFY_S:g} s)  "
            f"{'OK' if verify_s < FLOOR_VERIFY_S else 'MISSED'}"
        )
    return 0


def _backend(
    url: str, data_dir: Path, key: str, single_events: int, writers: int, per_writer: int, verify_events: int
) -> tuple[float, float, float]:
    from storage import migrate
    from storage.audit import AuditLog

    engine = _engine(url, data_dir)
    migrate.upgrade(engine)
    log = AuditLog(engine, hmac_key=key)

    for i in range(50):  # warm the pool and the statement caches
        log.append("bench", "warmup", f"w{i}", {"i": i})
    started = time.perf_counter()
    for i in range(single_events):
        log.append("bench", "run", f"record-{i}", {"i": i, "status": "ok", "metrics": ["toxicity"]})
    single_rate = single_events / (time.perf_counter() - started)
    print(f"  single writer, {single_events:,} appends      {single_rate:10,.0f} events/s   (floor >= "
          f"{FLOOR_EVENTS_PER_S:,})  {'OK' if single_rate >= FLOOR_EVENTS_PER_S else 'MISSED'}")

    before = log.verify().checked
    concurrent_rate = _concurrent(url, data_dir, key, writers, per_writer)
    after = log.verify()
    intact = after.ok and after.checked == before + writers * (per_writer + 1)
    print(f"  {writers} writer processes, {writers * per_writer:,} appends {concurrent_rate:10,.0f} events/s total  "
          f"(chain {'intact: ' + format(after.checked, ',') + ' events' if intact else 'BROKEN: ' + str(after.reason)})")

    missing = verify_events - after.checked
    started = time.perf_counter()
    while missing > 0:
        n = min(BUILD_BATCH, missing)
        log.append_many(
            ("bench", "run.record", uuid.uuid4().hex, {"batch_id": "b" * 32, "i": i, "status": "ok"}) for i in range(n)
        )
        missing -= n
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    result = log.verify()
    verify_s = time.perf_counter() - started
    print(f"  verify {result.checked:,} events ({'intact' if result.ok else 'BROKEN'})"
          f"{'':7}{verify_s:10.2f} s          (floor < {FLOOR_VERIFY_S:g} s)  "
          f"{'OK' if verify_s < FLOOR_VERIFY_S else 'MISSED'}   [built with append_many in {build_s:.1f} s]")
    return single_rate, concurrent_rate, verify_s


def _concurrent(url: str, data_dir: Path, key: str, writers: int, per_writer: int) -> float:
    """Total events/s of ``writers`` spawned processes appending one event at a time together."""
    ctx = mp.get_context("spawn")
    ready, done = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    procs = [
        ctx.Process(target=_writer, args=(url, str(data_dir), key, w, per_writer, ready, go, done))
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=120)
        started = time.perf_counter()
        go.set()
        errors = [done.get(timeout=600) for _ in procs]
        elapsed = time.perf_counter() - started
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.terminate()
    failed = [e for e in errors if e]
    if failed:
        raise RuntimeError(f"a writer process failed: {failed[0]}")
    return writers * per_writer / elapsed


def _writer(url, data_dir, key, writer, n, ready, go, done) -> None:  # runs in a spawned process
    from storage.audit import AuditLog

    try:
        log = AuditLog(_engine(url, Path(data_dir)), hmac_key=key)
        log.append(f"bench-{writer}", "warmup", f"writer-{writer}")  # connected, caches warm
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        ready.put(writer)
        done.put(f"{type(exc).__name__}: {exc}")
        return
    ready.put(writer)
    go.wait()
    try:
        for i in range(n):
            log.append(f"bench-{writer}", "run", f"record-{writer}-{i}", {"i": i})
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        done.put(f"{type(exc).__name__}: {exc}")
    else:
        done.put(None)
    finally:
        log.engine.dispose()


def _engine(url: str, data_dir: Path):
    from storage.engine import make_engine

    return make_engine(Settings(data_dir=data_dir, database_url=url))


def _dispose(url: str, data_dir: Path) -> None:
    _engine(url, data_dir).dispose()


def _pg_database(server: str):
    """Create ``pf_bench_<random>`` on ``server``; returns (SQLAlchemy URL, drop function)."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(server)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    name = f"pf_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = parsed.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    return url, drop


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
