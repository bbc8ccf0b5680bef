"""US bank routing numbers (ABA transit numbers), checksum-validated, in context."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from security.pii.recognizers.registry import ConstantPatterns, register_recognizer

# the first two digits: Federal Reserve districts (01-12), thrifts (21-32), electronic (61-72), traveller's cheques (80)
_PREFIXES = frozenset([*range(0, 13), *range(21, 33), *range(61, 73), 80])


def aba_valid(digits: str) -> bool:
    """The ABA check: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) is a multiple of 10."""
    if len(digits) != 9 or not digits.isdigit() or int(digits[:2]) not in _PREFIXES:
        return False
    d = [int(ch) for ch in digits]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0


@register_recognizer
class RoutingNumberRecognizer(ConstantPatterns, PatternRecognizer):
    """Nine digits that pass the ABA checksum; scrubbed only next to a context word
    (one in ten random nine-digit numbers passes the checksum)."""

    ENTITY = "US_ROUTING_NUMBER"
    PATTERNS = (Pattern("aba routing number", r"(?<![\w\-.,])\d{9}(?![\w\-]|[.,]\d)", 0.3),)
    CONTEXT = ("routing", "aba", "rtn", "transit", "wire", "ach", "bank")

    def invalidate_result(self, pattern_text: str) -> bool:
        """Presidio drops what this rejects; a valid shape keeps its score (context decides)."""
        return not aba_valid(pattern_text)
