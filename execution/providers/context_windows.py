"""How many tokens a model reads at most (prompt and answer together): its context window.

The built-in table covers the models of the price table (``execution.providers.pricing``);
``settings.context_windows`` extends and overrides it, keyed by model name or by full spec
string. Dated snapshots and ``-latest`` aliases fall back to their family, through the same
helper the price table uses. An unknown model has no window (``None``): checks that need one
say they were skipped rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping

from execution.providers.pricing import model_keys

_GPT_4O = 128_000
_GPT_41 = 1_047_576
_GPT_5 = 400_000
_O_SERIES = 200_000
_CLAUDE = 200_000

BUILTIN_CONTEXT_WINDOWS: dict[str, int] = {
    "offline": 8_192,
    # OpenAI
    "gpt-5": _GPT_5,
    "gpt-5-mini": _GPT_5,
    "gpt-5-nano": _GPT_5,
    "gpt-4.1": _GPT_41,
    "gpt-4.1-mini": _GPT_41,
    "gpt-4.1-nano": _GPT_41,
    "gpt-4o": _GPT_4O,
    "gpt-4o-mini": _GPT_4O,
    "gpt-4-turbo": _GPT_4O,
    "gpt-3.5-turbo": 16_385,
    "o1": _O_SERIES,
    "o3": _O_SERIES,
    "o3-mini": _O_SERIES,
    "o4-mini": _O_SERIES,
    # Anthropic
    "claude-opus-4-5": _CLAUDE,
    "claude-opus-4-1": _CLAUDE,
    "claude-opus-4-0": _CLAUDE,
    "claude-opus-4": _CLAUDE,
    "claude-sonnet-4-5": _CLAUDE,
    "claude-sonnet-4-0": _CLAUDE,
    "claude-sonnet-4": _CLAUDE,
    "claude-haiku-4-5": _CLAUDE,
    "claude-3-7-sonnet": _CLAUDE,
    "claude-3-5-sonnet": _CLAUDE,
    "claude-3-5-haiku": _CLAUDE,
    "claude-3-opus": _CLAUDE,
    "claude-3-haiku": _CLAUDE,
}


def spec_model(provider_spec: str) -> str:
    """The model a provider spec names (``openai:gpt-4o`` -> ``gpt-4o``, ``offline`` -> ``offline``,
    ``compat:llama3@http://host`` -> ``llama3``), without validating the provider kind."""
    kind, sep, rest = provider_spec.strip().partition(":")
    model = rest.partition("@")[0].strip() if sep else ""
    return model or kind.strip().lower()


def context_window_for(provider_spec: str | None, overrides: Mapping[str, int] | None = None) -> int | None:
    """The context window (tokens) of the model a provider spec names; None if unknown.

    ``overrides`` (``settings.context_windows``) win over the built-in table and may name the
    full spec string or the model; a dated snapshot falls back to its family's window.
    """
    if not provider_spec or not provider_spec.strip():
        return None
    table = {**BUILTIN_CONTEXT_WINDOWS, **(overrides or {})}
    for name in dict.fromkeys((provider_spec.strip(), spec_model(provider_spec))):
        for key in model_keys(name):
            if key in table:
                return int(table[key])
    return None
