"""What people type into the app (reasons, notes, comments, titles) is scrubbed before it is
stored, like every prompt's input: ``TypedText(scrubber)(text)``, or ``.limited(text, what,
limit)`` to strip it and refuse it over ``limit`` characters first (refused rather than cut: a cut
could split a phone number or an IBAN so the scrubber no longer sees it).

Without a scrubber it takes the process-wide one for the current settings, and loads the PII
model only when there is text to scrub (importing this module does not import Presidio)."""

from __future__ import annotations

from typing import Any

from config.errors import InputError


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

    def limited(self, text: str | None, what: str, limit: int) -> str:
        """``text`` stripped and scrubbed; ``InputError`` naming ``what`` when it is over ``limit``."""
        return self(within(text, what, limit))


def within(text: str | None, what: str, limit: int) -> str:
    """``text`` stripped; ``InputError`` naming ``what`` when it is longer than ``limit``."""
    text = (text or "").strip()
    if len(text) > limit:
        raise InputError(f"{what} is {len(text):,} characters long.", f"Keep it to {limit:,} characters.")
    return text
