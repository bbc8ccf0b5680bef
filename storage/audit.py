"""An append-only audit log whose rows form a hash chain.

Each event's hash covers its canonical JSON (seq, time, actor, action, target,
details, algorithm, previous hash), so editing, deleting or reordering a row
breaks the chain at that row. Two algorithms verify side by side:

- ``sha256``: a plain digest; proves the rows are consistent with each other,
  and, with an exported head (``head()`` / ``check_head()``), that nothing was
  removed from the end or rewritten since the export;
- ``hmac-sha256``: keyed with ``audit_hmac_key`` (or the file named by
  ``audit_hmac_key_file``), kept outside the database, so someone who can write
  the database but does not hold the key cannot forge a valid row.

Writers are serialized: on SQLite ``BEGIN IMMEDIATE`` takes the write lock
(waiting up to the busy timeout) before the tail is read; on PostgreSQL a
transaction-level advisory lock does the same. ``seq`` is last + 1; the primary
key on it is the last safety net (a collision retries). Migration
``0002_audit_append_only`` adds triggers that reject UPDATE and DELETE (and
TRUNCATE on PostgreSQL).

Build the log with ``audit_log(settings)``: it picks HMAC when a key is configured.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses for str
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from config.errors import ConfigError, InputError, StorageError
from storage import schema
from storage.engine import make_engine, storage_errors, translate_error

if TYPE_CHECKING:
    from config.settings import Settings

GENESIS = "0" * 64
SHA256 = "sha256"
HMAC_SHA256 = "hmac-sha256"
MAX_DETAIL_STRING = 1000  # audit details name things; they never carry prompt text
MIN_HMAC_KEY_BYTES = 16
_APPEND_ATTEMPTS = 8
_VERIFY_CHUNK = 20_000
# one advisory lock for every writer of pf_audit_events on a PostgreSQL database ("pf_audit")
_PG_LOCK_KEY = int.from_bytes(b"pf_audit", "big")

Digest = Callable[[bytes], str]
_COLUMNS = ("seq", "ts", "actor", "action", "target", "details", "alg", "prev_hash", "hash")
_TAIL_SQL = "SELECT seq, hash FROM pf_audit_events ORDER BY seq DESC LIMIT 1"
_INSERT_SQL = f"INSERT INTO pf_audit_events ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def hmac_sha256_hex(key: bytes) -> Digest:
    """A digest function for ``hmac-sha256`` keyed with ``key`` (the key stays in the closure)."""

    def digest(payload: bytes, _key: bytes = key, _hmac=hmac.digest) -> str:
        return _hmac(_key, payload, "sha256").hex()

    return digest


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same value everywhere."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def hashed_body(
    seq: int, ts: str, actor: str, action: str, target: str, details: str, alg: str, prev_hash: str
) -> bytes:
    """The bytes an event's hash covers: the canonical JSON of the event with its ``prev_hash``
    (``ts`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, ``details`` already canonical JSON).

    Written out by hand (keys in sorted order) so that verifying needs no JSON parsing; it
    equals ``canonical_json`` of the same event as a dict. Every variable part is a JSON
    string literal except ``details``, and the fixed-format fields after it (``prev_hash``,
    ``seq``, ``ts``) are checked separately, so different rows never give the same bytes.
    """
    return (
        f'{{"action":{encode_basestring(action)},"actor":{encode_basestring(actor)},'
        f'"alg":{encode_basestring(alg)},"details":{details},"prev_hash":{encode_basestring(prev_hash)},'
        f'"seq":{seq},"target":{encode_basestring(target)},"ts":"{ts}Z"}}'
    ).encode("utf-8")


def _ts_text(ts: datetime) -> str:
    return ts.isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    ts: datetime  # naive UTC
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    alg: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    """What ``AuditLog.verify()`` (or ``check_head()``) found.

    ``checked`` counts the events that verified before the first problem (all of them when
    ``ok``). ``first_bad_seq`` is the first event that is wrong: for deleted events, the first
    missing number. ``reason`` says what broke, in a sentence. ``head_seq``/``head_hash`` are
    the newest event in the log (``None`` when it is empty). ``problem`` is a short code:
    ``edited``, ``missing``, ``unlinked``, ``no_key``, ``unknown_alg``, ``truncated``,
    ``rewritten``.
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    head_alg: str | None = None
    problem: str | None = None

    def __iter__(self):
        """Unpacks as the old ``(ok, first_bad_seq)`` tuple."""
        return iter((self.ok, self.first_bad_seq))

    @property
    def verdict(self) -> str:
        """One line for people: intact with counts, or broken with the reason."""
        if self.ok:
            if not self.checked:
                return "audit chain intact: the log is empty"
            return (
                f"audit chain intact: {self.checked} event{'s' if self.checked != 1 else ''} verified, "
                f"head event {self.head_seq} ({self.head_hash[:16]}...)"
            )
        return f"audit chain BROKEN at event {self.first_bad_seq}: {self.reason}"


class AuditLog:
    """Append, list and verify audit events in ``pf_audit_events``.

    ``hmac_key`` makes new events ``hmac-sha256`` (and lets those rows verify); without
    it, new events are ``sha256``. ``alg``/``digest`` name another algorithm for new
    events, ``digests`` add verifiers for rows of other algorithms.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        alg: str | None = None,
        digest: Digest | None = None,
        digests: dict[str, Digest] | None = None,
        hmac_key: bytes | str | None = None,
    ) -> None:
        self.engine = engine
        known: dict[str, Digest] = {SHA256: sha256_hex}
        if hmac_key is not None:
            known[HMAC_SHA256] = hmac_sha256_hex(_key_bytes(hmac_key))
        known.update(digests or {})
        self.alg = alg or (HMAC_SHA256 if hmac_key is not None else SHA256)
        if digest is not None:
            known[self.alg] = digest
        if self.alg not in known:
            raise ValueError(f"no digest for the audit algorithm {self.alg!r}")
        self._digests = known
        self._digest = known[self.alg]

    def __repr__(self) -> str:  # never shows the key
        return f"AuditLog({self.engine.url.render_as_string(hide_password=True)!r}, alg={self.alg!r})"

    @property
    def has_hmac_key(self) -> bool:
        return HMAC_SHA256 in self._digests

    # -- writing -----------------------------------------------------------------

    def append(
        self, actor: str, action: str, target: str, details: dict[str, Any] | None = None
    ) -> AuditEvent:
        """Add one event at the end of the chain and return it."""
        return self.append_many([(actor, action, target, details)])[0]

    def append_many(self, events: Iterable[tuple[str, str, str, dict[str, Any] | None]]) -> list[AuditEvent]:
        """Add ``(actor, action, target, details)`` events in order, in one transaction."""
        items = []
        for actor, action, target, details in events:
            for name, value in (("actor", actor), ("action", action), ("target", target)):
                if not isinstance(value, str):
                    raise TypeError(f"audit {name} must be a string, not {type(value).__name__}")
            details = dict(details or {})
            items.append((actor, action, target, details, _check_details(details)))
        if not items:
            return []
        duplicate: tuple[type[BaseException], ...] = (sa.exc.IntegrityError, *_driver_integrity_errors())
        for attempt in range(_APPEND_ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    raw = conn.connection.driver_connection
                    if conn.dialect.driver == "psycopg" and not raw.autocommit:
                        return self._append_psycopg(raw, items)
                    self._lock(conn)
                    return self._append(conn, items)
            except duplicate:
                time.sleep(0.005 * (attempt + 1))  # another writer took this seq: read the new tail
            except Exception as exc:
                if isinstance(exc, (sa.exc.SQLAlchemyError, OSError)) or _is_driver_error(exc):
                    raise translate_error(exc, self.engine) from exc
                raise
        raise StorageError(
            "Could not append to the audit log: too many concurrent writers.", "Retry the action."
        )

    def _lock(self, conn: sa.Connection) -> None:
        """Serialize writers before the tail is read, so two never pick the same seq."""
        if conn.dialect.name == "sqlite":
            # the pysqlite driver has not begun a transaction yet (it does so lazily before
            # DML); take the write lock now, waiting up to the busy timeout for other writers
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")

    def _append(
        self, conn: sa.Connection, items: list[tuple[str, str, str, dict, str]]
    ) -> list[AuditEvent]:
        t = schema.audit_events.c
        tail = conn.execute(sa.select(t.seq, t.hash).order_by(t.seq.desc()).limit(1)).first()
        appended, rows = self._chain(tail, items)
        rows = [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
        conn.execute(sa.insert(schema.audit_events), rows if len(rows) > 1 else rows[0])
        return appended

    def _append_psycopg(self, raw: Any, items: list[tuple[str, str, str, dict, str]]) -> list[AuditEvent]:
        """The PostgreSQL path in two round trips (psycopg pipeline mode): [BEGIN, advisory
        lock, read the tail], then [INSERTs, COMMIT]; the lock is held until the commit.
        (The COMMIT is queued as a statement: ``commit()`` would cost one more round trip;
        psycopg then sees the connection idle, so the caller's commit is a no-op.)"""
        with raw.pipeline():
            lock, tail = raw.cursor(), raw.cursor()
            lock.execute(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
            tail.execute(_TAIL_SQL)
            appended, rows = self._chain(tail.fetchone(), items)
            for row in rows:
                lock.execute(_INSERT_SQL, row)
            lock.execute("COMMIT")
        return appended

    def _chain(
        self, tail: Any, items: list[tuple[str, str, str, dict, str]]
    ) -> tuple[list[AuditEvent], list[tuple]]:
        """The new events after ``tail`` (``(seq, hash)`` or ``None``), hashed in order, and
        their rows (values in ``_COLUMNS`` order)."""
        seq, prev_hash = (tail[0], tail[1]) if tail else (0, GENESIS)
        ts = schema.utcnow()
        ts_text = _ts_text(ts)
        alg, digest = self.alg, self._digest
        appended, rows = [], []
        for actor, action, target, details, details_text in items:
            seq += 1
            digest_hex = digest(hashed_body(seq, ts_text, actor, action, target, details_text, alg, prev_hash))
            appended.append(AuditEvent(seq, ts, actor, action, target, details, alg, prev_hash, digest_hex))
            rows.append((seq, ts, actor, action, target, details_text, alg, prev_hash, digest_hex))
            prev_hash = digest_hex
        return appended, rows

    # -- reading -----------------------------------------------------------------

    def list(self, limit: int = 50, offset: int = 0, action: str | None = None) -> list[AuditEvent]:
        """Newest events first."""
        t = schema.audit_events.c
        query = sa.select(schema.audit_events).order_by(t.seq.desc()).limit(limit).offset(offset)
        if action is not None:
            query = query.where(t.action == action)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [event_from_row(row) for row in conn.execute(query)]

    def head(self, verification: Verification | None = None) -> dict[str, Any]:
        """The newest event, to keep outside the database: ``{"seq", "hash", "alg", "exported_at"}``.

        With a ``verification``, the head it verified (not an event appended since).
        An empty log exports ``{"seq": 0, "hash": GENESIS, "alg": None}``.
        """
        if verification is not None:
            if not verification.ok:
                raise ValueError("refusing to export the head of a broken chain")
            seq, digest_hex, alg = verification.head_seq, verification.head_hash, verification.head_alg
        else:
            with storage_errors(self.engine), self.engine.connect() as conn:
                seq, digest_hex, alg = _tail(conn) or (None, None, None)
        return {
            "seq": seq or 0,
            "hash": digest_hex or GENESIS,
            "alg": alg,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }

    # -- verifying ---------------------------------------------------------------

    def verify(self) -> Verification:
        """Walk the whole chain from event 1 and report the first event that is wrong.

        Checks, per event: its number follows the previous one (else events were deleted),
        its ``prev_hash`` is the previous event's hash (else events were reordered or
        replaced), its algorithm can be checked here (an HMAC key is configured), and its
        hash matches its contents (else it was edited). Rows are streamed in large chunks.
        """
        digests = self._digests
        expected, prev_hash, checked = 1, GENESIS, 0
        cur_alg, cur_digest = None, None
        ts_cache: dict[Any, str] = {}
        body = hashed_body
        query = sa.text(
            "SELECT seq, ts, actor, action, target, details, alg, prev_hash, hash FROM pf_audit_events "
            "WHERE seq >= :after ORDER BY seq LIMIT :chunk"
        )
        after = -(2**62)  # from the very first row, whatever its number
        last: tuple[int, str, str] | None = None

        def broken(seq: int, problem: str, reason: str) -> Verification:
            head = _tail(conn)
            return Verification(False, checked, seq, reason, *(head or (None, None, None)), problem)

        with storage_errors(self.engine), self.engine.connect() as conn:
            while True:
                rows = conn.execute(query, {"after": after, "chunk": _VERIFY_CHUNK}).all()
                for seq, ts, actor, action, target, details, alg, row_prev, row_hash in rows:
                    if seq != expected:
                        if seq > expected:
                            missing = f"event {expected} is" if seq == expected + 1 else (
                                f"events {expected}-{seq - 1} are"
                            )
                            return broken(expected, "missing", f"{missing} missing (deleted)")
                        return broken(seq, "missing", f"event {seq} has an invalid number (the chain starts at 1)")
                    if row_prev != prev_hash:
                        where = "the start of the chain" if seq == 1 else f"event {seq - 1}"
                        return broken(
                            seq, "unlinked", f"event {seq} does not link to {where} (reordered or replaced)"
                        )
                    if alg != cur_alg:
                        cur_digest = digests.get(alg)
                        if cur_digest is None:
                            if alg == HMAC_SHA256:
                                return broken(
                                    seq,
                                    "no_key",
                                    f"event {seq} uses hmac-sha256 but no HMAC key is configured "
                                    "(set audit_hmac_key or audit_hmac_key_file to verify it)",
                                )
                            return broken(
                                seq, "unknown_alg", f"event {seq} uses an unknown hash algorithm {alg!r}"
                            )
                        cur_alg = alg
                    ts_text = ts_cache.get(ts)
                    if ts_text is None:
                        ts_text = _row_ts_text(ts)
                        if ts_text is None:
                            return broken(seq, "edited", f"event {seq} was edited: its time is not a valid timestamp")
                        if len(ts_cache) > 4096:
                            ts_cache.clear()
                        ts_cache[ts] = ts_text
                    if cur_digest(body(seq, ts_text, actor, action, target, details, alg, row_prev)) != row_hash:
                        return broken(seq, "edited", f"event {seq} was edited: its hash does not match its contents")
                    expected, prev_hash = seq + 1, row_hash
                    checked += 1
                if rows:
                    last = (rows[-1][0], rows[-1][8], rows[-1][6])
                if len(rows) < _VERIFY_CHUNK:
                    break
                after = last[0] + 1
        if last is None:
            return Verification(True, 0)
        return Verification(True, checked, None, None, *last)

    def check_head(self, head: Mapping[str, Any]) -> Verification:
        """Verify the chain, then that it still holds the exported ``head`` unchanged: a chain
        that verifies but ends before the head lost events from its end; one whose event at the
        head's number has another hash was rewritten (edited and re-hashed) after the export."""
        seq, digest_hex = _parse_head(head)
        result = self.verify()
        if not result.ok:
            return result
        end = result.head_seq or 0
        if seq > end:
            return replace(
                result,
                ok=False,
                first_bad_seq=end + 1,
                problem="truncated",
                reason=(
                    f"the chain ends at event {end} but the exported head is event {seq}: "
                    "events were removed from the end"
                ),
            )
        if seq == 0:
            actual = GENESIS
        else:
            t = schema.audit_events.c
            with storage_errors(self.engine), self.engine.connect() as conn:
                actual = conn.execute(sa.select(t.hash).where(t.seq == seq)).scalar()
        if actual != digest_hex:
            return replace(
                result,
                ok=False,
                first_bad_seq=seq,
                problem="rewritten",
                reason=(
                    f"event {seq} has a different hash than the exported head: the chain was "
                    "rewritten (events edited and re-hashed) after the head was exported"
                ),
            )
        return result


def audit_log(settings: Settings, engine: sa.Engine | None = None) -> AuditLog:
    """The audit log for ``settings``: ``hmac-sha256`` when a key is configured
    (``audit_hmac_key`` or the file named by ``audit_hmac_key_file``), else ``sha256``."""
    return AuditLog(engine if engine is not None else make_engine(settings), hmac_key=hmac_key(settings))


def hmac_key(settings: Settings) -> bytes | None:
    """The configured audit HMAC key, or ``None``; ``ConfigError`` if it is unusable."""
    return load_hmac_key(settings.audit_hmac_key, settings.audit_hmac_key_file, "audit_hmac_key", "audit HMAC key")


def load_hmac_key(secret: Any, path: Path | str | None, setting: str, what: str) -> bytes | None:
    """A key from the setting ``setting`` (the key itself, a ``SecretStr`` or text) or from the
    file named by ``<setting>_file``; ``None`` when neither is set; ``ConfigError`` (naming the
    settings, never the key) when both are, the file is unreadable or the key is too short."""
    env = f"PROMPTFORGE_{setting.upper()}"
    if secret is not None and path is not None:
        raise ConfigError(
            f"Both {setting} and {setting}_file are set.", f"Set only one of {env} and {env}_FILE."
        )
    if secret is not None:
        value = secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret)
        key, where = value.strip().encode("utf-8"), setting
    elif path is not None:
        where = f"the {what} file {path}"
        try:
            key = Path(path).expanduser().read_bytes().strip()
        except OSError as exc:
            raise ConfigError(
                f"Cannot read {where}: {exc.strerror or exc}.",
                "Create the file (e.g. `python -c \"import secrets; print(secrets.token_hex(32))\" > FILE`, "
                f"readable only by this user) or fix {env}_FILE.",
            ) from None
    else:
        return None
    if len(key) < MIN_HMAC_KEY_BYTES:
        raise ConfigError(
            f"The {what} in {where} is too short (at least {MIN_HMAC_KEY_BYTES} bytes).",
            "Generate one with `python -c \"import secrets; print(secrets.token_hex(32))\"`.",
        )
    return key


