"""Compare: is version B better than version A, on what, by how much, and how sure are we?"""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, services
from dashboard.compare_views import (
    decision_view,
    downloads_view,
    header,
    new_comparison_view,
    pick_comparison,
    progress_panel,
    side_by_side_view,
    statistics_view,
    verdict_box,
)
from dashboard.links import keep_in_link
from dashboard.widgets import show_error, view_switch
from security.identity import Permission

who = auth.require(Permission.READ_RUNS)
st.title("Compare")
st.caption(
    "Two versions of a prompt (or one version on two models) over the same dataset rows, paired row by row: "
    "effect sizes, confidence intervals and the paired test that fits each metric, then a recorded decision."
)

views = ["Comparisons", "New comparison"] if who.can(Permission.EVALUATE) else ["Comparisons"]
pending = st.session_state.pop("cmp_pending", None)  # a comparison just started: show it
if pending is not None:
    st.session_state["cmp_view_pending"], st.session_state["cmp_id"] = "Comparisons", pending
    keep_in_link("id", pending, "cmp_id")
view = view_switch(views, "cmp_view", flash_key="cmp_flash")

try:
    if view == "New comparison":
        new_comparison_view(who)
        st.stop()
    comparison_id = pick_comparison(who)
    if comparison_id is None:
        st.stop()
    comparisons = services.comparisons(who)
    row = comparisons.get(comparison_id)
    header(who, row)
    if not progress_panel(who, row):
        st.stop()
    data = comparisons.paired(row.id)
    stats = comparisons.statistics(row.id, data=data)
    verdict_box(stats, row)
    tabs = st.tabs(["Statistics", "Side by side", "Decision", "Downloads"])
    with tabs[0]:
        statistics_view(stats, data)
    with tabs[1]:
        side_by_side_view(who, row, data)
    with tabs[2]:
        decision_view(who, row, stats)
    with tabs[3]:
        downloads_view(who, row, stats, data)
except PromptForgeError as exc:
    show_error(exc)
