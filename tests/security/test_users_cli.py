"""``python launch.py users ...`` on SQLite and PostgreSQL: a deployment's accounts set up with no
browser, through the Admin page's permission checks and audit events."""

from __future__ import annotations

import getpass
import json

import pytest
import sqlalchemy as sa

import launch
from config.errors import AuthenticationError
from config.settings import get_settings
from security.identity.bootstrap import account_service
from storage import migrate, schema
from storage.audit import audit_log
from storage.engine import make_engine


@pytest.fixture
def cli(settings, monkeypatch):
    """Runs ``launch.py`` on ``settings``'s database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    engine = make_engine(settings)
    migrate.ensure(engine)
    with engine.begin() as conn:  # the PostgreSQL database lives for the whole session: start with no account
        conn.execute(sa.delete(schema.sessions))
        conn.execute(sa.delete(schema.users))

    def run(*argv: str, capsys=None) -> int:
        get_settings.cache_clear()
        return launch.main(list(argv))

    yield run
    get_settings.cache_clear()


def _password(out: str) -> str:
    lines = out.strip().splitlines()
    assert "one-time password" in lines[-2]
    return lines[-1].strip()


def test_a_deployment_is_set_up_and_run_from_the_command_line(settings, cli, capsys, monkeypatch):
    accounts = account_service(settings)
    # the PostgreSQL database (and its append-only audit trail) lives for the whole session
    seen = [e.seq for e in audit_log(settings).list(limit=1)]
    since = seen[0] if seen else 0
    # nothing exists: bootstrap the administrator, once
    assert cli("users", "bootstrap") == 0
    admin_password = _password(capsys.readouterr().out)
    assert accounts.authenticate("admin", admin_password).must_change_password
    assert cli("users", "bootstrap") == 2
    assert "Accounts exist already" in capsys.readouterr().err
    if not settings.is_sqlite:  # on PostgreSQL the command line acts as a named account
        monkeypatch.setenv("PROMPTFORGE_CLI_ACCOUNT", "admin")
    actor = f"os:{getpass.getuser()}" if settings.is_sqlite else "cli:admin"

    assert cli("users", "create", "Alice", "--roles", "analyst", "REVIEWER") == 0
    out = capsys.readouterr().out
    assert "created alice (analyst, reviewer)" in out
    first = _password(out)
    assert accounts.authenticate("alice", first).must_change_password

    assert cli("users", "roles", "alice", "auditor") == 0
    assert cli("users", "disable", "alice") == 0
    with pytest.raises(AuthenticationError):
        accounts.authenticate("alice", first)
    assert cli("users", "enable", "alice") == 0
    assert cli("users", "reset-password", "alice") == 0
    second = _password(capsys.readouterr().out)
    assert second != first and accounts.authenticate("alice", second)
    with pytest.raises(AuthenticationError):
        accounts.authenticate("alice", first)

    assert cli("users", "list", "--json") == 0
    listed = {row["username"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed["alice"]["roles"] == ["auditor"] and not listed["alice"]["disabled"]
    assert listed["admin"]["roles"] == ["admin"] and listed["admin"]["must_change_password"]
    assert cli("users", "list") == 0
    table = capsys.readouterr().out
    assert "alice" in table and "must change password" in table

    # the same audit events as the Admin page, attributed to whoever ran the command; no password in any
    events = [
        e for e in reversed(audit_log(settings).list(limit=50))
        if e.seq > since and e.target == "user:alice" and not e.action.startswith(("login", "session"))
    ]
    assert [e.action for e in events] == [
        "user_created", "roles_changed", "user_disabled", "user_enabled", "password_reset",
    ]
    assert {e.actor for e in events} == {actor}
    assert events[1].details == {"from": ["analyst", "reviewer"], "to": ["auditor"]}
    assert not any(p in json.dumps([e.details for e in events]) for p in (first, second, admin_password))


def test_the_last_administrator_and_bad_input_are_refused_with_what_to_do(settings, cli, capsys, monkeypatch):
    assert cli("users", "bootstrap", "--name", "root-admin") == 0
    capsys.readouterr()
    if not settings.is_sqlite:
        monkeypatch.setenv("PROMPTFORGE_CLI_ACCOUNT", "root-admin")
    assert cli("users", "disable", "root-admin") == 2
    assert "last active administrator" in capsys.readouterr().err
    assert cli("users", "create", "bob", "--roles", "wizard") == 2
    assert "wizard" in capsys.readouterr().err
    assert cli("users", "create", "x", "--roles", "analyst") == 2
    assert "Invalid user name" in capsys.readouterr().err
    assert cli("users", "roles", "nobody", "analyst") == 2
    assert "No user named 'nobody'" in capsys.readouterr().err


@pytest.mark.postgres
@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_on_postgresql_only_an_account_that_may_manage_users_can(settings, cli, capsys, monkeypatch):
    """(On SQLite the command line is the operating-system user, with every role.)"""
    assert cli("users", "bootstrap") == 0
    capsys.readouterr()
    monkeypatch.setenv("PROMPTFORGE_CLI_ACCOUNT", "admin")
    assert cli("users", "create", "carol", "--roles", "analyst") == 0
    capsys.readouterr()
    monkeypatch.setenv("PROMPTFORGE_CLI_ACCOUNT", "carol")
    assert cli("users", "create", "mallory", "--roles", "admin") == 3  # PermissionDenied
    assert "carol (analyst) may not create user accounts" in capsys.readouterr().err
    assert "mallory" not in {a.username for a in account_service(settings).users.all()}
    monkeypatch.delenv("PROMPTFORGE_CLI_ACCOUNT")
    assert cli("users", "list") == 2
    assert "PROMPTFORGE_CLI_ACCOUNT" in capsys.readouterr().err
