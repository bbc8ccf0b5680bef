"""The hash-chained audit log (SQLite and PostgreSQL): appending, serialized writers,
append-only triggers, and verification that says what broke."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory

from config.errors import ConfigError, InputError, StorageError
from config.settings import Settings
from storage import audit as audit_module
from storage import migrate
from storage.audit import (
    GENESIS,
    AuditLog,
    Verification,
    audit_log,
    canonical_json,
    hashed_body,
    sha256_hex,
)
from storage.engine import make_engine, storage_errors

ROOT = Path(__file__).resolve().parents[2]
KEY = "k" * 32
OTHER_KEY = "x" * 32


def _with(settings: Settings, **changes) -> Settings:
    """The same database, with other settings (validated, unlike ``model_copy``)."""
    return Settings(data_dir=settings.data_dir, database_url=settings.database_url, **changes)


def _is_pg(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def as_attacker(engine: sa.Engine):
    """A transaction past the append-only triggers, as someone with DBA rights (PostgreSQL:
    replica mode skips triggers) or write access to the SQLite file (drop them, put them back)."""
    with engine.begin() as conn:
        if _is_pg(engine):
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            yield conn
            return
        triggers = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'pf_audit_events'"
        ).all()
        for name, _ in triggers:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        yield conn
        for _, sql in triggers:
            conn.exec_driver_sql(sql)


@pytest.fixture
def engine(settings):
    """The pf_ tables migrated on each backend, the audit table empty (the PostgreSQL database
    is shared by the session)."""
    engine = make_engine(settings)
    migrate.upgrade(engine)
    with as_attacker(engine) as conn:
        conn.exec_driver_sql("DELETE FROM pf_audit_events")
    return engine


@pytest.fixture
def audit(engine):
    return AuditLog(engine)


def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append("alice", "export", f"report-{i}", {"rows": i})


# -- appending -----------------------------------------------------------------------


def test_append_list_and_verify(audit):
    first = audit.append("alice", "prompt.create", "loan-summary", {"version": 1})
    second = audit.append("bob", "run.record", "a" * 32, {"status": "ok", "metrics": ["toxicity"]})
    assert (first.seq, first.prev_hash, first.alg) == (1, GENESIS, "sha256")
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert [e.seq for e in audit.list()] == [2, 1]
    assert [e.action for e in audit.list(action="run.record")] == ["run.record"]
    assert audit.list(limit=1, offset=1)[0].details == {"version": 1}
    result = audit.verify()
    assert result == Verification(True, 2, None, None, 2, second.hash, "sha256")
    ok, first_bad = result  # the old (ok, first_bad_seq) unpacking still works
    assert (ok, first_bad) == (True, None)
    assert result.verdict.startswith("audit chain intact: 2 events verified, head event 2")


def test_append_many_chains_in_order(audit):
    audit.append("alice", "start", "x")
    events = audit.append_many([("bob", "run", f"r{i}", {"i": i}) for i in range(3)])
    assert [e.seq for e in events] == [2, 3, 4]
    assert events[1].prev_hash == events[0].hash
    assert audit.append_many([]) == []
    assert audit.verify().ok and audit.verify().checked == 4


def test_empty_log_verifies(audit):
    result = audit.verify()
    assert (result.ok, result.checked, result.head_seq) == (True, 0, None)
    assert result.verdict == "audit chain intact: the log is empty"
    assert audit.head()["seq"] == 0 and audit.head()["hash"] == GENESIS


def test_details_never_carry_long_text(audit):
    with pytest.raises(ValueError, match="never prompt text"):
        audit.append("alice", "run.record", "x", {"prompt": "word " * 300})
    with pytest.raises(TypeError, match="actor must be a string"):
        audit.append(None, "run.record", "x")


@pytest.mark.parametrize(
    "event",
    [
        ("alice", "run", "r1", {"b": 1, "a": [1.5, None, True], "z": {"y": "x"}}),
        ('o"neil\\', "ex\u00e9port\n", "\u2028\x00tab\t", {"\u00fc": "\u65e5\u672c", "emoji": "\U0001f600"}),
        ("", "", "", {}),
    ],
)
def test_hashed_bytes_are_the_canonical_json_of_the_event(event):
    """Rows written before the hand-written fast path (canonical_json of the event as a dict,
    ``ts`` by strftime) verify unchanged."""
    actor, action, target, details = event
    ts = datetime(2024, 5, 17, 9, 3, 7, 42)
    old = canonical_json(
        {
            "seq": 12,
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": actor,
            "action": action,
            "target": target,
            "details": details,
            "alg": "sha256",
            "prev_hash": "ab" * 32,
        }
    ).encode()
    new = hashed_body(12, ts.isoformat(timespec="microseconds"), actor, action, target,
                      canonical_json(details), "sha256", "ab" * 32)
    assert new == old


# -- serialized writers ------------------------------------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from config.settings import Settings
from storage.audit import AuditLog
from storage.engine import make_engine

url, data_dir, name, n = sys.argv[1:]
log = AuditLog(make_engine(Settings(database_url=url, data_dir=data_dir)))
with log.engine.connect():
    pass
Path(data_dir, name + ".ready").touch()
while not Path(data_dir, "go").exists():
    time.sleep(0.001)
for i in range(int(n)):
    log.append(name, "run", f"{name}-{i}", {"i": i})
"""


