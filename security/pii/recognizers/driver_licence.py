"""Driver licence numbers next to "driver's licence", "DL", "driving licence".

US states use 1-2 letters and 4-14 digits ("D1234567", "S530-460-58-212"), some all
digits, often written with dashes ("2270-66-1551"); the UK uses 16 characters
("MORGA753116SM9IJ"). Presidio's ``UsLicenseRecognizer`` scores its letter-and-digits
shape 0.3 with no context (and reads dashed numbers not at all); here every shape needs
a licence word nearby.
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer

from security.pii.recognizers.phone import DATE_LIKE_RE
from security.pii.recognizers.registry import CONTEXT_FREE_SCORE, ConstantPatterns, register_recognizer

MIN_DIGITS, MAX_DIGITS = 6, 16


@register_recognizer
class DriverLicenceRecognizer(ConstantPatterns, PatternRecognizer):
    """US and UK licence numbers, plain or dashed; scrubbed only with a licence word."""

    ENTITY = "US_DRIVER_LICENSE"
    REGEX_FLAGS = regex.DOTALL | regex.MULTILINE  # letters of a licence are capitals
    REPLACES = ("UsLicenseRecognizer",)
    PATTERNS = (
        Pattern(
            "us licence", r"(?<![\w\-])[A-Z]{0,2}\d{1,14}(?:[ \-]\d{1,9}){0,4}(?![\w\-]|[.,]\d)", CONTEXT_FREE_SCORE
        ),
        Pattern("uk licence", r"(?<![\w\-])[A-Z9]{5}\d{6}[A-Z9]{2}\d[A-Z]{2}(?:\d{2})?(?![\w\-])", CONTEXT_FREE_SCORE),
    )
    # Presidio matches context words inside words: "lic" would match "applicant", "dl" "deadline"
    CONTEXT = ("driver", "driver's", "drivers", "driving", "licence", "license", "licences", "licenses", "dmv")

    def invalidate_result(self, pattern_text: str) -> bool:
        digits = sum(ch.isdigit() for ch in pattern_text)
        return not MIN_DIGITS <= digits <= MAX_DIGITS or DATE_LIKE_RE.fullmatch(pattern_text) is not None
