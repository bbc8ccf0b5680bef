"""Health: which components are available on this machine, and why not."""

from __future__ import annotations

import streamlit as st

from dashboard import services

st.title("Health")
st.caption("What PromptForge can use here. Nothing on this page loads a model or calls the network.")

components = services.health()
groups = {"models": "Models", "providers": "Model providers", "storage": "Storage and tracing"}
for group, title in groups.items():
    st.subheader(title)
    for c in [c for c in components if c["group"] == group]:
        icon = "✅" if c["available"] else "⚪"
        st.markdown(f"{icon} **{c['name']}**  \n<small>{c['detail']}</small>", unsafe_allow_html=True)
if st.button("Re-check", key="health_recheck"):
    services.health.clear()
    st.rerun()
