"""Shareable links: a page's url path with the query parameters that open one item on it.

    link("evaluations", run=run_id)     /evaluations?run=…
    link("compare", id=comparison_id)   /compare?id=…
    link("review", queue=queue_name)    /review?queue=…
    link("records", id=record_id)       /records?id=…

Someone who opens a link while signed out signs in first and then lands on the page with
the same parameters (``dashboard/app.py``). A page reads its parameter with ``from_link``
(the item a link just asked for), writes the item on show with ``keep_in_link`` (so the
address bar is always a link to what is on the screen) and shows it with ``copy_link``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

import streamlit as st

from config.errors import NotFoundError


def link(page: str, **params: object) -> str:
    """The url path of ``page`` (its ``url_path`` in the navigation) with ``params`` as the query
    (``None`` values left out)."""
    from streamlit.url_util import make_url_path

    query = urlencode({name: str(value) for name, value in params.items() if value is not None})
    path = make_url_path(st.get_option("server.baseUrlPath") or "", "/" + page.strip("/"))
    return f"{path}?{query}" if query else path


def absolute(path: str) -> str:
    """``path`` on the address the browser uses for the app (the path alone when unknown)."""
    try:
        url = st.context.url
    except (AttributeError, RuntimeError):
        url = None
    if not url:
        return path
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{path}"


def copy_link(page: str, label: str, **params: object) -> str:
    """Show the link to what the page shows (to open, or copy from its menu); returns the link.
    A markdown link, not ``st.code``: its copy button costs a page's first render 0.15–0.3 s in
    the browser (the code block's highlighter is loaded for it)."""
    url = absolute(link(page, **params))
    st.caption(label)
    st.markdown(f"[`{url}`]({url})", width="content")
    return url


def new_in_link(param: str, key: str) -> bool:
    """Whether the address names an item for ``key`` that this tab has not shown yet."""
    value = st.query_params.get(param)
    return value is not None and st.session_state.get(f"pf_link_{key}") != value


def linked_choice(key: str, param: str, by_id: dict, fetch: Callable[[str], object], what: str,
                  aliases: tuple[str, ...] = ()) -> None:
    """Prepare the keyed selectbox ``key`` whose options are ``by_id`` (id -> item): a link's
    ``?param=`` chooses its item (fetched and added when it is older than the list), and
    otherwise the item on show stays chosen, also when its label changed under the widget (a
    run's status moved on, which leaves the old label in the widget's state)."""
    wanted = from_link(param, key)
    for alias in aliases:
        wanted = wanted or from_link(alias, key)
    current = st.session_state.get(key)
    target = wanted if wanted is not None else current if current in by_id else st.session_state.get(f"pf_link_{key}")
    if target is not None and target not in by_id:
        try:
            by_id[target] = fetch(target)
        except NotFoundError:
            if target == wanted:
                st.warning(f"The link names {what} that does not exist ({target[:12]}). Pick one below.",
                           icon=":material/link_off:")
            target = None
    st.session_state[key] = target if target is not None else next(iter(by_id))


def from_link(param: str, key: str) -> str | None:
    """The value of the query parameter ``param`` when this tab has not applied it to ``key`` yet
    (a link was just opened, or the address edited); None otherwise, so that a choice the user
    makes on the page is not overridden by the address on the next run."""
    value = st.query_params.get(param)
    seen = f"pf_link_{key}"
    if value is None or st.session_state.get(seen) == value:
        return None
    st.session_state[seen] = value
    return value


def keep_in_link(param: str, value: str, key: str) -> None:
    """Put the item on show into the address bar (``?param=value``)."""
    st.session_state[f"pf_link_{key}"] = value
    if st.query_params.get(param) != value:
        st.query_params[param] = value
