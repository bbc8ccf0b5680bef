"""Records: every recorded run, filtered and paged in SQL; a run's full detail at ``?id=``."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, records_views, services
from dashboard.widgets import show_error
from security.identity import Permission

who = auth.require(Permission.READ_RUNS)
record_id = st.query_params.get("id")

if record_id:
    st.title("Record")
    if st.button("All records", icon=":material/arrow_back:", key="rec_back"):
        del st.query_params["id"]
        st.rerun()
    records_views.run_page(record_id)
    st.stop()

st.title("Records")
st.caption("Every run that went through the governed pipeline: only scrubbed text is stored. Select a row to open it.")
chosen = records_views.filter_bar(who)
if chosen is None:
    st.stop()
run_filter, options = chosen
try:
    page = services.store().page_of_runs(
        run_filter,
        page=records_views.current_page(run_filter, options),
        page_size=st.session_state.get("rec_page_size", 50),
        **options,
    )
except PromptForgeError as exc:
    show_error(exc)
    st.stop()
opened = records_views.records_table(page)
records_views.pager(page)
if opened:
    st.query_params["id"] = opened
    st.rerun()
