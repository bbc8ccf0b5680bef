"""Person names after the words that introduce one: "my name is", "Dear", titles, sign-offs.

The small spaCy model finds no entity at all for about a fifth of the names in
Presidio's synthetic set, many of them right after such a cue ("My name is Siiri",
"Dear Ubul,"). A cue plus one to three capitalised words is a name whatever the model says,
scored above the model so that a part it labels as a place ("Ana Lima") cannot split it.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

from security.pii.recognizers.registry import ConstantPatterns, register_recognizer

# a capitalised word, accented letters included, or an initial
_WORD = r"(?:[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’\-]+|[A-ZÀ-ÖØ-Þ]\.)"
_NAME = rf"(?P<hit>{_WORD}(?:[ \t]+{_WORD}){{0,2}})"


@register_recognizer
class NameCueRecognizer(ConstantPatterns, PatternRecognizer):
    """Capitalised words right after "my name is", "I am called", "Dear", "Mr/Mrs/Ms/Dr",
    "name:", or a sign-off line ("Regards,\\nSiiri")."""

    ENTITY = "PERSON"
    PATTERNS = (
        Pattern("introduced", rf"(?i:\bmy name is|\bmy name's|\bi am called|\bi'm called|\bcall me)[ \t]+{_NAME}", 0.9),
        Pattern("name field", rf"(?i:\b(?:full |first |last |customer |account holder |applicant )?name)[ \t]*:[ \t]*{_NAME}", 0.9),
        Pattern("salutation", rf"(?im:^[ \t]*(?:dear|hi|hello))[ \t]+{_NAME}[ \t]*[,:!]", 0.9),
        Pattern("title", rf"(?<![\w.])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ \t]+{_NAME}", 0.9),
        Pattern("sign-off", rf"(?im:^[ \t]*(?:regards|best regards|kind regards|sincerely|thanks|cheers|best),?[ \t]*\n[ \t]*){_NAME}[ \t]*$", 0.9),
    )

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
        """Only the ``hit`` group is the name (Presidio would report the cue as well)."""
        results = []
        for pattern, compiled in zip(self.PATTERNS, _COMPILED, strict=True):
            for m in compiled.finditer(text):
                start, end = m.span("hit")
                words = text[start:end].split()
                if words and words[0].rstrip(".").casefold() in _NOT_NAMES:
                    continue
                results.append(self._result(pattern, start, end))
        return results

    def _result(self, pattern: Pattern, start: int, end: int) -> RecognizerResult:
        return RecognizerResult(
            "PERSON", start, end, pattern.score,
            analysis_explanation=None,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


_COMPILED = tuple(re.compile(p.regex, re.MULTILINE) for p in NameCueRecognizer.PATTERNS)
# words that follow a cue without being a name ("Dear Sir", "Hi All", "My name is Not important")
_NOT_NAMES = frozenset(
    "sir madam sirs all team everyone customer customers colleagues friends there folks valued member "
    "members client clients the a an not".split()
)
