"""Small rendering helpers shared by pages (pure functions where possible, so they test alone)."""

from __future__ import annotations

import html

import streamlit as st

from config.errors import PromptForgeError

ENTITY_COLOURS = {
    "PERSON": "#FDE2E4",
    "EMAIL_ADDRESS": "#E2ECF9",
    "PHONE_NUMBER": "#E3F4E1",
    "CREDIT_CARD": "#FFF1C9",
    "IBAN_CODE": "#F1E4FA",
    "US_SSN": "#FFE0C7",
    "LOCATION": "#DDF3F5",
}
DEFAULT_COLOUR = "#ECECEC"


def highlight_entities(text: str, entities: list[dict]) -> str:
    """HTML of the scrubbed ``text`` with each replacement marked and labelled by type.

    ``entities`` carry ``out_start``/``out_end`` offsets into the scrubbed text.
    Everything is escaped: the text is model- or user-controlled.
    """
    parts: list[str] = []
    pos = 0
    for e in sorted(entities, key=lambda e: e["out_start"]):
        start, end = e["out_start"], e["out_end"]
        if start < pos:
            continue
        parts.append(html.escape(text[pos:start]))
        colour = ENTITY_COLOURS.get(e["type"], DEFAULT_COLOUR)
        title = html.escape(e["type"] + (f" (confidence {e['score']:.2f})" if e.get("score") is not None else ""))
        parts.append(
            f'<mark class="pf-entity" data-type="{html.escape(e["type"])}" title="{title}" '
            f'style="background:{colour};border-radius:4px;padding:0 3px">{html.escape(text[start:end])}</mark>'
        )
        pos = end
    parts.append(html.escape(text[pos:]))
    body = "".join(parts)
    return (
        '<div class="pf-scrubbed" style="white-space:pre-wrap;font-family:ui-monospace,monospace;'
        f'font-size:0.9rem;line-height:1.5;border:1px solid #e6e6e6;border-radius:6px;padding:10px">{body}</div>'
    )


def show_error(exc: PromptForgeError) -> None:
    """One place that shows an actionable error."""
    st.error(f"**{exc.message}**  \n{exc.hint}" if exc.hint else exc.message, icon=":material/error:")


VERDICT_STYLE = {
    "allow": ("success", ":material/verified_user:"),
    "flag": ("warning", ":material/flag:"),
    "block": ("error", ":material/block:"),
}


def verdict_box(injection: dict) -> None:
    kind, icon = VERDICT_STYLE.get(injection.get("action", "allow"), ("info", ":material/info:"))
    score = injection.get("score") or 0.0
    title = f"Injection screen: **{injection.get('action', 'allow')}** (score {score:.2f})"
    reasons = injection.get("reasons") or []
    body = title + ("  \n" + "  \n".join(f"- {r}" for r in reasons[:5]) if reasons else "  \nNo rule matched.")
    getattr(st, kind)(body, icon=icon)


def variable_inputs(
    names: list[str],
    key: str,
    spec=None,
    defaults: dict[str, str] | None = None,
    is_untrusted=None,
) -> dict[str, str]:
    """One input per variable, typed by the version's ``spec`` (a ``PromptSpec``) where it
    declares the variable: a list for a choice, a number field, a text area for long
    text and untrusted content. ``is_untrusted`` marks the names the injection policy
    treats as untrusted. Returns name -> value as text."""
    from prompts.spec import VARIABLE_TYPES, VariableSpec

    defaults = defaults or {}
    values: dict[str, str] = {}
    for name in names:
        typed = (spec.variable(name) if spec is not None else None) or VariableSpec(name, "long_text")
        untrusted = typed.untrusted or bool(is_untrusted and is_untrusted(name))
        kind = "untrusted content" if untrusted else VARIABLE_TYPES[typed.type].lower()
        label = f"{name} · {kind}" if spec is not None or untrusted else name
        help_text = (
            "Untrusted content: also screened for instructions hidden in it (indirect injection)."
            if untrusted
            else (typed.description or None)
        )
        widget_key = f"{key}_{name}"
        if typed.type == "choice":
            values[name] = st.selectbox(label, typed.choices, key=widget_key, help=help_text)
        elif typed.type == "number":
            values[name] = str(st.number_input(label, value=0.0, key=widget_key, help=help_text))
        elif typed.type == "short_text":
            values[name] = st.text_input(label, defaults.get(name, ""), key=widget_key, help=help_text)
        else:
            values[name] = st.text_area(label, defaults.get(name, ""), height=80, key=widget_key, help=help_text)
    return values


def view_switch(views: list[str], key: str, flash_key: str | None = None) -> str:
    """The page's views as a segmented control under ``key``; a view another part of the page
    asked for (``st.session_state[key + "_pending"]``) is shown first, and a message left in
    ``flash_key`` is shown once as a toast."""
    pending = st.session_state.pop(f"{key}_pending", None)
    if pending in views:
        st.session_state[key] = pending
    if st.session_state.get(key) not in views:
        st.session_state[key] = views[0]
    view = st.segmented_control("View", views, key=key, label_visibility="collapsed")
    message = st.session_state.pop(flash_key, None) if flash_key else None
    if message:
        st.toast(message, icon=":material/check_circle:")
    return view
