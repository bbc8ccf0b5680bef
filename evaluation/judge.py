"""The judge model seen by judge-based metrics (DeepEval's LLM-judged metrics).

``evaluation`` imports nothing of ours but ``config``, so it does not know the
provider registry: ``execution.judges`` builds a ``Judge`` from any configured
provider (offline, OpenAI, Anthropic, an OpenAI-compatible server) and hands it
to the metrics through ``MetricContext(judge=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class JudgeReply:
    text: str
    model: str
    simulated: bool  # the offline model answered: the score is not a real judgement
    latency_s: float
    cost_usd: float | None  # None: no known price for the judge's model
    input_tokens: int = 0
    output_tokens: int = 0


class Judge(Protocol):
    """Answers one judging prompt. Raises ``config.errors.ProviderError`` when it cannot."""

    @property
    def name(self) -> str:  # the provider spec, e.g. "openai:gpt-4o-mini"
        ...

    @property
    def simulated(self) -> bool:  # True for the offline provider
        ...

    def complete(self, prompt: str) -> JudgeReply: ...
