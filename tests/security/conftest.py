"""Fixtures for the security tests: one real Presidio analyzer (spaCy model) per session."""

from __future__ import annotations

import pytest

from config.settings import PIIPolicy


@pytest.fixture(scope="session")
def analyzer():
    """The process-wide analyzer on the packaged spaCy model (built once)."""
    from config.settings import Settings
    from security.pii import get_analyzer

    return get_analyzer(Settings())


@pytest.fixture
def make_scrubber(analyzer):
    """``make_scrubber(**policy_fields)``: a Scrubber on the shared analyzer."""
    from security.pii import Scrubber

    def make(**policy) -> Scrubber:
        return Scrubber(PIIPolicy(**policy), analyzer=analyzer)

    return make


@pytest.fixture
def scrubber(make_scrubber):
    """The default policy (pseudonyms, threshold 0.4)."""
    return make_scrubber()


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 embedder (bundled package, offline), loaded once."""
    from config.models import sentence_embedder
    from config.settings import Settings

    return sentence_embedder(Settings())
