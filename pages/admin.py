"""Admin: user accounts and their roles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, services
from dashboard.widgets import show_error
from security.identity import Permission, Role
from storage.schema import utcnow

who = auth.require(Permission.MANAGE_USERS)
accounts = services.accounts()
st.title("Admin")
st.caption("User accounts and roles. Every change here is an audit event.")

ROLE_HELP = {
    Role.ANALYST: "author prompts, run, evaluate",
    Role.REVIEWER: "annotate records",
    Role.APPROVER: "approve production label moves",
    Role.PRODUCT: "compare versions, decide",
    Role.AUDITOR: "read everything, export, verify the audit trail",
    Role.ADMIN: "users and settings",
}
ROLE_NAMES = [r.value for r in Role]


def handed_out(username: str, password: str) -> None:
    st.session_state["admin_secret"] = (username, password)


try:
    users = accounts.list_accounts(who)
except PromptForgeError as exc:
    show_error(exc)
    st.stop()

secret = st.session_state.pop("admin_secret", None)
if secret:
    st.success(
        f"One-time password for **{secret[0]}**: `{secret[1]}`  \n"
        "Hand it over now: it is shown once and never stored. They must change it at first sign-in.",
        icon=":material/key:",
    )

now = utcnow()
if not users:
    st.info(
        "No accounts yet. Without `--single-user`, the first start creates an administrator; "
        "accounts you add here are used once the app runs with login.",
        icon=":material/group_add:",
    )
table = pd.DataFrame(
    [
        {
            "user": u.username,
            "roles": ", ".join(sorted(r.value for r in u.roles)),
            "status": "disabled" if u.disabled else ("locked" if u.locked(now) else "active"),
            "must change password": u.must_change_password,
            "last sign-in (UTC)": u.last_login_at,
            "created by": u.created_by,
        }
        for u in users
    ]
)
if users:
    st.dataframe(table, hide_index=True, width="stretch")

create, manage = st.columns(2, gap="large")
with create, st.form("admin_create", border=True, clear_on_submit=True):
    st.markdown("**Add a user**")
    name = st.text_input("User name", placeholder="jane.doe")
    roles = st.multiselect("Roles", ROLE_NAMES, default=["analyst"],
                           help="; ".join(f"{r.value}: {h}" for r, h in ROLE_HELP.items()))
    if st.form_submit_button("Create user", type="primary"):
        try:
            handed_out(name.strip().lower(), accounts.create_user(who, name, roles))
            st.rerun()
        except PromptForgeError as exc:
            show_error(exc)

with manage, st.container(border=True):
    st.markdown("**Change a user**")
    by_name = {u.username: u for u in users}
    picked = st.selectbox("User", list(by_name), key="admin_pick", placeholder="No accounts yet")
    if picked:
        user = by_name[picked]
        new_roles = st.multiselect("Roles", ROLE_NAMES, default=sorted(r.value for r in user.roles), key=f"admin_roles_{picked}")
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
                handed_out(picked, accounts.reset_password(who, picked))
                st.rerun()
        except PromptForgeError as exc:
            show_error(exc)
