"""Dates of birth: a date next to "born", "birth", "DOB" or "birthday".

A date alone is rarely personal data in a prompt (``pii.not_personal_alone`` skips
DATE_TIME); a date of birth is.
"""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from security.pii.recognizers.registry import ConstantPatterns, register_recognizer

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"


@register_recognizer
class BirthDateRecognizer(ConstantPatterns, PatternRecognizer):
    """Numeric (03/05/1980, 1980-03-05, 05.03.1980) and written (5 March 1980, March 5th,
    1980) dates, scrubbed only with a birth context word nearby."""

    ENTITY = "DATE_OF_BIRTH"
    PATTERNS = (
        Pattern("numeric date", rf"(?<![\w/.\-])(?:{_DAY}|1[0-2])[/.\-](?:{_DAY}|1[0-2])[/.\-]{_YEAR}(?![\w/\-]|\.\d)", 0.1),
        Pattern("iso date", rf"(?<![\w/.\-]){_YEAR}-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?![\w/\-])", 0.1),
        Pattern("day month year", rf"(?i)(?<!\w){_DAY}\s+(?:of\s+)?{_MONTHS},?\s+{_YEAR}(?!\w)", 0.1),
        Pattern("month day year", rf"(?i)(?<!\w){_MONTHS}\s+{_DAY},?\s+{_YEAR}(?!\w)", 0.1),
    )
    CONTEXT = ("born", "birth", "dob", "d.o.b", "birthday", "birthdate", "age")
