"""Server-side sessions on a real SQLite file: a reload resumes the session the cookie names, with
the same limits as a fresh sign-in, and nothing in the database can be replayed as a cookie."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from config.settings import AuthPolicy
from security.identity import Principal, Role
from security.identity.session_store import SessionEnded, SessionStore, token_hash

ADMIN = Principal("root", frozenset({Role.ADMIN}), "user")
POLICY = AuthPolicy(idle_timeout_minutes=30, max_session_hours=12, lockout_attempts=3, min_password_length=12)


@pytest.fixture
def store(accounts, clock):
    return SessionStore(accounts.users, accounts.audit, POLICY, clock=clock)


@pytest.fixture
def ann(accounts):
    """An analyst who has just signed in (the login)."""
    password = accounts.ensure_user("ann", {Role.ANALYST}, by="test")
    return accounts.authenticate("ann", password)


def _actions(accounts) -> list[tuple[str, str]]:
    with accounts.users.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT action, details FROM pf_audit_events ORDER BY seq")).all()
    return [(r.action, r.details) for r in rows]


def _row(store, token):
    return store.table.get(token_hash(token))


def test_a_new_session_stores_only_a_hash_of_the_token(store, ann, accounts, tmp_settings):
    token, session = store.start(ann.principal)
    assert len(token) >= 43 and session.token_hash == token_hash(token) and session.id == session.token_hash[:12]
    row = _row(store, token)
    assert row.username == "ann" and row.kind == "user" and row.ended_at is None
    assert token not in repr(row)
    with accounts.users.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db = Path(tmp_settings.database_url.removeprefix("sqlite:///"))
    files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
    assert files and all(token.encode() not in p.read_bytes() for p in files)
    assert all(token not in details for _, details in _actions(accounts))
    assert ("session_started", f'{{"session":"{session.id}"}}') in _actions(accounts)


def test_a_reload_resumes_the_session_with_its_start_time(store, ann, accounts, clock):
    token, first = store.start(ann.principal)
    clock.advance(minutes=10)
    again = store.resume(token)
    assert again.principal == Principal("ann", frozenset({Role.ANALYST}), "user")
    assert again.started_at == first.started_at and again.last_seen == clock.now
    assert _actions(accounts)[-1][0] == "session_resumed"
    assert store.resume("not-a-token") is None and store.resume("") is None and store.resume("x" * 500) is None


def test_an_idle_session_cannot_be_resumed(store, ann, accounts, clock):
    token, _ = store.start(ann.principal)
    clock.advance(minutes=31)
    with pytest.raises(SessionEnded, match="no activity for 30 minutes"):
        store.resume(token)
    assert _row(store, token).end_reason == "no activity for 30 minutes"
    assert _actions(accounts)[-1] == ("logout", f'{{"reason":"no activity for 30 minutes","session":"{_row(store, token).token_hash[:12]}"}}')
    assert store.resume(token) is None  # ended for good: the cookie is worth nothing now


def test_an_active_session_still_ends_after_its_maximum_length(store, ann, clock):
    token, session = store.start(ann.principal)
    for _ in range(35):  # active every 20 minutes for 11 hours 40 minutes
        clock.advance(minutes=20)
        store.check(session)
    assert store.resume(token) is not None
    clock.advance(minutes=21)
    with pytest.raises(SessionEnded, match="after 12 hours"):
        store.resume(token)


def test_activity_is_written_at_most_once_a_minute(store, ann, clock):
    token, session = store.start(ann.principal)
    start = clock.now
    clock.advance(seconds=20)
    store.check(session)
    assert session.last_seen == clock.now and _row(store, token).last_seen == start
    clock.advance(seconds=41)
    store.check(session)
    assert _row(store, token).last_seen == clock.now
    # a second tab of the same session counts: its activity keeps the first one alive
    clock.advance(minutes=25)
    store.check(store.resume(token))
    clock.advance(minutes=25)
    assert store.check(session).last_seen == clock.now


def test_disabling_the_account_ends_its_sessions(store, ann, accounts):
    token, session = store.start(ann.principal)
    other, _ = store.start(ann.principal)
    accounts.set_disabled(ADMIN, "ann", True)
    with pytest.raises(SessionEnded, match="disabled by an administrator"):
        store.check(session)
    assert store.resume(token) is None and store.resume(other) is None
    assert ("sessions_ended", '{"count":2,"reason":"the account was disabled by an administrator"}') in _actions(accounts)


def test_a_disabled_or_locked_account_is_refused_on_resume(store, ann, accounts, clock):
    token, _ = store.start(ann.principal)
    accounts.users.update("ann", disabled=True)  # changed behind the service's back
    with pytest.raises(SessionEnded, match="account is disabled"):
        store.resume(token)
    token, _ = store.start(ann.principal)
    accounts.users.update("ann", disabled=False)
    for _ in range(3):
        with pytest.raises(Exception, match="Wrong user name or password|locked"):
            accounts.authenticate("ann", "a wrong password")
    with pytest.raises(SessionEnded, match="account is locked"):
        store.resume(token)


def test_a_role_change_applies_to_a_live_and_a_resumed_session(store, ann, accounts):
    token, session = store.start(ann.principal)
    accounts.set_roles(ADMIN, "ann", ["auditor", "reviewer"])
    assert store.check(session).principal.roles == {Role.AUDITOR, Role.REVIEWER}
    assert store.resume(token).principal.roles == {Role.AUDITOR, Role.REVIEWER}


def test_a_password_reset_ends_the_sessions(store, ann, accounts):
    token, _ = store.start(ann.principal)
    accounts.reset_password(ADMIN, "ann")
    assert store.resume(token) is None and _row(store, token).end_reason == "the password was reset by an administrator"


def test_sign_out_ends_the_session_everywhere(store, ann, accounts):
    token, session = store.start(ann.principal)
    other_tab = store.resume(token)
    store.end(session)
    assert _actions(accounts)[-1] == ("logout", f'{{"reason":"signed out","session":"{session.id}"}}')
    assert store.resume(token) is None
    with pytest.raises(SessionEnded, match="you signed out in another window"):
        store.check(other_tab)
    store.end(session)  # twice: recorded once
    assert [a for a, _ in _actions(accounts)].count("logout") == 1


def test_single_sign_on_sessions_take_roles_from_the_provider(store, accounts):
    sso = Principal("ann@bank.example", frozenset({Role.AUDITOR}), "sso")
    token, _ = store.start(sso)
    assert store.resume(token) is None  # a local login cannot take over an SSO session
    assert store.resume(token, sso=Principal("eve@bank.example", frozenset({Role.ADMIN}), "sso")) is None
    now_reviewer = Principal("ann@bank.example", frozenset({Role.REVIEWER}), "sso")
    assert store.resume(token, sso=now_reviewer).principal == now_reviewer
    local = accounts.ensure_user("bob", {Role.ANALYST}, by="test")
    bob_token, _ = store.start(accounts.authenticate("bob", local).principal)
    assert store.resume(bob_token, sso=Principal("bob", frozenset({Role.ADMIN}), "sso")) is None


def test_only_signed_in_principals_get_a_server_session(store):
    with pytest.raises(ValueError):
        store.start(Principal.local("single-user"))


def test_a_sign_in_forgets_sessions_long_over_and_keeps_recent_ones(store, ann, clock):
    old_token, old = store.start(ann.principal)  # never ended: the browser was closed
    ended_token, ended = store.start(ann.principal)
    store.end(ended)
    clock.advance(hours=12, minutes=30)
    recent_token, _ = store.start(ann.principal)
    assert _row(store, old_token) is not None and _row(store, ended_token) is not None  # within a day of their end
    clock.advance(days=1)
    store.start(ann.principal)
    assert _row(store, old_token) is None and _row(store, ended_token) is None
    assert _row(store, recent_token) is not None  # still within its longest possible life and a day
    assert store.resume(old_token) is None  # a forgotten session's cookie is a stale cookie
