"""What the run filters of several pages can pick (prompts, providers, metrics, labels), a label
turned into the prompt versions it points at now, and the Overview's figures for a scope.

The choices and the figures are shared by every session of the server process: kept until a run
or a metric is recorded here (``storage.rollups.generation``) and for at most ``FRESH_S``
seconds, so runs recorded by another process (a CLI batch, another server) show within that."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import streamlit as st

from config.errors import InputError
from dashboard import services
from storage import rollups
from storage.overview import Overview
from storage.run_filter import RunFilter


FRESH_S = 30


def choices() -> dict[str, list[str]]:
    """Prompts, providers and metric names recorded so far."""
    return _choices(_database(), rollups.generation())


@st.cache_data(ttl=FRESH_S, max_entries=8, show_spinner=False)
def _choices(database: str, generation: int) -> dict[str, list[str]]:  # the arguments are the cache's key
    return services.store().filter_choices()


def overview(scope: RunFilter) -> tuple[Overview, datetime]:
    """The Overview's figures for ``scope`` and when they were read (UTC)."""
    key = json.dumps([scope.describe(), scope.text], sort_keys=True, default=str)
    return _overview(_database(), rollups.generation(), key, scope)


@st.cache_data(ttl=FRESH_S, max_entries=64, show_spinner=False)
def _overview(database: str, generation: int, key: str, _scope: RunFilter) -> tuple[Overview, datetime]:
    # the cache's key: the database, the generation and the scope's description (``_scope`` is not hashed)
    return services.store().overview(_scope), datetime.now(UTC)


def _database() -> str:
    return services.settings().resolved_database_url


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
