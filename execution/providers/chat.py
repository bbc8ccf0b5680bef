"""``ChatProvider``: the object the pipeline calls. One prompt in, one ``ChatResult`` out.

It walks a chain of provider specs (the primary, then the fallbacks): each gets
its retries with backoff; a provider whose call still fails with a retryable
error (rate limit, 5xx, timeout, unreachable) hands over to the next one. Any
other failure (bad key, 4xx, missing credentials) stops the chain: falling back
would hide a configuration error.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from config.errors import ProviderError
from config.settings import Settings, get_settings
from execution.providers.failures import chained_cause, describe_failure
from execution.providers.pricing import cost_usd, price_for
from execution.providers.registry import provider_kind
from execution.providers.result import ChatResult
from execution.providers.retry import CallFailed, call_with_retries
from execution.providers.spec import ProviderSpec, parse_spec
from execution.providers.tokens import count_tokens, load_encoding


def _chain(spec_or_chain: str | Sequence[str] | None, settings: Settings) -> list[ProviderSpec]:
    if spec_or_chain is None:
        spec_or_chain = settings.default_provider
    if isinstance(spec_or_chain, (str, ProviderSpec)):
        spec_or_chain = [spec_or_chain, *settings.fallback_providers]
    specs = list(dict.fromkeys(parse_spec(s) for s in spec_or_chain))  # unique, order kept
    if not specs:
        raise ProviderError("The provider chain is empty.", "Name at least one provider, e.g. offline.")
    return specs


class ChatProvider:
    """Calls a chain of providers: ``ChatProvider("openai:gpt-4o-mini", settings).invoke(prompt)``.

    ``spec_or_chain``: one spec (its fallbacks come from ``settings.fallback_providers``),
    or an explicit list ``[primary, fallback, ...]``. Models are built on first use.
    """

    def __init__(
        self, spec_or_chain: str | Sequence[str] | None = None, settings: Settings | None = None
    ) -> None:
        self.settings = settings or get_settings()
        self.chain = _chain(spec_or_chain, self.settings)
        self._models: dict[ProviderSpec, BaseChatModel] = {}
        self._lock = threading.Lock()
        load_encoding()  # every call counts tokens: not on the first call's clock

    @property
    def primary(self) -> ProviderSpec:
        return self.chain[0]

    def model_for(self, spec: ProviderSpec) -> BaseChatModel:
        """The LangChain model of ``spec`` (built once; may raise ``MissingCredentialsError``)."""
        with self._lock:
            if spec not in self._models:
                self._models[spec] = provider_kind(spec.kind).factory(spec, self.settings)
            return self._models[spec]

    def invoke(
        self,
        prompt: str | Sequence[tuple[str, str]],
        system: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> ChatResult:
        """Answer ``prompt`` (already scrubbed: a text, or ``(role, text)`` chat messages)
        with the first provider of the chain that can; ``options`` (temperature,
        max_tokens) go with every call."""
        messages = to_messages(prompt, system)
        options = options or {}
        attempts, latency_s = 0, 0.0
        failures: list[tuple[ProviderSpec, ProviderError]] = []
        for spec in self.chain:
            model = self.model_for(spec)
            started = time.perf_counter()
            try:
                reply, used = call_with_retries(
                    functools.partial(model.invoke, messages, **options),
                    max_retries=self.settings.provider_max_retries,
                    backoff_s=self.settings.provider_backoff_s,
                    label=spec.display,
                )
            except CallFailed as failed:
                latency_s += time.perf_counter() - started
                attempts += failed.attempts
                error = describe_failure(spec, failed.error, failed.attempts, self.settings)
                if not failed.retryable:
                    raise error from chained_cause(failed.error)
                failures.append((spec, error))
                continue
            latency_s += time.perf_counter() - started
            attempts += used
            return self._result(spec, reply, messages, attempts, failures, latency_s)
        raise _chain_failed(failures)

    async def ainvoke(
        self,
        prompt: str | Sequence[tuple[str, str]],
        system: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> ChatResult:
        """``invoke`` in a worker thread (same retries, fallbacks and result)."""
        return await asyncio.to_thread(self.invoke, prompt, system, options)

    def _result(
        self,
        spec: ProviderSpec,
        reply: BaseMessage,
        messages: list[BaseMessage],
        attempts: int,
        failures: list[tuple[ProviderSpec, ProviderError]],
        latency_s: float,
    ) -> ChatResult:
        text = reply.text
        meta = reply.response_metadata or {}
        usage = reply.usage_metadata if isinstance(reply, AIMessage) else None
        if usage and (usage.get("input_tokens") or usage.get("output_tokens")):
            input_tokens, output_tokens = usage["input_tokens"], usage["output_tokens"]
            usage_source = meta.get("usage_source", "provider")
        else:  # the server sent no usage: count it ourselves
            input_tokens = sum(count_tokens(m.text) for m in messages)
            output_tokens = count_tokens(text)
            usage_source = "tiktoken"
        model = meta.get("model_name") or meta.get("model") or spec.model
        price = price_for(str(spec), spec.model, model, overrides=self.settings.prices)
        return ChatResult(
            text=text,
            provider=spec.display,
            model=model,
            simulated=bool(meta.get("simulated", False)),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            usage_source=usage_source,
            cost_usd=cost_usd(price, input_tokens, output_tokens),
            latency_s=latency_s,
            attempts=attempts,
            fallbacks_tried=[s.display for s, _ in failures],
        )


_MESSAGE_TYPES = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}


def to_messages(prompt: str | Sequence[tuple[str, str]], system: str | None = None) -> list[BaseMessage]:
    """LangChain messages for a prompt text or ``(role, text)`` pairs. ``system`` (the
    governance system prompt) and the prompt's own leading system messages become one
    system message at the start, the form every provider accepts."""
    pairs = [("user", prompt)] if isinstance(prompt, str) else list(prompt)
    leading = 0
    while leading < len(pairs) and pairs[leading][0] == "system":
        leading += 1
    system_texts = [t for t in [system, *(text for _, text in pairs[:leading])] if t]
    out: list[BaseMessage] = [SystemMessage("\n\n".join(system_texts))] if system_texts else []
    out += [_MESSAGE_TYPES[role](text) for role, text in pairs[leading:]]
    return out


def _chain_failed(failures: list[tuple[ProviderSpec, ProviderError]]) -> ProviderError:
    if len(failures) == 1:
        return failures[0][1]
    return ProviderError(
        "No provider answered. " + " ".join(error.message for _, error in failures),
        "Check the providers above, or add a reachable one (e.g. offline) to fallback_providers.",
    )
