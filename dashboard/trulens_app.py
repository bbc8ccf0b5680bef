"""What ``python launch.py trulens`` serves: TruLens's own dashboard (``trulens/dashboard/main.py``:
leaderboard, trends, records, compare, prompts) on PromptForge's database.

Started by ``execution.trulens_cli`` with ``streamlit run``. The database URL comes in the
environment (``TRULENS_DATABASE_URL``), not on a command line where every user of the machine
could read its password; TruLens's session reads it from ``--database-url`` in ``sys.argv``,
which is where it is put here. The table prefix comes as ``-- --database-prefix PREFIX``.

TruLens sets the page icon to an image on trulens.org, which the browser would download; it is
replaced here by the copy of TruLens's logo inside the package, so the page loads nothing from
outside the machine. Nothing of PromptForge is imported: this process only reads the database
(the URL it is given opens it read only).
"""

from __future__ import annotations

import functools
import os
import sys

import streamlit as st
from trulens.core.utils.imports import static_resource
from trulens.dashboard.main import main

URL_ENV = "TRULENS_DATABASE_URL"
LOCAL_ICON = str(static_resource("dashboard", "ux/trulens_squid.svg"))

if "--database-url" not in sys.argv and os.environ.get(URL_ENV):
    sys.argv += ["--database-url", os.environ[URL_ENV]]


def _with_local_icon(set_page_config):
    """``st.set_page_config`` with a remote ``page_icon`` swapped for ``LOCAL_ICON``."""

    @functools.wraps(set_page_config)
    def wrapper(page_title=None, page_icon=None, *args, **kwargs):
        if isinstance(page_icon, str) and page_icon.startswith(("http://", "https://", "//")):
            page_icon = LOCAL_ICON
        return set_page_config(page_title, page_icon, *args, **kwargs)

    wrapper.promptforge_local_icon = True
    return wrapper


if not getattr(st.set_page_config, "promptforge_local_icon", False):  # the script reruns in one process
    st.set_page_config = _with_local_icon(st.set_page_config)

main()
