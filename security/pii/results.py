"""What scrubbing reports: detected entities and the scrubbed text, never original values."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Entity:
    """One detected PII span.

    ``start``/``end`` index the original text; ``out_start``/``out_end`` the replacement
    in the scrubbed text (``None`` when only detected, see ``Scrubber.detect``).
    """

    type: str
    start: int
    end: int
    score: float
    replacement: str | None = None
    out_start: int | None = None
    out_end: int | None = None
    recognizer: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """The scrubbed text and the entities replaced in it."""

    text: str
    entities: list[Entity] = field(default_factory=list)

    def counts_by_type(self) -> dict[str, int]:
        return dict(Counter(entity.type for entity in self.entities))

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "entities": [entity.to_dict() for entity in self.entities],
            "counts_by_type": self.counts_by_type(),
        }
