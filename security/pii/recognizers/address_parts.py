"""The pieces a postal address is written with, as regular expressions: streets in the shapes
of each locale, units and floors, post boxes, postcodes beside their town, and the town,
region, country and postcode lines that close an address.

``StreetAddressRecognizer`` (``street_address.py``) finds these pieces and joins the ones
that stand next to each other into one address. Each piece says how much it proves alone:

- ``STREET``: a street with its type word ("12 Elm Street", "Via Roma 3", "Hauptstraße 5",
  "Andrássy út 12", "12 rue de Rivoli") or a post box; an address by itself.
- ``POSTCODE_TOWN``: a postcode beside its town in a shape that is nothing else
  ("SE-114 55 Stockholm", "00-950 Warszawa", "Springfield, IL 62704"); an address by itself.
- ``NAMED_STREET``: capitalised words and a house number with no type word ("Golfskálinn 78",
  "Unter den Linden 77"), whose name no English dictionary holds (not "Chapter 12" or
  "Windows 11"); an address only beside another piece or after an address cue.
- ``TOWN``: four or five digits and a town ("75001 Paris", "8001 Zürich"), which could also be
  a count and a noun; ``UNIT``: a flat, suite, floor or staircase ("Apt 4B", "3rd floor",
  "2. OG", "bus 3"); ``BOX``: a bare "Box 12" or "BP 34". Only beside another piece.

Words that are never part of a street or town ("IS", "Your", "I'm") rule a piece out, as do
years where a postcode would be ("1776 US Constitution", "2005 Jun 25").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import regex

from security.pii.lexicon import is_english_word, is_given_name

STREET, POSTCODE_TOWN, NAMED_STREET, TOWN, UNIT, BOX = (
    "street",
    "postcode and town",
    "named street",
    "town",
    "unit",
    "box",
)


def _any(words: str) -> str:
    """A regex alternation of whitespace-separated words, longest first; "_" inside a word
    stands for spaces."""
    longest_first = sorted(set(words.split()), key=len, reverse=True)
    return "|".join(regex.escape(w.replace("_", " ")).replace(r"\ ", r"[ \t]+") for w in longest_first)


def _as_written(words: str) -> str:
    """``_any`` of the words as given and in capitals ("Way" and "WAY", not "way")."""
    return _any(" ".join(f"{w} {w.upper()}" for w in words.split()))


# -- words ------------------------------------------------------------------------------------

# type words written after the street name in English-speaking countries ("Elm Street"); a
# street that is also an ordinary word must be capitalised ("Park", "Way", "Drive")
ENGLISH_TYPES = _as_written(
    """Street St Avenue Ave Av Road Rd Lane Ln Drive Dr Boulevard Blvd Court Ct Place Pl Terrace Ter
    Terr Way Close Crescent Cres Square Sq Parkway Pkwy Highway Hwy Freeway Fwy Expressway Expy
    Circle Cir Row Gardens Gdns Grove Mews Walk Trail Trl Alley Plaza Path Pike Loop Hill Park Green
    Embankment Quay Wharf Parade Rise Vale Chase Approach Esplanade Promenade Broadway Causeway
    Crossing Heights Hts Ridge Hollow Meadow Meadows Commons Junction Landing Manor Cove Glen Bend
    Turnpike Route Rte Yard Gate Circus Dale Brae Wynd Extension Ext Point Pt"""
)
ENGLISH_TYPES_ANY_CASE = _any("street st str avenue ave road rd boulevard blvd lane ln")
# type words written before the name ("Via Roma 3", "ul. Marszałkowska 10", "Rua do Arenque 1634");
# the ones that are also English words must be capitalised, the others may be in lower case
PREFIX_TYPES_CAPITALISED = _as_written(
    "Via Viale Plaza Avenue Boulevard Place Route Square Passage Strada Corso Rambla"
)
PREFIX_TYPES_ANY_CASE = _any(
    """Rue Rua Calle C/ Carrer Avinguda Avda. Avda Av. Avenida Paseo Pº Passeig Ronda Travesía Camino
    Carretera Ctra. Glorieta Praça Travessa Estrada Rodovia Alameda Largo Vicolo Piazza Piazzale
    Piazzetta Lungomare Contrada Località Loc. Ulica ul. Aleja al. Plac pl. Osiedle os. Bulevardul
    Bd. Blvd. Bld. Chemin Ch. Impasse Allée Quai Cours Rond-point Sentier Ruelle Leoforos Odos
    Οδός Λεωφόρος Λ. Πλατεία Náměstí nám. Třída"""
)
# the same, after the number as French, Belgian and Luxembourg addresses write them ("12 rue de Rivoli")
NUMBER_FIRST_PREFIX_TYPES = _any(
    "rue avenue av. boulevard bd bd. place quai allée chemin impasse cours route rte square passage "
    "rond-point sentier ruelle faubourg fbg"
)
# endings of one-word street names ("Hauptstraße", "Drottninggatan", "Keizersgracht", "Mannerheimintie")
STREET_ENDINGS = _any(
    """straße strasse str. weg gasse platz allee damm ufer steig stieg chaussee markt ring
    gatan gata gränd vägen väg torget stigen backen stien
    vej vænget gade stræde allé plads torv
    veien vegen gaten plassen
    katu tie kuja polku tori kaari rinne väylä
    straat laan plein gracht kade singel dijk dreef steeg hof
    utca út körút
    ulica"""
)
# type words written as a word of their own after the name ("Berliner Straße", "Andrássy út",
# "Karl Johans gate", "Václavské náměstí", "Stensås terrasse")
SEPARATE_TYPES = _any(
    """Straße Strasse Str. Weg Allee Platz Ring Gasse Damm Ufer Chaussee Markt Steig
    út útja utca u. tér körút krt. rkp. sor köz rakpart
    tee maantee puiestee põik tänav iela gatvė prospektas
    gate gata gatan vei veien vegen vej gade allé plass plads torv terrasse
    náměstí nám. třída
    straat laan plein gracht kade
    str. str"""
)
# words that open a unit, floor or staircase, any case ("Apt 4B", "lgh 1102", "bus 3", "m. 5")
UNIT_WORDS = _any(
    """apt apartment appt app apto appartement suite ste unit flat fl floor room rm bldg building blk
    tower dpt lgh lägenhet whg wohnung tür stiege stg bus boîte bte interno scala esc escalera puerta
    pta piso planta andar lok lokal mieszkanie m. etage étage porte bâtiment bât escada portal trappe
    opgang oppgang kerros krs våning vån verdieping"""
)
# units that are addresses alone ("Suite 838", "Apt. 902"), capitalised as they are written; not
# "Unit 3", which is as often a part of a course
STANDALONE_UNITS = _any("Apt Apartment Suite Ste Flat")
# words after an ordinal floor: "3rd floor", "2. OG", "3º izq.", "4e étage", "2. th."
FLOOR_WORDS = _any(
    """floor fl etage étage og eg ug dg stock obergeschoss piso planta andar piano verdieping
    kerros krs våning vån sal izq izquierda dcha der derecha dto esq esquerdo th tv mf"""
)
# post boxes that say so in any language; "Box 12", "BP 12", "CP 12" alone are ``BOX``
POST_BOX_WORDS = _any(
    """P.O._Box PO_Box P_O_Box P.O.Box PO.Box POBox Post_Office_Box Postal_Box Post_Box Postbox Postfach
    Postbus Postboks Boîte_postale Case_postale Caixa_Postal Casella_postale Apartado_de_correos
    Apartado Apdo. Apdo Casilla_de_correo Casilla Skrytka_pocztowa GPO_Box Locked_Bag Private_Bag PMB"""
)
BARE_BOX_WORDS = _any("Box BOX BP B.P. CP C.P. PL Pb. Pb")
US_STATES = _any(
    """AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM
    NY NC ND OH OK OR PA PR RI SC SD TN TX UT VT VA VI WA WV WI WY GU AS MP"""
)
CANADIAN_PROVINCES = _any("AB BC MB NB NL NS NT NU ON PE QC SK YT")
# lower-case words inside street and town names ("Rua do Arenque", "Frankfurt am Main")
PARTICLES = _any(
    """de del della delle dei degli di da do dos das du des la le les los las el al van von der den het
    ter ten am an auf im zum zur bei sur sous en y e i na nad pod u v ve z ze of the upon"""
)
MONTHS = _any(
    """January February March April May June July August September October November December
    Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec"""
)
# English words that are never a word of a street or town name when capitalised ("THERE IS. HE
# IS A 35", "YOUR CARD ENDING 1234", "I'm 25", "In Spring 09")
NOT_IN_NAMES = frozenset(
    """i i'm i've i'll i'd me my mine you you're your yours he he's him his she she's her hers it it's its
    we we're our ours they they're them their theirs is are was were be been being has have had does did
    will would shall should can could might must not this that these those there here what which who
    whom whose when where why how and or but if so as at by for from in into on onto to with about
    after before than then the a an all any each every some""".split()
)

# -- shapes -----------------------------------------------------------------------------------

_WORD = r"[\p{L}\p{M}'’\-]"
# a capitalised (or all capitals) word, with an elided article ("d'Alsace")
CAPITALISED = rf"(?:[dlDL]['’])?\p{{Lu}}{_WORD}*"
_ORDINAL = r"\d{1,3}(?:st|nd|rd|th)"
_NAME_WORD = rf"(?:{CAPITALISED}\.?|{_ORDINAL})"
# one to four capitalised words (abbreviations such as "St." and ordinals too), particles between them
NAME = rf"{_NAME_WORD}(?:[ \t]+(?:(?:{PARTICLES})[ \t]+){{0,2}}{_NAME_WORD}){{0,3}}"
# the same without abbreviations or ordinals: a name that must carry a street on its own
_PLAIN_NAME = rf"{CAPITALISED}(?:[ \t]+(?:(?:{PARTICLES})[ \t]+){{0,2}}{CAPITALISED}){{0,3}}"
# any case, after particles ("rue des lilas", "Rua do Arenque")
_ANY_WORD = rf"(?:[dl]['’])?\p{{L}}{_WORD}*"
_PARTICLE_THEN_NAME = (
    rf"(?:(?:{PARTICLES})[ \t]+){{1,3}}{_ANY_WORD}(?:[ \t]+(?:(?:{PARTICLES})[ \t]+)?{_ANY_WORD}){{0,3}}"
)
# a house number: "12", "221B", "12a", "10/12", "88/3/12", "12-14", "3 bis"
HOUSE_NUMBER = r"\d{1,5}(?:[A-Za-z](?![\p{L}\d]))?(?:[ \t]?(?:bis|ter)\b)?(?:[\-–/]\d{1,5}[A-Za-z]?){0,2}"
_NUMBER_MARK = r"(?:(?i:n[º°o]|n\.[º°o]|nr)\.?[ \t]*)?"
# not inside a word, a number, an amount or a path
START = r"(?<![\w\-.,/$€£¥#@])"
# not followed by more of a word or number ("12.5", "12%", "12-month", "20:53")
END = r"(?![\w%‰'’]|[\-–/.,:]\d)"
_NOT_A_COUNT = r"(?<!(?i:\b(?:the|these|those|top|best|first|last|next|all|over|about|some))[ \t]+)"
_STREET_TAIL = r"(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)(?![\w'’]))?"
# one street of a corner: "5th Avenue", "159 Eleftheriou Venizelou str", "ul. Jesionowa 127", "Inna Loop"
_CORNER_SIDE = (
    rf"(?:{HOUSE_NUMBER}[ \t]+)?(?:(?:{PREFIX_TYPES_CAPITALISED}|(?i:{PREFIX_TYPES_ANY_CASE}))[ \t]*)?{NAME}"
    rf"(?:[ \t]+(?:{ENGLISH_TYPES}|(?i:{ENGLISH_TYPES_ANY_CASE}))\.?)?(?:[ \t]+{HOUSE_NUMBER})?"
)

UK_POSTCODE = r"(?:GIR[ \t]?0AA|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[ABD-HJLNP-UW-Z]{2})"
CANADIAN_POSTCODE = r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ \t]?\d[ABCEGHJ-NPRSTV-Z]\d"
US_ZIP = r"\d{5}(?:-\d{4})?"
# a town: one to four capitalised words ("Frankfurt am Main", "København K", "St. Gallen")
_TOWN_WORD = rf"(?:\p{{Lu}}\p{{L}}{{0,2}}\.|{CAPITALISED})"
TOWN_NAME = rf"{_TOWN_WORD}(?:[ \t]+(?:(?:{PARTICLES})[ \t]+){{0,2}}{_TOWN_WORD}){{0,3}}"
# a postcode in a shape of its own, or three to six digits ("75001", "8001", "101", "SE-114 55",
# "1012 AB", "00-950", "1100-053", "01310-200")
POSTCODE = (
    rf"(?:(?:[A-Z]{{1,3}}-[ \t]?)?\d{{3}}[ \t]\d{{2}}|\d{{4}}[ \t]?[A-Z]{{2}}(?![\w])|\d{{2}}-\d{{3}}"
    rf"|\d{{4}}-\d{{3}}|\d{{5}}-\d{{3,4}}|(?:[A-Z]{{1,3}}-[ \t]?)?\d{{3,6}}"
    rf"|{UK_POSTCODE}|{CANADIAN_POSTCODE})"
)
_YEAR = regex.compile(r"(?<!\d)(?:1[5-9]|20)\d\d(?!\d)")
_NAME_WORDS = regex.compile(r"[\p{L}'’\-]+")
_LEADING_DIGITS = regex.compile(r"\d+")
_NAME_WORDS_BUT_STATES = regex.compile(r"(?<![\w'’\-])(?![A-Z]{2}[ \t]+[A-Z\d]?\d)[\w'’\-]+")


def names_only_words(text: str, codes: bool = False) -> bool:
    """No capitalised word of ``text`` is one that never names a street or town ("IS", "Your").
    A state code before its postcode ("Portland, OR 97205") is no such word, nor, with
    ``codes`` (a line that closes an address), any two capitals ("Toronto, ON", "OULU NO")."""
    words = _NAME_WORDS_BUT_STATES.findall(text)
    return not any(
        w[0].isupper() and w.casefold() in NOT_IN_NAMES and not (codes and len(w) == 2 and w.isupper())
        for w in words
    )


def _unknown_word(text: str) -> bool:
    """Some word of ``text`` (three letters or more) is neither English nor a given name: a
    street name such as "Golfskálinn" or "Zuidhove", not "Chapter", "Windows" or "Richard"."""
    return any(
        len(w) > 2 and not is_english_word(w) and not is_given_name(w) for w in _NAME_WORDS.findall(text)
    )


def _not_a_year(text: str) -> bool:
    """The first number of ``text`` is not a year ("1911 Encyclopedia", "2010 Newsletter")."""
    return _YEAR.fullmatch(_LEADING_DIGITS.search(text).group()) is None


def _compound_not_english(text: str) -> bool:
    """The word that carries the street ending is not an English word ("swearing", "offering")."""
    words = [w for w in _NAME_WORDS.findall(text) if len(w) > 2]
    return bool(words) and not is_english_word(words[-1])


@dataclass(frozen=True, slots=True)
class Shape:
    """One way a piece of an address is written; ``check`` may rule a match out."""

    kind: str
    regex: regex.Pattern
    check: Callable[[str], bool] | None = None


def _shape(kind: str, pattern: str, check: Callable[[str], bool] | None = None) -> Shape:
    return Shape(kind, regex.compile(pattern, regex.MULTILINE), check)


SHAPES = (
    # 1234 Elm Street, 221B Baker St., 350 Fifth Avenue, 1600 Pennsylvania Avenue NW (not a count:
    # "the 9 Supreme Court justices", "top 5 Park Rules")
    _shape(
        STREET,
        rf"{START}{_NOT_A_COUNT}{HOUSE_NUMBER},?[ \t]+(?:(?:N|S|E|W|North|South|East|West)\.?[ \t]+)?"
        rf"{NAME}[ \t]+(?:{ENGLISH_TYPES}|(?i:{ENGLISH_TYPES_ANY_CASE}))\.?{_STREET_TAIL}{END}",
    ),
    # Via Roma 3, Rua do Arenque 1634, Calle Mayor, 7, ul. Marszałkowska 10/12, Avenida de la Constitución 20
    _shape(
        STREET,
        rf"(?<![\w\-])(?<!\bet[ \t])"  # not the "al." of "et al. 2019"
        rf"(?:(?:{PREFIX_TYPES_CAPITALISED})[ \t]+(?:(?:{PARTICLES})[ \t]+){{0,3}}{NAME}"
        rf"|(?i:{PREFIX_TYPES_ANY_CASE})(?:(?<=[./])[ \t]*|[ \t]+)"
        rf"(?:{NAME}|{_PARTICLE_THEN_NAME}|{_ANY_WORD}))"
        rf",?[ \t]+{_NUMBER_MARK}{HOUSE_NUMBER}{END}",
    ),
    # 12 rue de Rivoli, 5, avenue des Champs-Élysées, 3 bis boulevard Haussmann
    _shape(
        STREET,
        rf"{START}{HOUSE_NUMBER},?[ \t]+(?i:{NUMBER_FIRST_PREFIX_TYPES})[ \t]+"
        rf"(?:{NAME}|{_PARTICLE_THEN_NAME})(?![\w'’])",
    ),
    # Hauptstraße 5, Drottninggatan 5, Keizersgracht 123, hersnapvej 18
    _shape(
        STREET,
        rf"(?<![\w\-])(?:{CAPITALISED}[ \t]+)?\p{{L}}[\p{{L}}\-]+(?i:{STREET_ENDINGS}),?[ \t]+"
        rf"{_NUMBER_MARK}{HOUSE_NUMBER}{END}",
        _compound_not_english,
    ),
    # Berliner Straße 12, Andrássy út 12, Karl Johans gate 22, Kálmán Imre u. 12. (Hungarian and
    # Czech numbers end with a dot)
    _shape(
        STREET,
        rf"(?<![\w\-]){_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}}[ \t]+(?:{SEPARATE_TYPES}),?[ \t]+"
        rf"{_NUMBER_MARK}{HOUSE_NUMBER}(?:\.(?=[\s,;]|$))?{END}",
        _unknown_word,
    ),
    # the corner of 5th Avenue and Main Street, the corner of Dalbraut 99 and Frederikke Coves
    _shape(
        STREET,
        rf"(?<![\w'’])(?:(?i:the)[ \t]+)?(?i:corner)[ \t]+of[ \t]+"
        rf"{_CORNER_SIDE}[ \t]+(?:and|&)[ \t]+{_CORNER_SIDE}(?![\w'’])",
    ),
    # P.O. Box 1234, Postfach 12 34 56, Apartado 1234, Boîte postale 56
    _shape(
        STREET,
        rf"(?<![\w\-])(?i:{POST_BOX_WORDS})\.?[ \t]*{_NUMBER_MARK}\d{{1,6}}(?:[ \t]\d{{2,3}}){{0,2}}{END}",
    ),
    # PSC 0413, Box 8144 / USNS Bergman, then APO AA 42323; or the APO line alone
    _shape(
        STREET,
        rf"(?<!\w)(?:(?:(?i:PSC|CMR|Unit)[ \t]+\d{{3,5}},?[ \t]+(?i:Box)[ \t]+\d{{1,6}}"
        rf"|(?i:USS|USNS|USNV|USCGC|USNA)[ \t]+{_ANY_WORD}(?:[ \t]+{_ANY_WORD})?)[ \t,]*\n?[ \t]*)?"
        rf"(?i:APO|FPO|DPO)[ \t]+(?i:AA|AE|AP)[ \t]+\d{{5}}{END}",
    ),
    # SE-114 55 Stockholm, 00-950 Warszawa, 1100-053 Lisboa, D-10115 Berlin, CH-8001 Zürich
    _shape(
        POSTCODE_TOWN,
        rf"(?<![\w\-.,/$€£¥])(?:(?:SE-?[ \t]?)?\d{{3}}[ \t]\d{{2}}|\d{{2}}-\d{{3}}|\d{{4}}-\d{{3}}"
        rf"|[A-Z]{{1,3}}-\d{{4,5}})[ \t]+{TOWN_NAME}(?![\w'’])",
    ),
    # 1012 AB Amsterdam (not a year: "1776 US Constitution")
    _shape(
        POSTCODE_TOWN, rf"(?<![\w\-.,/$€£¥])\d{{4}}[ \t]?[A-Z]{{2}}[ \t]+{TOWN_NAME}(?![\w'’])", _not_a_year
    ),
    # Springfield, IL 62704; Toronto, ON M5V 3L9; London NW1 6XE
    _shape(
        POSTCODE_TOWN,
        rf"(?<![\w\-]){TOWN_NAME},?[ \t]+(?:(?:{US_STATES})[ \t]+{US_ZIP}"
        rf"|(?:{CANADIAN_PROVINCES})[ \t]+{CANADIAN_POSTCODE}|{UK_POSTCODE}){END}",
    ),
    # 75001 Paris, 8001 Zürich, 1050 København K
    _shape(TOWN, rf"(?<![\w\-.,/$€£¥#])\d{{4,5}}[ \t]+{TOWN_NAME}(?![\w'’])", _not_a_year),
    # Golfskálinn 78, Unter den Linden 77, Peter Zuidhove 188 (not a date: "Ilbo 23 August")
    _shape(
        NAMED_STREET,
        rf"(?<![\w\-.,/]){_PLAIN_NAME}[ \t]+{_NUMBER_MARK}{HOUSE_NUMBER}{END}(?![ \t]+(?:{MONTHS})\b)",
        _unknown_word,
    ),
    # Apt 4B, Suite 838, lgh 1102, m. 5, bus 3
    _shape(
        UNIT, rf"(?<![\w#])(?i:{UNIT_WORDS})\.?[ \t]*(?:#|{_NUMBER_MARK})?[ \t]*[A-Z]?\d{{1,5}}[A-Za-z]?{END}"
    ),
    # 3rd floor, 2. OG, 4e étage, 3º izq., 2. th., ground floor, and the "B 5" of "Mannerheimintie 12 B 5"
    _shape(
        UNIT,
        rf"(?<![\w\-.,/])(?:\d{{1,2}}(?:st|nd|rd|th|\.|º|°|ª|e|er|ère|ème|o|a|\.º|\.ª)?[ \t]*"
        rf"(?i:{FLOOR_WORDS})\.?"
        rf"|(?i:ground|first|second|third|fourth|fifth|top)[ \t]+(?i:floor)|[A-Z][ \t]\d{{1,3}}){END}",
    ),
    _shape(BOX, rf"(?<![\w\-])(?:{BARE_BOX_WORDS})[ \t]*\d{{1,6}}{END}"),
)

# what may stand between two pieces of one address: commas, spaces, line breaks (with a
# quote mark or bullet starting the line), a dash
JOINT = regex.compile(
    r"(?:[ \t]*[,;]?[ \t]*(?:[\-–][ \t]+)?(?:\r?\n[ \t]*(?:[>|•·*?]+[ \t]*)?[,;]?[ \t]*){0,3})"
)
# what may close an address after its street: a town, a region or state, a country, a postcode,
# in any order; a line of its own must end there ("Toronto, ON", "Cyprus (Greek) 51034"), words
# on the street's line may also be followed by the rest of the sentence ("…, Tunisia last night")
_CLOSING = rf"(?:{TOWN_NAME}|{POSTCODE})(?:[ \t]*,?[ \t]+(?:{TOWN_NAME}|{POSTCODE}|\([\p{{L}} ]+\))){{0,3}}"
_LINE_ENDS = r"[ \t]*(?:$|[\n,;.!?)\]]|\s+[-–]\s)"
CLOSING_LINE = regex.compile(rf"{_CLOSING}(?={_LINE_ENDS})", regex.MULTILINE)
CLOSING_WORDS = regex.compile(rf"{_CLOSING}(?={_LINE_ENDS}|[ \t]+\p{{Ll}})", regex.MULTILINE)


def postcode_in(line: str) -> bool:
    """``line`` holds a number that may be a postcode (not a year)."""
    return any(not _YEAR.fullmatch(n) for n in _LEADING_DIGITS.findall(line) if len(n) >= 3)


@dataclass(frozen=True, slots=True)
class Piece:
    kind: str
    start: int
    end: int


def find_pieces(text: str) -> list[Piece]:
    """Every piece of an address in ``text``, by start (pieces may overlap)."""
    pieces = [
        Piece(shape.kind, m.start(), m.end())
        for shape in SHAPES
        for m in shape.regex.finditer(text)
        if names_only_words(m.group()) and (shape.check is None or shape.check(m.group()))
    ]
    return sorted(pieces, key=lambda p: (p.start, -p.end))
