"""spaCy's named entities, trusted less when the span holds no letters; no digits in names."""

from __future__ import annotations

from presidio_analyzer import RecognizerResult
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from security.pii.recognizers.registry import register_recognizer


@register_recognizer
class NerRecognizer(SpacyRecognizer):
    """Presidio's spaCy recognizer, except that mostly-digit spans score ``NUMERIC_SCORE``.

    The small model often labels phone numbers and IDs as DATE or NRP; lowering those
    spans lets the pattern recognizers, which validate numbers, win overlaps. A PERSON
    span with a digit in it is not a name ("Summarise Q3 2026", "MT103") and is dropped.
    """

    REPLACES = ("SpacyRecognizer",)
    NUMERIC_SCORE = 0.45

    def analyze(self, text, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        results = [
            r for r in super().analyze(text, entities, nlp_artifacts)
            if not (r.entity_type == "PERSON" and any(ch.isdigit() for ch in text[r.start : r.end]))
        ]
        for result in results:
            if is_numeric(text[result.start : result.end]):
                result.score = min(result.score, self.NUMERIC_SCORE)
        return results


def is_numeric(span: str) -> bool:
    """More digits than letters ("2024", "+1-212-555-0143x77")."""
    return sum(ch.isdigit() for ch in span) > sum(ch.isalpha() for ch in span)
