"""``python launch.py verify-audit``: verdicts, exit codes, head export/check, its own event."""

from __future__ import annotations

import getpass
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from config.settings import Settings
from storage import migrate
from storage.audit import AuditLog
from security.audit_cli import verify_audit
from storage.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
KEY = "0123456789abcdef" * 4


@pytest.fixture
def db(settings):
    """(settings, engine, log) on each backend, the audit table empty."""
    engine = make_engine(settings)
    migrate.ensure(engine)
    if not settings.is_sqlite:  # on PostgreSQL the command line acts as a named account
        from security.identity import Role
        from security.identity.bootstrap import account_service

        account_service(settings).ensure_user(CLI_ACCOUNT, {Role.AUDITOR}, by="test")
    with engine.begin() as conn:
        _past_triggers(conn)
        conn.exec_driver_sql("DELETE FROM pf_audit_events")
        _restore_triggers(conn)
    return settings, engine, AuditLog(engine)


CLI_ACCOUNT = "cli-auditor"


def cli_actor(settings: Settings) -> str:
    return f"os:{getpass.getuser()}" if settings.is_sqlite else f"cli:{CLI_ACCOUNT}"


_saved_triggers: list[str] = []


def _past_triggers(conn: sa.Connection) -> None:
    """What someone with DBA rights (or the SQLite file) can do: get past the append-only triggers."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        return
    _saved_triggers[:] = [
        sql for (sql,) in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'pf_audit_events'"
        )
    ]
    for (name,) in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'pf_audit_events'"
    ).all():
        conn.exec_driver_sql(f"DROP TRIGGER {name}")


def _restore_triggers(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        for sql in _saved_triggers:
            conn.exec_driver_sql(sql)


def _tamper(engine: sa.Engine, statement: str) -> None:
    with engine.begin() as conn:
        _past_triggers(conn)
        conn.exec_driver_sql(statement)
        _restore_triggers(conn)


def cli(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTFORGE_")}
    clean.update(
        PROMPTFORGE_DATA_DIR=str(settings.data_dir),
        PROMPTFORGE_DATABASE_URL=settings.resolved_database_url,
        PROMPTFORGE_CLI_ACCOUNT=CLI_ACCOUNT,
        **env,
    )
    return subprocess.run(
        [sys.executable, str(ROOT / "launch.py"), "verify-audit", *args],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120,
    )


def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append("alice", "export", f"report-{i}", {"rows": i})


def _verified_events(log: AuditLog):
    return log.list(action="audit_verified")


def test_intact_chain_exits_0_and_records_the_check(db):
    settings, _, log = db
    _fill(log, 3)
    done = cli(settings)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("audit chain intact: 3 events verified, head event 3 (")
    (event,) = _verified_events(log)
    assert event.actor == cli_actor(settings)
    assert event.details == {"ok": True, "checked": 3, "first_bad_seq": None, "problem": None}
    assert log.verify().ok  # the check's own event extends a valid chain


def test_edited_chain_exits_1_with_the_reason(db):
    settings, engine, log = db
    _fill(log, 4)
    _tamper(engine, "UPDATE pf_audit_events SET details = '{\"rows\":999}' WHERE seq = 3")
    done = cli(settings)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[0] == (
        "audit chain BROKEN at event 3: event 3 was edited: its hash does not match its contents"
    )
    (event,) = _verified_events(log)
    assert event.details == {"ok": False, "checked": 2, "first_bad_seq": 3, "problem": "edited"}


def test_export_head_then_check_head_finds_a_truncated_tail(db, tmp_path):
    settings, engine, log = db
    _fill(log, 5)
    head_file = tmp_path / "head.json"
    done = cli(settings, "--export-head", str(head_file))
    assert done.returncode == 0, done.stderr
    head = json.loads(head_file.read_text())
    assert (head["seq"], head["alg"]) == (5, "sha256")  # the verified head, not the check's own event
    # event 5; events 6 and 7 record the check and the export
    assert head["hash"] == log.list(limit=1, offset=2)[0].hash
    assert [e.action for e in log.list(limit=2)] == ["audit_head_exported", "audit_verified"]

    done = cli(settings, "--check-head", str(head_file))
    assert done.returncode == 0, done.stderr
    assert "exported head event 5 is present and unchanged" in done.stdout

    _tamper(engine, "DELETE FROM pf_audit_events WHERE seq >= 4")
    done = cli(settings, "--check-head", str(head_file))
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[0] == (
        "audit chain BROKEN at event 4: the chain ends at event 3 but the exported head is event 5: "
        "events were removed from the end"
    )


def test_broken_chain_writes_no_head(db, tmp_path):
    settings, engine, log = db
    _fill(log, 3)
    _tamper(engine, "DELETE FROM pf_audit_events WHERE seq = 2")
    head_file = tmp_path / "head.json"
    done = cli(settings, "--export-head", str(head_file))
    assert done.returncode == 1
    assert "event 2 is missing (deleted)" in done.stdout
    assert "head not written" in done.stdout and not head_file.exists()


def test_hmac_key_from_the_environment(db):
    settings, _, log = db
    done = cli(settings, PROMPTFORGE_AUDIT_HMAC_KEY=KEY)
    assert done.returncode == 0, done.stderr
    (event,) = _verified_events(log)
    assert event.alg == "hmac-sha256"

    done = cli(settings, PROMPTFORGE_AUDIT_HMAC_KEY=KEY)  # verifies the hmac row with the key
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("audit chain intact: 1 event verified")

    done = cli(settings)  # ... and says the key is missing without it
    assert done.returncode == 1
    assert "event 1 uses hmac-sha256 but no HMAC key is configured" in done.stdout


def test_unusable_head_file_is_an_error_not_a_verdict(db, tmp_path):
    settings, _, _ = db
    done = cli(settings, "--check-head", str(tmp_path / "nope.json"))
    assert done.returncode == 2
    assert done.stderr.startswith("error: The head file") and "does not exist" in done.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"seq": "x"}')
    done = cli(settings, "--check-head", str(bad))
    assert done.returncode == 2 and "not a head export" in done.stderr


def test_in_process_as_a_principal_who_must_be_allowed_to_verify(db, tmp_path):
    from config.errors import PermissionDenied
    from security.identity import Principal, Role

    settings, _, log = db
    _fill(log, 2)
    out = io.StringIO()
    ana = Principal("ana", frozenset({Role.AUDITOR}))
    assert verify_audit(settings, principal=ana, export_head=tmp_path / "h.json", out=out) == 0
    assert out.getvalue().startswith("audit chain intact: 2 events verified")
    assert _verified_events(log)[0].actor == "user:ana"
    assert json.loads((tmp_path / "h.json").read_text())["seq"] == 2
    with pytest.raises(PermissionDenied, match="may not verify the audit trail"):
        verify_audit(settings, principal=Principal("al", frozenset({Role.ANALYST})), out=out)
