"""API tokens on SQLite and PostgreSQL: shown once and stored as a hash, scope, expiry, revocation,
a disabled account, who may manage them, the command line, and every use attributed to the account."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

import launch
from config.errors import AuthenticationError, InputError, PermissionDenied
from config.settings import get_settings
from security.identity import Permission, Role
from security.identity.bootstrap import account_service
from security.identity.principal import Principal
from security.identity.tokens import TokenService
from storage import migrate, schema
from storage.audit import AuditLog
from storage.engine import make_engine
from storage.schema import utcnow
from storage.tokens import TokenTable
from storage.users import UserTable

ADMIN = Principal("root", frozenset({Role.ADMIN}))


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now


@pytest.fixture
def world(settings):
    """(tokens, accounts, audit, clock, engine) with accounts alice (analyst) and rita (reviewer)."""
    engine = make_engine(settings)
    migrate.ensure(engine)
    with engine.begin() as conn:  # the PostgreSQL database lives for the whole session
        for table in (schema.api_tokens, schema.sessions, schema.users):
            conn.execute(sa.delete(table))
    accounts = account_service(settings)
    accounts.ensure_user("alice", {Role.ANALYST}, by="test")
    accounts.ensure_user("rita", {Role.REVIEWER}, by="test")
    clock = Clock()
    audit = AuditLog(engine)
    return TokenService(TokenTable(engine), UserTable(engine), audit, clock), accounts, audit, clock, engine


def test_a_token_is_shown_once_stored_as_a_hash_and_acts_as_its_account_within_its_scope(world):
    tokens, _, audit, _, engine = world
    info, token = tokens.create(ADMIN, "Alice", "ci-nightly", ["run"], days=30, requests_per_minute=60)
    assert token.startswith("pft_") and len(token) > 40
    with engine.connect() as conn:
        stored = json.dumps([dict(r._mapping) for r in conn.execute(sa.select(schema.api_tokens))], default=str)
    assert token not in stored and info.id in stored
    principal = tokens.authenticate(token)
    assert principal.name == "alice" and principal.roles == frozenset({Role.ANALYST})
    assert principal.actor == f"token:alice/{info.id}"
    assert principal.can(Permission.RUN_PROMPTS) and principal.can(Permission.READ_RUNS)
    # the account may author prompts and evaluate, the token's scope does not
    assert not principal.can(Permission.AUTHOR_PROMPTS) and not principal.can(Permission.EVALUATE)
    with pytest.raises(PermissionDenied, match="its scope does not allow it"):
        principal.require(Permission.EVALUATE, "evaluate")
    [event] = [e for e in audit.list(limit=20) if e.action == "token_created"]
    assert event.actor == "user:root" and event.target == "user:alice"
    assert event.details["token"] == info.id and event.details["scopes"] == ["run"]
    assert "ci-nightly" not in json.dumps(event.details)  # the free-text name stays out of the audit trail
    assert token not in json.dumps(event.details)
    assert [t.id for t in tokens.list(ADMIN)] == [info.id]


def test_a_scope_never_grants_what_the_account_may_not_do(world):
    tokens, *_ = world
    _, token = tokens.create(ADMIN, "rita", "reader", ["evaluate"])
    principal = tokens.authenticate(token)
    assert principal.can(Permission.READ_RUNS) and not principal.can(Permission.EVALUATE)
    with pytest.raises(PermissionDenied, match="one of these roles"):
        principal.require(Permission.EVALUATE, "evaluate")


def test_expired_revoked_unknown_tokens_and_disabled_accounts_are_refused(world):
    tokens, accounts, audit, clock, _ = world
    info, token = tokens.create(ADMIN, "alice", "short", ["read"], days=1)
    clock.now += timedelta(days=1, seconds=1)
    with pytest.raises(AuthenticationError, match="expired"):
        tokens.authenticate(token)
    clock.now = utcnow()
    info, token = tokens.create(ADMIN, "alice", "revoked-one", ["read"])
    assert tokens.authenticate(token)
    assert tokens.revoke(ADMIN, info.id).state(clock.now) == "revoked"
    with pytest.raises(AuthenticationError, match="revoked"):
        tokens.authenticate(token)
    with pytest.raises(InputError, match="revoked already"):
        tokens.revoke(ADMIN, info.id)
    assert any(e.action == "token_revoked" and e.details == {"token": info.id} for e in audit.list(limit=20))
    _, token = tokens.create(ADMIN, "alice", "account-off", ["read"])
    accounts.set_disabled(ADMIN, "alice", True)
    with pytest.raises(AuthenticationError, match="disabled"):
        tokens.authenticate(token)
    for bad in ("", "pft_not-a-token", token[:-1], "Bearer " + token):
        with pytest.raises(AuthenticationError, match="not valid"):
            tokens.authenticate(bad)


def test_only_administrators_manage_tokens_and_bad_input_says_what_to_do(world):
    tokens, *_ = world
    analyst = Principal("alice", frozenset({Role.ANALYST}))
    with pytest.raises(PermissionDenied):
        tokens.create(analyst, "alice", "mine", ["read"])
    with pytest.raises(PermissionDenied):
        tokens.list(analyst)
    with pytest.raises(InputError, match="Unknown or missing token scope: admin"):
        tokens.create(ADMIN, "alice", "x", ["admin"])
    with pytest.raises(InputError, match="1 to 366 days"):
        tokens.create(ADMIN, "alice", "x", ["read"], days=0)
    with pytest.raises(InputError, match="must be above 0"):
        tokens.create(ADMIN, "alice", "x", ["read"], requests_per_minute=0)
    with pytest.raises(Exception, match="No user named 'nobody'"):
        tokens.create(ADMIN, "nobody", "x", ["read"])


def test_the_command_line_creates_lists_and_revokes_tokens_and_acts_with_one(settings, world, monkeypatch, capsys):
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PROMPTFORGE_TOKEN", raising=False)
    account_service(settings).ensure_user("boss", {Role.ADMIN}, by="test")
    if not settings.is_sqlite:
        monkeypatch.setenv("PROMPTFORGE_CLI_ACCOUNT", "boss")

    def cli(*argv: str) -> int:
        get_settings.cache_clear()
        return launch.main(list(argv))

    try:
        assert cli("tokens", "create", "--user", "alice", "--scope", "read", "--name", "ci", "--days", "7") == 0
        token = capsys.readouterr().out.strip().splitlines()[-1]
        assert cli("tokens", "create", "--user", "boss", "--scope", "read", "--name", "boss-read") == 0
        boss_token = capsys.readouterr().out.strip().splitlines()[-1]
        assert cli("tokens", "list", "--json") == 0
        listed = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
        assert listed["ci"]["user"] == "alice" and listed["ci"]["state"] == "active" and listed["ci"]["scopes"] == ["read"]
        assert token not in json.dumps(listed)

        # acting with a token: the account within the scope, on either backend
        monkeypatch.setenv("PROMPTFORGE_TOKEN", boss_token)
        assert cli("users", "list") == 3  # boss may manage users, the read token may not
        assert "its scope does not allow it" in capsys.readouterr().err
        monkeypatch.setenv("PROMPTFORGE_TOKEN", token + "x")
        assert cli("tokens", "list") != 0
        assert "not valid" in capsys.readouterr().err
        monkeypatch.delenv("PROMPTFORGE_TOKEN")

        assert cli("tokens", "revoke", listed["ci"]["id"]) == 0
        assert "revoked" in capsys.readouterr().out
        monkeypatch.setenv("PROMPTFORGE_TOKEN", token)
        assert cli("users", "list") != 0
        assert "was revoked" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


@pytest.mark.slow
def test_a_governed_run_through_a_token_is_recorded_as_the_account_through_that_token(
    tmp_settings, monkeypatch, capsys, tmp_path
):
    """Every use is attributed: the run's record names the account and the token."""
    from storage.trulens_store import open_store

    accounts = account_service(tmp_settings)
    accounts.ensure_user("alice", {Role.ANALYST}, by="test")
    engine = make_engine(tmp_settings)
    tokens = TokenService(TokenTable(engine), UserTable(engine), AuditLog(engine))
    info, token = tokens.create(ADMIN, "alice", "svc", ["run"])
    template = tmp_path / "t.j2"
    template.write_text("Answer briefly: {{ question }}")
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", tmp_settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(tmp_settings.data_dir))
    monkeypatch.setenv("PROMPTFORGE_TOKEN", token)
    get_settings.cache_clear()
    try:
        assert launch.main(["run", "--template-file", str(template), "--var", "question=What is a fee?"]) == 0
        record_id = json.loads(capsys.readouterr().out)["record_id"]
    finally:
        get_settings.cache_clear()
    store = open_store(tmp_settings)
    try:
        store.flush()
        with store.engine.connect() as conn:
            actor = conn.execute(sa.select(schema.runs.c.actor).where(schema.runs.c.record_id == record_id)).scalar_one()
    finally:
        store.close()
    assert actor == f"token:alice/{info.id}"
