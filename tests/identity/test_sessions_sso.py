"""Session expiry and single sign-on mapping (pure logic; the IdP round trip is Streamlit's)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from config.errors import PermissionDenied
from config.settings import AuthPolicy
from security.identity import Principal, Role
from security.identity.sessions import Session
from security.identity.sso import principal_from_claims, sso_configured

T0 = datetime(2026, 11, 21, 9, 0)
POLICY = AuthPolicy(
    idle_timeout_minutes=30,
    max_session_hours=12,
    sso_group_roles={"risk-analysts": ["analyst"], "internal-audit": ["auditor", "reviewer"]},
)


def test_sessions_end_when_idle_and_after_the_maximum_length():
    session = Session(Principal("ann", frozenset({Role.ANALYST})), T0, T0)
    assert session.expiry_reason(POLICY, T0 + timedelta(minutes=29)) is None
    assert "no activity for 30 minutes" in session.expiry_reason(POLICY, T0 + timedelta(minutes=31))
    for hour in range(1, 12):  # active all day: only the maximum length ends it
        session.touch(T0 + timedelta(hours=hour))
        assert session.expiry_reason(POLICY, T0 + timedelta(hours=hour, minutes=5)) is None
    session.touch(T0 + timedelta(hours=12))
    assert "12 hours" in session.expiry_reason(POLICY, T0 + timedelta(hours=12, minutes=1))


def test_sso_groups_map_to_roles():
    who = principal_from_claims({"email": "Ann@Bank.example", "groups": ["internal-audit", "staff"]}, POLICY)
    assert who == Principal("ann@bank.example", frozenset({Role.AUDITOR, Role.REVIEWER}), "sso")
    assert who.actor == "sso:ann@bank.example"
    single = principal_from_claims({"sub": "u-1", "groups": "risk-analysts"}, POLICY)
    assert single.roles == {Role.ANALYST}


def test_sso_users_in_no_mapped_group_get_no_access():
    with pytest.raises(PermissionDenied, match="no group"):
        principal_from_claims({"email": "eve@bank.example", "groups": ["staff"]}, POLICY)
    with pytest.raises(PermissionDenied, match="no e-mail"):
        principal_from_claims({"groups": ["risk-analysts"]}, POLICY)


@pytest.mark.parametrize(
    ("secrets", "configured"),
    [
        ({}, False),
        ({"auth": {}}, False),
        ({"auth": {"redirect_uri": "x", "cookie_secret": "y", "client_id": "z"}}, True),
        ({"auth": {"redirect_uri": "x", "microsoft": {"client_id": "z"}}}, True),
        ({"promptforge": {"openai_api_key": "k"}}, False),
    ],
)
def test_sso_is_on_only_with_an_auth_section(secrets, configured):
    assert sso_configured(secrets) is configured
