"""The Screener: runs the rules over a text and applies the injection policy."""

from __future__ import annotations

import math
from dataclasses import replace
from collections.abc import Sequence

from config.errors import InputError
from config.settings import InjectionPolicy
from security.injection.normalize import views
from security.injection.rules import Hit, Rule, registered_rules
from security.injection.verdict import Action, Verdict, reasons_for


def combined_score(hits: Sequence[Hit]) -> float:
    """1 - prod(1 - w) over the strongest hit of each rule (repeats of one rule add nothing)."""
    strongest: dict[str, float] = {}
    for hit in hits:
        strongest[hit.rule] = max(strongest.get(hit.rule, 0.0), hit.weight)
    return round(1.0 - math.prod(1.0 - w for w in strongest.values()), 4)


class Screener:
    """Screens (scrubbed) text for prompt injection.

    ``rules`` default to the registered ones; ``extra_rules`` (the semantic rules, which
    need the settings' embedding model) are added to them.
    """

    def __init__(
        self, policy: InjectionPolicy, rules: Sequence[Rule] | None = None, extra_rules: Sequence[Rule] = ()
    ) -> None:
        self.policy = policy
        self._rules = list(rules) if rules is not None else None
        self.extra_rules = list(extra_rules)

    @property
    def rules(self) -> list[Rule]:
        return (self._rules if self._rules is not None else registered_rules()) + self.extra_rules

    def action_for(self, score: float) -> Action:
        if score >= self.policy.block_threshold:
            return self.policy.on_block_threshold
        if score >= self.policy.flag_threshold:
            return "flag"
        return "allow"

    def screen(self, text: str, source: str = "prompt", untrusted: bool = False, models: bool = True) -> Verdict:
        """The verdict on one text; ``source`` names where it came from ("prompt", "variable:x");
        ``untrusted`` texts (a pasted e-mail or document) also meet the untrusted-only rules;
        ``models=False`` leaves out the model-backed rules."""
        return self.screen_many([text], source, untrusted, models)[0]

    def screen_many(
        self, texts: Sequence[str], source: str = "prompt", untrusted: bool = False, models: bool = True
    ) -> list[Verdict]:
        """Verdicts for ``texts`` (each rule sees all of them at once, so models batch)."""
        for text in texts:
            if not isinstance(text, str):
                raise InputError(
                    f"The {source} to screen is not text (got {type(text).__name__}).",
                    "Pass a decoded string.",
                )
        owners, vias, seen = [], [], []
        for i, text in enumerate(texts):
            for via, view in views(text):
                owners.append(i)
                vias.append(via)
                seen.append(view)
        found: list[list[Hit]] = [[] for _ in texts]
        for rule in self.rules:
            if (rule.untrusted_only and not untrusted) or (rule.uses_model and not models):
                continue
            for owner, via, hits in zip(owners, vias, rule.match_many(seen), strict=True):
                # a hit in a derived view keeps no excerpt: decoded text was never scrubbed
                found[owner].extend(hit if not via else replace(hit, start=0, end=0, excerpt="", via=via) for hit in hits)
        return [self._verdict(hits, source) for hits in found]

    def _verdict(self, hits: list[Hit], source: str) -> Verdict:
        hits = sorted(hits, key=lambda h: (h.via != "", h.start, -h.weight))
        score = combined_score(hits)
        return Verdict(
            score=score, action=self.action_for(score), reasons=reasons_for(hits), hits=hits, source=source
        )
