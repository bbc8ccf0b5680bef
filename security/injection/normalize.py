"""Views of a text that undo common obfuscations, so the rules see what the model would.

``views(text)`` yields the text itself, then (only when they differ) a normalised view
(invisible characters removed, Unicode compatibility forms and look-alike letters folded,
spaced-out letters joined, leetspeak digits read as letters) and a view per decoded
payload (base64, hex, and rot13 when the text mentions it). Decoded views may hold
anything, including personal data that was never scrubbed: hits in them keep no excerpt.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from collections.abc import Iterator

MAX_PAYLOADS = 8  # decoded payloads screened per text
MIN_DECODED_LETTERS = 0.6  # share of letters/spaces for a decoded payload to count as text

# letters from other scripts that look like Latin ones (NFKC leaves them alone)
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁɡӏАВЕКМНОРСТХІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοιν",
    "aeopcyxijsdglABEKMHOPCTXIJSABEZHIKMNOPTYXaoiv",
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_INVISIBLE = re.compile(r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_SPACED = re.compile(r"(?<![A-Za-z])(?:[A-Za-z][ .\-_*|]{1,3}){3,}[A-Za-z](?![A-Za-z])")
_LEET_WORD = re.compile(r"\b(?=[A-Za-z0-9@$]*[A-Za-z])(?=[A-Za-z0-9@$]*[0-9@$])[A-Za-z0-9@$]{3,}\b")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:(?:\\x)?[0-9A-Fa-f]{2}[ :]?){8,}(?![0-9A-Fa-f])")
_ROT13_HINT = re.compile(r"rot[\s\-_]?13|caesar", re.IGNORECASE)


def _join_spaced(match: re.Match[str]) -> str:
    """"i g n o r e  y o u r" -> "ignore your": one separator splits letters, two spaces or
    more split words."""
    words = re.split(r" {2,}", match.group(0))
    return " ".join(re.sub(r"[ .\-_*|]", "", word) for word in words if word.strip())


_CONFUSABLE_LETTERS = frozenset(chr(c) for c in _CONFUSABLES)
_LETTERS = re.compile(r"[^\W\d_]+")
_DIGITS = re.compile(r"[0-9@$]")  # any digit counts against leetspeak, not only those it reads


def _is_latin(ch: str) -> bool:
    return "a" <= ch.lower() <= "z"


def _fold_lookalikes(text: str) -> str:
    """Words written with look-alike letters read as Latin: a word that mixes them with Latin
    letters ("Іgnore"), and a word made of them alone ("ѕуѕтем") unless the text has words of
    that other script with letters of their own ("ΜΟΝΗ ΑΓΙΩΝ", "Москва"): then it is that
    script, and stays."""
    if _CONFUSABLE_LETTERS.isdisjoint(text):
        return text
    words = _LETTERS.findall(text)
    other_script = any(
        not any(map(_is_latin, word)) and not all(ch in _CONFUSABLE_LETTERS for ch in word) for word in words
    )

    def fold(match: re.Match[str]) -> str:
        word = match.group(0)
        if any(map(_is_latin, word)) or (not other_script and all(ch in _CONFUSABLE_LETTERS for ch in word)):
            return word.translate(_CONFUSABLES)
        return word

    return _LETTERS.sub(fold, text)


_EMAIL_AT = re.compile(r"@[A-Za-z0-9-]+\.[A-Za-z]")


def _read_leet(match: re.Match[str]) -> str:
    """Leetspeak digits read as letters in a word that is mostly letters ("1gn0r3", "pr0mpt");
    a code, a number with a letter ("GB05QJZO19", "60s") or an e-mail address stays as written."""
    word = match.group(0)
    if "@" in word and _EMAIL_AT.match(match.string, match.start() + word.index("@")):
        return word
    digits = len(_DIGITS.findall(word))
    return word.translate(_LEET) if len(word) - digits >= digits else word


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    text = _fold_lookalikes(text)
    text = _SPACED.sub(_join_spaced, text)
    return _LEET_WORD.sub(_read_leet, text)


def _as_text(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    letters = sum(ch.isalpha() or ch.isspace() for ch in decoded)
    return decoded if decoded and letters / len(decoded) >= MIN_DECODED_LETTERS else None


def decoded_payloads(text: str) -> Iterator[tuple[str, str]]:
    found = 0
    for m in _BASE64.finditer(text):
        chunk = m.group(0)
        try:
            decoded = _as_text(base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True))
        except (binascii.Error, ValueError):
            decoded = None
        if decoded:
            found += 1
            yield "decoded base64", decoded
        if found >= MAX_PAYLOADS:
            return
    for m in _HEX.finditer(text):
        digits = re.sub(r"\\x|[ :]", "", m.group(0))
        try:
            decoded = _as_text(bytes.fromhex(digits))
        except ValueError:
            decoded = None
        if decoded:
            found += 1
            yield "decoded hex", decoded
        if found >= MAX_PAYLOADS:
            return
    if _ROT13_HINT.search(text):
        yield "rot13", codecs.decode(text, "rot13")


def views(text: str) -> Iterator[tuple[str, str]]:
    """("", text), then ("normalised", ...) and decoded payloads, each only when new."""
    yield "", text
    seen = {text}
    normalised = normalise(text)
    if normalised not in seen:
        seen.add(normalised)
        yield "normalised", normalised
    for via, decoded in decoded_payloads(text):
        if decoded not in seen:
            seen.add(decoded)
            yield via, decoded
