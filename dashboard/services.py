"""Services for the pages, built once per process (``st.cache_resource``).

Pages call these builders and the services' own methods; they hold no SQL, no
SDK calls and no regexes. Heavy parts (spaCy, TruLens) load on first use.
"""

from __future__ import annotations

import gc

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


@st.cache_resource(show_spinner="Loading the governed pipeline (spaCy, Presidio, TruLens)…")
def _pipeline():
    from execution.pipeline import Pipeline
    from security.identity import Principal
    from security.pii import get_scrubber

    # start the second-core PII worker in the background so the first batch can use it
    get_scrubber(settings()).warm_up(wait=False)
    pipeline = Pipeline(settings(), principal=Principal("nobody", frozenset()))  # shared; acts for no one
    gc.freeze()
    return pipeline


@st.cache_resource(show_spinner=False)
def freeze_loaded_heap() -> None:
    """Once the first page has run: move everything loaded so far (Streamlit, TruLens, pandas,
    plotly, their modules) out of the collector's reach. A full collection then walks only what
    pages made since, not the whole heap (about 0.5 s of held GIL for every session otherwise);
    the pipeline's models are frozen the same way once loaded."""
    gc.freeze()


def pipeline(principal):
    """The shared pipeline acting for ``principal`` (it checks their permissions itself)."""
    return _pipeline().acting_as(principal)


@st.cache_resource(show_spinner=False)
def audit_log():
    from storage.audit import audit_log as build

    return build(settings())


@st.cache_resource(show_spinner=False)
def accounts():
    from security.identity.accounts import AccountService
    from storage import make_engine
    from storage.users import UserTable

    return AccountService(UserTable(make_engine(settings())), audit_log(), settings().auth)


@st.cache_resource(show_spinner=False)
def tokens():
    """API tokens (created, listed and revoked on the Admin page)."""
    from security.identity.tokens import token_service

    return token_service(settings())


@st.cache_resource(show_spinner=False)
def sessions():
    """Server-side sessions behind the browser's cookie."""
    from security.identity.session_store import SessionStore
    from storage import make_engine
    from storage.users import UserTable

    return SessionStore(UserTable(make_engine(settings())), audit_log(), settings().auth)


@st.cache_resource(show_spinner="Opening the database…")
def store():
    from storage import open_store

    return open_store(settings())


def template(source: str):
    """Parse a template without loading the pipeline (no spaCy, no database)."""
    from execution.templates import PromptTemplate, RenderLimits

    return PromptTemplate(source, RenderLimits.from_settings(settings()))


def prompts(principal, scrubbing: bool = False):
    """The prompt registry acting for ``principal``; ``scrubbing``: lint's PII-literal rule runs
    on the shared Presidio scrubber (loads spaCy on first use)."""
    from execution.templates import RenderLimits
    from prompts.registry import PromptRegistry

    scrubber = None
    if scrubbing:
        from security.pii import get_scrubber

        scrubber = get_scrubber(settings())
    return PromptRegistry(
        store(), principal, audit_log(), limits=RenderLimits.from_settings(settings()), scrubber=scrubber,
        settings=settings(),
    )


def label_moves(principal):
    from prompts.label_moves import LabelMoves

    return LabelMoves(prompts(principal), audit_log())


def cost_estimate(text: str) -> list[dict]:
    """Tokens of ``text`` and its input cost on every provider offered here (unknown prices say so)."""
    from execution.providers.pricing import cost_usd, price_for
    from execution.providers.spec import parse_spec
    from execution.providers.tokens import count_tokens

    tokens = count_tokens(text)
    rows = []
    for spec in provider_options():
        parsed = parse_spec(spec)
        cost = cost_usd(price_for(str(parsed), parsed.model or "", overrides=settings().prices), tokens, 0)
        rows.append({
            "model": spec, "input tokens": tokens,
            "input cost per 1,000 runs (USD)": round(cost * 1000, 4) if cost is not None else None,
        })
    return rows


@st.cache_data(ttl=30, show_spinner=False)
def health() -> list[dict]:
    from execution.health import check_components

    return [c.to_dict() for c in check_components(settings())]


def demo_status() -> dict:
    from execution.demo import demo_status as status

    return status(settings())


def provider_options(preferred: str | None = None) -> list[str]:
    """Provider specs to offer: ``preferred`` (a version's default) first, then the
    configured default, the offline model and every configured provider."""
    cfg = settings()
    models = {"openai": cfg.openai_default_model, "anthropic": cfg.anthropic_default_model}
    specs = [
        f"{c['name']}:{models[c['name']]}" if c["name"] in models else c["name"]
        for c in health()
        if c["group"] == "providers" and c["available"]
    ]
    default = cfg.default_provider
    return list(dict.fromkeys([s for s in (preferred, default) if s] + ["offline", *specs]))


def evaluator(principal):
    """Evaluation runs as ``principal`` may use them (on the shared pipeline)."""
    from execution.evaluate import Evaluator

    return Evaluator(pipeline(principal))


def comparisons(principal):
    """A/B comparisons as ``principal`` may use them (on the shared pipeline)."""
    from execution.compare import Comparisons

    return Comparisons(pipeline(principal))


def metric_sets(principal):
    from execution.metric_sets import MetricSets

    return MetricSets(store(), principal, audit_log())


def metric_catalogue() -> tuple[list[dict], dict[str, str]]:
    """Every registered metric (plugins included) and the plugins that failed to load."""
    from evaluation import registered_metrics
    from evaluation.plugins import plugin_errors

    metrics = registered_metrics(settings())
    return [cls.describe() for _, cls in sorted(metrics.items())], plugin_errors()


def list_datasets() -> list[dict]:
    """Stored datasets, newest first: name, rows, columns, created (for tables and pickers)."""
    from storage.datasets import DatasetStore

    return [
        {
            "name": d["name"],
            "rows": d["rows"],
            "columns": ", ".join(d.get("columns") or []),
            "expected output": "yes" if d.get("has_expected") else "",
            "context": "yes" if d.get("has_context") else "",
            "created": (d.get("created") or "")[:16].replace("T", " "),
            "by": d.get("created_by") or "",
        }
        for d in DatasetStore(store()).list_datasets(limit=200)
    ]


def import_dataset(principal, data: bytes, filename: str, name: str, replace: bool = False, progress=None):
    """Validate, scrub (Presidio) and store an uploaded dataset; returns the import report.
    ``progress(done, total)`` follows the scrubbing."""
    from execution.dataset_import import import_dataset as run_import
    from security.pii import get_scrubber

    return run_import(
        data, filename, name, settings=settings(), scrubber=get_scrubber(settings()), store=store(),
        actor=principal, replace=replace, progress=progress,
    )


def review_queues(principal):
    """Rubrics and review queues as ``principal`` may use them."""
    from review.queues import Queues

    return Queues(store(), principal, audit_log())


def review_queues_list() -> list:
    """Every review queue (names for pickers; pages check the reader's permission first)."""
    from storage.review import ReviewTables

    return ReviewTables(store().engine).queues()


def annotations(principal):
    """The annotation workflow as ``principal`` may use it (comments scrubbed by the shared scrubber)."""
    from review.annotations import Annotations

    return Annotations(review_queues(principal), scrubber=_pipeline().scrubber)


def adjudication(principal):
    from review.adjudication import Adjudication

    return Adjudication(annotations(principal))


def compliance_export(principal):
    """Compliance exports as ``principal`` may make them (Presidio's models load on first use)."""
    from reports.export import ComplianceExport

    return ComplianceExport(settings(), principal, engine=store().engine, audit=audit_log())
