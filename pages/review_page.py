"""Review: compliance reviewers judge what the models said, against a rubric, queue by queue."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth
from dashboard.review_views import annotate_view, new_queue_view, queues_view, rubrics_view
from dashboard.widgets import show_error, view_switch
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
view = view_switch(views, "rv_view", flash_key="rv_flash")

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
