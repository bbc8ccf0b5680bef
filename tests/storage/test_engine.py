"""Engine setup (WAL, busy timeout, URLs) and database errors a user can act on."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from config.errors import StorageError
from config.settings import Settings
from storage.engine import make_engine, normalize_url, translate_error
from storage.trulens_store import open_store


def test_sqlite_runs_in_wal_mode_with_busy_timeout(sqlite_store, tmp_settings):
    assert sqlite_store.session.connector.db.engine is sqlite_store.engine  # TruLens shares our engine
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == tmp_settings.sqlite_busy_timeout_ms


def test_engine_is_cached_per_url_and_creates_the_folder(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'a' / 'b' / 'x.db'}")
    engine = make_engine(settings)
    assert make_engine(settings) is engine
    assert (tmp_path / "a" / "b").is_dir()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_postgres_urls_use_psycopg(url, driver):
    assert normalize_url(url).drivername == driver


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("attempt to write a readonly database", "PROMPTFORGE_DATABASE_URL"),
        ("unable to open database file", "permissions"),
        ("database is locked", "another process"),
        ("connection failed: connect to server: Connection refused", "Start the database server"),
    ],
)
def test_driver_errors_become_storage_errors_that_say_what_to_do(message, expected):
    error = translate_error(sa.exc.OperationalError("stmt", {}, sqlite3.OperationalError(message)))
    assert isinstance(error, StorageError)
    assert expected in str(error)
    assert "stmt" not in str(error)  # never echo SQL or its parameters


def test_unreachable_postgres_raises_storage_error(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url="postgresql://postgres@127.0.0.1:1/test")
    with pytest.raises(StorageError, match="Start the database server"):
        open_store(settings)


def test_locked_database_fails_flush_then_retries_without_loss(tmp_path, make_run):
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'pf.db'}", sqlite_busy_timeout_ms=200
    )
    store = open_store(settings)
    try:
        blocker = sqlite3.connect(tmp_path / "pf.db", timeout=0.1)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        run = make_run()
        store.record_run(run)
        with pytest.raises(StorageError, match="locked"):
            store.flush(timeout=20)
        assert store.pending == 1  # kept, not dropped
        blocker.rollback()
        blocker.close()
        store.flush(timeout=20)
        assert store.count_runs() == 1
    finally:
        store.close()


@contextmanager
def read_only(path: Path, with_folder: bool):
    """Make the database file (and its folder) read-only; as root, also immutable."""
    targets = [path, path.parent] if with_folder else [path]
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in targets}
    immutable = []
    try:
        for p in targets:
            os.chmod(p, 0o555 if p.is_dir() else 0o444)
        if os.geteuid() == 0:  # root ignores permission bits: use the immutable flag
            for p in targets:
                if subprocess.run(["chattr", "+i", str(p)], capture_output=True, check=False).returncode != 0:
                    pytest.skip("running as root and chattr is unavailable: cannot make a file read-only")
                immutable.append(p)
        yield
    finally:
        for p in immutable:
            subprocess.run(["chattr", "-i", str(p)], check=True)
        for p, mode in modes.items():
            os.chmod(p, mode)


@pytest.mark.parametrize("with_folder", [True, False], ids=["file+folder", "file"])
def test_read_only_database_raises_helpful_error_and_keeps_data(tmp_settings, make_run, with_folder):
    db = Path(tmp_settings.resolved_database_url.removeprefix("sqlite:///"))
    store = open_store(tmp_settings)
    runs = [make_run(i) for i in range(3)]
    store.record_runs(runs)
    store.close()

    with read_only(db, with_folder):
        try:
            store = open_store(tmp_settings)
        except StorageError as exc:
            error = exc
        else:
            store.record_run(make_run(9))
            with pytest.raises(StorageError) as info:
                store.flush(timeout=30)
            error = info.value
            with pytest.raises(StorageError):
                store.close()
    assert "read-only" in str(error) or "Cannot open" in str(error)
    assert "permission" in str(error) and "PROMPTFORGE_DATABASE_URL" in str(error)

    store = open_store(tmp_settings)
    try:
        assert store.count_runs() == 3
        assert store.get_run(runs[1].run_id)["input"] == runs[1].input_text
    finally:
        store.close()
