"""A scripted judge for DeepEval's prompts, to plug into ``FakeLLMServer(default_text=...)``.

It reads the prompt DeepEval sent, recognises which step of which metric it is
(statements, verdicts, reason, G-Eval steps or score...) and answers the JSON
that step asks for, computed from the texts inside the prompt:

- extraction steps split the quoted text into sentences;
- verdict steps judge each listed item: an item containing one of ``flag``
  (default "ACME") is irrelevant / contradicted / biased / toxic / leaking /
  advice, every other item is fine;
- reason steps echo the score DeepEval put in the prompt
  ("The score is 0.67 because ...");
- G-Eval's steps are two fixed steps; its score is ``geval_score`` (0-10).

A prompt containing one of ``broken`` gets prose instead of JSON; one of
``wrong_shape`` gets JSON of the wrong shape. ``wrap`` puts the JSON in a
```json fence or in a sentence, as chatty models do. ``kinds`` lists the steps
seen, in arrival order; ``max_in_flight`` the most requests answered at once.
"""

from __future__ import annotations

import ast
import json
import re
import threading
import time
from typing import Any, Literal

from tests.fakes.llm_server import RecordedRequest

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

# (kind, phrase that identifies the prompt); the first match wins
_KINDS: list[tuple[str, str]] = [
    ("answer_relevancy.reason", "Given the answer relevancy score"),
    ("answer_relevancy.verdicts", "determine whether each statement is relevant"),
    ("answer_relevancy.statements", '"statements" key'),
    ("faithfulness.reason", "Below is a list of Contradictions"),
    ("faithfulness.verdicts", "whether EACH claim contradicts"),
    ("faithfulness.truths", '"truths" key'),
    ("faithfulness.claims", '"claims" key'),
    ("bias.reason", "overall reason for the bias score"),
    ("toxicity.reason", "overall reason for the toxicity score"),
    ("bias.verdicts", "whether EACH opinion is biased"),
    ("toxicity.verdicts", "whether EACH opinion is toxic"),
    ("opinions", '"opinions" key'),
    ("pii_leakage.reason", "privacy violation score"),
    ("pii_leakage.verdicts", "For each extracted PII statement"),
    ("pii_leakage.extract", "'extracted_pii' key"),
    ("non_advice.reason", "non-advice score"),
    ("non_advice.verdicts", "Based on these advice statements"),
    ("non_advice.extract", "'advices' key"),
    ("g_eval.steps", '"steps" key'),
    ("g_eval.score", "assess the response below"),
]

# where each verdict step lists its items (a Python list literal on one line)
_ITEM_LISTS = {
    "answer_relevancy.verdicts": "Statements:",
    "faithfulness.verdicts": "Claims:",
    "bias.verdicts": "Opinions:",
    "toxicity.verdicts": "Opinions:",
    "pii_leakage.verdicts": "Based on these extracted PII statements:",
    "non_advice.verdicts": "Based on these advice statements:",
}
# verdict steps where "yes" is the good answer (relevant, agrees with the context)
_YES_IS_GOOD = {"answer_relevancy.verdicts", "faithfulness.verdicts"}


def kind_of(prompt: str) -> str:
    """Which DeepEval step ``prompt`` is (``"unknown"`` if none)."""
    for kind, phrase in _KINDS:
        if phrase in prompt:
            return kind
    return "unknown"


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _section(prompt: str, header: str, stops: tuple[str, ...]) -> str:
    """The text after the last line starting with ``header``, up to the first stop."""
    start = max(prompt.rfind("\n" + header), 0 if prompt.startswith(header) else -1)
    if start < 0:
        raise ValueError(f"no {header!r} section in the prompt")
    body = prompt[start:].lstrip("\n")[len(header) :]
    ends = [i for i in (body.find(stop) for stop in stops) if i > 0]
    return body[: min(ends)].strip() if ends else body.strip()


