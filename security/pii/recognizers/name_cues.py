"""Person names after (or before) the words that introduce one: "my name is", "Dear",
titles, sign-offs, name fields, kinship words, credits and verbs of speech.

The small spaCy model finds no entity at all for about a fifth of the names in
Presidio's synthetic set, many of them right after such a cue ("My name is Siiri",
"Dear Ubul,"). A cue plus one to three capitalised words is a name whatever the model says,
scored above the model so that a part it labels as a place ("Ana Lima") cannot split it.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

from security.pii.lexicon import INTRODUCTIONS, NOT_NAMES, SALUTATIONS, TITLE_RE
from security.pii.recognizers.registry import ConstantPatterns, register_recognizer, result_of

# a capitalised word, accented letters included, or an initial
_WORD = r"(?:[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’\-]+|[A-ZÀ-ÖØ-Þ](?:\.|(?=[ \t]+[A-ZÀ-ÖØ-Þ])))"
_NAME = rf"(?P<hit>{_WORD}(?:[ \t]+{_WORD}){{0,2}})"
# after an introduction or a name field, a name may be written in lower case ("my name is
# vitoria", "maiden name is nyberg"): one or two words, the second not a function word
_LOWER_WORD = r"[^\W\d_][\w'’\-]*"
_ANY_NAME = rf"(?P<hit>{_LOWER_WORD}(?:[ \t]+(?!(?:{'|'.join(sorted(NOT_NAMES))})\b){_LOWER_WORD})?)"
_KIN = (
    "son daughter kid child wife husband partner mother father mom mum dad brother sister grandfather "
    "grandmother grandson granddaughter uncle aunt cousin nephew niece boss manager colleague friend "
    "neighbour neighbor fiancé fiancée boyfriend girlfriend"
)
_CREDITS = "directed written produced composed authored painted founded signed narrated illustrated edited"
_SPEECH = "said shouted whispered yelled replied asked told answered"


def _words(words: str | tuple[str, ...]) -> str:
    items = words.split() if isinstance(words, str) else words
    return "|".join(r"[ \t]+".join(map(re.escape, item.split())) for item in items)


@register_recognizer
class NameCueRecognizer(ConstantPatterns, PatternRecognizer):
    """Capitalised words right after "my name is", "I am called", "Dear", "Mr/Mrs/Ms/Dr",
    "name:", a sign-off line ("Regards,\\nSiiri"), "my son", "directed by", "was called",
    or around a verb of speech ("said Gladys", "Enrico shouted"); any word after an
    explicit name field ("last name: boyle", "maiden name is nyberg")."""

    ENTITY = "PERSON"
    PATTERNS = (
        Pattern("introduced", rf"(?i:\b(?:{_words(INTRODUCTIONS)}))[ \t]+{_NAME}", 0.9),
        Pattern("introduced in lower case", rf"(?i:\bmy[ \t]+name(?:[ \t]+is|'s|’s)|\bi(?:[ \t]+am|'m|’m)[ \t]+called)[ \t]+{_ANY_NAME}", 0.8),
        Pattern(
            "name field",
            rf"(?i:\b(?:full |first |last |customer |account holder |applicant )?name)[ \t]*:[ \t]*{_NAME}",
            0.9,
        ),
        Pattern(
            "personal name field",
            rf"(?i:\b(?:(?:first|last|middle|maiden|given|family|full)[ \t]+name|surname)"
            rf"(?:[ \t]*:|[ \t]+is|\?))[ \t]*{_ANY_NAME}",
            0.9,
        ),
        Pattern("salutation", rf"(?im:^[ \t]*(?:{_words(SALUTATIONS)}))[ \t]+{_NAME}[ \t]*[,:!]", 0.9),
        Pattern("title", rf"(?<![\w.]){TITLE_RE}[ \t]+{_NAME}", 0.9),
        Pattern(
            "sign-off",
            rf"(?im:^[ \t]*(?:regards|best regards|kind regards|sincerely|thanks|cheers|best),?[ \t]*\n[ \t]*){_NAME}[ \t]*$",
            0.9,
        ),
        Pattern("called", rf"(?i:\b(?:is|was|were|am|are)[ \t]+(?:called|named))[ \t]+{_NAME}", 0.8),
        Pattern("kinship", rf"(?i:\b(?:my|our|his|her|their)[ \t]+(?:{_words(_KIN)}))[ \t,]+{_NAME}", 0.8),
        Pattern("credit", rf"(?i:\b(?:{_words(_CREDITS)})[ \t]+by|\bstarring)[ \t:]+{_NAME}", 0.8),
        Pattern("speech after", rf"(?i:\b(?:{_words(_SPEECH)})(?:[ \t]+(?:at|to))?)[ \t]+{_NAME}", 0.8),
        Pattern("speech before", rf"{_NAME}(?=[ \t]+(?:{_words(_SPEECH)})\b)", 0.8),
        Pattern("residence", rf"{_NAME}(?=[ \t]+(?:lives|lived|resides|resided)[ \t]+(?:at|on|in)\b)", 0.8),
    )

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
        """Only the ``hit`` group is the name (Presidio would report the cue as well)."""
        results = []
        for pattern, compiled in zip(self.PATTERNS, _COMPILED, strict=True):
            for m in compiled.finditer(text):
                start, end = m.span("hit")
                words = text[start:end].split()
                if not words or words[0].rstrip(".").casefold() in NOT_NAMES:
                    continue
                results.append(self._result(pattern, start, end))
        return results

    def _result(self, pattern: Pattern, start: int, end: int) -> RecognizerResult:
        return result_of(self, "PERSON", start, end, pattern.score)


_COMPILED = tuple(re.compile(p.regex, re.MULTILINE) for p in NameCueRecognizer.PATTERNS)
