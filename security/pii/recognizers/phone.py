"""Phone numbers: US/NANP, UK and international formats, with extensions."""

from __future__ import annotations

import regex as re
from presidio_analyzer import Pattern, PatternRecognizer

from security.pii.recognizers.registry import ConstantPatterns, register_recognizer

_SEP = r"[ \u00a0.\-]"
_EXT = r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?"
# not inside a word or continuing a number, an amount ("2,500.00") or a date
_START = r"(?<![\w+])(?<!\d[.,/\-])"
# not followed by more digits ("-5", ".5"), letters or a percent sign
_END = r"(?![.,/\-]?\d)(?![\w%])"

_EXTENSION_RE = re.compile(r"(?:x|ext\.?|extension)\s*\d{1,6}$", re.IGNORECASE)
DATE_LIKE_RE = re.compile(
    r"(?:19|20)\d{2}[-./ ](?:0?[1-9]|1[0-2])[-./ ](?:0?[1-9]|[12]\d|3[01])"  # 2024-03-12
    r"|(?:0?[1-9]|[12]\d|3[01])[-./ ](?:0?[1-9]|[12]\d|3[01])[-./ ](?:19|20)\d{2}"  # 12.03.2024
    r"|(?:19|20)\d{2}\s?-\s?(?:19|20)\d{2}"  # 2019-2024
    r"|(?:19|20)\d{2}[-/]\d{1,6}"  # references such as 2024-0113
)
MIN_DIGITS, MAX_DIGITS = 7, 15


@register_recognizer
class PhoneNumberRecognizer(ConstantPatterns, PatternRecognizer):
    """Phone numbers by shape; weak shapes need a context word such as "phone" or "fax"."""

    ENTITY = "PHONE_NUMBER"

    REPLACES = ("PhoneRecognizer",)

    PATTERNS = (
        # +44 20 7946 0958, +41 (0)85 806 98 67, 0049 30 901820, 00 44 20 7946 0958
        Pattern(
            "phone international",
            r"(?<![\w+])(?:\+|00 ?)[1-9]\d{0,3}(?:" + _SEP + r"?\(0\))?"
            r"(?>(?:" + _SEP + r"?\(?\d{1,5}\)?){1,6})" + _EXT + _END,
            0.7,
        ),
        # (212) 555-0143, 212-555-0143, 212.555.0143, 1-800-555-0199
        Pattern(
            "phone NANP",
            _START + r"(?:1" + _SEP + r"?)?(?:\(\d{3}\)" + _SEP + r"?|\d{3}" + _SEP + r")"
            r"\d{3}" + _SEP + r"\d{4}" + _EXT + _END,
            0.6,
        ),
        # 020 7946 0958, 07700 900123, (08) 8747 6301, 0496 46 46 70
        Pattern(
            "phone national trunk prefix",
            _START + r"(?:\(0\d{1,4}\)|0\d{1,4})(?>(?:" + _SEP + r"?\d{2,8}){1,4})" + _EXT + _END,
            0.5,
        ),
        # (37) 788-063, (71) 4233-6306
        Pattern(
            "phone area code in parentheses",
            _START + r"\(\d{1,4}\)" + _SEP + r"?\d{2,5}(?>(?:" + _SEP + r"?\d{2,5}){1,3})" + _EXT + _END,
            0.5,
        ),
        # 2125550143: valid US area code and exchange; other ten-digit runs need context
        Pattern("phone NANP digits only", _START + r"1?[2-9]\d{2}[2-9]\d{6}" + _EXT + _END, 0.4),
        Pattern("phone ten digits", _START + r"1?[2-9]\d{9}" + _EXT + _END, 0.3),
        # 699 956 915, 60-56-85-91: any grouped digits; only a context word makes them a phone
        Pattern(
            "phone grouped digits",
            _START + r"\d{2,4}(?>(?:" + _SEP + r"\d{2,8}){1,4})" + _EXT + _END,
            0.25,
        ),
    )

    CONTEXT = (
        "phone",
        "mobile",
        "cell",
        "tel",
        "fax",
        "call",
        "dial",
        "contact",
        "reach",
        "sms",
        "whatsapp",
        "landline",
        "hotline",
        "voicemail",
        "extension",
        "desk",
        "office",
        "message",
        "answer",
    )

    def invalidate_result(self, pattern_text: str) -> bool:
        """Reject digit counts no phone has, and dates or year ranges."""
        number = _EXTENSION_RE.sub("", pattern_text).strip()
        digits = sum(ch.isdigit() for ch in number.replace("(0)", ""))
        if not MIN_DIGITS <= digits <= MAX_DIGITS:
            return True
        return DATE_LIKE_RE.fullmatch(number) is not None
