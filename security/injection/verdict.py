"""What screening concludes about one text, or about a prompt and its variables together."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from security.injection.rules import Hit, excerpt

Action = Literal["allow", "flag", "block"]
SEVERITY: dict[str, int] = {"allow": 0, "flag": 1, "block": 2}


def reasons_for(hits: Iterable[Hit]) -> list[str]:
    """One reason per rule (its strongest hit), strongest first."""
    strongest: dict[str, Hit] = {}
    for hit in hits:
        if hit.rule not in strongest or hit.weight > strongest[hit.rule].weight:
            strongest[hit.rule] = hit
    return [hit.reason for hit in sorted(strongest.values(), key=lambda h: -h.weight)]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Score in 0..1, the action the policy takes, and why. Built from scrubbed text."""

    score: float
    action: Action
    flagged: bool = field(init=False)
    reasons: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    source: str = "prompt"

    def __post_init__(self) -> None:
        if self.action not in SEVERITY:
            raise ValueError(f"unknown action {self.action!r}")
        object.__setattr__(self, "flagged", self.action != "allow")

    @classmethod
    def combine(cls, verdicts: Sequence[Verdict]) -> Verdict:
        """One verdict for a prompt and its variables: highest score, most severe action."""
        if not verdicts:
            return cls(score=0.0, action="allow", source="")
        sources = list(dict.fromkeys(v.source for v in verdicts))
        reasons = [
            reason if v.source == "prompt" or len(sources) == 1 else f"{v.source}: {reason}"
            for v in verdicts
            for reason in v.reasons
        ]
        return cls(
            score=max(v.score for v in verdicts),
            action=max((v.action for v in verdicts), key=SEVERITY.__getitem__),
            reasons=list(dict.fromkeys(reasons)),
            hits=[hit for v in verdicts for hit in v.hits],
            source=", ".join(sources),
        )

    def with_excerpts(self, excerpts: Sequence[str]) -> Verdict:
        """The same verdict with hit excerpts replaced (e.g. by scrubbed ones), reasons rebuilt."""
        if len(excerpts) != len(self.hits):
            raise ValueError("with_excerpts needs one excerpt per hit")
        hits = [replace(hit, excerpt=excerpt(text)) for hit, text in zip(self.hits, excerpts, strict=True)]
        return replace(self, hits=hits, reasons=reasons_for(hits))

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "action": self.action,
            "flagged": self.flagged,
            "reasons": list(self.reasons),
            "hits": [hit.to_dict() for hit in self.hits],
            "source": self.source,
        }
