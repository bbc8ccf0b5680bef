"""Wording the format rules (PF005, PF006) look for in the literal text. Not a rule.

The lists are kept small on purpose and every pattern is word-boundary based and case
insensitive. A phrase preceded closely by a negation ("do not use markdown", "no bullet
points", "without a table": a negation up to three words before it in the same clause, where
commas and sentence ends close a clause; "no" only right before it) is not a request for it.

JSON: ``json`` as a word ("JSON", "a json object", "valid JSON").

Other formats (name shown in findings -> pattern):
plain text; bullet points / a bulleted list; a numbered list; markdown; a table; CSV;
YAML (``yaml``/``yml``); XML (but not "XML tags", which are delimiters); a one-word answer;
a one-sentence answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from prompts.lint.context import Part

JSON_REQUEST = re.compile(r"\bjson\b", re.IGNORECASE)

OTHER_FORMATS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "plain text": r"\bplain[ -]text\b",
        "bullet points": r"\bbullet(?:ed)?[ -]?(?:points?|list)\b|\bbullets\b",
        "a numbered list": r"\bnumbered list\b",
        "markdown": r"\bmarkdown\b",
        "a table": r"\ba (?:markdown )?table\b",
        "CSV": r"\bcsv\b",
        "YAML": r"\bya?ml\b",
        "XML": r"\bxml\b(?![ -]?(?:tags?|like|delimit))",
        "a one-word answer": r"\b(?:one|a single|single)[ -]word\b",
        "a one-sentence answer": r"\b(?:one|a single|single)[ -]sentence\b",
    }.items()
}

# a negation within the few words before a phrase ("do not use", "without any", "no")
_NEGATED = re.compile(
    r"(?:\b(?:not|never|without|avoid|don't|dont|instead of|rather than|nor)\b(?:\W+\w+){0,3}"
    r"|\bno)\W+$",
    re.IGNORECASE,
)


def _negated(text: str, start: int) -> bool:
    clause = re.split(r"[.,!?;:\n]", text[max(0, start - 60) : start])[-1]
    return bool(_NEGATED.search(clause))


def mentions(pattern: re.Pattern[str], parts: list[Part]) -> Iterator[tuple[Part, int]]:
    """(part, line) of each non-negated match of ``pattern`` in the parts' literal text."""
    for part in parts:
        for match in pattern.finditer(part.literal):
            if not _negated(part.literal, match.start()):
                yield part, part.line_at(match.start())


def first_mention(pattern: re.Pattern[str], parts: list[Part]) -> tuple[Part, int] | None:
    return next(mentions(pattern, parts), None)


def other_formats(parts: list[Part]) -> Iterator[tuple[str, Part, int]]:
    """(format name, part, line) of the first request for each non-JSON format."""
    for name, pattern in OTHER_FORMATS.items():
        found = first_mention(pattern, parts)
        if found is not None:
            yield name, *found
