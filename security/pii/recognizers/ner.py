"""spaCy's named entities, trusted less when the span holds no letters; no digits in names,
no names made of plain words; organisations and places shaped like person names read as names."""

from __future__ import annotations

import re

from presidio_analyzer import RecognizerResult
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from security.pii.lexicon import LEADING_WORDS, NAME_CUE_BEFORE, ORG_WORDS, is_english_word, is_given_name
from security.pii.recognizers.registry import register_recognizer
from security.pii.vocabulary import PROMPT_VOCABULARY


@register_recognizer
class NerRecognizer(SpacyRecognizer):
    """Presidio's spaCy recognizer, except that mostly-digit spans score ``NUMERIC_SCORE``.

    The small model often labels phone numbers and IDs as DATE or NRP; lowering those
    spans lets the pattern recognizers, which validate numbers, win overlaps. A PERSON
    span with a digit in it is not a name ("Summarise Q3 2026", "MT103") and is dropped, and
    so is one made only of English words with no given name among them ("Twitter Bio").
    Organisations and places shaped like a person's name (``name_in_organisation``) are
    reported as names.
    """

    REPLACES = ("SpacyRecognizer",)
    NUMERIC_SCORE = 0.45
    NAME_FROM_ORG_SCORE = 0.6

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # organisations are read (as possible names) but never reported
        self.supported_entities = [e for e in self.supported_entities if e != "ORGANIZATION"]

    def analyze(self, text, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        wanted = set(entities or self.supported_entities) & set(self.supported_entities)
        results = []
        for span, score in zip(getattr(nlp_artifacts, "entities", []), getattr(nlp_artifacts, "scores", [])):
            kind, start, end = span.label_, span.start_char, span.end_char
            source = self.name
            if kind in ("ORGANIZATION", "LOCATION") and "PERSON" in wanted:
                name = name_in_organisation(text, start, end, strict=kind == "LOCATION")
                if name is not None:
                    kind, (start, end), score = "PERSON", name, min(score, self.NAME_FROM_ORG_SCORE)
                    source = self.name + FROM_ORGANISATION
                elif kind == "ORGANIZATION":
                    continue  # an organisation is not personal data
            elif kind == "PERSON" and not _cued(text, start) and looks_like_words(text[start:end].split()):
                continue  # "Sudoku", "Twitter Bio": words the model took for a name
            if kind not in wanted or (kind == "PERSON" and any(ch.isdigit() for ch in text[start:end])):
                continue
            if is_numeric(text[start:end]):
                score = min(score, self.NUMERIC_SCORE)
            results.append(
                RecognizerResult(
                    kind, start, end, score,
                    analysis_explanation=self.build_explanation(score, self.DEFAULT_EXPLANATION.format(span.label_)),
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: source,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    },
                )
            )
        return results


def is_numeric(span: str) -> bool:
    """More digits than letters ("2024", "+1-212-555-0143x77")."""
    return sum(ch.isdigit() for ch in span) > sum(ch.isalpha() for ch in span)


FROM_ORGANISATION = "/organisation"  # recognizer-name suffix of names read from ORG or place spans
_NAME_TOKEN = re.compile(r"^(?:[A-Z][a-z'\-]+|[A-Z]\.?|[A-Z][a-z]+-[A-Z][a-z]+)$", re.UNICODE)


def _is_name_token(token: str) -> bool:
    word = token.strip(".,;:'\"()")
    return bool(word) and word.casefold() not in ORG_WORDS and bool(_NAME_TOKEN.match(_ascii_caps(word)))


def _ascii_caps(word: str) -> str:
    """Accented letters count as letters of their case (Gelencsér, Ólafsdóttir)."""
    return "".join(("A" if ch.isupper() else "a") if ch.isalpha() and not ch.isascii() else ch for ch in word)


def _cued(text: str, start: int) -> bool:
    return NAME_CUE_BEFORE.search(text[max(0, start - 20) : start]) is not None


def looks_like_words(words: list[str]) -> bool:
    """No given name among ``words`` and every word longer than an initial is an English
    word: "Google Sheets", "Twitter Bio", "Sudoku" (not "Tomomi Nishiyama", "Scott")."""
    long_words = [w for w in words if len(w.strip(".,;:")) > 1]
    return not any(is_given_name(w) for w in words) and all(is_english_word(w) for w in long_words)


def name_in_organisation(text: str, start: int, end: int, strict: bool = False) -> tuple[int, int] | None:
    """The span of a person's name inside an ORG (or, ``strict``, a place) span, or None.

    Two to four capitalised words (initials allowed, no organisation words) from the start
    of the span, not all of them English words unless one is a given name ("Smart Home",
    "Green Mortgage" are not names); with ``strict`` the first word must be a given name
    ("Ana Lima", not "New York"). A single word only right after a naming cue ("my name is",
    "Dear", "customer"), or when it is a given name and not ``strict``.
    """
    words = list(re.finditer(r"\S+", text[start:end]))
    while words and words[0].group(0).strip(".,:;").casefold() in PROMPT_VOCABULARY | LEADING_WORDS:
        words.pop(0)  # "Compare Visa", "The Rings": a capitalised verb or article is not part of a name
    taken = []
    for m in words:
        if not _is_name_token(m.group(0)):
            break
        taken.append(m)
        if m.group(0).endswith(","):
            break  # "Music, Sports": a list, not one name
    if len(taken) < len(words) and any(w.group(0).strip(".,").casefold() in ORG_WORDS for w in words):
        return None  # "Becker Capital Partners": the organisation words come later
    if not taken or len(taken) > 4 or any(w.group(0).endswith(",") for w in taken[:-1]) or (
        len(taken) > 1 and taken[0].group(0).endswith(",")
    ):
        return None
    tokens = [m.group(0) for m in taken]
    if not _cued(text, start):
        if strict and not is_given_name(tokens[0]):
            return None
        if len(taken) == 1 and (strict or not is_given_name(tokens[0])):
            return None
        if looks_like_words(tokens):
            return None
    last = taken[-1]
    return start + taken[0].start(), start + last.start() + len(last.group(0).rstrip(".,;:"))
