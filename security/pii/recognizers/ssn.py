"""US Social Security numbers within the ranges the SSA issues."""

from __future__ import annotations

from presidio_analyzer import Pattern
from presidio_analyzer.predefined_recognizers import UsSsnRecognizer

from security.pii.recognizers.registry import ConstantPatterns, register_recognizer


@register_recognizer
class SsnRecognizer(ConstantPatterns, UsSsnRecognizer):
    """SSNs: delimited ones count without context; nine bare digits need a context word."""

    REPLACES = ("UsSsnRecognizer",)

    PATTERNS = (
        Pattern("ssn delimited", r"(?<![\w\-.])\d{3}([\- .])\d{2}\1\d{4}(?![\w\-]|\.\d)", 0.5),
        Pattern("ssn digits only", r"(?<![\w\-.,])\d{9}(?![\w\-]|[.,]\d)", 0.3),
    )

    CONTEXT = (*UsSsnRecognizer.CONTEXT, "taxpayer")

    def invalidate_result(self, pattern_text: str) -> bool:
        """Presidio's checks plus: area numbers 900-999 are never SSNs."""
        digits = "".join(ch for ch in pattern_text if ch.isdigit())
        return bool(super().invalidate_result(pattern_text)) or digits[0] == "9"
