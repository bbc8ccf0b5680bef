"""Output-side screening: an answer that repeats the system prompt or a canary string.

A canary is a secret marker planted in a system prompt or a confidential document; any
output holding one has leaked what it was planted in. Checks run on the raw output in
memory, before it is scrubbed or stored; hits carry a description, never the leaked text.
"""

from __future__ import annotations

from collections.abc import Sequence

from security.injection.rules import Hit
from security.injection.screen import combined_score
from security.injection.verdict import Action, Verdict, reasons_for

WINDOW = 40  # characters of the system prompt repeated verbatim that count as a leak
STEP = 8


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


class LeakDetector:
    def __init__(self, system_prompt: str, canaries: Sequence[str] = (), window: int = WINDOW) -> None:
        prompt = _flat(system_prompt)
        size = min(window, len(prompt))
        self._windows = (
            [prompt[i : i + size] for i in range(0, max(1, len(prompt) - size + 1), STEP)] if size >= 20 else []
        )
        self._canaries = [_flat(c) for c in canaries if c.strip()]

    def check(self, output: str, action: Action = "block") -> Verdict:
        """``action`` when the output leaks, else allow; source ``output``."""
        text = _flat(output)
        hits = []
        if any(window in text for window in self._windows):
            hits.append(Hit("system_prompt_leak", "system_prompt_leak", 1.0, 0, 0, "the output repeats the system prompt"))
        for i, canary in enumerate(self._canaries, 1):
            if canary in text:
                hits.append(Hit("canary_leak", "canary_leak", 1.0, 0, 0, f"the output holds canary #{i}"))
        score = combined_score(hits)
        return Verdict(score=score, action=action if hits else "allow", reasons=reasons_for(hits), hits=hits, source="output")
