"""Stable placeholders (<PERSON_1>) for the values of one run; memory only."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections import Counter

# identifiers written with or without separators are the same value
_SEPARATED_TYPES = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE"})
_SEPARATORS = re.compile(r"[\s\-.()/]+")
_WHITESPACE = re.compile(r"\s+")


def normalise(entity_type: str, value: str) -> str:
    """Case-folded, whitespace-collapsed; separators dropped for numeric identifiers."""
    pattern = _SEPARATORS if entity_type in _SEPARATED_TYPES else _WHITESPACE
    joiner = "" if entity_type in _SEPARATED_TYPES else " "
    return pattern.sub(joiner, value).strip().casefold()


class PseudonymMap:
    """Maps (type, value) to ``<TYPE_n>``, numbered per type in order of first sight.

    Shared by the input and the output of one run so the same value gets the same
    placeholder. It keeps only keyed digests of values (the key lives and dies with
    the instance), and it refuses to be pickled or copied.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._placeholders: dict[bytes, str] = {}
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def placeholder(self, entity_type: str, value: str) -> str:
        """The placeholder for ``value``, assigning the next number if it is new."""
        message = f"{entity_type}\x00{normalise(entity_type, value)}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        with self._lock:
            if digest not in self._placeholders:
                self._counts[entity_type] += 1
                self._placeholders[digest] = f"<{entity_type}_{self._counts[entity_type]}>"
            return self._placeholders[digest]

    def __len__(self) -> int:
        return len(self._placeholders)

    def __repr__(self) -> str:
        return f"PseudonymMap({len(self)} values)"

    def __reduce_ex__(self, protocol: object) -> object:
        raise TypeError("PseudonymMap lives in memory only and is never serialised or copied")


_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9]*(?:_[A-Z][A-Z0-9]*)*)(?:_\d+)?>")


def placeholder_spans(text: str) -> list[dict]:
    """Where a stored (scrubbed) text holds a placeholder (``<PERSON_1>``, ``<EMAIL_ADDRESS>``): one
    entity per placeholder with its type and ``out_start``/``out_end`` offsets, as a run's
    entities are shown. Stored runs keep no entity list; their placeholders are the record."""
    return [{"type": m.group(1), "out_start": m.start(), "out_end": m.end()} for m in _PLACEHOLDER.finditer(text or "")]
