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

    def expiry_reason(self, policy: AuthPolicy, now: datetime) -> str | None:
        """Why the session is over, or None while it is valid."""
        if now - self.started_at > timedelta(hours=policy.max_session_hours):
            return f"sessions end after {policy.max_session_hours} hours"
        if now - self.last_seen > timedelta(minutes=policy.idle_timeout_minutes):
            return f"no activity for {policy.idle_timeout_minutes} minutes"
        return None

    def touch(self, now: datetime) -> None:
        self.last_seen = now
