"""Passwords, login, lock-out, password changes and user administration, on a real SQLite file."""

from __future__ import annotations

import pytest

from config.errors import AuthenticationError, InputError, PermissionDenied
from security.identity import Principal, Role
from security.identity.passwords import check_policy, hash_password, verify_password

ADMIN = Principal("admin", frozenset({Role.ADMIN}))


def test_passwords_are_argon2id_hashes_that_verify():
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "correct horse battery stapl")
    assert hash_password("correct horse battery staple") != stored  # salted
    assert not verify_password(None, "anything") and not verify_password("not a hash", "x")


@pytest.mark.parametrize(
    ("password", "fragment"),
    [("short", "too short"), ("alice-is-my-password", "user name"), ("aaaaaaaaaaaaaaaa", "too few")],
)
def test_weak_passwords_are_refused_with_the_reason(password, fragment):
    with pytest.raises(InputError, match=fragment):
        check_policy(password, 12, "alice")


def test_first_start_creates_one_admin_whose_password_must_change(accounts):
    password = accounts.bootstrap_admin()
    assert password and len(password) >= 16
    assert accounts.bootstrap_admin() is None  # only on an empty table
    login = accounts.authenticate("admin", password)
    assert login.principal == Principal("admin", frozenset({Role.ADMIN}), "user") and login.must_change_password
    row = accounts.users.get("admin")
    assert password not in repr(row) and row.password_hash.startswith("$argon2id$")


def test_wrong_passwords_lock_the_account_even_against_the_right_one(accounts, clock):
    password = accounts.create_user(ADMIN, "alice", ["analyst"])
    for _ in range(2):
        with pytest.raises(AuthenticationError, match="Wrong user name or password"):
            accounts.authenticate("alice", "nope")
    with pytest.raises(AuthenticationError, match="locked for 15 minutes"):
        accounts.authenticate("alice", "still wrong")
    with pytest.raises(AuthenticationError, match="locked until"):
        accounts.authenticate("alice", password)
    clock.advance(minutes=16)
    assert accounts.authenticate("alice", password).principal.name == "alice"
    actions = [e.action for e in accounts.audit.list(limit=20)][::-1]
    assert actions[-6:] == ["login_failed", "login_failed", "login_failed", "account_locked", "login_failed", "login"]
    assert password not in str([e.details for e in accounts.audit.list(limit=50)])


def test_a_successful_login_resets_the_failure_count(accounts):
    password = accounts.create_user(ADMIN, "bob", ["reviewer"])
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("bob", "wrong")
    accounts.authenticate("bob", password)
    for _ in range(2):
        with pytest.raises(AuthenticationError, match="Wrong"):
            accounts.authenticate("bob", "wrong")  # two more do not lock: the count restarted


def test_unknown_and_disabled_users_are_refused_without_saying_which(accounts):
    password = accounts.create_user(ADMIN, "carol", ["auditor"])
    with pytest.raises(AuthenticationError, match="Wrong user name or password"):
        accounts.authenticate("nobody", "whatever-password")
    accounts.bootstrap_admin()  # no-op: accounts exist
    other_admin = accounts.create_user(ADMIN, "root2", ["admin"])
    assert other_admin
    accounts.set_disabled(ADMIN, "carol", True)
    with pytest.raises(AuthenticationError, match="disabled"):
        accounts.authenticate("carol", password)
    accounts.set_disabled(ADMIN, "carol", False)
    assert accounts.authenticate("CAROL ", password).principal.name == "carol"


def test_password_change_needs_the_current_one_and_a_strong_new_one(accounts):
    first = accounts.create_user(ADMIN, "dave", ["product"])
    login = accounts.authenticate("dave", first)
    assert login.must_change_password
    with pytest.raises(AuthenticationError, match="current password is wrong"):
        accounts.change_password(login.principal, "wrong", "a brand new passphrase")
    with pytest.raises(InputError, match="too short"):
        accounts.change_password(login.principal, first, "short")
    accounts.change_password(login.principal, first, "a brand new passphrase")
    with pytest.raises(AuthenticationError):
        accounts.authenticate("dave", first)
    assert not accounts.authenticate("dave", "a brand new passphrase").must_change_password


def test_admin_resets_unlocks_and_changes_roles_and_keeps_one_admin(accounts):
    accounts.users.count()
    admin_password = accounts.bootstrap_admin()
    admin = accounts.authenticate("admin", admin_password).principal
    accounts.create_user(admin, "erin", ["analyst"])
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("erin", "wrong")
    accounts.unlock(admin, "erin")
    reset = accounts.reset_password(admin, "erin")
    assert accounts.authenticate("erin", reset).must_change_password
    accounts.set_roles(admin, "erin", ["analyst", "approver"])
    assert accounts.principal_for("erin").roles == {Role.ANALYST, Role.APPROVER}
    with pytest.raises(InputError, match="last active administrator"):
        accounts.set_roles(admin, "admin", ["auditor"])
    with pytest.raises(InputError, match="last active administrator"):
        accounts.set_disabled(admin, "admin", True)
    with pytest.raises(InputError, match="taken"):
        accounts.create_user(admin, "erin", ["analyst"])
    with pytest.raises(InputError, match="Unknown role"):
        accounts.create_user(admin, "frank", ["superuser"])
    events = {e.action for e in accounts.audit.list(limit=100)}
    assert {"user_created", "user_unlocked", "password_reset", "roles_changed"} <= events


def test_only_admins_manage_users(accounts):
    analyst = Principal("gina", frozenset({Role.ANALYST}))
    with pytest.raises(PermissionDenied, match="Ask an administrator for one of these roles: admin"):
        accounts.create_user(analyst, "mallory", ["admin"])
    assert accounts.users.get("mallory") is None
