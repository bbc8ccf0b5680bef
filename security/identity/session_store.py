"""Server-side sessions: what lets a browser reload (or a second tab) stay signed in.

At sign-in the browser gets a random token (``secrets.token_urlsafe(32)``) in a cookie; the
database keeps only its SHA-256 (``pf_sessions``), the user name, when the session started,
when it was last seen, and when and why it ended. A reload presents the token again and
``resume`` checks everything a fresh sign-in would: the session's idle timeout and maximum
length (``AuthPolicy``), that the account still exists and is neither disabled nor locked;
roles are read from the account again, so a role change applies at once. ``check`` repeats
this on every page run of a live session (one primary-key read of each table) and writes
``last_seen`` at most once a minute. Sign-out, expiry and an administrator disabling the
account end the record for good: the cookie alone is then worth nothing.

Each sign-in forgets the rows of sessions that ended, or were last seen, longer ago than the
longest session plus a day (``KEEP_ENDED``).

Every start, resume and end is an audit event naming the session by the first 12 characters
of the token's hash.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from config.errors import AuthenticationError
from config.settings import AuthPolicy
from security.identity.principal import Principal
from security.identity.roles import parse_roles
from security.identity.sessions import Session
from storage.schema import utcnow
from storage.sessions import SessionRow, SessionTable
from storage.users import UserTable

TOUCH_EVERY = timedelta(minutes=1)
# how long a session's row outlives its longest possible life (then each sign-in purges it): a tab
# still open on it meanwhile is told why it ended
KEEP_ENDED = timedelta(days=1)
SIGNED_OUT = "signed out"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionEnded(AuthenticationError):
    """The session is over (expired, ended elsewhere, account disabled); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"You were signed out: {reason}.", "Sign in again.")


class SessionStore:
    def __init__(
        self,
        users: UserTable,
        audit,
        policy: AuthPolicy,
        clock: Callable[[], datetime] = utcnow,
        table: SessionTable | None = None,
        touch_every: timedelta = TOUCH_EVERY,
    ) -> None:
        self.users, self.audit, self.policy, self.clock = users, audit, policy, clock
        self.table = table or SessionTable(users.engine)
        self.touch_every = touch_every

    def start(self, principal: Principal, must_change_password: bool = False) -> tuple[str, Session]:
        """A new session for a principal that has just signed in: (the token for the cookie, the
        session). The token is returned once; only its hash is stored."""
        if principal.kind not in ("user", "sso"):
            raise ValueError(f"no server-side session for a {principal.kind} principal")
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.table.purge(now - timedelta(hours=self.policy.max_session_hours) - KEEP_ENDED)
        digest = token_hash(token)
        self.table.insert(SessionRow(digest, principal.name, principal.kind, now, now, None, None))
        session = Session(principal, now, now, must_change_password, token_hash=digest, written_at=now)
        self.audit.append(principal.actor, "session_started", f"user:{principal.name}", {"session": session.id})
        return token, session

    def resume(self, token: str, sso: Principal | None = None) -> Session | None:
        """The session a browser's cookie names, checked as at sign-in. None when the token is
        unknown or its session already ended (a stale cookie: nothing to tell the user), or,
        under single sign-on, when it belongs to another identity than ``sso`` (the identity
        the provider vouches for now, with its current groups). Raises ``SessionEnded`` when
        the session ends now (a limit was reached, the account was disabled or locked)."""
        if not token or len(token) > 128:
            return None
        row = self.table.get(token_hash(token))
        if row is None or row.ended_at is not None:
            return None
        if (row.kind == "sso") != (sso is not None) or (sso is not None and sso.name != row.username):
            return None
        session = Session(
            sso or Principal(row.username, frozenset(), "user"), row.started_at, row.last_seen,
            token_hash=row.token_hash, written_at=row.last_seen,
        )
        session = self._validate(session, row)
        self.audit.append(session.principal.actor, "session_resumed", f"user:{row.username}", {"session": session.id})
        return session

    def check(self, session: Session) -> Session:
        """Re-validate a live session on a page run: raises ``SessionEnded`` when it is over,
        refreshes roles (and the must-change-password flag) from the account, and records the
        activity (written at most once per ``touch_every``)."""
        if session.token_hash is None:
            reason = session.expiry_reason(self.policy, self.clock())
            if reason:
                self._end_now(session, reason)
            session.touch(self.clock())
            return session
        row = self.table.get(session.token_hash)
        if row is None:
            raise SessionEnded("the session was removed")
        if row.ended_at is not None:  # in another tab or by an administrator
            reason = row.end_reason or "the session was ended"
            raise SessionEnded("you signed out in another window" if reason == SIGNED_OUT else reason)
        return self._validate(session, row)

    def end(self, session: Session, reason: str = SIGNED_OUT) -> None:
        """End the session for good (sign-out or expiry) and record it."""
        ended = True
        if session.token_hash is not None:
            ended = self.table.end(session.token_hash, self.clock(), reason)
        if ended:
            details = {"reason": reason} | ({"session": session.id} if session.id else {})
            self.audit.append(session.principal.actor, "logout", f"user:{session.principal.name}", details)

    def end_user(self, by: Principal, username: str, reason: str) -> int:
        """End every live session of a local account (it was disabled, its password reset)."""
        count = self.table.end_user(username, self.clock(), reason)
        if count:
            self.audit.append(by.actor, "sessions_ended", f"user:{username}", {"count": count, "reason": reason})
        return count

    # helpers --------------------------------------------------------------------------
    def _validate(self, session: Session, row: SessionRow) -> Session:
        now = self.clock()
        session.started_at = row.started_at
        session.last_seen = max(session.last_seen, row.last_seen)  # another tab may have been active
        if session.principal.kind == "user":
            account = self.users.get(row.username)
            problem = None
            if account is None:
                problem = "the account was removed"
            elif account.disabled:
                problem = "the account is disabled"
            elif account.locked_until is not None and account.locked_until > now:
                problem = "the account is locked"
            if problem:
                self._end_now(session, problem)
            session.principal = Principal(account.username, parse_roles(account.roles), "user")
            session.must_change_password = account.must_change_password
        expired = session.expiry_reason(self.policy, now)
        if expired:
            self._end_now(session, expired)
        session.touch(now)
        if session.written_at is None or now - session.written_at >= self.touch_every:
            self.table.touch(row.token_hash, now)
            session.written_at = now
        return session

    def _end_now(self, session: Session, reason: str) -> None:
        self.end(session, reason)
        raise SessionEnded(reason)
