"""The Streamlit shell: navigation, page config, and the sidebar identity line.

Run through ``python launch.py``. Each page file under ``pages/`` also runs on its
own (``AppTest.from_file``), so pages set nothing here that they depend on.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import services  # noqa: E402

st.set_page_config(page_title="PromptForge", page_icon=":material/shield:", layout="wide")

PAGES = ROOT / "pages"
# Sections grow with the product: Build (prompts, playground), Evaluate
# (evaluations, A/B comparison), Govern (review, audit, exports), System.
navigation = {
    "Workbench": [
        st.Page(PAGES / "overview.py", title="Overview", icon=":material/home:", url_path="overview", default=True),
        st.Page(PAGES / "playground.py", title="Playground", icon=":material/science:", url_path="playground"),
    ],
    "System": [
        st.Page(PAGES / "health.py", title="Health", icon=":material/monitor_heart:", url_path="health"),
    ],
}

page = st.navigation(navigation)
with st.sidebar:
    st.caption(f"Signed in as **{services.actor()}** (single-user mode)")
    st.caption(f"Database: `{services.settings().display_database_url()}`")
page.run()
