"""A signed-in browser session and when it ends (idle timeout, maximum length)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from config.settings import AuthPolicy
from security.identity.principal import Principal


@dataclass
class Session:
    principal: Principal
    started_at: datetime  # naive UTC
    last_seen: datetime
    must_change_password: bool = False
    # the server-side record (``pf_sessions``) behind the browser's cookie; None for a session
    # that lives only in this browser tab (single-user mode)
    token_hash: str | None = None
    written_at: datetime | None = None  # when ``last_seen`` was last written to the database

    @property
    def id(self) -> str | None:
        """A short name for audit events: the start of the token's hash (never the token)."""
        return self.token_hash[:12] if self.token_hash else None

    def expiry_reason(self, policy: AuthPolicy, now: datetime) -> str | None:
        """Why the session is over, or None while it is valid."""
        if now - self.started_at > timedelta(hours=policy.max_session_hours):
            return f"sessions end after {policy.max_session_hours} hours"
        if now - self.last_seen > timedelta(minutes=policy.idle_timeout_minutes):
            return f"no activity for {policy.idle_timeout_minutes} minutes"
        return None

    def touch(self, now: datetime) -> None:
        self.last_seen = now
