"""Street addresses: US/UK style ("1234 Elm Street, Apt 5", "221B Baker Street"), continental
style ("Rua do Arenque 1634", "Hauptstraße 5"), PO and military boxes, flats and suites.

A street needs its type word ("Street", "Rd", "Rua", "-straße"); the unit, town, state
and ZIP code or UK postcode that follow belong to the same address. A postcode alone is
scrubbed only next to a context word such as "postcode" or "zip".
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer

from security.pii.recognizers.registry import ConstantPatterns, register_recognizer

_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl|Terrace|Ter|Way|"
    "Close|Crescent|Cres|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Row|Gardens|Grove|Mews|Walk|Trail|"
    "Alley|Plaza|Path|Pike|Loop|Hill|Park|Green|Embankment|Quay|Wharf"
)
_FOREIGN_PREFIX = r"Rue|Rua|Via|Viale|Calle|Carrer|Avenida|Av\.|Avenue|Piazza|Plaza|Praça|Largo|Ulica|ul\.|Strada|Boulevard"
_FOREIGN_SUFFIX = r"stra(?:ss|ß)e|str\.|weg|gasse|platz|allee|gatan|gata|vägen|vej|veien|vegen|gade|katu|tie|kuja|laan|straat|plein|utca|u\."
_U, _L = r"\p{Lu}", r"\p{Ll}"
_NAME_WORD = rf"(?:{_U}[\p{{L}}'’\-]*|\d+(?:st|nd|rd|th))"
_NUMBER = r"\d{1,6}[A-Za-z]?(?:[\-–/]\d{1,5}[A-Za-z]?)?"
_UNIT = r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|Floor|Room|Rm|#)\.?[ \t]*#?[A-Za-z]?\d{1,5}[A-Za-z]?"
_US_TAIL = rf"(?:,?[ \t]+{_U}[\p{{L}}'’\-]+(?:[ \t]+{_U}[\p{{L}}'’\-]+){{0,2}},?[ \t]+[A-Z]{{2}}[ \t]+\d{{5}}(?:-\d{{4}})?)"
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}"
_UK_TAIL = rf"(?:,?[ \t]+{_U}[\p{{L}}'’\-]+(?:[ \t]+{_U}[\p{{L}}'’\-]+){{0,2}},?[ \t]+{_UK_POSTCODE})"
_TAIL = rf"(?:,?[ \t]*{_UNIT})?(?:{_US_TAIL}|{_UK_TAIL})?"
_END = r"(?![\w'’\-])"


@register_recognizer
class StreetAddressRecognizer(ConstantPatterns, PatternRecognizer):
    """House number and street with its type word, plus unit, town and postcode; PO boxes;
    apartments and suites with their number; postcodes in context."""

    ENTITY = "STREET_ADDRESS"
    REGEX_FLAGS = regex.DOTALL | regex.MULTILINE  # street and town names are capitalised
    PATTERNS = (
        Pattern(
            "number and street",
            rf"(?<![\w\-.,/]){_NUMBER}[ \t]+(?:{_NAME_WORD}[ \t]+){{1,4}}(?:{_TYPES})\.?{_END}{_TAIL}",
            0.7,
        ),
        Pattern(
            "street then number",
            rf"(?<![\w\-])(?:(?:{_FOREIGN_PREFIX})[ \t]+(?:(?:{_NAME_WORD}|d[aeo]s?|d[aeo]l|de[li]|la|le)[ \t]+){{0,4}}"
            rf"{_NAME_WORD}|{_U}{_L}+(?:{_FOREIGN_SUFFIX}))[ \t]+{_NUMBER}{_END}{_TAIL}",
            0.6,
        ),
        Pattern(
            "post office box",
            r"(?i)(?<!\w)(?:P\.?[ \t]?O\.?[ \t]*Box|Post[ \t]+Office[ \t]+Box|(?:PSC|CMR|Unit)[ \t]+\d{3,5},?[ \t]+Box)"
            r"[ \t]+\d{1,6}(?:,?[ \t\n]+(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5})?(?!\w)",
            0.7,
        ),
        Pattern("apartment or suite", rf"(?<![\w#])(?:Apt|Apartment|Suite|Ste|Unit|Flat)\.?[ \t]*#?\d{{1,5}}[A-Za-z]?{_END}", 0.5),
        Pattern("uk postcode", rf"(?<![\w\-]){_UK_POSTCODE}{_END}", 0.1),
        Pattern("zip code", r"(?<![\w\-.,$€£])\d{5}(?:-\d{4})?(?![\w\-]|[.,]\d)", 0.05),
    )
    # only the postcode patterns need context; amounts near "ship" or "home" must not qualify
    CONTEXT = ("address", "postcode", "postal", "zip", "zipcode", "mailing", "billing")
