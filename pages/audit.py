"""Audit trail: search who did what, verify the hash chain, export and check its head."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, services
from dashboard.widgets import show_error
from security.audit_trail import AuditTrail
from security.identity import Permission
from storage.audit_search import AuditQuery
from storage.schema import utcnow

PAGE_SIZE = 200

who = auth.require(Permission.READ_AUDIT)
trail = AuditTrail(services.audit_log(), who)
st.title("Audit trail")
st.caption(
    "Every action is an event chained to the one before by its hash: editing, deleting or reordering "
    "a stored event breaks the chain at that event. Events name what was acted on; they never hold prompt text."
)

verify_box = st.container(border=True)
with verify_box:
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.markdown("**Verify the chain**  \nReplays every event from the first and reports the first broken link.")
    if right.button("Verify audit chain", type="primary", icon=":material/verified:", width="stretch",
                    disabled=not who.can(Permission.VERIFY_AUDIT)):
        with st.spinner("Replaying the chain…"):
            try:
                st.session_state["audit_result"] = trail.verify()
            except PromptForgeError as exc:
                show_error(exc)
    result = st.session_state.get("audit_result")
    if result is not None:
        (st.success if result.ok else st.error)(result.verdict, icon=":material/check_circle:" if result.ok else ":material/gpp_bad:")
        if result.ok:
            head = services.audit_log().head(result)
            st.download_button(
                "Download head (keep it outside the database)", json.dumps(head, indent=2),
                file_name=f"audit-head-{head['seq']}.json", mime="application/json", icon=":material/download:",
                on_click="ignore",
            )
    uploaded = st.file_uploader("Check an exported head (detects events removed from the end)", type=["json"], key="audit_head")
    if uploaded is not None:
        try:
            checked = trail.check_head(json.loads(uploaded.getvalue().decode("utf-8")))
            (st.success if checked.ok else st.error)(checked.verdict)
        except (ValueError, UnicodeDecodeError) as exc:
            st.error(f"This is not an exported audit head: {exc}", icon=":material/error:")
        except PromptForgeError as exc:
            show_error(exc)

st.subheader("Search events")
try:
    actions = trail.actions()
except PromptForgeError as exc:
    show_error(exc)
    st.stop()
f1, f2, f3, f4 = st.columns([2, 2, 2, 2])
actor = f1.text_input("Actor contains", placeholder="user:alice", key="audit_actor")
picked = f2.multiselect("Actions", actions, key="audit_actions")
target = f3.text_input("Target contains", placeholder="prompt:loan-summary", key="audit_target")
today = utcnow().date()
period = f4.date_input("Dates (UTC)", (today - timedelta(days=30), today), key="audit_dates")
since = until = None
if isinstance(period, tuple) and len(period) == 2:
    since, until = datetime.combine(period[0], time()), datetime.combine(period[1] + timedelta(days=1), time())

query = AuditQuery(actor=actor or None, actions=tuple(picked), target=target or None, since=since, until=until)
try:
    events, total = trail.search(query, limit=PAGE_SIZE)
except PromptForgeError as exc:
    show_error(exc)
    st.stop()

if not events:
    st.info("No event matches these filters.", icon=":material/search_off:")
    st.stop()
frame = pd.DataFrame(
    [
        {"seq": e.seq, "time (UTC)": e.ts, "actor": e.actor, "action": e.action, "target": e.target,
         "details": json.dumps(e.details, sort_keys=True), "hash": e.hash[:16]}
        for e in events
    ]
)
st.caption(f"{total} matching events" + (f"; the newest {PAGE_SIZE} are shown" if total > PAGE_SIZE else ""))
chart, table = st.columns([1, 3], gap="medium")
with chart:
    counts = frame.groupby("action").size().sort_values(ascending=True)
    st.bar_chart(counts, horizontal=True, height=max(160, 28 * len(counts)), x_label="events", y_label="")
with table:
    st.dataframe(frame, hide_index=True, width="stretch", height=420)
