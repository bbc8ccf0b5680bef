"""The answer of one provider call, as the pipeline records it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

UsageSource = Literal["provider", "tiktoken"]


@dataclass
class ChatResult:
    """Text plus the facts a trace needs. Holds no key and no request headers."""

    text: str
    provider: str  # the spec string that answered
    model: str
    simulated: bool
    input_tokens: int
    output_tokens: int
    usage_source: UsageSource
    cost_usd: float | None  # None: no known price for this model (never guessed)
    latency_s: float  # time spent calling models: retries, backoff and fallbacks included
    attempts: int  # model calls made, all providers of the chain included
    fallbacks_tried: list[str] = field(default_factory=list)  # specs that failed before

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
