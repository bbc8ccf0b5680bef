"""Review: compliance reviewers judge what the models said, against a rubric, queue by queue."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth
from dashboard.review_views import annotate_view, new_queue_view, queues_view, rubrics_view
from dashboard.widgets import show_error
from security.identity import Permission

who = auth.require(Permission.READ_RUNS)
st.title("Review")
st.caption(
    "Read the scrubbed input and output of recorded runs and judge them against a rubric. Each item is claimed "
    "by one reviewer at a time; nobody sees another reviewer's scores before submitting their own."
)

views = (["Annotate"] if who.can(Permission.ANNOTATE) else []) + ["Queues"]
if who.can(Permission.MANAGE_REVIEW):
    views.append("New queue")
views.append("Rubrics")
pending = st.session_state.pop("rv_pending_view", None)
if pending in views:
    st.session_state["rv_view"] = pending
if st.session_state.get("rv_view") not in views:
    st.session_state["rv_view"] = views[0]
view = st.segmented_control("View", views, key="rv_view", label_visibility="collapsed")
flash = st.session_state.pop("rv_flash", None)
if flash:
    st.toast(flash, icon=":material/check_circle:")

try:
    if view == "Annotate":
        annotate_view(who)
    elif view == "Queues":
        queues_view(who)
    elif view == "New queue":
        new_queue_view(who)
    else:
        rubrics_view(who)
except PromptForgeError as exc:
    show_error(exc)
