"""Factories for the network providers: OpenAI, Anthropic and OpenAI-compatible servers.

The SDKs' own retry loops are switched off (``max_retries=0``): retries and
backoff happen in :mod:`execution.providers.retry`, so every attempt is counted,
our backoff settings apply and ``Retry-After`` is honoured as sent.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from config.settings import Settings
from execution.providers.credentials import require_key
from execution.providers.spec import ProviderSpec

SDK_MAX_RETRIES = 0
COMPAT_DUMMY_KEY = "not-needed"  # most local servers ignore the key, the SDK insists on one


def openai_model(spec: ProviderSpec, settings: Settings) -> BaseChatModel:
    """``openai:<model>``; base URL from the spec, else ``settings.openai_base_url``."""
    return _chat_openai(
        spec, settings, require_key("openai", settings, spec.display), spec.base_url or settings.openai_base_url
    )


def anthropic_model(spec: ProviderSpec, settings: Settings) -> BaseChatModel:
    """``anthropic:<model>``; base URL from the spec, else ``settings.anthropic_base_url``."""
    from langchain_anthropic import ChatAnthropic

    return ChatAnthropic(
        model=spec.model,
        api_key=require_key("anthropic", settings, spec.display),
        base_url=spec.base_url or settings.anthropic_base_url,
        timeout=settings.provider_timeout_s,
        max_retries=SDK_MAX_RETRIES,
    )


def compat_model(spec: ProviderSpec, settings: Settings) -> BaseChatModel:
    """``compat:<model>@<base_url>``: any server speaking OpenAI Chat Completions."""
    key = settings.compatible_api_key or SecretStr(COMPAT_DUMMY_KEY)
    # compatible servers implement Chat Completions only
    return _chat_openai(spec, settings, key, spec.base_url, use_responses_api=False)


def _chat_openai(spec: ProviderSpec, settings: Settings, key, base_url: str | None, **extra) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=spec.model,
        api_key=key,
        base_url=base_url,
        timeout=settings.provider_timeout_s,
        max_retries=SDK_MAX_RETRIES,
        **extra,
    )
