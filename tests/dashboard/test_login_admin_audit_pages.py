"""The login gate, the Admin page and the Audit page (AppTest, local accounts on a real SQLite file)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ROOT / "pages"


@pytest.fixture
def accounts_env(app_env, monkeypatch):
    """Local accounts (no single-user mode), with the first-start admin and demo users."""
    from config.settings import get_settings
    from security.identity.bootstrap import first_start

    monkeypatch.delenv("PROMPTFORGE_SINGLE_USER")
    get_settings.cache_clear()
    return first_start(get_settings(), demo=True, out=lambda text: None)


def _sign_in(at: AppTest, user: str, password: str) -> AppTest:
    at.text_input(key="login_user").input(user)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


def _session(user: str, *roles: str, **age):
    from security.identity import Principal, parse_roles
    from storage.schema import utcnow
    from security.identity.sessions import Session

    start = utcnow() - timedelta(**age) if age else utcnow()
    return Session(Principal(user, parse_roles(roles)), start, start)


def _text(at: AppTest) -> str:
    parts = [*at.markdown, *at.caption, *at.error, *at.warning, *at.info, *at.success]
    return " ".join(str(p.value) for p in parts)


def test_the_gate_shows_only_sign_in_until_a_correct_password(accounts_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert [t.value for t in at.title] == ["Sign in to PromptForge"] and not at.exception
    _sign_in(at, "demo-analyst", "wrong password")
    assert "Wrong user name or password" in _text(at) and at.title[0].value == "Sign in to PromptForge"
    _sign_in(at, "demo-analyst", accounts_env["demo-analyst"])
    assert not at.exception and at.title[0].value == "Overview"
    assert "demo-analyst" in at.sidebar.caption[0].value and "analyst" in at.sidebar.caption[0].value


def test_the_first_admin_must_change_the_one_time_password_first(accounts_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    _sign_in(at, "admin", accounts_env["admin"])
    assert at.title[0].value == "Your account" and "Choose a new password" in _text(at)
    form = {t.label: t for t in at.text_input}
    form["Current password"].input(accounts_env["admin"])
    form["New password"].input("a long secret passphrase")
    form["New password again"].input("a long secret passphrase")
    next(b for b in at.button if b.label == "Change password").click().run()
    assert not at.exception and "Password changed" in _text(at) and "Choose a new password" not in _text(at)
    at.switch_page("../pages/admin.py").run()  # the navigation now includes the Admin page
    assert at.title[0].value == "Admin"


def test_an_idle_session_expires_back_to_sign_in(accounts_env):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["pf_session"] = _session("demo-reviewer", "reviewer", hours=13)
    at.run()
    assert at.title[0].value == "Sign in to PromptForge" and "signed out" in _text(at)


def test_admin_creates_a_user_and_sees_the_password_once(accounts_env):
    at = AppTest.from_file(str(PAGES / "admin.py"), default_timeout=60)
    at.session_state["pf_session"] = _session("admin", "admin")
    at.run()
    assert not at.exception and set(at.dataframe[0].value["user"]) >= {"admin", "demo-auditor"}
    at.text_input[0].input("new.analyst")
    next(b for b in at.button if b.label == "Create user").click().run()
    assert "One-time password for **new.analyst**" in _text(at)
    assert "new.analyst" in set(at.dataframe[0].value["user"])
    at.run()
    assert "One-time password" not in _text(at)  # shown once


def test_admin_page_refuses_other_roles(accounts_env):
    at = AppTest.from_file(str(PAGES / "admin.py"), default_timeout=60)
    at.session_state["pf_session"] = _session("demo-auditor", "auditor")
    at.run()
    assert "do not include this page" in _text(at) and not at.dataframe


def test_auditor_searches_and_verifies_the_chain(accounts_env):
    at = AppTest.from_file(str(PAGES / "audit.py"), default_timeout=60)
    at.session_state["pf_session"] = _session("demo-auditor", "auditor")
    at.run()
    assert not at.exception and at.title[0].value == "Audit trail"
    table = at.dataframe[0].value
    assert {"user_created"} <= set(table["action"]) and table["seq"].is_monotonic_decreasing
    next(b for b in at.button if b.label == "Verify audit chain").click().run()
    assert "audit chain intact" in _text(at)
    at.multiselect(key="audit_actions").select("audit_verified").run()
    assert set(at.dataframe[0].value["action"]) == {"audit_verified"}
    assert at.dataframe[0].value["actor"].iloc[0] == "user:demo-auditor"


def test_admin_creates_a_token_sees_it_once_and_revokes_it(accounts_env):
    from config.settings import get_settings
    from security.identity.tokens import token_service

    at = AppTest.from_file(str(PAGES / "admin.py"), default_timeout=60)
    at.session_state["pf_session"] = _session("admin", "admin")
    at.run()
    assert [t.label for t in at.tabs][-1].endswith("API tokens") and "No API tokens yet" in _text(at)
    form_user = next(s for s in at.selectbox if s.label == "Account it acts as")
    form_user.select("demo-analyst")
    next(t for t in at.text_input if t.label == "Name").input("ci-nightly")
    next(b for b in at.button if b.label == "Create token").click().run()
    assert not at.exception
    [code] = [c.value for c in at.code]
    assert code.startswith("pft_") and "shown once" in _text(at)
    principal = token_service(get_settings()).authenticate(code)
    assert principal.actor.startswith("token:demo-analyst/")
    tokens = at.dataframe[-1].value
    assert list(tokens["name"]) == ["ci-nightly"] and list(tokens["state"]) == ["active"]
    at.run()
    assert not at.code  # shown once
    picker = next(s for s in at.selectbox if s.label == "Token")
    picker.select(picker.options[0]).run()
    next(b for b in at.button if b.label == "Revoke").click().run()
    assert list(at.dataframe[-1].value["state"]) == ["revoked"]
