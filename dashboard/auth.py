"""The login gate: who is signed in to this browser, for how long, and where they were going.

Three modes: ``--single-user`` (no login; the local user, marked as such in every
audit event), single sign-on through Streamlit's OpenID Connect login when
``[auth]`` is configured in ``.streamlit/secrets.toml``, and local accounts.
Pages call ``require``; the services check permissions again on every operation.

A signed-in session lives on the server (``security.identity.session_store``); the browser
holds its token in the HttpOnly cookie ``pf_session`` (``dashboard.session_cookie``), so a
reload or a second tab resumes it with the same limits. A page asked for while signed out
(a shared link) is remembered with its query parameters and opened after sign-in.
"""

from __future__ import annotations

import json

import streamlit as st

from config.errors import PromptForgeError
from dashboard import services, session_cookie
from security.identity import Permission, Principal
from security.identity.session_store import SIGNED_OUT, SessionEnded, token_hash
from security.identity.sessions import Session
from storage.schema import utcnow

SESSION_KEY = "pf_session"
NOTICE_KEY = "pf_auth_notice"
COOKIE_ACTION_KEY = "pf_cookie_action"  # ("set", one-time code) | ("clear", "")
STALE_KEY = "pf_stale_cookie"  # hash of the cookie this tab presented, which names no live session
DESTINATION_KEY = "pf_destination"  # {"page": url path, "params": {...}} asked for before sign-in
SIGNED_OUT_KEY = "pf_signed_out"
NEXT_COOKIE = "pf_next"  # the destination across a single sign-on round trip (a new browser session)
_KEPT = (STALE_KEY, COOKIE_ACTION_KEY, NOTICE_KEY, SIGNED_OUT_KEY)  # what survives a sign-out


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
    """The signed-in session (checked against the server on every run), resumed from the
    browser's cookie after a reload; None when nobody is signed in. A session that has just
    ended (expired, signed out elsewhere, account disabled) leaves a notice for the sign-in page."""
    if mode() == "single-user":
        return Session(Principal.local("single-user"), utcnow(), utcnow())
    session: Session | None = st.session_state.get(SESSION_KEY)
    if session is not None:
        try:
            return services.sessions().check(session)
        except SessionEnded as exc:
            _signed_out(str(exc.message), sso=session.principal.kind == "sso")
            return None
    sso = _sso_principal() if mode() == "sso" and getattr(st.user, "is_logged_in", False) else None
    token = _cookie()
    if token:
        try:
            session = services.sessions().resume(token, sso=sso)
        except SessionEnded as exc:
            _signed_out(str(exc.message), sso=sso is not None)
            return None
        if session is not None:
            st.session_state[SESSION_KEY] = session
            return session
        _forget_cookie()
    if sso is not None:  # back from the identity provider: a new session
        services.sessions()  # opens the database (and migrates a new one) before the first event
        services.audit_log().append(sso.actor, "login", f"user:{sso.name}", {"via": "sso"})
        return _start(sso)
    return None


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
        st.error(roles_refusal(who), icon=":material/block:")
        st.stop()
    return who


def roles_refusal(who: Principal) -> str:
    return f"Your roles ({', '.join(sorted(r.value for r in who.roles)) or 'none'}) do not include this page."


def sign_in(username: str, password: str) -> Session:
    login = services.accounts().authenticate(username, password)
    st.session_state.pop(NOTICE_KEY, None)
    return _start(login.principal, login.must_change_password)


def sign_out(reason: str = SIGNED_OUT) -> None:
    """End the session on the server, forget everything of it in this tab, clear the cookie."""
    session: Session | None = st.session_state.get(SESSION_KEY)
    if session is not None:
        services.sessions().end(session, reason)
    _signed_out(None, sso=session is not None and session.principal.kind == "sso")
    st.session_state[SIGNED_OUT_KEY] = True


# -- the cookie ------------------------------------------------------------------------------


def cookie_script(signed_in: bool) -> None:
    """Set or clear the session cookie when a sign-in or sign-out asked for it, and under single
    sign-on keep or drop the destination cookie (an invisible element; call once per run,
    before the page)."""
    st.html("<style>.st-key-pf_cookie{display:none}</style>")
    with st.container(key="pf_cookie"):
        if mode() == "sso":
            wanted = st.session_state.get(DESTINATION_KEY)
            if not signed_in and wanted:
                st.html(next_cookie_script(wanted), unsafe_allow_javascript=True)
            elif signed_in and st.session_state.get("pf_next_used"):
                st.html(f"<script>document.cookie = '{NEXT_COOKIE}=; Path=/; Max-Age=0; SameSite=Strict';</script>",
                        unsafe_allow_javascript=True)
        action = st.session_state.get(COOKIE_ACTION_KEY)
        if not action:
            return
        kind, code = action
        if kind == "set" and not session_cookie.HANDOFFS.pending(code) or kind == "cleared":
            del st.session_state[COOKIE_ACTION_KEY]  # the route has set it (or the code expired)
            return
        if kind == "clear":  # once: a later sign-in in another tab must keep its cookie
            st.session_state[COOKIE_ACTION_KEY] = ("cleared", "")
        script = session_cookie.set_script(code) if kind == "set" else session_cookie.clear_script()
        st.html(script, unsafe_allow_javascript=True)


