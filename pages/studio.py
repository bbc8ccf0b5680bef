"""Prompt Studio: write prompts and fragments, save immutable versions, compare them, and move
labels, production through a request and an approval by someone else."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, services
from dashboard.studio_views import (
    NEW,
    editor,
    emergency_banner,
    history_view,
    inbox,
    labels_view,
    prompt_list,
    test_run_view,
)
from dashboard.widgets import show_error
from security.identity import Permission

who = auth.require(Permission.READ_RUNS)
st.title("Prompt Studio")
st.caption(
    "Every save is an immutable version with its author and change note; production moves only when "
    "someone other than the requester approves. TruLens's own registry lists the same prompts, versions and labels."
)
flash = st.session_state.pop("ps_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

try:
    if who.can(Permission.APPROVE_LABEL_MOVE):
        inbox(who)
    left, main = st.columns([2, 5], gap="large")
    with left:
        selected = prompt_list(who)
    with main:
        if selected == NEW:
            st.subheader("New prompt")
            editor(who, None)
        elif selected:
            description, tags, _ = services.prompts(who).details(selected)
            st.query_params["prompt"] = selected
            st.subheader(selected)
            st.caption(" · ".join(filter(None, [description, ", ".join(f"#{t}" for t in tags)])) or "No description.")
            emergency_banner(who, selected)
            edit, history, labels, run = st.tabs(["Editor", "History & diff", "Labels & approvals", "Test run"])
            with edit:
                editor(who, selected)
            with history:
                history_view(who, selected)
            with labels:
                labels_view(who, selected)
            with run:
                if who.can(Permission.RUN_PROMPTS):
                    test_run_view(who, selected)
                else:
                    st.caption("Test runs need the analyst role.")
        else:
            st.info("Pick a prompt on the left, or create one.", icon=":material/arrow_back:")
except PromptForgeError as exc:
    show_error(exc)
