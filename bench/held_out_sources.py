"""Leave one source out: how the direct injection screen does on a source it was not taught.

The direct screen is the pattern rules and ``similar_to_known_attack``, whose classifier is
taught attacks against ordinary requests and documents. For each source (every public attack
and benign set, and the project's own library as one source), a screen is taught on every
other source and then screens the one left out as prompts: recall for an attack source, false
positives for a benign one. The library's fold is taught on the public sets alone and screens
the library's attacks (recall) and its requests and documents (false positives).

Texts are embedded once for all folds (``CachedEmbedder``); each fold only refits the
classifiers. The thresholds are the policy's, never chosen per fold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from config.models import Embedder
from security.injection.library import Example

LIBRARY = "library (ours)"
VARIED = "library, varied attacks and look-alikes (ours)"


@dataclass(frozen=True)
class Source:
    name: str
    attacks: tuple[str, ...] = ()  # texts that are attacks
    ordinary: tuple[str, ...] = ()  # texts that are not

    @property
    def kind(self) -> str:
        return "attack" if self.attacks and not self.ordinary else "benign" if self.ordinary and not self.attacks else "both"


@dataclass(frozen=True)
class Fold:
    held_out: str
    taught_attacks: int
    taught_ordinary: int
    recall: tuple[int, int] | None  # (flagged, n) of the held-out attacks
    false_positives: tuple[int, int] | None  # (flagged, n) of the held-out ordinary texts


class CachedEmbedder:
    """An embedder that embeds each distinct text once and remembers its vector."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.vectors: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            for text, vector in zip(missing, self.inner.encode(missing), strict=True):
                self.vectors[text] = vector
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts])


def folds(
    sources: Sequence[Source],
    screener_for: Callable[[list[Example], list[Example]], object],
    flagged: Callable[[object, list[str]], int],
) -> list[Fold]:
    """One fold per source: ``screener_for(attacks, ordinary)`` builds a screen taught on every
    other source; ``flagged(screener, texts)`` counts the texts it flags as prompts."""
    out = []
    for held in sources:
        rest = [s for s in sources if s.name != held.name]
        attacks = [Example(t, s.name) for s in rest for t in s.attacks]
        ordinary = [Example(t, s.name) for s in rest for t in s.ordinary]
        if not attacks or not ordinary:
            raise ValueError(f"leaving out {held.name!r} leaves nothing to teach on one side")
        screener = screener_for(attacks, ordinary)
        out.append(Fold(
            held.name, len(attacks), len(ordinary),
            (flagged(screener, list(held.attacks)), len(held.attacks)) if held.attacks else None,
            (flagged(screener, list(held.ordinary)), len(held.ordinary)) if held.ordinary else None,
        ))
    return out


def direct_screener_factory(settings, embedders: Sequence[Embedder]) -> Callable[[list[Example], list[Example]], object]:
    """Screens like the pipeline's direct screen (the pattern rules and ``similar_to_known_attack``
    with one member per embedder, at the policy's thresholds), taught on the examples given."""
    from security.injection.screen import Screener
    from security.injection.semantic import SimilarToKnownAttack

    policy = settings.injection
    factories = [lambda e=e: e for e in embedders]

    def build(attacks: list[Example], ordinary: list[Example]) -> Screener:
        rule = SimilarToKnownAttack(
            factories[0], others=factories[1:], attacks=attacks, ordinary=ordinary,
            threshold=policy.semantic_threshold, strong=policy.semantic_strong,
        )
        return Screener(policy.model_copy(deep=True), extra_rules=[rule])

    return build