def _start(who: Principal, must_change_password: bool = False) -> Session:
    token, session = services.sessions().start(who, must_change_password)
    st.session_state[SESSION_KEY] = session
    if session_cookie.mounted():
        st.session_state[COOKIE_ACTION_KEY] = ("set", session_cookie.HANDOFFS.issue(token))
    return session


def _browser_cookie(name: str) -> str | None:
    """A cookie the browser sent when this tab connected (None without a browser, as in tests)."""
    try:
        value = st.context.cookies.get(name)
    except (AttributeError, RuntimeError):
        return None
    return value if isinstance(value, str) and value else None


def _cookie() -> str | None:
    token = _browser_cookie(session_cookie.COOKIE)
    if token is None or token_hash(token) == st.session_state.get(STALE_KEY):
        return None
    return token


def _forget_cookie() -> None:
    """This tab's cookie names no live session: stop presenting it and clear it in the browser."""
    token = _browser_cookie(session_cookie.COOKIE)
    if token:
        st.session_state[STALE_KEY] = token_hash(token)
        if session_cookie.mounted():
            st.session_state[COOKIE_ACTION_KEY] = ("clear", "")


def _signed_out(notice: str | None, sso: bool) -> None:
    kept = {k: st.session_state[k] for k in _KEPT if k in st.session_state}
    for key in list(st.session_state):  # nothing of one user's pages (drafts, results) reaches the next
        del st.session_state[key]
    st.session_state.update(kept)
    st.session_state.pop(SIGNED_OUT_KEY, None)
    if notice:
        st.session_state[NOTICE_KEY] = notice
    else:
        st.session_state.pop(NOTICE_KEY, None)
    action = st.session_state.pop(COOKIE_ACTION_KEY, None)
    if action and action[0] == "set":
        session_cookie.HANDOFFS.redeem(action[1])  # a cookie not set yet never will be
    _forget_cookie()
    if session_cookie.mounted():  # this tab may have set the cookie since it connected
        st.session_state[COOKIE_ACTION_KEY] = ("clear", "")
    if sso and hasattr(st, "logout"):
        st.logout()


def _sso_principal() -> Principal | None:
    from security.identity.sso import principal_from_claims

    try:
        return principal_from_claims(st.user.to_dict(), services.settings().auth)
    except PromptForgeError as exc:
        st.session_state[NOTICE_KEY] = str(exc)
        return None


# -- where the user was going ------------------------------------------------------------------


def remember_destination(page: str, params: dict[str, str]) -> None:
    """The page (url path) and query parameters asked for while signed out."""
    st.session_state[DESTINATION_KEY] = {"page": page, "params": dict(params)}


def destination() -> dict | None:
    """Where to go after sign-in: asked for in this tab, or carried across a single sign-on
    round trip by the short-lived ``pf_next`` cookie."""
    wanted = st.session_state.get(DESTINATION_KEY)
    if wanted is None and mode() == "sso" and not st.session_state.get("pf_next_used"):
        wanted = parse_destination(_browser_cookie(NEXT_COOKIE))
    return wanted


def forget_destination() -> None:
    st.session_state.pop(DESTINATION_KEY, None)
    st.session_state["pf_next_used"] = True


def next_cookie_script(wanted: dict) -> str:
    """A script that keeps ``wanted`` for ten minutes in the ``pf_next`` cookie (single sign-on
    leaves the app and comes back to its first page in a new browser session)."""
    value = json.dumps(json.dumps(wanted, separators=(",", ":")))
    return (
        f"<script>document.cookie = '{NEXT_COOKIE}=' + encodeURIComponent({value}) + "
        "'; Path=/; SameSite=Strict; Max-Age=600' + (location.protocol === 'https:' ? '; Secure' : '');</script>"
    )


def parse_destination(raw: str | None) -> dict | None:
    """A destination from the ``pf_next`` cookie, or None when it is absent or malformed. The
    page is only ever looked up among the app's own pages, never followed as a URL."""
    if not raw or len(raw) > 2000:
        return None
    from urllib.parse import unquote

    try:
        value = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("page"), str):
        return None
    params = value.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        return None
    return {"page": value["page"], "params": params}