def test_two_processes_appending_at_once_leave_one_valid_chain(audit, settings, tmp_path):
    url = settings.resolved_database_url
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(tmp_path), name, "200"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in ("w1", "w2")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"{n}.ready").exists() for n in ("w1", "w2")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [
            p.communicate() for p in procs if p.poll() is not None
        ]
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err  # never "database is locked"

    result = audit.verify()
    assert (result.ok, result.checked, result.head_seq) == (True, 400, 400), result.reason
    events = sorted(audit.list(limit=1000), key=lambda e: e.seq)
    assert [e.seq for e in events] == list(range(1, 401))
    for name in ("w1", "w2"):  # each writer's events in its own order
        assert [e.target for e in events if e.actor == name] == [f"{name}-{i}" for i in range(200)]


# -- append-only in the database -----------------------------------------------------------


def test_triggers_reject_update_and_delete(audit):
    _fill(audit, 3)
    for statement in (
        "UPDATE pf_audit_events SET actor = 'mallory' WHERE seq = 2",
        "DELETE FROM pf_audit_events WHERE seq = 3",
        "DELETE FROM pf_audit_events",
    ):
        with pytest.raises(StorageError, match="append-only"):
            with storage_errors(audit.engine), audit.engine.begin() as conn:
                conn.exec_driver_sql(statement)
    assert audit.verify().checked == 3


@pytest.mark.postgres
def test_postgres_trigger_rejects_truncate(pg_url, tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path, database_url=pg_url))
    migrate.upgrade(engine)
    with as_attacker(engine) as conn:
        conn.exec_driver_sql("DELETE FROM pf_audit_events")
    AuditLog(engine).append("alice", "x", "y")
    with pytest.raises(StorageError, match="append-only: TRUNCATE is not allowed"):
        with storage_errors(engine), engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE pf_audit_events")
    assert AuditLog(engine).verify().checked == 1


def test_append_only_migration_downgrades_and_upgrades(audit):
    """0002's own downgrade and upgrade (run alone: later migrations and their data stay)."""
    _fill(audit, 2)
    script = ScriptDirectory.from_config(migrate.alembic_config()).get_revision("0002_audit_append_only")
    assert script.down_revision == "0001_pf_initial"

    def run(step):
        with audit.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            step()

    run(script.module.downgrade)
    try:
        with audit.engine.begin() as conn:  # no triggers any more
            conn.exec_driver_sql("UPDATE pf_audit_events SET actor = 'mallory' WHERE seq = 2")
    finally:
        run(script.module.upgrade)
    with pytest.raises(StorageError, match="append-only"):
        with storage_errors(audit.engine), audit.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE pf_audit_events SET actor = 'alice' WHERE seq = 2")
    assert audit.verify().reason == "event 2 was edited: its hash does not match its contents"


# -- verification that says what broke ------------------------------------------------------------


def test_edited_row_is_found(audit):
    _fill(audit, 5)
    with as_attacker(audit.engine) as conn:
        conn.exec_driver_sql("UPDATE pf_audit_events SET details = '{\"rows\":999}' WHERE seq = 3")
    result = audit.verify()
    assert (result.ok, result.first_bad_seq, result.checked, result.problem) == (False, 3, 2, "edited")
    assert result.reason == "event 3 was edited: its hash does not match its contents"
    assert result.head_seq == 5
    assert tuple(result) == (False, 3)
    assert result.verdict == "audit chain BROKEN at event 3: " + result.reason


def test_edited_time_is_found(audit):
    _fill(audit, 3)
    with as_attacker(audit.engine) as conn:
        conn.execute(
            sa.text("UPDATE pf_audit_events SET ts = :ts WHERE seq = 2"), {"ts": datetime(2020, 1, 1, 0, 0, 0, 1)}
        )
    assert audit.verify().reason == "event 2 was edited: its hash does not match its contents"


def test_garbage_time_on_sqlite_is_an_edit(tmp_settings):
    engine = make_engine(tmp_settings)
    migrate.upgrade(engine)
    log = AuditLog(engine)
    _fill(log, 2)
    with as_attacker(engine) as conn:
        conn.exec_driver_sql("UPDATE pf_audit_events SET ts = 'yesterday\",\"x' WHERE seq = 2")
    assert log.verify().reason == "event 2 was edited: its time is not a valid timestamp"


