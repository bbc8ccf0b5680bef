"""Overview: how the workspace is doing over time: outcomes, safety, quality, latency and cost."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, overview_views, run_scope, services
from dashboard.widgets import show_error
from security.identity import Permission
from storage.run_filter import RunFilter

who = auth.require(Permission.READ_RUNS)
st.title("Overview")
st.caption("Every run here went through the governed pipeline: scrubbed, screened, evaluated and recorded.")
overview_views.demo_notice(services.demo_status())

choices = run_scope.choices()
today = date.today()
cols = st.columns([3, 3, 2, 3])
days = cols[0].date_input("Dates (UTC)", value=(today - timedelta(days=89), today), key="ov_days")
prompts = cols[1].multiselect("Prompt", choices["prompts"], key="ov_prompts", placeholder="All prompts")
label = cols[2].selectbox("Label", ["Any", *run_scope.labels(who)], key="ov_label")
providers = cols[3].multiselect("Provider", choices["providers"], key="ov_providers", placeholder="All providers")
first, last = (days[0], days[-1]) if isinstance(days, tuple) and days else (None, None)
try:
    versions = run_scope.label_versions(who, label)
    scope = RunFilter.for_days(first, last, prompts=tuple(prompts), providers=tuple(providers), versions=versions)
    figures, read_at = run_scope.overview(scope)
except PromptForgeError as exc:
    show_error(exc)
    st.stop()

if figures.totals["runs"] == 0:
    st.info("No runs in this period. Widen the dates, clear a filter, or open the **Playground** to run a prompt.",
            icon=":material/search_off:")
    st.stop()
overview_views.headline(figures.totals, read_at)
overview_views.charts(figures)
overview_views.leaderboard(figures.leaderboard)
overview_views.flagged(figures.flagged)
