"""Local accounts: create, log in (with lock-out), change and reset passwords, roles.

Passwords are Argon2id hashes; a generated password is returned once to be shown
or printed and is never stored in clear. Every change and every login attempt is
an audit event; no event carries a password or a hash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from config.errors import AuthenticationError, InputError, NotFoundError
from config.settings import AuthPolicy
from security.identity.passwords import check_policy, hash_password, one_time_password, verify_password
from security.identity.principal import Principal
from security.identity.roles import Permission, Role, parse_roles
from storage.schema import utcnow
from storage.users import UserRow, UserTable

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
BAD_CREDENTIALS = "Wrong user name or password."


@dataclass(frozen=True)
class Account:
    """What the Admin page shows of an account (no hash)."""

    username: str
    roles: frozenset[Role]
    disabled: bool
    locked_until: datetime | None
    must_change_password: bool
    created_at: datetime
    created_by: str
    last_login_at: datetime | None

    @classmethod
    def of(cls, row: UserRow) -> Account:
        return cls(
            row.username, parse_roles(row.roles), row.disabled, row.locked_until,
            row.must_change_password, row.created_at, row.created_by, row.last_login_at,
        )

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class Login:
    principal: Principal
    must_change_password: bool


class AccountService:
    def __init__(
        self, users: UserTable, audit, policy: AuthPolicy, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.users, self.audit, self.policy, self.clock = users, audit, policy, clock

    # first start ------------------------------------------------------------------
    def bootstrap_admin(self, username: str = "admin") -> str | None:
        """With no account at all, create ``username`` (admin) and return its one-time
        password (to print once); it must be changed at first login. Else None."""
        if self.users.count():
            return None
        password = one_time_password()
        if not self._insert(username, {Role.ADMIN}, password, must_change=True, by="system:first-start"):
            return None  # another process won the race
        self.audit.append("system:first-start", "user_created", f"user:{username}", {"roles": ["admin"]})
        return password

    def ensure_user(self, username: str, roles: Iterable[Role], by: str) -> str | None:
        """Create ``username`` with a generated password unless it exists (demo users);
        returns the password once, or None when the account already existed."""
        roles = set(roles)
        password = one_time_password()
        if not self._insert(username, roles, password, must_change=False, by=by):
            return None
        self.audit.append(by, "user_created", f"user:{username}", {"roles": sorted(r.value for r in roles)})
        return password

    # login --------------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> Login:
        """A principal for the right password; ``AuthenticationError`` otherwise. Repeated
        failures lock the account for a while; a locked account refuses even the right one."""
        username = username.strip().lower()
        now = self.clock()
        row = self.users.get(username) if _USERNAME.match(username) else None
        ok = verify_password(row.password_hash if row else None, password)  # same cost either way
        if row is None:
            self.audit.append("anonymous", "login_failed", "user:?", {"reason": "unknown user"})
            raise AuthenticationError(BAD_CREDENTIALS, "Check both and try again.")
        target = f"user:{username}"
        if row.locked_until is not None and row.locked_until > now:
            self.audit.append("anonymous", "login_failed", target, {"reason": "locked"})
            raise AuthenticationError(
                f"This account is locked until {row.locked_until:%H:%M} UTC after repeated failed logins.",
                "Wait, or ask an administrator to unlock it.",
            )
        if row.disabled:
            self.audit.append("anonymous", "login_failed", target, {"reason": "disabled"})
            raise AuthenticationError("This account is disabled.", "Ask an administrator.")
        if not ok:
            failed, locked = self.users.record_failure(
                username, self.policy.lockout_attempts, now + timedelta(minutes=self.policy.lockout_minutes)
            )
            self.audit.append("anonymous", "login_failed", target, {"reason": "bad password", "failures": failed})
            if locked is not None:
                self.audit.append("system", "account_locked", target, {"minutes": self.policy.lockout_minutes})
                raise AuthenticationError(
                    f"Too many failed logins: the account is locked for {self.policy.lockout_minutes} minutes.",
                    "Wait, or ask an administrator to unlock it.",
                )
            raise AuthenticationError(BAD_CREDENTIALS, "Check both and try again.")
        self.users.update(username, failed_logins=0, locked_until=None, last_login_at=now)
        principal = Principal(username, parse_roles(row.roles), "user")
        self.audit.append(principal.actor, "login", target, {"roles": sorted(r.value for r in principal.roles)})
        return Login(principal, row.must_change_password)

    def change_password(self, principal: Principal, current: str, new: str) -> None:
        """The user's own password; the current one must be given."""
        row = self._row(principal.name)
        if not verify_password(row.password_hash, current):
            self.audit.append(principal.actor, "password_change_failed", f"user:{row.username}", {})
            raise AuthenticationError("The current password is wrong.", "Type it again.")
        if current == new:
            raise InputError("The new password is the same as the current one.", "Choose a different one.")
        check_policy(new, self.policy.min_password_length, row.username)
        self.users.update(
            row.username, password_hash=hash_password(new), must_change_password=False,
            password_changed_at=self.clock(),
        )
        self.audit.append(principal.actor, "password_changed", f"user:{row.username}", {})

    def principal_for(self, username: str, kind: str = "user") -> Principal:
        """The principal of an existing, enabled account (the CLI's named account on PostgreSQL)."""
        row = self._row(username)
        if row.disabled:
            raise AuthenticationError(f"The account {username!r} is disabled.", "Ask an administrator.")
        return Principal(row.username, parse_roles(row.roles), kind)

    # administration -----------------------------------------------------------------
    def list_accounts(self, by: Principal) -> list[Account]:
        by.require(Permission.MANAGE_USERS, "list user accounts")
        return [Account.of(row) for row in self.users.all()]

    def create_user(self, by: Principal, username: str, roles: Iterable[Role | str]) -> str:
        """A new account with a one-time password (returned to hand over; it must be changed)."""
        by.require(Permission.MANAGE_USERS, "create user accounts")
        username = username.strip().lower()
        if not _USERNAME.match(username):
            raise InputError(
                f"Invalid user name {username!r}.",
                "Use 2-64 lowercase letters, digits, '.', '_', '@' or '-', starting with a letter or digit.",
            )
        role_set = parse_roles(str(r) for r in roles)
        if not role_set:
            raise InputError("A user needs at least one role.", "Pick one or more roles.")
        password = one_time_password()
        if not self._insert(username, role_set, password, must_change=True, by=by.actor):
            raise InputError(f"The user name {username!r} is taken.", "Pick another one.")
        self.audit.append(by.actor, "user_created", f"user:{username}", {"roles": sorted(r.value for r in role_set)})
        return password

    def set_roles(self, by: Principal, username: str, roles: Iterable[Role | str]) -> None:
        by.require(Permission.MANAGE_USERS, "change roles")
        row = self._row(username)
        new = parse_roles(str(r) for r in roles)
        if not new:
            raise InputError("A user needs at least one role.", "Disable the account instead.")
        if Role.ADMIN not in new:
            self._keep_an_admin(row.username)
        self.users.update(row.username, roles=sorted(r.value for r in new))
        self.audit.append(
            by.actor, "roles_changed", f"user:{row.username}",
            {"from": sorted(row.roles), "to": sorted(r.value for r in new)},
        )

    def set_disabled(self, by: Principal, username: str, disabled: bool) -> None:
        by.require(Permission.MANAGE_USERS, "disable or enable accounts")
        row = self._row(username)
        if disabled:
            self._keep_an_admin(row.username)
        self.users.update(row.username, disabled=disabled)
        self.audit.append(by.actor, "user_disabled" if disabled else "user_enabled", f"user:{row.username}", {})
        if disabled:
            self._end_sessions(by, row.username, "the account was disabled by an administrator")

    def unlock(self, by: Principal, username: str) -> None:
        by.require(Permission.MANAGE_USERS, "unlock accounts")
        row = self._row(username)
        self.users.update(row.username, locked_until=None, failed_logins=0)
        self.audit.append(by.actor, "user_unlocked", f"user:{row.username}", {})

    def reset_password(self, by: Principal, username: str) -> str:
        """A new one-time password for ``username`` (returned once; must be changed at login)."""
        by.require(Permission.MANAGE_USERS, "reset passwords")
        row = self._row(username)
        password = one_time_password()
        self.users.update(
            row.username, password_hash=hash_password(password), must_change_password=True,
            locked_until=None, failed_logins=0, password_changed_at=self.clock(),
        )
        self.audit.append(by.actor, "password_reset", f"user:{row.username}", {})
        self._end_sessions(by, row.username, "the password was reset by an administrator")
        return password

    # helpers --------------------------------------------------------------------------
    def _insert(self, username: str, roles: set[Role] | frozenset[Role], password: str, must_change: bool, by: str) -> bool:
        now = self.clock()
        return self.users.insert(
            UserRow(
                username=username, roles=sorted(r.value for r in roles), password_hash=hash_password(password),
                must_change_password=must_change, disabled=False, failed_logins=0, locked_until=None,
                created_at=now, created_by=by, password_changed_at=now, last_login_at=None,
            )
        )

    def _row(self, username: str) -> UserRow:
        row = self.users.get(username.strip().lower())
        if row is None:
            raise NotFoundError(f"No user named {username!r}.", "Check the name on the Admin page.")
        return row

    def _end_sessions(self, by: Principal, username: str, reason: str) -> None:
        """Sign the account out everywhere (its browsers' cookies stop working)."""
        from security.identity.session_store import SessionStore

        SessionStore(self.users, self.audit, self.policy, self.clock).end_user(by, username, reason)

    def _keep_an_admin(self, username: str) -> None:
        admins = [r.username for r in self.users.all() if Role.ADMIN.value in r.roles and not r.disabled]
        if admins == [username]:
            raise InputError(
                f"{username} is the last active administrator.", "Make someone else an administrator first."
            )
