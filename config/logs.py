"""Logging for the CLI and the app: our own loggers at the configured level; libraries that
may put payloads in their debug output are held at WARNING whatever the level, because
only scrubbed text may ever be logged."""

from __future__ import annotations

import logging

# third-party loggers that can log request bodies, prompts or analyzed text at DEBUG/INFO
PAYLOAD_LOGGERS = (
    "presidio-analyzer", "presidio-anonymizer", "trulens", "httpx", "httpcore", "openai",
    "anthropic", "langchain", "langchain_core", "urllib3", "spacy", "sentence_transformers",
    "transformers", "deepeval", "alembic", "sqlalchemy",
)


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Presidio warns once per non-English recognizer it skips: noise, not news
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
