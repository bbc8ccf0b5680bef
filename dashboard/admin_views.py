"""The Admin page's two sections: user accounts with their roles, and API tokens."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from config.errors import PromptForgeError
from dashboard.widgets import show_error
from security.identity import Principal, Role
from security.identity.tokens import DEFAULT_DAYS, MAX_DAYS, SCOPES
from storage.schema import utcnow

ROLE_HELP = {
    Role.ANALYST: "author prompts, run, evaluate",
    Role.REVIEWER: "annotate records",
    Role.LEAD_REVIEWER: "run review queues and rubrics, adjudicate",
    Role.APPROVER: "approve production label moves",
    Role.PRODUCT: "compare versions, decide",
    Role.AUDITOR: "read everything, export, verify the audit trail",
    Role.ADMIN: "users, tokens and settings",
}
ROLE_NAMES = [r.value for r in Role]
SCOPE_HELP = "read: runs, prompts, traces · run: also run prompts and the gateway · evaluate: also evaluations and comparisons"


def _hand_over(kind: str, label: str, secret: str) -> None:
    st.session_state["admin_secret"] = (kind, label, secret)


def show_handed_over(kind: str) -> None:
    """The one-time password or token just created, shown once."""
    secret = st.session_state.get("admin_secret")
    if not secret or secret[0] != kind:
        return
    st.session_state.pop("admin_secret")
    _, label, value = secret
    if kind == "password":
        st.success(
            f"One-time password for **{label}**: `{value}`  \n"
            "Hand it over now: it is shown once and never stored. They must change it at first sign-in.",
            icon=":material/key:",
        )
    else:
        st.success(f"API token **{label}**: copy it now, it is shown once and only its hash is stored.",
                   icon=":material/key:")
        st.code(value, language=None)
        st.caption("Send it as `Authorization: Bearer <token>`, or set `PROMPTFORGE_TOKEN` for the command line.")


def users_section(who: Principal, accounts, users) -> None:
    show_handed_over("password")
    now = utcnow()
    if not users:
        st.info(
            "No accounts yet. Without `--single-user`, the first start creates an administrator; "
            "accounts you add here are used once the app runs with login.",
            icon=":material/group_add:",
        )
    else:
        st.dataframe(
            pd.DataFrame([
                {
                    "user": u.username,
                    "roles": ", ".join(sorted(r.value for r in u.roles)),
                    "status": "disabled" if u.disabled else ("locked" if u.locked(now) else "active"),
                    "must change password": u.must_change_password,
                    "last sign-in (UTC)": u.last_login_at,
                    "created by": u.created_by,
                }
                for u in users
            ]),
            hide_index=True, width="stretch",
        )
    create, manage = st.columns(2, gap="large")
    with create, st.form("admin_create", border=True, clear_on_submit=True):
        st.markdown("**Add a user**")
        name = st.text_input("User name", placeholder="jane.doe")
        roles = st.multiselect("Roles", ROLE_NAMES, default=["analyst"],
                               help="; ".join(f"{r.value}: {h}" for r, h in ROLE_HELP.items()))
        if st.form_submit_button("Create user", type="primary"):
            try:
                _hand_over("password", name.strip().lower(), accounts.create_user(who, name, roles))
                st.rerun()
            except PromptForgeError as exc:
                show_error(exc)

    with manage, st.container(border=True):
        st.markdown("**Change a user**")
        by_name = {u.username: u for u in users}
        picked = st.selectbox("User", list(by_name), key="admin_pick", placeholder="No accounts yet")
        if not picked:
            return
        user = by_name[picked]
        new_roles = st.multiselect("Roles", ROLE_NAMES, default=sorted(r.value for r in user.roles),
                                   key=f"admin_roles_{picked}")
        c1, c2, c3, c4 = st.columns(4)
        try:
            if c1.button("Save roles", key="admin_save_roles"):
                accounts.set_roles(who, picked, new_roles)
                st.rerun()
            if c2.button("Enable" if user.disabled else "Disable", key="admin_toggle"):
                accounts.set_disabled(who, picked, not user.disabled)
                st.rerun()
            if c3.button("Unlock", key="admin_unlock", disabled=not user.locked(now)):
                accounts.unlock(who, picked)
                st.rerun()
            if c4.button("Reset password", key="admin_reset"):
                _hand_over("password", picked, accounts.reset_password(who, picked))
                st.rerun()
        except PromptForgeError as exc:
            show_error(exc)


def tokens_section(who: Principal, tokens, users) -> None:
    show_handed_over("token")
    now = utcnow()
    try:
        listed = tokens.list(who)
    except PromptForgeError as exc:
        show_error(exc)
        return
    if listed:
        st.dataframe(
            pd.DataFrame([
                {
                    "id": t.id, "name": t.name, "user": t.username, "scopes": ", ".join(t.scopes),
                    "state": t.state(now), "expires (UTC)": f"{t.expires_at:%Y-%m-%d %H:%M}",
                    "last used (UTC)": f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
                    "requests/min": str(t.requests_per_minute or "no limit"),
                    "spend/day (USD)": f"{t.spend_per_day_usd:,.2f}" if t.spend_per_day_usd else "no limit",
                    "created by": t.created_by,
                }
                for t in listed
            ]),
            hide_index=True, width="stretch",
        )
    else:
        st.info("No API tokens yet. A token lets a service or a CI job call the API, the gateway and the command "
                "line as an account, within a scope.", icon=":material/key:")
    create, revoke = st.columns(2, gap="large")
    active_users = [u.username for u in users if not u.disabled]
    with create, st.form("admin_token_create", border=True, clear_on_submit=True):
        st.markdown("**Create a token**")
        user = st.selectbox("Account it acts as", active_users, index=None, placeholder="Choose an account")
        name = st.text_input("Name", placeholder="ci-nightly", help="What will hold it.")
        scopes = st.multiselect("Scope", list(SCOPES), default=["run"], help=SCOPE_HELP)
        days = st.number_input("Expires in (days)", 1, MAX_DAYS, DEFAULT_DAYS)
        c1, c2 = st.columns(2)
        rpm = c1.number_input("Requests per minute", 0, 100_000, 0, help="0: no limit")
        spend = c2.number_input("Model spend per day (USD)", 0.0, 1e6, 0.0, help="0: no limit")
        if st.form_submit_button("Create token", type="primary"):
            if not user:
                st.error("Choose the account the token acts as.", icon=":material/error:")
                return
            try:
                info, token = tokens.create(who, user, name, scopes, days=int(days),
                                            requests_per_minute=int(rpm) or None, spend_per_day_usd=float(spend) or None)
                _hand_over("token", f"{info.name} ({info.id}) for {info.username}", token)
                st.rerun()
            except PromptForgeError as exc:
                show_error(exc)
    with revoke, st.container(border=True):
        st.markdown("**Revoke a token**")
        active = {f"{t.id} · {t.name} · {t.username}": t.id for t in listed if t.state(now) == "active"}
        picked = st.selectbox("Token", list(active), index=None, key="admin_token_pick",
                              placeholder="No active tokens" if not active else "Choose a token")
        if st.button("Revoke", key="admin_token_revoke", disabled=not picked, icon=":material/block:"):
            try:
                tokens.revoke(who, active[picked])
                st.rerun()
            except PromptForgeError as exc:
                show_error(exc)
        st.caption("A revoked token stops working at once, for the API, the gateway and the command line.")
