"""The login gate with server-side sessions (AppTest on the real ``dashboard/app.py``, local
accounts on a real SQLite file): a page asked for while signed out opens after sign-in, also
through a forced password change; pages outside the roles say so; sign-out ends the session."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth, session_cookie

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")


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
    return next(b for b in at.button if b.label == "Sign in").click().run()


def _text(at: AppTest) -> str:
    parts = [*at.markdown, *at.caption, *at.error, *at.warning, *at.info, *at.success]
    return " ".join(str(p.value) for p in parts)


def _live_sessions(username: str) -> list:
    from config.settings import get_settings
    from storage.engine import make_engine
    from storage.sessions import SessionTable

    return SessionTable(make_engine(get_settings())).live(username)


def test_a_page_asked_for_while_signed_out_opens_after_sign_in(accounts_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.query_params["queue"] = "complaints"
    at.switch_page("../pages/review_page.py").run()
    assert [t.value for t in at.title] == ["Sign in to PromptForge"] and not at.exception
    assert "Sign in to open **Review**" in _text(at)
    assert at.session_state[auth.DESTINATION_KEY] == {"page": "review", "params": {"queue": "complaints"}}
    _sign_in(at, "demo-reviewer", accounts_env["demo-reviewer"])
    assert not at.exception and at.title[0].value == "Review"
    assert auth.DESTINATION_KEY not in at.session_state
    assert [s.username for s in _live_sessions("demo-reviewer")] == ["demo-reviewer"]


def test_a_forced_password_change_still_ends_on_the_page_asked_for(accounts_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("../pages/admin.py").run()
    assert "Sign in to open **Admin**" in _text(at)
    _sign_in(at, "admin", accounts_env["admin"])
    assert at.title[0].value == "Your account" and "Choose a new password" in _text(at)
    at.switch_page("../pages/account.py").run()  # where st.switch_page took the browser (AppTest stays put)
    form = {t.label: t for t in at.text_input}
    form["Current password"].input(accounts_env["admin"])
    form["New password"].input("a long secret passphrase")
    form["New password again"].input("a long secret passphrase")
    next(b for b in at.button if b.label == "Change password").click().run()
    assert not at.exception and at.title[0].value == "Admin"


def test_a_page_outside_the_roles_says_so(accounts_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    _sign_in(at, "demo-analyst", accounts_env["demo-analyst"])
    at.switch_page("../pages/audit.py").run()
    assert at.title[0].value == "Audit trail" and "do not include this page" in _text(at)
    assert not at.dataframe


def test_sign_out_ends_the_server_session_and_asks_to_clear_the_cookie(accounts_env, monkeypatch):
    monkeypatch.setattr(session_cookie, "_mounted", True)  # as served by launch.py
    at = AppTest.from_file(APP, default_timeout=60).run()
    _sign_in(at, "demo-analyst", accounts_env["demo-analyst"])
    kind, code = at.session_state[auth.COOKIE_ACTION_KEY]
    assert kind == "set" and session_cookie.HANDOFFS.pending(code)
    assert any("/pf/session" in h.proto.body and code in h.proto.body for h in at.get("html"))
    assert len(_live_sessions("demo-analyst")) == 1
    at.switch_page("../pages/account.py").run()
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert at.title[0].value == "Sign in to PromptForge" and "Signed in as" not in _text(at)
    assert _live_sessions("demo-analyst") == []
    assert not session_cookie.HANDOFFS.pending(code)  # withdrawn
    assert any('method: "DELETE"' in h.proto.body for h in at.get("html"))
    at.run()  # cleared once: a later sign-in in another tab keeps its cookie
    assert not any('method: "DELETE"' in h.proto.body for h in at.get("html"))


def test_a_session_ended_elsewhere_signs_this_tab_out(accounts_env):
    from config.settings import get_settings
    from security.identity import Principal, Role
    from security.identity.bootstrap import account_service

    at = AppTest.from_file(APP, default_timeout=60).run()
    _sign_in(at, "demo-analyst", accounts_env["demo-analyst"])
    account_service(get_settings()).set_disabled(Principal("root", frozenset({Role.ADMIN})), "demo-analyst", True)
    at.run()
    assert at.title[0].value == "Sign in to PromptForge"
    assert "You were signed out: the account was disabled by an administrator." in _text(at)


@pytest.fixture
def sso_env(app_env, monkeypatch):
    """Single sign-on configured; the identity provider's group "risk" maps to analyst."""
    from config.settings import get_settings

    monkeypatch.delenv("PROMPTFORGE_SINGLE_USER")
    monkeypatch.setenv("PROMPTFORGE_AUTH__SSO_GROUP_ROLES", '{"risk": ["analyst"]}')
    get_settings.cache_clear()


def _sso_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s3cret",
                          "client_id": "pf", "client_secret": "x", "server_metadata_url": "http://idp.example/.well-known"}
    at.user = {"is_logged_in": True, "email": "Ann@Bank.example", "groups": ["risk"]}
    return at


def test_single_sign_on_gets_a_server_session_with_the_same_limits(sso_env):
    import sqlalchemy as sa

    from config.settings import get_settings
    from storage.engine import make_engine
    from storage.schema import sessions

    at = _sso_app().run()
    assert not at.exception and at.title[0].value == "Overview"
    assert "ann@bank.example" in at.sidebar.caption[0].value and "analyst" in at.sidebar.caption[0].value
    engine = make_engine(get_settings())
    with engine.begin() as conn:
        rows = conn.execute(sa.select(sessions)).all()
        assert [(r.username, r.kind, r.ended_at) for r in rows] == [("ann@bank.example", "sso", None)]
        at.run()  # the same tab: the same session
        assert conn.execute(sa.select(sa.func.count()).select_from(sessions)).scalar_one() == 1
        conn.execute(sa.update(sessions).values(started_at=rows[0].started_at.replace(year=2000)))
    at.run()
    assert at.title[0].value == "Sign in to PromptForge" and "sessions end after 12 hours" in _text(at)
