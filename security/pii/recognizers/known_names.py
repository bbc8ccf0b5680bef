"""Person names the model misses, found by a census given name ("Derek", "Tiffany Hale").

The small spaCy model finds nothing at all for many names, foreign and English alike.
A capitalised census given name (one that is not mainly an ordinary word: "Will",
"Grant", "June" are left out), with the capitalised words, initials and particles that
follow it, is a name unless an organisation word comes next ("Ally Bank"). A lone given
name scores lower at the start of a sentence, where capitals say less.
"""

from __future__ import annotations

import regex as re
from presidio_analyzer import EntityRecognizer, RecognizerResult

from security.pii.lexicon import (
    LIST_ITEM_RE,
    LIST_RE,
    ORG_WORDS,
    PARTICLES,
    SUFFIXES,
    is_english_word,
    is_given_name,
    is_surname,
)
from security.pii.recognizers.registry import register_recognizer, result_of
from security.pii.vocabulary import PROMPT_VOCABULARY

_UPPER, _LOWER = r"\p{Lu}", r"\p{Ll}"
# one word of a run: a capitalised word, an initial or a lower-case particle
_TOKEN = re.compile(rf"[{_UPPER}][{_LOWER}'’\-]+|[{_UPPER}]\.?(?![\w'’])|[{_LOWER}]+")
_RUN = re.compile(
    rf"(?<![\w'’\-])[{_UPPER}][{_LOWER}'’\-]+(?:[ \t]+(?:[{_UPPER}][{_LOWER}'’\-]+|[{_UPPER}]\.?(?![\w'’])|"
    rf"(?:{'|'.join(sorted(PARTICLES))})(?=[ \t]+[{_UPPER}])))*"
)
_LOWER_ITEM = rf"[{_LOWER}][{_LOWER}'’\-]+"
_LOWER_LIST = re.compile(rf"(?<![\w'’\-]){_LOWER_ITEM}(?:,[ \t]*{_LOWER_ITEM})+,?[ \t]+(?:and|or)[ \t]+{_LOWER_ITEM}")
_LOWER_ITEM_RE = re.compile(_LOWER_ITEM)
_LOWER_WORD = re.compile(rf"(?<![\w'’\-])[{_LOWER}][{_LOWER}'’\-]+")
_CAP = rf"{_UPPER}{_LOWER}[{_LOWER}'’\-]+"
# "Ravil G Yefimov", "Vide A. Persson": a middle initial between two capitalised words
_INITIAL_IN_MIDDLE = re.compile(
    rf"(?<![\w'’\-])(?P<hit>(?P<first>{_CAP})[ \t]+{_UPPER}\.?[ \t]+(?P<last>{_CAP}))(?![\w'’\-])"
)
# "the Jensen novel", "The Vide Persson version": a work named after its author or performer
_WORK_BY = re.compile(
    rf"(?<![\w'’\-])(?i:the)[ \t]+(?P<hit>{_CAP}(?:[ \t]+(?:{_UPPER}\.?|{_CAP})){{0,3}})[ \t]+"
    r"(?:novel|novels|book|books|song|songs|album|albums|film|films|movie|movies|version|recording|"
    r"biography|memoir|concert|poem|poems|painting|paintings|play|plays|symphony|sonata)\b"
)
# "Warrane, can I …": a word addressed at the start of a sentence
_VOCATIVE = re.compile(
    rf"(?:^|(?<=[.!?\n\"“]\s*))(?P<hit>{_CAP}),[ \t]+(?=(?:can|could|would|will|please|do|did|are|is)\b)", re.MULTILINE
)
# "Ubul: What a wife.": a speaker at the start of a line or sentence
_SPEAKER = re.compile(rf"(?:^|(?<=[.!?\n\"“]\s*))(?P<hit>{_CAP}):[ \t]*(?=[\"“]?{_UPPER})", re.MULTILINE)
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“(\n]|^\s*[-*•>]|\d\.)\s*$")
MAX_WORDS = 4


