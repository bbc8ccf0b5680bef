"""US bank account numbers: 8 to 17 digits, plain or grouped, next to an account word.

Presidio's ``UsBankRecognizer`` takes any 8-17 digit run and lets "check", "save" or
"bank" vouch for it, so amounts and reference numbers near those common words are
scrubbed, while grouped numbers ("0123-4567-89") and "a/c" go unseen. This one counts
grouped digits, keeps amounts, years and decimals out, and needs an account word.
"""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from security.pii.recognizers.phone import DATE_LIKE_RE
from security.pii.recognizers.registry import CONTEXT_FREE_SCORE, ConstantPatterns, register_recognizer

MIN_DIGITS, MAX_DIGITS = 8, 17


@register_recognizer
class BankAccountRecognizer(ConstantPatterns, PatternRecognizer):
    """Account numbers, scored too low to scrub unless "account", "acct", "a/c", "checking",
    "savings" or "deposit" is near."""

    ENTITY = "US_BANK_NUMBER"
    REPLACES = ("UsBankRecognizer",)
    PATTERNS = (
        Pattern(
            "account number",
            r"(?<![\w\-.,/$€£#])\d{2,17}(?:[ \-]\d{2,17}){0,3}(?![\w\-%]|[.,]\d)",
            CONTEXT_FREE_SCORE,
        ),
    )
    CONTEXT = ("account", "accounts", "acct", "a/c", "checking", "savings", "deposit", "beneficiary")

    def invalidate_result(self, pattern_text: str) -> bool:
        digits = sum(ch.isdigit() for ch in pattern_text)
        return not MIN_DIGITS <= digits <= MAX_DIGITS or DATE_LIKE_RE.fullmatch(pattern_text) is not None
