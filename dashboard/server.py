"""What ``python launch.py`` serves: the Streamlit app (``app.py``) and the one HTTP route that
sets and clears the HttpOnly session cookie (``dashboard.session_cookie``).

``streamlit run dashboard/server.py`` finds ``app`` (an ``st.App``) and serves it with the same
configuration as ``streamlit run dashboard/app.py``, which still works, without the cookie:
there a reload signs the user out.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard.session_cookie import routes  # noqa: E402

app = st.App(Path(__file__).with_name("app.py"), routes=routes())
