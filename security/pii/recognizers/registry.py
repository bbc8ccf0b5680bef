"""The registry of PromptForge's PII recognizers.

A recognizer is a Presidio ``EntityRecognizer`` subclass that can be built with no
arguments. It may name, in ``REPLACES``, Presidio built-ins it supersedes; those are
left out of the analyzer. Register before the first analyzer is built (analyzers
are cached per process).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TypeVar

from presidio_analyzer import EntityRecognizer, RecognizerResult

R = TypeVar("R", bound=type[EntityRecognizer])

# the score of a shape that counts only beside a context word: below the default threshold
# (0.4) alone, 0.55 once Presidio's context enhancer adds its 0.35, which beats the weak
# number shapes (phone digits only, 0.4) that the same digits also match
CONTEXT_FREE_SCORE = 0.2

_lock = threading.Lock()
_recognizers: dict[str, type[EntityRecognizer]] = {}


def register_recognizer(cls: R) -> R:
    """Register a recognizer class by its name; usable as a decorator."""
    if not (isinstance(cls, type) and issubclass(cls, EntityRecognizer)):
        raise TypeError("a PII recognizer must be a presidio_analyzer.EntityRecognizer subclass")
    with _lock:
        _recognizers[cls.__name__] = cls
    return cls


def registered_recognizers() -> list[type[EntityRecognizer]]:
    """The registered recognizer classes, in registration order."""
    with _lock:
        return list(_recognizers.values())


def replaced_builtins(recognizers: Iterable[type[EntityRecognizer]] | None = None) -> set[str]:
    """Names of Presidio built-ins that ``recognizers`` (default: the registered ones) supersede."""
    classes = registered_recognizers() if recognizers is None else recognizers
    return {name for cls in classes for name in getattr(cls, "REPLACES", ())}


def result_of(recognizer: EntityRecognizer, entity_type: str, start: int, end: int, score: float) -> RecognizerResult:
    """A result attributed to ``recognizer`` (by name and id), for recognizers that build their own."""
    return RecognizerResult(
        entity_type, start, end, score,
        analysis_explanation=None,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )


class ConstantPatterns:
    """Mixin for pattern recognizers that declare ``PATTERNS`` and ``CONTEXT`` (and, for a
    new entity, ``ENTITY``) as class constants: builds the Presidio recognizer from them."""

    PATTERNS: tuple = ()
    CONTEXT: tuple = ()
    ENTITY: str | None = None
    # Presidio's default flags ignore case; a recognizer that needs capitals sets its own
    REGEX_FLAGS: int | None = None

    def __init__(self, supported_language: str = "en", name: str | None = None) -> None:
        entity = {"supported_entity": self.ENTITY} if self.ENTITY else {}
        if self.REGEX_FLAGS is not None:
            entity["global_regex_flags"] = self.REGEX_FLAGS
        super().__init__(  # type: ignore[call-arg]
            **entity,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            supported_language=supported_language,
            name=name,
        )
