"""Street addresses in the shapes people write them, in English and continental forms.

The pieces of an address (``address_parts``: a street, a unit or floor, a post box, a
postcode beside its town) are found one by one; pieces that stand next to each other,
separated only by commas, spaces or line breaks, are one address, and the town, region,
country and postcode lines that close it join it too:

- "1234 Elm Street, Apt 5, Springfield, IL 62704", "Flat 3, 14 Queen's Road, Bristol BS8 1QU";
- "Hauptstraße 5, 2. OG, 10115 Berlin", "12 rue de Rivoli, 75001 Paris", "Via Roma 3",
  "Keizersgracht 123, 1015 CJ Amsterdam", "ul. Marszałkowska 10/12 m. 5, 00-950 Warszawa";
- "PO Box 1234", "Postfach 12 34 56", "PSC 0413, Box 8144, APO AA 42323".

A street with its type word, a post box, or a postcode in a shape of its own ("SE-114 55
Stockholm") is an address by itself. A street with no type word ("Golfskálinn 78"), four or
five digits before a town ("75001 Paris"), a bare "Box 12" or a unit are addresses only
together, or after an address cue ("lives at", "address:", "send it to"), or (the postcode
and town) next to a context word; a lone "Suite 838" or "Apt 4B" counts, a lone "3rd floor"
does not. A postcode alone is scrubbed only next to a context word such as "postcode" or "zip".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import regex
from presidio_analyzer import AnalysisExplanation, Pattern, PatternRecognizer, RecognizerResult

from security.pii.recognizers.address_parts import (
    BOX,
    CLOSING_LINE,
    CLOSING_WORDS,
    JOINT,
    NAMED_STREET,
    POSTCODE_TOWN,
    STANDALONE_UNITS,
    STREET,
    TOWN,
    UK_POSTCODE,
    UNIT,
    Piece,
    find_pieces,
    names_only_words,
    postcode_in,
)
from security.pii.recognizers.registry import (
    CONTEXT_FREE_SCORE,
    ConstantPatterns,
    register_recognizer,
    result_of,
)

# scores: above the NER's names (0.85), so that a street named after a person ("King William
# Street") is kept whole rather than dropped for the name inside it
ADDRESS_SCORE = 0.9
ASSEMBLED_SCORE = 0.85  # pieces that prove nothing alone, together or after a cue
POSTCODE_TOWN_SCORE = 0.6
UNIT_SCORE = 0.5

# words and phrases right before an address: "address:", "lives at", "send the card to"
_CUE = regex.compile(
    r"(?i:(?:\b(?:address(?:es)?|adresse?|anschrift|direcci[oó]n|endereço|morada|indirizzo|adres|osoite"
    r"|postiosoite|residence|domicile|registered[ \t]+office|correspondence)\b[^.!?\n]{0,40}"
    r"|\b(?:lives?|living|lived|resides?|residing|resided|located|situated|based|moved|relocated"
    r"|headquartered|domiciled|deliver(?:ed)?|ship(?:ped)?|send|sent|mail(?:ed)?|post(?:ed)?|forward(?:ed)?"
    r"|return(?:ed)?|write|meet)\b(?:[ \t]+[\w'’]+){0,4}?[ \t]+(?:at|to|in|on)|\bcorner[ \t]+of)"
    r"[ \t]*:?[ \t]*(?:\n[ \t]*)?)$"
)
_CUE_WINDOW = 80
_STANDALONE_UNIT = regex.compile(rf"(?:{STANDALONE_UNITS})\b")
# a house number written before the street ("3378 217 Lovers Lane" is number, then street)
_LEADING_NUMBER = regex.compile(r"(?<![\w\-.,/$€£¥#@])\d{1,6}[A-Za-z]?[ \t]+$")
_NUMBER_WINDOW = 16
_LAST_WORD = regex.compile(r"\w*$")
_CLAUSE_END = regex.compile(r"[ \t]*(?:$|[\n,;.!?)\]\"”])")
MAX_CLOSING_LINES = 4


@dataclass
class _Address:
    """Pieces next to each other, and how far the address reaches."""

    start: int
    end: int
    kinds: list[str] = field(default_factory=list)
    closed_by: list[str] = field(default_factory=list)  # the closing lines joined after the pieces

    def describe(self) -> str:
        return ", ".join(dict.fromkeys(self.kinds)) + (" and closing lines" if self.closed_by else "")

    def add(self, piece: Piece) -> None:
        """Join ``piece``; one inside the address so far ("Top 10" in "OWASP Top 10") adds nothing."""
        if piece.end > self.end:
            self.end = piece.end
            self.kinds.append(piece.kind)


@register_recognizer
class StreetAddressRecognizer(ConstantPatterns, PatternRecognizer):
    """Streets, units, post boxes and postcodes with their towns, joined into whole addresses;
    postcodes alone next to a context word."""

    ENTITY = "STREET_ADDRESS"
    REGEX_FLAGS = regex.DOTALL | regex.MULTILINE  # postcodes are in capitals
    PATTERNS = (
        Pattern("uk postcode", rf"(?<![\w\-]){UK_POSTCODE}(?![\w'’\-])", 0.1),
        Pattern("zip code", r"(?<![\w\-.,$€£])\d{5}(?:-\d{4})?(?![\w\-]|[.,]\d)", 0.05),
    )
    # only the postcodes (and a town after its postcode) need context; amounts near "ship" or
    # "home" must not qualify
    CONTEXT = ("address", "postcode", "postal", "zip", "zipcode", "mailing", "billing")

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for address in addresses(text):
            score = _score(text, address)
            if score:
                result = result_of(self, self.ENTITY, address.start, address.end, score)
                # the context enhancer writes the context word it used into the explanation
                result.analysis_explanation = AnalysisExplanation(
                    recognizer=self.name,
                    original_score=score,
                    textual_explanation=f"address of {address.describe()}",
                )
                results.append(result)
        return results


def addresses(text: str) -> list[_Address]:
    """The addresses in ``text``: pieces next to each other, with the lines that close them."""
    pieces = find_pieces(text)
    found: list[_Address] = []
    i = 0
    while i < len(pieces):
        address = _Address(pieces[i].start, pieces[i].end, [pieces[i].kind])
        i += 1
        while True:
            nearby = i < len(pieces) and (
                pieces[i].start < address.end or JOINT.fullmatch(text, address.end, pieces[i].start)
            )
            if nearby:
                address.add(pieces[i])
                i += 1
            elif not _close(text, address):
                break
        _number_before(text, address)
        _trim(text, address)
        found.append(address)
    return found


def _close(text: str, address: _Address) -> bool:
    """Join the next line (or the rest of the line) if it names a town, region, country or
    postcode; a lone unit has none."""
    if len(address.closed_by) >= MAX_CLOSING_LINES or set(address.kinds) <= {UNIT}:
        return False
    joint = JOINT.match(text, address.end)
    own_line = "\n" in joint.group()
    line = (own_line and CLOSING_LINE.match(text, joint.end())) or CLOSING_WORDS.match(text, joint.end())
    if not line or not line.group().strip() or not names_only_words(line.group(), codes=True):
        return False
    # a line of its own ends there, unless it holds the postcode ("Austria 26759 after the concert")
    if own_line and line.re is CLOSING_WORDS and not postcode_in(line.group()):
        return False
    # a blank line may stand inside an address, but only a postcode line is read across it
    if joint.group().count("\n") > 1 and not postcode_in(line.group()):
        return False
    address.end = line.end()
    address.closed_by.append(line.group())
    return True


def _number_before(text: str, address: _Address) -> None:
    """Join the house number written before the street ("3378 217 Lovers Lane")."""
    if address.kinds[0] in (STREET, NAMED_STREET):
        line_start = text.rfind("\n", max(0, address.start - _NUMBER_WINDOW), address.start) + 1
        before = _LEADING_NUMBER.search(text, max(line_start, address.start - _NUMBER_WINDOW), address.start)
        if before:
            address.start = before.start()


def _trim(text: str, address: _Address) -> None:
    """Leave out the punctuation that ends the sentence, not an abbreviation ("St.", "Rd.")."""
    span = text[address.start : address.end].rstrip(" \t\n,;:")
    if span.endswith(".") and len(_LAST_WORD.search(span[:-1]).group()) > 3:
        span = span[:-1]
    address.end = address.start + len(span)


def _score(text: str, address: _Address) -> float:
    kinds = set(address.kinds)
    if STREET in kinds:
        return ADDRESS_SCORE
    pieces = len(address.kinds) + len(address.closed_by)
    postcode_closes = any(postcode_in(line) for line in address.closed_by)
    cue = _CUE.search(text[max(0, address.start - _CUE_WINDOW) : address.start]) is not None
    if POSTCODE_TOWN in kinds:
        return ASSEMBLED_SCORE if pieces > 1 or cue else POSTCODE_TOWN_SCORE
    together = len(kinds) > 1 or (kinds & {NAMED_STREET, BOX} and postcode_closes)
    # a street name alone after a cue must end the clause ("send it to Golfskálinn 78."), not
    # go on as a sentence does ("send a question to RAYX 2 and then …")
    ends_clause = _CLAUSE_END.match(text, address.end) is not None
    if together or (cue and kinds & {NAMED_STREET, TOWN, BOX} and ends_clause):
        return ASSEMBLED_SCORE
    if kinds == {TOWN}:
        return CONTEXT_FREE_SCORE
    if kinds == {UNIT} and len(address.kinds) == 1 and _STANDALONE_UNIT.match(text, address.start):
        return UNIT_SCORE
    return 0.0
