"""Passport numbers next to the word "passport": US, UK, Schengen and other formats.

Presidio's ``UsPassportRecognizer`` knows two US shapes (9 digits, a letter and 8 digits).
Most passports mix letters and digits ("C01X00T47", "AB1234567"); this recognizer takes
6 to 9 capitals and digits with at least 5 digits and at most 3 letters, and only a
passport word makes it count (the same shapes are order and invoice numbers elsewhere).
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer

from security.pii.recognizers.registry import CONTEXT_FREE_SCORE, ConstantPatterns, register_recognizer

MAX_LETTERS = 3


@register_recognizer
class PassportRecognizer(ConstantPatterns, PatternRecognizer):
    """Passport numbers (6-9 characters, digits with at most three letters), in context."""

    ENTITY = "US_PASSPORT"
    REGEX_FLAGS = regex.DOTALL | regex.MULTILINE  # "C01X00T47", not a lower-case word
    REPLACES = ("UsPassportRecognizer",)
    PATTERNS = (
        Pattern("passport number", r"(?<![\w\-])(?=(?:[A-Z]{0,3}\d){5})[A-Z0-9]{6,9}(?![\w\-])", CONTEXT_FREE_SCORE),
    )
    CONTEXT = ("passport", "passports", "passport#", "travel document")

    def invalidate_result(self, pattern_text: str) -> bool:
        letters = sum(ch.isalpha() for ch in pattern_text)
        return letters > MAX_LETTERS
