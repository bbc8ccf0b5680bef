"""UK NHS numbers: ten digits (3-3-4) that pass the NHS mod-11 check, next to an NHS word.

Presidio's ``NhsRecognizer`` scores every ten-digit number that passes the check 1.0, with
or without context. One ten-digit number in eleven passes it, so US phone numbers
("212-555-0148", "415-555-0199") were scrubbed as UK_NHS: 1.0 beats any phone shape
(0.5-0.7, 0.95 next to "call" or "desk"). Here the checksum alone scores below every phone
shape written with separators, so a number that looks like a phone stays a phone:

- checksum alone: ``SHAPE_SCORE`` (0.45), above the default threshold (0.4) and the bare
  ten-digit phone shapes (0.4, 0.3), below the phone shapes with separators (0.5 and up);
- "NHS" or "patient" in Presidio's context window: 0.8, above a phone shape with no phone
  word (0.5-0.7), below a phone next to one (0.95: "the patient's phone is …");
- an NHS word that labels the number ("NHS number 943 476 5919", "NHS no: 9434765919",
  "health service number is …"): ``LABELLED_SCORE`` (1.0), whatever phone word is near.
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

from security.pii.recognizers.registry import ConstantPatterns, register_recognizer

SHAPE_SCORE = 0.45
LABELLED_SCORE = 1.0

_NHS_WORDS = (
    r"NHS|N\.H\.S\.?|national[ \t]+health[ \t]+service|health[ \t]+service|health[ \t]+authority"
    r"|health[ \t]+and[ \t]+care"
)
# the NHS word right before the number, with its "number", "no.", "is" or ":" only
_LABEL = regex.compile(
    rf"(?i:\b(?P<word>{_NHS_WORDS})(?:[ \t]+(?:number|no\.?|num\.?|nr\.?|id))?(?:[ \t]+(?:is|was))?"
    r"[ \t]*[:#=\-–]?[ \t]*)$"
)
_LABEL_WINDOW = 60


def nhs_valid(digits: str) -> bool:
    """The NHS check: the ten digits weighted 10 down to 1 sum to a multiple of 11."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    return sum(int(d) * w for d, w in zip(digits, range(10, 0, -1))) % 11 == 0


@register_recognizer
class NhsNumberRecognizer(ConstantPatterns, PatternRecognizer):
    """NHS numbers (943 476 5919, 943-476-5919, 9434765919) that pass the mod-11 check;
    certain only when an NHS word labels them, else a phone shape wins the same digits."""

    ENTITY = "UK_NHS"
    REPLACES = ("NhsRecognizer",)
    PATTERNS = (
        Pattern(
            "nhs number",
            r"(?<![\w\-.,/+])\d{3}([ \-]?)\d{3}\1\d{4}(?![\w\-]|[.,]\d)",
            SHAPE_SCORE,
        ),
    )
    # Presidio matches one lemma at a time: multi-word context never matches (see ``_LABEL``)
    CONTEXT = ("nhs", "patient")

    def validate_result(self, pattern_text: str) -> bool | None:
        """Checksum fails: drop. Passes: keep the shape's score (context decides)."""
        return None if nhs_valid("".join(ch for ch in pattern_text if ch.isdigit())) else False

    def enhance_using_context(
        self, text, raw_recognizer_results, other_raw_recognizer_results, nlp_artifacts, context=None
    ) -> list[RecognizerResult]:
        """An NHS word that labels the number makes it certain; Presidio's enhancer then
        leaves it alone and adds its usual 0.35 to the others next to "NHS" or "patient"."""
        for result in raw_recognizer_results:
            label = _LABEL.search(text[max(0, result.start - _LABEL_WINDOW) : result.start])
            if label is None:
                continue
            result.score = LABELLED_SCORE
            result.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
            if result.analysis_explanation is not None:
                result.analysis_explanation.set_supportive_context_word(label.group("word"))
                result.analysis_explanation.set_improved_score(result.score)
        return raw_recognizer_results
