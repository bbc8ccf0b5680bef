"""Person names completed from the ones already found in the same text.

The detectors see a name one occurrence at a time; a text tells more. Once a span is a
name, this module (run by ``selection.select`` on the spans a policy scrubs)

- widens it to the whole name: a title before it ("Dr."), initials, surname words and
  letters after it ("P Costa", "DDS"), the rest of a hyphenated word ("Hauta-aho");
- finds its words again elsewhere in the text ("Aantje Mourik … calls me Aantje");
- reads the other members of a list it belongs to as names ("Eklund, Michael and Hodge").

It only adds to texts that already hold a name, so it never makes a clean text scrubbed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import regex as re

from security.pii.lexicon import (
    LEADING_WORDS,
    LIST_ITEM_RE,
    LIST_RE,
    ORG_WORDS,
    PARTICLES,
    SUFFIXES,
    TITLES,
    is_english_word,
    is_given_name,
    is_surname,
)
from security.pii.results import Entity
from security.pii.vocabulary import PROMPT_VOCABULARY

PERSON = "PERSON"
MAX_WIDEN = 3  # words added on each side at most
_WORD = re.compile(r"[^\W\d_][\w'’\-]*")


def complete_names(text: str, entities: list[Entity], keep: Callable[[str], bool] = lambda _: True) -> list[Entity]:
    """``entities`` with their PERSON spans widened and the names they imply added;
    ``keep(span_text)`` vets each added span (the policy's allow-list)."""
    names = [e for e in entities if e.type == PERSON]
    if not names:
        return entities
    others = [e for e in entities if e.type != PERSON]
    names = [_widen(text, e) for e in names]
    names += [e for e in _in_lists(text, names) + _repeats(text, names) if keep(text[e.start : e.end])]
    return others + names


def _bare(word: str) -> str:
    return word.strip(".,;:!?\"()“”").removesuffix("'s").removesuffix("’s")


def _surname_like(word: str, lower_case: bool = False) -> bool:
    """A capitalised word that can follow a given name: not an organisation word, an
    instruction verb, or an ordinary word (unless a census surname: "Green"). In a name
    written in lower case ("eva kleist"), a lower-case word that is not English."""
    bare = _bare(word)
    folded = bare.casefold()
    if not bare or folded in ORG_WORDS | PROMPT_VOCABULARY | LEADING_WORDS:
        return False
    if not bare[0].isupper():
        return lower_case and bare.isalpha() and (len(bare) == 1 or not is_english_word(bare))
    return len(bare.rstrip(".")) <= 2 or not is_english_word(bare) or is_surname(bare) or is_given_name(bare)


def _widen(text: str, entity: Entity) -> Entity:
    start, end = entity.start, entity.end
    # the rest of a word the span cut ("Hauta" of "Hauta-aho", "Asya" of "Asya's" stays)
    while end < len(text) and (text[end].isalnum() or text[end] == "-" and end + 1 < len(text) and text[end + 1].isalpha()):
        end += 1
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    for _ in range(MAX_WIDEN):
        m = re.search(r"([^\s>]+)[ \t]+$", text[max(0, start - 40) : start])
        if m is None:
            break
        word = m.group(1)
        if _bare(word).rstrip(".").casefold() in TITLES or word in PARTICLES or (
            word == _bare(word) and _surname_like(word) and (is_given_name(word) or not is_english_word(word))
        ):
            start -= len(m.group(0))
        else:
            break
    lower_case = text[start:end].islower()
    for _ in range(MAX_WIDEN):
        m = re.match(r"[ \t]+([^\s<]+)", text[end : end + 40])
        if m is None:
            break
        word = m.group(1)
        bare = word.rstrip(",;:!?)\"”").removesuffix("'s").removesuffix("’s")
        if len(bare.rstrip(".")) > 2:
            bare = bare.rstrip(".")
        if not bare or not (bare.rstrip(".").casefold() in SUFFIXES or _surname_like(bare, lower_case)):
            break
        end += len(m.group(0)) - len(word) + len(bare)
        if bare != word:
            break  # punctuation ends the name
    if (start, end) == (entity.start, entity.end):
        return entity
    return replace(entity, start=start, end=end)


def _name_words(text: str, names: list[Entity]) -> dict[str, bool]:
    """{case-folded word: must match case} for the words of the found names."""
    words: dict[str, bool] = {}
    for e in names:
        for m in _WORD.finditer(text[e.start : e.end]):
            word = _bare(m.group(0))
            folded = word.casefold()
            if len(word) < 3 or folded in TITLES or folded in PARTICLES or folded in SUFFIXES:
                continue
            if folded in ORG_WORDS | PROMPT_VOCABULARY | LEADING_WORDS:
                continue
            # an ordinary word ("Green") repeats as a name only when capitalised the same way
            words[folded] = words.get(folded, False) or (is_english_word(word) and not is_given_name(word))
    return words


def _covered(start: int, end: int, spans: list[Entity]) -> bool:
    return any(s.start <= start and end <= s.end for s in spans)


def _repeats(text: str, names: list[Entity]) -> list[Entity]:
    words = _name_words(text, names)
    found: list[Entity] = []
    for m in _WORD.finditer(text):
        word = _bare(m.group(0))
        folded = word.casefold()
        if folded not in words or (words[folded] and not word[:1].isupper()):
            continue
        start, end = m.start(), m.start() + len(word)
        if not _covered(start, end, names + found):
            source = next(e for e in names if folded in text[e.start : e.end].casefold())
            found.append(replace(source, start=start, end=end, recognizer=source.recognizer + "/repeated"))
    return found


def _in_lists(text: str, names: list[Entity]) -> list[Entity]:
    found: list[Entity] = []
    for m in LIST_RE.finditer(text):
        items = [
            (m.start() + i.start(), m.start() + i.end())
            for i in LIST_ITEM_RE.finditer(m.group(0))
            if i.group(0).split()[0] not in ("and", "or")
        ]
        member = next((e for e in names if any(e.start < end and start < e.end for start, end in items)), None)
        if member is None:
            continue
        for start, end in items:
            words = text[start:end].split()
            if any(e.start < end and start < e.end for e in names + found):
                continue
            if any(_bare(w).casefold() in ORG_WORDS | PROMPT_VOCABULARY for w in words):
                continue
            if all(is_english_word(_bare(w)) and not is_given_name(_bare(w)) for w in words):
                continue
            found.append(replace(member, start=start, end=end, recognizer=member.recognizer + "/listed"))
    return found
