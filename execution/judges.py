"""Judges: any configured provider answering the judging prompts of LLM-judged metrics.

``evaluation`` knows only the ``evaluation.judge.Judge`` protocol; this module
builds one over :class:`execution.providers.ChatProvider`, so a judge can be the
offline simulation, OpenAI, Anthropic or any OpenAI-compatible server, with the
same retries, timeouts, error messages and prices as a governed run.

    judge = build_judge("openai:gpt-4o-mini", settings)
    context = MetricContext(settings, judge=judge)

A judge has no fallbacks unless its spec list names them
(``build_judge(["openai:gpt-4o-mini", "offline"], settings)``): a judge that
silently changed model halfway through a run would mix two judgements in one
column. Judge prompts are built by the metrics from ``MetricInput`` texts,
which the pipeline has already scrubbed; this module adds nothing to them.
"""

from __future__ import annotations

from collections.abc import Sequence

from config.errors import ProviderError
from config.settings import Settings, get_settings
from evaluation.judge import JudgeReply
from execution.providers import ChatProvider

# words a user may write for "no judge"
_NO_JUDGE = {"", "none", "off", "no"}


class ProviderJudge:
    """A :class:`evaluation.judge.Judge` over one provider spec (or an explicit chain).

    ``spec``: ``"openai:gpt-4o-mini"``, ``"compat:llama3.1:8b@http://localhost:11434/v1"``,
    ``"offline"``, or a list ``[primary, fallback, ...]``. The models are built
    here, so a missing API key or a malformed spec raises now (a
    ``ProviderError`` saying what to set), not on the first row.
    """

    def __init__(self, spec: str | Sequence[str], settings: Settings | None = None) -> None:
        specs = [spec] if isinstance(spec, str) else list(spec)
        # an explicit list: ChatProvider adds no fallbacks from settings to it
        self._provider = ChatProvider(specs, settings or get_settings())
        for each in self._provider.chain:
            self._provider.model_for(each)  # raises MissingCredentialsError with the fix

    @property
    def name(self) -> str:
        """The spec (a password in a URL hidden); a chain reads ``a, then b``."""
        return ", then ".join(spec.display for spec in self._provider.chain)

    @property
    def simulated(self) -> bool:
        """True when every provider of the chain is the offline simulation."""
        return all(spec.kind == "offline" for spec in self._provider.chain)

    def complete(self, prompt: str) -> JudgeReply:
        """Answer one judging prompt; ``ProviderError`` when no provider of the chain can."""
        result = self._provider.invoke(prompt)
        return JudgeReply(
            text=result.text,
            model=result.model,
            simulated=result.simulated,
            latency_s=result.latency_s,
            cost_usd=result.cost_usd,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
        )

    def __repr__(self) -> str:
        return f"ProviderJudge({self.name!r})"


def build_judge(spec: str | Sequence[str] | None, settings: Settings | None = None) -> ProviderJudge | None:
    """The judge for ``spec``, or None when no judge is chosen (``None``, ``""``, ``"none"``).

    Judged metrics report "unavailable" without a judge. Raises ``ProviderError``
    for an unknown or incomplete spec and ``MissingCredentialsError`` when the
    provider's key is not configured.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec.strip().lower() in _NO_JUDGE:
            return None
        return ProviderJudge(spec.strip(), settings)
    specs = [s.strip() for s in spec if s and s.strip()]
    if not specs:
        return None
    if any(s.lower() in _NO_JUDGE for s in specs):
        raise ProviderError(
            "A judge chain cannot contain 'none'.",
            "Name providers only, e.g. ['openai:gpt-4o-mini', 'offline'].",
        )
    return ProviderJudge(specs, settings)