@pytest.mark.parametrize(
    ("deleted", "reason"),
    [
        ([3], "event 3 is missing (deleted)"),
        ([3, 4, 5], "events 3-5 are missing (deleted)"),
        ([1], "event 1 is missing (deleted)"),
    ],
)
def test_deleted_rows_in_the_middle_are_found(audit, deleted, reason):
    _fill(audit, 7)
    with as_attacker(audit.engine) as conn:
        conn.execute(sa.text("DELETE FROM pf_audit_events WHERE seq IN :s").bindparams(
            sa.bindparam("s", expanding=True)), {"s": deleted})
    result = audit.verify()
    assert (result.ok, result.first_bad_seq, result.problem, result.reason) == (False, deleted[0], "missing", reason)
    assert result.checked == deleted[0] - 1


def _swap(conn: sa.Connection, a: int, b: int, *, keep_seq: bool) -> None:
    if keep_seq:  # move the contents of each row into the other's number
        cols = ["ts", "actor", "action", "target", "details", "alg", "prev_hash", "hash"]
        rows = {
            r.seq: r._mapping
            for r in conn.execute(sa.text(f"SELECT seq, {', '.join(cols)} FROM pf_audit_events WHERE seq IN ({a}, {b})"))
        }
        for seq, other in ((a, b), (b, a)):
            conn.execute(
                sa.text(f"UPDATE pf_audit_events SET {', '.join(f'{c} = :{c}' for c in cols)} WHERE seq = :seq"),
                {**{c: rows[other][c] for c in cols}, "seq": seq},
            )
    else:  # exchange the numbers (through a free one: seq is the primary key)
        for old, new in ((a, -1), (b, a), (-1, b)):
            conn.execute(sa.text("UPDATE pf_audit_events SET seq = :new WHERE seq = :old"), {"old": old, "new": new})


@pytest.mark.parametrize("keep_seq", [True, False], ids=["contents-swapped", "seq-swapped"])
def test_reordered_rows_are_found(audit, keep_seq):
    _fill(audit, 6)
    with as_attacker(audit.engine) as conn:
        _swap(conn, 3, 4, keep_seq=keep_seq)
    result = audit.verify()
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 3, "unlinked")
    assert result.reason == "event 3 does not link to event 2 (reordered or replaced)"


def test_first_event_must_start_the_chain(audit):
    _fill(audit, 2)
    with as_attacker(audit.engine) as conn:
        conn.exec_driver_sql(f"UPDATE pf_audit_events SET prev_hash = '{'1' * 64}' WHERE seq = 1")
    assert audit.verify().reason == "event 1 does not link to the start of the chain (reordered or replaced)"


def test_unknown_algorithm_is_reported(audit):
    _fill(audit, 2)
    with as_attacker(audit.engine) as conn:
        conn.exec_driver_sql("UPDATE pf_audit_events SET alg = 'md5' WHERE seq = 2")
    result = audit.verify()
    assert (result.first_bad_seq, result.problem) == (2, "unknown_alg")
    assert result.reason == "event 2 uses an unknown hash algorithm 'md5'"


def test_verification_streams_across_chunks(audit, monkeypatch):
    monkeypatch.setattr(audit_module, "_VERIFY_CHUNK", 7)
    _fill(audit, 30)
    assert (audit.verify().ok, audit.verify().checked, audit.verify().head_seq) == (True, 30, 30)
    with as_attacker(audit.engine) as conn:  # rows 14 and 15: the end of one chunk, the start of the next
        conn.exec_driver_sql("DELETE FROM pf_audit_events WHERE seq IN (14, 15)")
    assert audit.verify().reason == "events 14-15 are missing (deleted)"


# -- head export and check ---------------------------------------------------------------------------


def test_truncated_tail_is_found_by_the_exported_head(audit):
    _fill(audit, 5)
    head = audit.head()
    assert set(head) == {"seq", "hash", "alg", "exported_at"}
    assert (head["seq"], head["alg"]) == (5, "sha256") and head["exported_at"].endswith("Z")
    assert json.loads(json.dumps(head)) == head
    assert audit.check_head(head).ok

    audit.append("bob", "later", "x")  # the chain grows past the head: still fine
    assert audit.check_head(head).ok

    with as_attacker(audit.engine) as conn:
        conn.exec_driver_sql("DELETE FROM pf_audit_events WHERE seq >= 4")
    assert audit.verify().ok  # what is left is consistent...
    result = audit.check_head(head)  # ...but shorter than the exported head
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 4, "truncated")
    assert result.reason == (
        "the chain ends at event 3 but the exported head is event 5: events were removed from the end"
    )


