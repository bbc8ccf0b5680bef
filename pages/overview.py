"""Overview: what is in this workspace and what ran recently."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, services
from dashboard.charts import runs_by_status_chart
from dashboard.widgets import show_error
from security.identity import Permission

who = auth.require(Permission.READ_RUNS)
st.title("Overview")
st.caption("Every run below went through the governed pipeline: scrubbed, screened, evaluated and recorded.")

demo = services.demo_status()
if demo.get("state") == "seeding":
    st.info("The demo workspace is being prepared (loading Presidio and recording demo runs)…", icon=":material/hourglass_top:")
elif demo.get("state") == "failed":
    st.warning(f"The demo workspace could not be created: {demo.get('error')}")
elif demo.get("state") == "ready":
    st.info(
        "This is a **demo workspace**: prompts marked [demo] and runs over synthetic, fake customer data. "
        "Start your own in the Playground.",
        icon=":material/explore:",
    )

try:
    overview = services.store().overview()
    prompts = services.prompts(who).list_prompts()
except PromptForgeError as exc:
    show_error(exc)
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("Prompts", len(prompts))
c2.metric("Recorded runs", overview["runs"])
c3.metric("Blocked or flagged", overview["blocked"] + overview["flagged"])
c4.metric("PII entities scrubbed", overview["pii_scrubbed"])

summary = services.store().summarize_runs()
if summary:
    st.subheader("Runs per prompt version")
    st.plotly_chart(runs_by_status_chart(summary), width="stretch", config={"displayModeBar": False})

st.subheader("Recent runs")
runs = services.store().list_runs(limit=20)
if not runs:
    st.write("No runs yet. Open the **Playground** to run a prompt.")
else:
    st.dataframe(
        [
            {
                "time (UTC)": r["started_at"],
                "prompt": f"{r['app_name']}@{r['app_version']}",
                "status": r["status"],
                "injection": r.get("injection_action"),
                "provider": r["provider"] + (" (simulated)" if r.get("simulated") else ""),
                "latency (ms)": round(r["latency_s"] * 1000, 1),
                "record": r["record_id"],
            }
            for r in runs
        ],
        hide_index=True,
        width="stretch",
    )
st.caption("Open the **Playground** in the sidebar to run a prompt and see its governed trace.")
