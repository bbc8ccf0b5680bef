"""Payment card numbers: grouped or contiguous, Luhn-checked, issuer-aware."""

from __future__ import annotations

from presidio_analyzer import Pattern
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

from security.pii.recognizers.registry import ConstantPatterns, register_recognizer

# (prefix range, lengths) of issuers whose numbers are unambiguous without context
_ISSUERS: tuple[tuple[int, int, frozenset[int]], ...] = tuple(
    (low, high, frozenset(lengths))
    for low, high, lengths in (
        (4, 4, (16, 19)),  # Visa
        (51, 55, (16,)),  # Mastercard
        (2221, 2720, (16,)),  # Mastercard 2-series
        (34, 34, (15,)),  # American Express
        (37, 37, (15,)),
        (300, 305, (14, 16)),  # Diners Club
        (36, 36, (14, 16)),
        (38, 39, (16,)),
        (6011, 6011, (16, 19)),  # Discover
        (644, 649, (16, 19)),
        (65, 65, (16, 19)),
        (3528, 3589, (16, 17, 18, 19)),  # JCB
        (62, 62, (16, 17, 18, 19)),  # UnionPay
        (50, 50, (16, 19)),  # Maestro (long forms)
        (56, 69, (16, 19)),
    )
)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def known_issuer(digits: str) -> bool:
    """True when prefix and length match a major issuer."""
    for low, high, lengths in _ISSUERS:
        width = len(str(low))
        if len(digits) in lengths and low <= int(digits[:width]) <= high:
            return True
    return False


@register_recognizer
class CardNumberRecognizer(ConstantPatterns, CreditCardRecognizer):
    """Card numbers of 12-19 digits; issuer-matched ones score high without context."""

    REPLACES = ("CreditCardRecognizer",)

    PATTERNS = (
        # 4111 1111 1111 1111, 4111-1111-1111-1111-123
        Pattern("card grouped by four", r"\b\d{4}([ \-])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?\b", 0.3),
        # 3782 822463 10005 (Amex), 3056 930902 5904 (Diners)
        Pattern("card grouped 4-6-5", r"\b3\d{3}([ \-])\d{6}\1\d{4,5}\b", 0.3),
        Pattern("card contiguous", r"(?<![\d.,\-])\d{12,19}(?![\d.,\-]\d)\b", 0.3),
    )

    # Presidio's "cc " (with a space) can never match a lemma; "cc" can
    CONTEXT = (*(word.strip() for word in CreditCardRecognizer.CONTEXT), "debit", "payment")

    def validate_result(self, pattern_text: str) -> bool | None:
        """Luhn fails: drop. Luhn passes: certain for known issuers, else context decides."""
        digits = "".join(ch for ch in pattern_text if ch.isdigit())
        if not luhn_valid(digits):
            return False
        return True if known_issuer(digits) else None
