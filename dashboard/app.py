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
from dashboard.login_view import sign_in_form  # noqa: E402
from security.identity import Permission  # noqa: E402

PAGES = ROOT / "pages"


def _url(file: str) -> str:
    # a page file may not share a package's name (pages/review.py would shadow review/): drop "_page"
    return file.removesuffix(".py").removesuffix("_page")


def _page(file: str, title: str, icon: str, hidden: bool = False):
    return st.Page(
        PAGES / file, title=title, icon=f":material/{icon}:", url_path=_url(file),
        visibility="hidden" if hidden else "visible",
    )


# Sections grow with the product: Build (prompts, playground), Evaluate
# (evaluations, A/B comparison), Govern (review, audit, exports), System.
SECTIONS = {
    "Workbench": [
        (Permission.READ_RUNS, "overview.py", "Overview", "home"),
        (Permission.READ_RUNS, "records.py", "Records", "table_rows"),
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
        (Permission.EXPORT, "export.py", "Export", "download"),
        (None, "security.py", "Security", "shield"),
    ],
    "System": [
        (Permission.MANAGE_USERS, "admin.py", "Admin", "manage_accounts"),
        (None, "health.py", "Health", "monitor_heart"),
        (None, "account.py", "Your account", "person"),
    ],
}


def _hidden_pages(but: str = "") -> dict:
    """Every page, registered but not listed: url path -> page."""
    return {
        _url(file): _page(file, title, icon, hidden=True)
        for pages in SECTIONS.values() for _, file, title, icon in pages if _url(file) != but
    }


def _url_of(page, pages: dict) -> str:
    return next(url for url, candidate in pages.items() if candidate is page)


session = auth.current_session()
if session is None:
    # Every page is registered (hidden), so a link to one keeps its address and query parameters
    # while the sign-in form shows in its place; after sign-in the same address opens the page.
    pages = {"login": _page("login.py", "Sign in", "login"), **_hidden_pages()}
    page = st.navigation(list(pages.values()), position="hidden")
    asked = _url_of(page, pages)
    if st.session_state.pop(auth.SIGNED_OUT_KEY, False):
        auth.forget_destination()
        if asked != "login":
            st.switch_page(pages["login"])
    if asked != "login":
        auth.remember_destination(asked, st.query_params.to_dict())
    auth.cookie_script(signed_in=False)
    if asked == "login":
        page.run()
    else:
        sign_in_form(destination=page.title)
    st.stop()

refused: dict[str, str] = {}  # url path -> title of the pages the roles do not include
if session.must_change_password:
    pages = {"account": _page("account.py", "Your account", "person"), **_hidden_pages(but="account")}
    page = st.navigation(list(pages.values()), position="hidden")
    if (asked := _url_of(page, pages)) != "account":
        auth.remember_destination(asked, st.query_params.to_dict())
        st.switch_page(pages["account"])
else:
    who = session.principal
    navigation: dict[str, list] = {}
    pages = {}
    for section, entries in SECTIONS.items():
        for permission, file, title, icon in entries:
            allowed = permission is None or who.can(permission)
            pages[_url(file)] = _page(file, title, icon, hidden=not allowed)
            if allowed:
                navigation.setdefault(section, []).append(pages[_url(file)])
            else:
                refused[_url(file)] = title
    # pages the roles do not include stay reachable by address, to say so instead of "page not found"
    last = list(navigation)[-1]
    navigation[last] += [pages[url] for url in refused]
    page = st.navigation(navigation)
    asked = _url_of(page, pages)
    wanted = auth.destination()
    if wanted is not None:
        auth.forget_destination()
        if wanted["page"] != asked and wanted["page"] in pages and wanted["page"] not in refused:
            st.switch_page(pages[wanted["page"]], query_params=wanted["params"])

auth.cookie_script(signed_in=True)
with st.sidebar:
    who = session.principal
    mode = " (single-user mode: no login)" if who.kind == "single-user" else ""
    st.caption(f"Signed in as **{who.name}**{mode}  \nRoles: " + ", ".join(sorted(r.value for r in who.roles)))
    st.caption(f"Database: `{services.settings().display_database_url()}`")
if asked in refused:
    st.title(page.title)
    st.error(auth.roles_refusal(session.principal), icon=":material/block:")
    st.stop()
try:
    page.run()
finally:  # also after a page's st.stop(): once per process
    services.freeze_loaded_heap()
