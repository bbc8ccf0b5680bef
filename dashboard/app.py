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

from dashboard import auth  # noqa: E402
from security.identity import Permission  # noqa: E402

PAGES = ROOT / "pages"


def _page(file: str, title: str, icon: str):
    # a page file may not share a package's name (pages/review.py would shadow review/): drop "_page"
    url = file.removesuffix(".py").removesuffix("_page")
    return st.Page(PAGES / file, title=title, icon=f":material/{icon}:", url_path=url)


# Sections grow with the product: Build (prompts, playground), Evaluate
# (evaluations, A/B comparison), Govern (review, audit, exports), System.
SECTIONS = {
    "Workbench": [
        (Permission.READ_RUNS, "overview.py", "Overview", "home"),
        (Permission.READ_RUNS, "studio.py", "Prompt Studio", "edit_note"),
        (Permission.RUN_PROMPTS, "playground.py", "Playground", "science"),
    ],
    "Evaluate": [
        (Permission.READ_RUNS, "evaluations.py", "Evaluations", "fact_check"),
        (Permission.READ_RUNS, "compare.py", "Compare", "compare_arrows"),
    ],
    "Govern": [
        (Permission.READ_RUNS, "review_page.py", "Review", "rate_review"),
        (Permission.READ_AUDIT, "audit.py", "Audit trail", "policy"),
        (None, "security.py", "Security", "shield"),
    ],
    "System": [
        (Permission.MANAGE_USERS, "admin.py", "Admin", "manage_accounts"),
        (None, "health.py", "Health", "monitor_heart"),
        (None, "account.py", "Your account", "person"),
    ],
}

session = auth.current_session()
if session is None:
    navigation = [_page("login.py", "Sign in", "login")]
elif session.must_change_password:
    navigation = [_page("account.py", "Your account", "person")]
else:
    who = session.principal
    allowed = {
        section: [_page(*page) for permission, *page in pages if permission is None or who.can(permission)]
        for section, pages in SECTIONS.items()
    }
    navigation = {section: pages for section, pages in allowed.items() if pages}

page = st.navigation(navigation)
if session is not None:
    with st.sidebar:
        who = session.principal
        mode = " (single-user mode: no login)" if who.kind == "single-user" else ""
        st.caption(f"Signed in as **{who.name}**{mode}  \nRoles: " + ", ".join(sorted(r.value for r in who.roles)))
        st.caption(f"Database: `{services.settings().display_database_url()}`")
page.run()
