"""Your account: who you are signed in as, your roles, password change, sign out."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, services
from dashboard.widgets import show_error

session = auth.current_session()
if session is None:
    auth.require()
who = session.principal
st.title("Your account")
st.markdown(
    f"Signed in as **{who.name}** · roles: "
    + (", ".join(f"`{r.value}`" for r in sorted(who.roles)) or "none")
)
if who.kind == "single-user":
    st.info(
        "Single-user mode: no login, every role, and every audit event is marked `single-user:`. "
        "Restart without `--single-user` to use accounts.",
        icon=":material/person:",
    )
    st.stop()
notice = st.session_state.pop("account_notice", None)
if notice:
    st.success(notice, icon=":material/check:")
if who.kind == "sso":
    st.caption("Your password and groups are managed by your identity provider.")
else:
    if session.must_change_password:
        st.warning("Choose a new password before you continue: this one was handed out once.", icon=":material/key:")
    with st.form("change_password", border=True):
        st.markdown("**Change password**")
        current = st.text_input("Current password", type="password", autocomplete="current-password")
        new = st.text_input("New password", type="password", autocomplete="new-password",
                            help=f"At least {services.settings().auth.min_password_length} characters.")
        repeat = st.text_input("New password again", type="password", autocomplete="new-password")
        if st.form_submit_button("Change password", type="primary"):
            if new != repeat:
                st.error("The two new passwords differ.", icon=":material/error:")
            else:
                try:
                    services.accounts().change_password(who, current, new)
                    session.must_change_password = False
                    st.session_state["account_notice"] = "Password changed."
                    st.rerun()  # the navigation opens up once the one-time password is replaced
                except PromptForgeError as exc:
                    show_error(exc)
if st.button("Sign out", icon=":material/logout:"):
    auth.sign_out()
    st.rerun()
