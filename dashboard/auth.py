"""The login gate: who is signed in to this browser session, for how long.

Three modes: ``--single-user`` (no login; the local user, marked as such in every
audit event), single sign-on through Streamlit's OpenID Connect login when
``[auth]`` is configured in ``.streamlit/secrets.toml``, and local accounts.
Pages call ``require``; the services check permissions again on every operation.
"""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import services
from security.identity import Permission, Principal
from storage.schema import utcnow
from security.identity.sessions import Session

SESSION_KEY = "pf_session"
NOTICE_KEY = "pf_auth_notice"


def mode() -> str:
    """``single-user``, ``sso`` or ``local``."""
    if services.settings().single_user:
        return "single-user"
    from security.identity.sso import sso_configured

    try:
        return "sso" if sso_configured(st.secrets.to_dict()) else "local"
    except (FileNotFoundError, PromptForgeError, KeyError, AttributeError):
        return "local"


def current_session() -> Session | None:
    """The signed-in session, ended (and audited) when it has expired."""
    if mode() == "single-user":
        return Session(Principal.local("single-user"), utcnow(), utcnow())
    session: Session | None = st.session_state.get(SESSION_KEY)
    if session is None and mode() == "sso" and getattr(st.user, "is_logged_in", False):
        session = _sso_session()
    if session is None:
        return None
    now = utcnow()
    reason = session.expiry_reason(services.settings().auth, now)
    if reason:
        sign_out(f"expired: {reason}")
        st.session_state[NOTICE_KEY] = f"You were signed out: {reason}."
        return None
    session.touch(now)
    return session


def principal() -> Principal | None:
    session = current_session()
    return session.principal if session else None


def require(permission: Permission | None = None) -> Principal:
    """The signed-in principal, or stop the page with a clear message."""
    who = principal()
    if who is None:
        st.info("Sign in to use this page.", icon=":material/lock:")
        st.stop()
    if permission is not None and not who.can(permission):
        st.error(
            f"Your roles ({', '.join(sorted(r.value for r in who.roles)) or 'none'}) do not include this page.",
            icon=":material/block:",
        )
        st.stop()
    return who


def sign_in(username: str, password: str) -> Session:
    login = services.accounts().authenticate(username, password)
    now = utcnow()
    session = Session(login.principal, now, now, login.must_change_password)
    st.session_state[SESSION_KEY] = session
    st.session_state.pop(NOTICE_KEY, None)
    return session


def sign_out(reason: str = "user") -> None:
    session: Session | None = st.session_state.pop(SESSION_KEY, None)
    for key in list(st.session_state):  # nothing of one user's pages (drafts, results) reaches the next
        del st.session_state[key]
    if session is not None:
        services.accounts().logout(session.principal, reason)
        if session.principal.kind == "sso" and hasattr(st, "logout"):
            st.logout()


def _sso_session() -> Session | None:
    from security.identity.sso import principal_from_claims

    try:
        who = principal_from_claims(st.user.to_dict(), services.settings().auth)
    except PromptForgeError as exc:
        st.session_state[NOTICE_KEY] = str(exc)
        return None
    services.audit_log().append(who.actor, "login", f"user:{who.name}", {"via": "sso"})
    now = utcnow()
    session = Session(who, now, now)
    st.session_state[SESSION_KEY] = session
    return session
