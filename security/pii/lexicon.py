"""Word lists the person-name logic shares: census given names and surnames, English words,
titles, naming cues and the words that make a capitalised span something other than a name.

The given names and surnames are the US Census Bureau's 1990 lists shipped by the ``names``
package (about 5,000 given names, 89,000 surnames). English words are the WordNet lemma
index shipped inside the spaCy model package (its lemmatizer's tables), so no word list is
downloaded. Each list loads once, on first use; a missing list counts as empty, which
only makes the name logic more cautious.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from importlib import resources

import regex

logger = logging.getLogger(__name__)

# given names that are, first of all, ordinary words, months or places: never evidence of a name
COMMON_WORD_NAMES = frozenset(
    """
    will may mark bill grant long young major chase hope joy faith grace june april august rose ruby
    pearl crystal amber dawn holly ivy lily iris violet daisy hazel olive fern autumn summer winter
    spring sunny sunday january september season guy rich art sue pat rob don dean drew lane page reed
    brook brooks miles hunter carter walker porter parker king queen prince princess royal noble
    sterling golden diamond jade jewel ginger honey candy cherry berry love mercy charity patience
    prudence glory harmony destiny trinity genesis chance precious liberty star sunshine angel bell
    belle lady miss man see son song sun moon many tiny echo omega alpha delta era nova easter florida
    nevada india china america asia argentina paris venice france carry marry manual numbers sage
    maple willow sparkle velvet blossom temple windy stormy dusty rusty sandy misty buck bud buster
    lean cliff clay heath forest gay merry noel ray rod max earnest christian german irish
    sydney dallas houston denver austin phoenix jordan georgia virginia carolina dakota cleveland
    lincoln madison jackson washington orlando chester camden mobile cannon bishop marshall judge
    pastor deacon baker cook miller fisher shepherd gardener archer
    banks price cash sterling penny pound dollar early young old new best little short small large
    fair dear sweet kind gentle hardy strong stern wise bright clear free lucky happy merry
    code java ruby julia perl swift rust dart python kotlin scala go basic ada logo else eve
    """.split()
)
# courtesy and professional titles written before a name
TITLES = ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "fr")
# letters written after a name
SUFFIXES = frozenset("jr sr ii iii iv phd md dds dmd esq cpa rn mba".split())
# lower-case words inside names ("Willemine ten Pas", "Maika van de Noort")
PARTICLES = frozenset("van von de der den da di du del della dos das le la ten ter bin ibn al el".split())
# phrases right before a name: introductions and salutations
INTRODUCTIONS = ("my name is", "my name's", "i am called", "i'm called", "call me")
SALUTATIONS = ("dear", "hi", "hello")
# words that make a capitalised span an organisation or a place, not a person
ORG_WORDS = frozenset(
    """bank banks banking inc llc ltd plc gmbh ag sa co corp corporation company group holdings partners
    capital fund funds trust securities insurance financial finance credit union federal reserve agency
    department ministry council committee board foundation institute university college school academy
    hospital clinic club airlines airways technologies technology systems solutions software labs media news
    times journal post services service center centre association society network networks international
    global national american european street st road rd avenue ave lane drive boulevard""".split()
)
# words before a capitalised span that are not part of a name ("The Rings", "our Visa")
LEADING_WORDS = frozenset("the a an our my your their his her its this that these those".split())
# words that follow a naming cue without being a name ("Dear Sir", "Hi All", "My name is Not important")
NOT_NAMES = frozenset(
    "sir madam sirs all team everyone customer customers colleagues friends there folks valued member "
    "members client clients the a an not on in at to of for and or but is was be".split()
)


def _alternation(phrases) -> str:
    return "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in phrases)


TITLE_RE = rf"(?i:{'|'.join(TITLES)})\.?"
# a cue right before a capitalised word that makes even one word a name
NAME_CUE_BEFORE = re.compile(
    rf"(?:\b(?:{_alternation(INTRODUCTIONS + SALUTATIONS)})|\bname:|\bnamed|\bcalled|\bcustomer|\bclient"
    rf"|\bapplicant|\b(?:{'|'.join(TITLES)})\.?)\s*$",
    re.IGNORECASE,
)


# a list of capitalised items, each one to three words: "Kónya, Becker and Vasquez"
LIST_ITEM = r"\p{Lu}[\w'’\-]*(?:[ \t]+\p{Lu}[\w'’\-]*){0,2}"
LIST_ITEM_RE = regex.compile(LIST_ITEM)
LIST_RE = regex.compile(rf"(?<![\w'’\-]){LIST_ITEM}(?:,[ \t]*{LIST_ITEM})*,?[ \t]+(?:and|or|&)[ \t]+{LIST_ITEM}")


def _census(filename: str) -> frozenset[str]:
    try:
        text = resources.files("names").joinpath(filename).read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        logger.warning("The names package is missing: person names are found without its census lists")
        return frozenset()
    return frozenset(line.split()[0].casefold() for line in text.splitlines() if line.strip())


@cache
def given_names() -> frozenset[str]:
    """Census given names (case-folded), less those that are mainly ordinary words."""
    return (_census("dist.male.first") | _census("dist.female.first")) - COMMON_WORD_NAMES


@cache
def surnames() -> frozenset[str]:
    """Census surnames (case-folded); many are also English words ("Green", "Long")."""
    return _census("dist.all.last")


@cache
def english_words() -> frozenset[str]:
    """The WordNet lemmas (nouns, verbs, adjectives, adverbs) of the packaged spaCy model's
    lemmatizer; it holds some famous surnames ("newton") but hardly any given names."""
    try:
        from spacy.lookups import Lookups

        from security.pii.engine import default_model_path

        lookups = Lookups().from_disk(default_model_path() / "lemmatizer" / "lookups")
        index = lookups.get_table("lemma_index")
    except Exception:  # noqa: BLE001  a model without tables: no word is known
        logger.warning("No English word list in the spaCy model: name checks are less strict")
        return frozenset()
    return frozenset(word for words in index.values() for word in words if "_" not in word)


_INFLECTIONS = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("ly", ""))


def is_english_word(word: str) -> bool:
    """``word`` (any case, possibly inflected: "Sheets", "Surprised") is an English word."""
    w = word.strip(".,;:!?'\"()’").casefold()
    if w.endswith(("'s", "’s")):
        w = w[:-2]
    if "-" in w.strip("-"):
        return all(is_english_word(part) for part in w.split("-") if part)
    words = english_words()
    return w in words or any(
        w.endswith(end) and len(w) > len(end) + 2 and w[: -len(end)] + add in words for end, add in _INFLECTIONS
    )


def is_given_name(word: str) -> bool:
    """``word`` (without its possessive) is a census given name that is not mainly a word."""
    w = word.strip(".,;:!?'\"()’").casefold()
    if w.endswith(("'s", "’s")):
        w = w[:-2]
    return len(w) > 2 and w in given_names()


def is_surname(word: str) -> bool:
    w = word.strip(".,;:!?'\"()’").casefold()
    return len(w) > 1 and w in surnames()
