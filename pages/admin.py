"""Admin: user accounts and their roles, and the API tokens that act as them."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, services
from dashboard.admin_views import tokens_section, users_section
from dashboard.widgets import show_error
from security.identity import Permission

who = auth.require(Permission.MANAGE_USERS)
accounts = services.accounts()
st.title("Admin")
st.caption("User accounts, their roles and their API tokens. Every change here is an audit event.")

try:
    users = accounts.list_accounts(who)
except PromptForgeError as exc:
    show_error(exc)
    st.stop()

users_tab, tokens_tab = st.tabs([":material/group: Users", ":material/key: API tokens"])
with users_tab:
    users_section(who, accounts, users)
with tokens_tab:
    tokens_section(who, services.tokens(), users)