def _key_bytes(key: bytes | str) -> bytes:
    key = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not key:
        raise ValueError("the audit HMAC key is empty")
    return key


@functools.cache
def _driver_integrity_errors() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is in the requirements
        return ()
    return (psycopg.IntegrityError,)


def _is_driver_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, psycopg.Error)


def _tail(conn: sa.Connection) -> tuple[int, str, str] | None:
    t = schema.audit_events.c
    row = conn.execute(sa.select(t.seq, t.hash, t.alg).order_by(t.seq.desc()).limit(1)).first()
    return tuple(row) if row else None


def _row_ts_text(ts: Any) -> str | None:
    """A row's time as hashed: a datetime (PostgreSQL), or SQLite's stored text."""
    if isinstance(ts, str):
        try:
            ts = datetime.fromisoformat(ts)
        except ValueError:
            return None
    if not isinstance(ts, datetime) or ts.tzinfo is not None:
        return None
    return _ts_text(ts)


def _parse_head(head: Mapping[str, Any]) -> tuple[int, str]:
    try:
        seq, digest_hex = head["seq"], head["hash"]
    except (KeyError, TypeError):
        seq = digest_hex = None
    if (
        not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 0
        or not isinstance(digest_hex, str)
        or len(digest_hex) != 64
    ):
        raise InputError(
            "The audit head is not a head export (it needs an integer \"seq\" and a 64-character \"hash\").",
            "Pass a file written by `python launch.py verify-audit --export-head FILE`.",
        )
    return seq, digest_hex




def _check_details(details: dict[str, Any]) -> str:
    """Details must be JSON-safe and hold only short strings (ids, names, counts).
    Returns their canonical JSON."""
    try:
        text = canonical_json(details)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit details must be JSON-safe: {exc}") from None

    def walk(value: Any) -> None:
        if isinstance(value, str) and len(value) > MAX_DETAIL_STRING:
            raise ValueError(
                f"audit detail strings are limited to {MAX_DETAIL_STRING} characters; "
                "record ids or hashes, never prompt text"
            )
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(details)
    return text


def event_from_row(row: sa.Row) -> AuditEvent:
    m = row._mapping
    try:
        details = json.loads(m["details"])
    except ValueError:
        details = {"__unparseable__": m["details"][:MAX_DETAIL_STRING]}
    return AuditEvent(**{**m, "details": details})
