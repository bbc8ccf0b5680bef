"""Services for the pages, built once per process (``st.cache_resource``).

Pages call these builders and the services' own methods; they hold no SQL, no
SDK calls and no regexes. Heavy parts (spaCy, TruLens) load on first use.
"""

from __future__ import annotations

import getpass

import streamlit as st

from config.offline import apply_offline_env

apply_offline_env()

from config.settings import Settings, get_settings  # noqa: E402


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    from config.logs import configure_logging

    cfg = get_settings()
    configure_logging(cfg.log_level)
    return cfg


def actor() -> str:
    """Who acts in this browser session. Until accounts exist (next issue) the app
    runs as a single local user, and every audit event says so."""
    return f"single-user:{getpass.getuser()}"


@st.cache_resource(show_spinner="Loading the governed pipeline (spaCy, Presidio, TruLens)…")
def pipeline():
    from execution.pipeline import Pipeline
    from security.pii import get_scrubber

    # start the second-core PII worker in the background so the first batch can use it
    get_scrubber(settings()).warm_up(wait=False)
    return Pipeline(settings(), actor=actor())


@st.cache_resource(show_spinner="Opening the database…")
def store():
    from storage import open_store

    return open_store(settings())


def template(source: str):
    """Parse a template without loading the pipeline (no spaCy, no database)."""
    from execution.templates import PromptTemplate, RenderLimits

    return PromptTemplate(source, RenderLimits.from_settings(settings()))


def prompts():
    from storage import PromptStore

    return PromptStore(store())


@st.cache_data(ttl=30, show_spinner=False)
def health() -> list[dict]:
    from execution.health import check_components

    return [c.to_dict() for c in check_components(settings())]


def demo_status() -> dict:
    from execution.demo import demo_status as status

    return status(settings())


def provider_options() -> list[str]:
    """Provider specs to offer: the offline model plus every configured provider."""
    cfg = settings()
    models = {"openai": cfg.openai_default_model, "anthropic": cfg.anthropic_default_model}
    specs = [
        f"{c['name']}:{models[c['name']]}" if c["name"] in models else c["name"]
        for c in health()
        if c["group"] == "providers" and c["available"]
    ]
    default = cfg.default_provider
    return list(dict.fromkeys([default, "offline", *specs]))