def test_rewritten_chain_is_found_by_the_exported_head(audit):
    """Plain sha256 rows can be re-hashed by whoever edits them; the exported head shows it."""
    _fill(audit, 4)
    head = audit.head()
    with as_attacker(audit.engine) as conn:
        conn.exec_driver_sql("DELETE FROM pf_audit_events WHERE seq >= 3")
    forger = AuditLog(audit.engine)
    forger.append("alice", "export", "report-2", {"rows": 999})
    forger.append("alice", "export", "report-3", {"rows": 3})
    assert audit.verify().ok
    result = audit.check_head(head)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 4, "rewritten")
    assert "event 4 has a different hash than the exported head" in result.reason


def test_head_of_empty_log_and_bad_heads(audit):
    assert audit.check_head(audit.head()).ok
    with pytest.raises(InputError, match="not a head export"):
        audit.check_head({"seq": "5", "hash": "x"})
    with pytest.raises(InputError, match="not a head export"):
        audit.check_head({})


# -- HMAC -----------------------------------------------------------------------------------------------


def test_hmac_rows_verify_beside_sha256_rows_with_the_key(audit, engine):
    _fill(audit, 2)  # sha256 rows from before a key was configured
    keyed = AuditLog(engine, hmac_key=KEY)
    events = keyed.append_many([("alice", "run", f"r{i}", {"i": i}) for i in range(3)])
    assert {e.alg for e in events} == {"hmac-sha256"}
    assert events[0].hash != sha256_hex(b"")  # keyed, so not reproducible without the key
    result = keyed.verify()
    assert (result.ok, result.checked, result.head_alg) == (True, 5, "hmac-sha256")
    assert "k" * 8 not in repr(keyed)


def test_hmac_rows_without_the_key_report_the_missing_key(audit, engine):
    _fill(audit, 2)
    AuditLog(engine, hmac_key=KEY).append("alice", "run", "r")
    result = audit.verify()
    assert (result.ok, result.first_bad_seq, result.problem, result.checked) == (False, 3, "no_key", 2)
    assert result.reason.startswith("event 3 uses hmac-sha256 but no HMAC key is configured")
    assert "edited" not in result.reason


def test_hmac_rows_with_a_wrong_key_are_edited(engine):
    AuditLog(engine, hmac_key=KEY).append("alice", "run", "r")
    result = AuditLog(engine, hmac_key=OTHER_KEY).verify()
    assert (result.ok, result.problem) == (False, "edited")
    assert result.reason == "event 1 was edited: its hash does not match its contents"


def test_hmac_rows_cannot_be_rehashed_without_the_key(engine):
    keyed = AuditLog(engine, hmac_key=KEY)
    _fill(keyed, 3)
    with as_attacker(engine) as conn:  # edit a row and recompute its hash as plain sha256
        row = conn.exec_driver_sql("SELECT ts, prev_hash FROM pf_audit_events WHERE seq = 2").one()
        ts = row.ts if isinstance(row.ts, datetime) else datetime.fromisoformat(row.ts)
        body = hashed_body(2, ts.isoformat(timespec="microseconds"), "alice", "export", "report-1",
                           '{"rows":999}', "hmac-sha256", row.prev_hash)
        conn.execute(
            sa.text("UPDATE pf_audit_events SET details = :d, hash = :h WHERE seq = 2"),
            {"d": '{"rows":999}', "h": sha256_hex(body)},
        )
    assert keyed.verify().reason == "event 2 was edited: its hash does not match its contents"


def test_audit_log_factory_picks_hmac_when_a_key_is_configured(settings, engine, tmp_path):
    assert audit_log(settings).alg == "sha256"
    with_key = _with(settings, audit_hmac_key=KEY)
    first = audit_log(with_key).append("alice", "run", "r1")
    assert first.alg == "hmac-sha256"

    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY + "\n")  # the file's content, stripped, is the key
    from_file = _with(settings, audit_hmac_key_file=key_file)
    from_file_log = audit_log(from_file)
    from_file_log.append("alice", "run", "r2")
    assert from_file_log.verify().checked == 2  # the same key either way


@pytest.mark.parametrize(
    ("update", "match"),
    [
        ({"audit_hmac_key": "short"}, "too short"),
        ({"audit_hmac_key_file": "missing.key"}, "Cannot read the audit HMAC key file"),
        ({"audit_hmac_key": KEY, "audit_hmac_key_file": "k.key"}, "Both audit_hmac_key and audit_hmac_key_file"),
    ],
)
def test_audit_log_factory_rejects_unusable_keys(tmp_path, update, match):
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'pf.db'}")
    if "audit_hmac_key_file" in update:
        update = {**update, "audit_hmac_key_file": tmp_path / update["audit_hmac_key_file"]}
    with pytest.raises(ConfigError, match=match):
        audit_log(_with(settings, **update))
