"""The sign-in form: the Sign in page, and any page asked for while signed out (a shared link
shows this form at its own address and opens once the user has signed in)."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth
from dashboard.widgets import show_error


def sign_in_form(destination: str | None = None) -> None:
    """``destination``: the title of the page the user asked for, opened after sign-in."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("Sign in to PromptForge")
        st.caption("A governed prompt workbench. Every action you take is recorded in a tamper-evident audit trail.")
        notice = st.session_state.get(auth.NOTICE_KEY)
        if notice:
            st.warning(notice, icon=":material/schedule:")
        if destination:
            st.info(f"Sign in to open **{destination}**: the link you followed opens once you are signed in.",
                    icon=":material/link:")
        if auth.mode() == "sso":
            if st.button("Sign in with your organisation", type="primary", icon=":material/key:", width="stretch"):
                st.login()
            st.caption("Your identity provider's groups decide your roles.")
            return
        with st.form("login", border=True):
            username = st.text_input("User name", key="login_user", autocomplete="username")
            password = st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary", width="stretch")
        if submitted:
            try:
                auth.sign_in(username, password)
                st.rerun()  # the same address now opens the page it names, with its parameters
            except PromptForgeError as exc:
                show_error(exc)
        st.caption(
            "First start? The terminal running `python launch.py` printed the administrator's one-time "
            "password (and the demo users' passwords). Working alone? Start with `python launch.py --single-user`."
        )
