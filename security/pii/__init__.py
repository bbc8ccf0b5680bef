"""PII scrubbing: Presidio on spaCy, PromptForge recognizers, tag/mask/pseudonym policies."""

from __future__ import annotations

import threading

from config.settings import Settings, get_settings
from security.pii.engine import get_analyzer
from security.pii.parallel import get_pool
from security.pii.pseudonyms import PseudonymMap
from security.pii.results import Entity, ScrubResult
from security.pii.scrubber import Scrubber

__all__ = ["Entity", "PseudonymMap", "ScrubResult", "Scrubber", "get_analyzer", "get_scrubber"]

_lock = threading.Lock()
_scrubbers: dict[str, Scrubber] = {}


def get_scrubber(settings: Settings | None = None) -> Scrubber:
    """The process-wide scrubber for ``settings`` (one per distinct PII policy and model),
    sharing the model's analysis workers (``settings.pii_workers``)."""
    settings = settings or get_settings()
    key = f"{settings.spacy_model_path}|{settings.pii_workers}|{settings.pii.model_dump_json()}"
    with _lock:
        if key not in _scrubbers:
            _scrubbers[key] = Scrubber(
                settings.pii.model_copy(deep=True), analyzer=get_analyzer(settings), pool=get_pool(settings)
            )
        return _scrubbers[key]