@register_recognizer
class KnownNameRecognizer(EntityRecognizer):
    """Capitalised census given names, with the surname words that follow them."""

    FULL_NAME_SCORE = 0.7
    LONE_NAME_SCORE = 0.6
    LIST_SCORE = 0.6
    SENTENCE_START_SCORE = 0.5
    SHAPE_SCORE = 0.6
    LOWER_CASE_SCORE = 0.5

    def __init__(self, supported_language: str = "en", name: str | None = None) -> None:
        super().__init__(supported_entities=["PERSON"], supported_language=supported_language, name=name)

    def load(self) -> None:
        """The census lists load on first use (``security.pii.lexicon``)."""

    def analyze(self, text, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        if entities and "PERSON" not in entities:
            return []
        results = []
        for run in _RUN.finditer(text):
            results.extend(self._names_in(text, run))
        lower_case = not any(ch.isupper() for ch in text)
        if lower_case:  # a writer who never capitalises: given names that are not words
            results += [
                self._result(m.start(), m.end(), self.LOWER_CASE_SCORE)
                for m in _LOWER_WORD.finditer(text)
                if is_given_name(m.group(0)) and not is_english_word(m.group(0))
            ]
        for m in (_LOWER_LIST if lower_case else LIST_RE).finditer(text):
            results.extend(self._list_of_names(text, m))
        results += [
            self._result(*m.span("hit"), self.SHAPE_SCORE)
            for m in _INITIAL_IN_MIDDLE.finditer(text)
            if _unusual(m.group("first")) and _unusual(m.group("last"))
        ]
        results += [self._result(*m.span("hit"), self.SHAPE_SCORE) for m in _WORK_BY.finditer(text) if _unusual(m.group("hit"))]
        results += [self._result(*m.span("hit"), self.SHAPE_SCORE) for m in _VOCATIVE.finditer(text) if _unusual(m.group("hit"))]
        speakers = [m for m in _SPEAKER.finditer(text) if _unusual(m.group("hit"))]
        if len({m.group("hit") for m in speakers}) > 1:  # a dialogue: "Ubul: … Nicole: …"
            results += [self._result(*m.span("hit"), self.SHAPE_SCORE) for m in speakers]
        return results

    def _list_of_names(self, text: str, m: re.Match) -> list[RecognizerResult]:
        """Every item of a list ("Kónya, Becker and Vasquez") when each is shaped like a name,
        one holds a census name and one a word that is not English (not "Black and White")."""
        item = _LOWER_ITEM_RE if m.re is _LOWER_LIST else LIST_ITEM_RE
        items = [i for i in item.finditer(m.group(0)) if i.group(0) not in ("and", "or")]
        words = [w for i in items for w in i.group(0).split()]
        if not all(_name_shaped(w) for w in words):
            return []
        if not any(is_given_name(w) or is_surname(w) for w in words):
            return []
        if not any(is_given_name(w) or not is_english_word(w) for w in words):
            return []
        return [self._result(m.start() + i.start(), m.start() + i.end(), self.LIST_SCORE) for i in items]

    def _names_in(self, text: str, run: re.Match) -> list[RecognizerResult]:
        tokens = list(_TOKEN.finditer(run.group(0)))
        found, i = [], 0
        while i < len(tokens):
            if not is_given_name(tokens[i].group(0)):
                i += 1
                continue
            j = i + 1
            while j < len(tokens) and j - i < MAX_WORDS and _surname_word(tokens[j].group(0)):
                j += 1
            while j - 1 > i and tokens[j - 1].group(0) in PARTICLES:
                j -= 1
            follower = tokens[j].group(0) if j < len(tokens) else _next_word(text, run.end())
            if follower.casefold() not in ORG_WORDS:
                start, end = run.start() + tokens[i].start(), run.start() + tokens[j - 1].end()
                found.append(self._result(start, end, self._score(text, start, j - i)))
            i = j
        return found

    def _score(self, text: str, start: int, words: int) -> float:
        if words > 1:
            return self.FULL_NAME_SCORE
        if _SENTENCE_START.search(text[max(0, start - 8) : start]):
            return self.SENTENCE_START_SCORE
        return self.LONE_NAME_SCORE

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        return result_of(self, "PERSON", start, end, score)


def _surname_word(word: str) -> bool:
    folded = word.rstrip(".").casefold()
    return folded not in ORG_WORDS and folded not in PROMPT_VOCABULARY and (
        word[0].isupper() or folded in PARTICLES or folded in SUFFIXES
    )


def _name_shaped(word: str) -> bool:
    """A census name, or a word that is neither English nor an organisation word."""
    folded = word.casefold()
    if folded in ORG_WORDS or folded in PROMPT_VOCABULARY or len(folded) < 2:
        return False
    return is_given_name(word) or is_surname(word) or not is_english_word(word)


def _unusual(words: str) -> bool:
    """Words shaped like a name: each a given name or not an English word at all."""
    return all(
        is_given_name(w) or (not is_english_word(w) and w.casefold() not in ORG_WORDS | PROMPT_VOCABULARY)
        for w in words.split()
        if len(w.rstrip(".")) > 1
    )


def _next_word(text: str, end: int) -> str:
    m = re.match(r"[ \t]+([\w'’\-]+)", text[end:])
    return m.group(1) if m else ""
