"""Health: which components are available on this machine, and why not."""

from __future__ import annotations

import streamlit as st

from dashboard import services

st.title("Health")
st.caption("What PromptForge can use here. Nothing on this page loads a model or calls the network.")

components = services.health()
missing = [c for c in components if not c["available"]]
st.markdown(
    f"**{len(components) - len(missing)} of {len(components)}** components available."
    + (" Unavailable ones are optional unless marked otherwise below." if missing else "")
)
groups = {"models": "Models", "providers": "Model providers", "storage": "Storage and tracing"}
for group, title in groups.items():
    with st.container(border=True):
        st.markdown(f"#### {title}")
        for c in [c for c in components if c["group"] == group]:
            mark = ":green[:material/check_circle:]" if c["available"] else ":gray[:material/do_not_disturb_on:]"
            name, detail = st.columns([1, 3])
            name.markdown(f"{mark} **{c['name']}**")
            detail.caption(c["detail"])
if st.button("Re-check", key="health_recheck", icon=":material/refresh:"):
    services.health.clear()
    st.rerun()
