"""What people type into the app (reasons, notes, comments, titles) is scrubbed before it is
stored, like every prompt's input: ``TypedText(scrubber)(text)``.

Without a scrubber it takes the process-wide one for the current settings, and loads the PII
model only when there is text to scrub (importing this module does not import Presidio)."""

from __future__ import annotations

from typing import Any


class TypedText:
    def __init__(self, scrubber: Any | None = None) -> None:
        self._scrubber = scrubber

    def __call__(self, text: str) -> str:
        if not text or not text.strip():
            return text
        if self._scrubber is None:
            from security.pii import get_scrubber

            self._scrubber = get_scrubber()
        return self._scrubber.scrub(text).text
