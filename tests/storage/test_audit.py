"""The hash-chained audit log (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage.audit import GENESIS, AuditLog


@pytest.fixture
def audit(store):
    log = AuditLog(store.engine)
    with store.engine.begin() as conn:  # the PostgreSQL database is shared by the session
        conn.execute(sa.text("DELETE FROM pf_audit_events"))
    return log


def test_append_list_and_verify(audit):
    first = audit.append("alice", "prompt.create", "loan-summary", {"version": 1})
    second = audit.append("bob", "run.record", "a" * 32, {"status": "ok", "metrics": ["toxicity"]})
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert [e.seq for e in audit.list()] == [2, 1]
    assert [e.action for e in audit.list(action="run.record")] == ["run.record"]
    assert audit.list(limit=1, offset=1)[0].details == {"version": 1}
    assert audit.verify() == (True, None)


def test_append_many_chains_in_order(audit):
    audit.append("alice", "start", "x")
    events = audit.append_many([("bob", "run", f"r{i}", {"i": i}) for i in range(3)])
    assert [e.seq for e in events] == [2, 3, 4]
    assert events[1].prev_hash == events[0].hash
    assert audit.append_many([]) == []
    assert audit.verify() == (True, None)


def test_tampering_is_found_at_the_edited_row(audit):
    for i in range(5):
        audit.append("alice", "export", f"report-{i}", {"rows": i})
    with audit.engine.begin() as conn:
        conn.execute(sa.text("UPDATE pf_audit_events SET details = :d WHERE seq = 3"), {"d": '{"rows":999}'})
    assert audit.verify() == (False, 3)


def test_deleting_a_row_breaks_the_chain(audit):
    for i in range(4):
        audit.append("alice", "export", f"report-{i}")
    with audit.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM pf_audit_events WHERE seq = 2"))
    assert audit.verify() == (False, 3)


def test_details_never_carry_long_text(audit):
    with pytest.raises(ValueError, match="never prompt text"):
        audit.append("alice", "run.record", "x", {"prompt": "word " * 300})
