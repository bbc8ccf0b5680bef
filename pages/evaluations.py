"""Evaluations: score a prompt version over a dataset with its metric set, watch the
run, read its summary, distributions and rows, and open any row's trace."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, services
from dashboard.eval_views import (
    datasets_view,
    metric_sets_view,
    new_run_view,
    progress_panel,
    results_table,
    summary_panel,
)
from dashboard.links import copy_link, keep_in_link, linked_choice, new_in_link
from dashboard.widgets import show_error, view_switch
from security.identity import Permission

who = auth.require(Permission.READ_RUNS)
st.title("Evaluations")
st.caption(
    "Score a prompt version over a dataset: every row goes through the governed pipeline, every score is "
    "recorded in the TruLens database (its own dashboard shows the same numbers)."
)

views = ["Results", "New evaluation", "Datasets", "Metric sets"] if who.can(Permission.EVALUATE) else ["Results"]
pending = st.session_state.pop("ev_pending_view", None)  # a run just started: show it
if pending is not None:
    st.session_state["ev_view_pending"], st.session_state["ev_run"] = pending
elif new_in_link("run", "ev_run"):  # a link: /evaluations?run=… opens that run's results
    st.session_state["ev_view_pending"] = "Results"
view = view_switch(views, "ev_view")

try:
    if view == "New evaluation":
        new_run_view(who)
    elif view == "Datasets":
        datasets_view(who)
    elif view == "Metric sets":
        metric_sets_view(who)
    else:
        evaluator = services.evaluator(who)
        runs = evaluator.list_runs(limit=100)
        if not runs:
            st.info("No evaluation runs yet. Start one under **New evaluation**.", icon=":material/info:")
            st.stop()
        by_id = {r.id: r for r in runs}
        linked_choice("ev_run", "run", by_id, evaluator.get, "an evaluation run")
        run_id = st.selectbox(
            "Evaluation run",
            list(by_id),
            key="ev_run",
            format_func=lambda i: (
                f"{by_id[i].created_at:%Y-%m-%d %H:%M} · {by_id[i].prompt_ref} × {by_id[i].dataset} · "
                f"{by_id[i].provider} · {by_id[i].display_status}"
            ),
        )
        keep_in_link("run", run_id, "ev_run")
        copy_link("evaluations", "Link to this evaluation run", run=run_id)
        progress_panel(who, run_id)
        report = evaluator.report(run_id)
        summary_panel(who, report)
        results_table(who, report)
except PromptForgeError as exc:
    show_error(exc)