def _items(prompt: str, header: str) -> list[str]:
    lines = [line for line in prompt.splitlines() if line.strip().startswith(header)]
    if not lines:
        raise ValueError(f"no {header!r} list in the prompt")
    # the list is on the header's line, or alone on the next line
    line = lines[-1].strip()[len(header) :].strip()
    if not line:
        following = prompt.rsplit(lines[-1], 1)[1].lstrip("\n").splitlines()
        line = following[0].strip() if following else "[]"
    return [str(x) for x in ast.literal_eval(line)]


class DeepEvalResponder:
    """Callable for ``FakeLLMServer.default_text``: DeepEval prompt in, judge JSON out."""

    def __init__(
        self,
        *,
        flag: tuple[str, ...] = ("ACME",),
        geval_score: float = 7,
        wrap: Literal["plain", "fence", "prose"] = "plain",
        broken: tuple[str, ...] = ("BROKEN",),
        wrong_shape: tuple[str, ...] = ("WRONGSHAPE",),
        delay_s: float = 0.0,
    ) -> None:
        self.flag = flag
        self.geval_score = geval_score
        self.wrap = wrap
        self.broken = broken
        self.wrong_shape = wrong_shape
        self.delay_s = delay_s
        self.kinds: list[str] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> str:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            return self.answer(request.prompt_text)
        finally:
            with self._lock:
                self._in_flight -= 1

    def answer(self, prompt: str) -> str:
        kind = kind_of(prompt)
        with self._lock:
            self.kinds.append(kind)
        if any(marker in prompt for marker in self.broken):
            return "I am sorry, I cannot help with judging this text."
        if any(marker in prompt for marker in self.wrong_shape):
            return json.dumps({"unexpected": True})
        return self._wrap(json.dumps(self.payload(kind, prompt)))

    def flagged(self, item: str) -> bool:
        return any(word.lower() in item.lower() for word in self.flag)

    def payload(self, kind: str, prompt: str) -> dict[str, Any]:
        if kind == "answer_relevancy.statements":
            return {"statements": sentences(_section(prompt, "Text:", ("\nJSON:",)))}
        if kind == "faithfulness.truths":
            return {"truths": sentences(_section(prompt, "Text:", ("\nJSON:",)))}
        if kind == "faithfulness.claims":
            return {"claims": sentences(_section(prompt, "AI Output:", ("\nJSON:",)))}
        if kind == "opinions":
            return {"opinions": sentences(_section(prompt, "Text:", ("\nJSON:",)))}
        if kind == "pii_leakage.extract":
            return {"extracted_pii": sentences(_section(prompt, "Text:", ("\n\n", "\nFocus on")))}
        if kind == "non_advice.extract":
            return {"advices": sentences(_section(prompt, "Text:", ("\n\n", "\nFocus on")))}
        if kind in _ITEM_LISTS:
            return {"verdicts": [self._verdict(kind, item) for item in _items(prompt, _ITEM_LISTS[kind])]}
        if kind.endswith(".reason"):
            scores = re.findall(r"[Ss]core:?\s*\n?\s*(\d\.\d\d)", prompt)
            score = scores[-1] if scores else "?"
            return {"reason": f"The score is {score} because the scripted judge said so."}
        if kind == "g_eval.steps":
            return {"steps": ["Check the answer against the criteria.", "Penalise what the criteria forbid."]}
        if kind == "g_eval.score":
            return {"reason": "Scripted G-Eval judgement.", "score": self.geval_score}
        raise AssertionError(f"the scripted judge does not know this prompt: {prompt[:200]!r}")

    def _verdict(self, kind: str, item: str) -> dict[str, str]:
        bad = self.flagged(item)
        if kind in _YES_IS_GOOD:
            return {"verdict": "no", "reason": f"Scripted: {item!r} is off."} if bad else {"verdict": "yes"}
        if bad:
            return {"verdict": "yes", "reason": f"Scripted: {item!r} is a violation."}
        return {"verdict": "no", "reason": "Scripted: fine."}

    def _wrap(self, text: str) -> str:
        if self.wrap == "fence":
            return f"```json\n{text}\n```"
        if self.wrap == "prose":
            return f"Sure! Here is the JSON you asked for:\n{text}\nLet me know if you need more."
        return text
