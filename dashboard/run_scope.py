"""What the run filters of several pages can pick (prompts, providers, metrics, labels), looked up
once a minute, and a label turned into the prompt versions it points at now."""

from __future__ import annotations

import streamlit as st

from config.errors import InputError
from dashboard import services


@st.cache_data(ttl=60, show_spinner=False)
def choices() -> dict[str, list[str]]:
    """Prompts, providers and metric names recorded so far."""
    return services.store().filter_choices()


def labels(who) -> list[str]:
    return sorted({label for p in services.prompts(who).list_prompts(fragments=None) for label in p.labels})


def label_versions(who, label: str) -> tuple[tuple[str, str], ...]:
    """(prompt, "vN") of every prompt whose ``label`` points at a version now (none for "Any")."""
    if label == "Any":
        return ()
    found = tuple(
        (p.slug, f"v{p.labels[label]}") for p in services.prompts(who).list_prompts(fragments=None) if label in p.labels
    )
    if not found:
        raise InputError(f"No prompt has the label {label!r} now.", "Pick another label, or Any.")
    return found
