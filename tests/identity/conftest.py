"""Accounts on a real database: a fresh SQLite file per test (PostgreSQL where marked)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from config.settings import AuthPolicy


class Clock:
    """A settable clock so lock-out and expiry are tested without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(tmp_settings, clock):
    from security.identity.accounts import AccountService
    from storage.audit import audit_log
    from storage.engine import make_engine
    from storage.users import UserTable

    policy = AuthPolicy(lockout_attempts=3, lockout_minutes=15, min_password_length=12)
    return AccountService(UserTable(make_engine(tmp_settings)), audit_log(tmp_settings), policy, clock=clock)
