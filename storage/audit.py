"""An append-only audit log whose rows form a hash chain.

Each event's hash covers its canonical JSON (seq, time, actor, action, target,
details, algorithm, previous hash), so editing, deleting or reordering a row
breaks the chain at that row. ``seq`` is assigned as last + 1 inside the
inserting transaction; a concurrent writer that picked the same number fails
on the primary key and retries.

Extension points for hardening: ``digest`` (e.g. an HMAC keyed from secrets,
with its own ``alg`` name) and database-side triggers that forbid UPDATE and
DELETE; rows written with different algorithms verify side by side.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from config.errors import StorageError
from storage import schema
from storage.engine import storage_errors, translate_error

GENESIS = "0" * 64
MAX_DETAIL_STRING = 1000  # audit details name things; they never carry prompt text
_APPEND_ATTEMPTS = 8


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same value everywhere."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


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


class AuditLog:
    """Append, list and verify audit events in ``pf_audit_events``."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        alg: str = "sha256",
        digest: Callable[[bytes], str] = sha256_hex,
        digests: dict[str, Callable[[bytes], str]] | None = None,
    ) -> None:
        self.engine = engine
        self.alg = alg
        self._digest = digest
        self._digests = {"sha256": sha256_hex, **(digests or {}), alg: digest}

    def append(
        self, actor: str, action: str, target: str, details: dict[str, Any] | None = None
    ) -> AuditEvent:
        """Add one event at the end of the chain and return it."""
        return self.append_many([(actor, action, target, details)])[0]

    def append_many(self, events: Iterable[tuple[str, str, str, dict[str, Any] | None]]) -> list[AuditEvent]:
        """Add ``(actor, action, target, details)`` events in order, in one transaction."""
        items = [(actor, action, target, dict(details or {})) for actor, action, target, details in events]
        for *_, details in items:
            _check_details(details)
        for attempt in range(_APPEND_ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    return self._append(conn, items)
            except sa.exc.IntegrityError:
                time.sleep(0.005 * (attempt + 1))  # another writer took this seq: read the new tail
            except (sa.exc.SQLAlchemyError, OSError) as exc:
                raise translate_error(exc, self.engine) from exc
        raise StorageError(
            "Could not append to the audit log: too many concurrent writers.", "Retry the action."
        )

    def _append(self, conn: sa.Connection, items: list[tuple[str, str, str, dict]]) -> list[AuditEvent]:
        t = schema.audit_events.c
        tail = conn.execute(sa.select(t.seq, t.hash).order_by(t.seq.desc()).limit(1)).first()
        seq, prev_hash = (tail.seq, tail.hash) if tail else (0, GENESIS)
        ts = datetime.now(UTC).replace(tzinfo=None)
        appended = []
        for actor, action, target, details in items:
            seq += 1
            fields = {
                "seq": seq,
                "ts": ts,
                "actor": actor,
                "action": action,
                "target": target,
                "details": details,
                "alg": self.alg,
            }
            event = AuditEvent(
                **fields, prev_hash=prev_hash, hash=self._hash(fields, prev_hash, self._digest)
            )
            appended.append(event)
            prev_hash = event.hash
        if appended:
            rows = [{**e.__dict__, "details": canonical_json(e.details)} for e in appended]
            conn.execute(sa.insert(schema.audit_events), rows)
        return appended

    def list(self, limit: int = 50, offset: int = 0, action: str | None = None) -> list[AuditEvent]:
        """Newest events first."""
        t = schema.audit_events.c
        query = sa.select(schema.audit_events).order_by(t.seq.desc()).limit(limit).offset(offset)
        if action is not None:
            query = query.where(t.action == action)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(query)]

    def verify(self) -> tuple[bool, int | None]:
        """(True, None) if the chain is intact, else (False, seq of the first row that fails)."""
        prev_seq, prev_hash = 0, GENESIS
        for event in self._iter_all():
            digest = self._digests.get(event.alg)
            if (
                digest is None
                or event.seq != prev_seq + 1
                or event.prev_hash != prev_hash
                or event.hash != self._hash(_fields(event), event.prev_hash, digest)
            ):
                return False, event.seq
            prev_seq, prev_hash = event.seq, event.hash
        return True, None

    def _iter_all(self, chunk: int = 1000) -> Iterator[AuditEvent]:
        t = schema.audit_events.c
        last = 0
        with storage_errors(self.engine), self.engine.connect() as conn:
            while True:
                rows = conn.execute(
                    sa.select(schema.audit_events).where(t.seq > last).order_by(t.seq).limit(chunk)
                ).all()
                if not rows:
                    return
                for row in rows:
                    yield _event(row)
                last = rows[-1].seq

    @staticmethod
    def _hash(fields: dict[str, Any], prev_hash: str, digest: Callable[[bytes], str]) -> str:
        body = {**fields, "ts": fields["ts"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "prev_hash": prev_hash}
        return digest(canonical_json(body).encode("utf-8"))


def _check_details(details: dict[str, Any]) -> None:
    """Details must be JSON-safe and hold only short strings (ids, names, counts)."""
    try:
        canonical_json(details)
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


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "ts": event.ts,
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "details": event.details,
        "alg": event.alg,
    }


def _event(row: sa.Row) -> AuditEvent:
    m = row._mapping
    try:
        details = json.loads(m["details"])
    except ValueError:
        details = {"__unparseable__": m["details"][:MAX_DETAIL_STRING]}
    return AuditEvent(**{**m, "details": details})
