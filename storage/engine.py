"""The one SQLAlchemy engine per database URL, and database errors a user can act on.

SQLite runs in WAL mode with a busy timeout (set on every new connection);
PostgreSQL goes through psycopg 3. ``storage_errors()`` turns driver errors into
``StorageError`` whose message says what to do next.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url

from config.errors import StorageError
from config.settings import Settings

try:  # JSON columns (TruLens events, pf_ tables) serialize several times faster with orjson
    import orjson

    def _json_dumps(value) -> str:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()

except ImportError:  # pragma: no cover - orjson is in the requirements
    import json

    _json_dumps = json.dumps

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def normalize_url(url: str) -> URL:
    """``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(settings: Settings) -> sa.Engine:
    """The engine for ``settings.resolved_database_url``, built once per URL."""
    url = normalize_url(settings.resolved_database_url)
    key = url.render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _build(url, settings.sqlite_busy_timeout_ms)
            _engines[key] = engine
        return engine


def _build(url: URL, busy_timeout_ms: int) -> sa.Engine:
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=5, json_serializer=_json_dumps
        )
    in_memory = not url.database or url.database == ":memory:"
    if not in_memory:
        try:
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"Cannot create the database folder for {url.database}: {exc.strerror}.",
                "Check the path and its permissions, or set PROMPTFORGE_DATABASE_URL.",
            ) from exc
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        json_serializer=_json_dumps,
        **({} if in_memory else {"pool_size": 10, "max_overflow": 5}),
    )

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    return engine


def upsert_into(conn: sa.Connection, table: sa.Table):
    """An INSERT of ``conn``'s dialect on ``table``, the kind that takes ``on_conflict_do_update``
    (both PostgreSQL and SQLite have it; SQLAlchemy's generic insert has not)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def describe(engine: sa.Engine) -> str:
    """The engine's URL with any password hidden."""
    return engine.url.render_as_string(hide_password=True)


def translate_error(exc: BaseException, engine: sa.Engine | None = None) -> StorageError:
    """A ``StorageError`` saying what went wrong with the database and what to do."""
    if isinstance(exc, StorageError):
        return exc
    where = describe(engine) if engine is not None else "the database"
    text = str(getattr(exc, "orig", None) or exc)
    low = text.lower()
    if "readonly database" in low or "read-only" in low:
        return StorageError(
            f"The database {where} is read-only.",
            "Check the file and folder permissions: this process must be able to write the "
            "database file and its folder (SQLite writes -wal and -shm files beside it). "
            "Or set PROMPTFORGE_DATABASE_URL to a writable location.",
        )
    if "unable to open database" in low:
        return StorageError(
            f"Cannot open the database {where}.",
            "Check that the path exists and that its file and folder permissions allow "
            "reading and writing, or set PROMPTFORGE_DATABASE_URL.",
        )
    if "database is locked" in low or "database table is locked" in low:
        return StorageError(
            f"The database {where} is locked by another process.",
            "Wait for the other writer to finish and retry, raise PROMPTFORGE_SQLITE_BUSY_TIMEOUT_MS, "
            "or use PostgreSQL for several concurrent users.",
        )
    if "connection refused" in low or "could not connect" in low or "connection failed" in low:
        return StorageError(
            f"Cannot connect to the database server for {where}.",
            "Start the database server, or set PROMPTFORGE_DATABASE_URL to a reachable one.",
        )
    if "does not exist" in low and "database" in low:
        return StorageError(
            f"The database named in {where} does not exist.",
            "Create it (e.g. `createdb NAME`) or set PROMPTFORGE_DATABASE_URL.",
        )
    if "authentication failed" in low or "password" in low:
        return StorageError(
            f"The database server rejected the credentials for {where}.",
            "Check the user and password in PROMPTFORGE_DATABASE_URL.",
        )
    return StorageError(
        f"Database error on {where}: {type(exc).__name__}: {text.splitlines()[0] if text else ''}",
        "Check PROMPTFORGE_DATABASE_URL and that the database is reachable and writable.",
    )


@contextmanager
def storage_errors(engine: sa.Engine | None = None) -> Iterator[None]:
    """Re-raise database and file-system errors as ``StorageError``."""
    try:
        yield
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        raise translate_error(exc, engine) from exc


def check_writable(engine: sa.Engine) -> None:
    """Raise ``StorageError`` now if the database cannot take writes (read-only file or
    server, or a lock held past the busy timeout), before any work that must be recorded."""
    with storage_errors(engine), engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # a write that changes nothing, rolled back: fails on a read-only file or a held lock
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                conn.exec_driver_sql("DELETE FROM pf_schema_version WHERE 0")
            finally:
                conn.exec_driver_sql("ROLLBACK")
        elif conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on":
            raise StorageError(
                f"The database {describe(engine)} is read-only.",
                "Connect to a writable primary, or set PROMPTFORGE_DATABASE_URL to one.",
            )
