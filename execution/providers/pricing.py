"""Cost of a call from a price table: USD per 1M input / output tokens.

The built-in table covers common OpenAI and Anthropic models (list prices,
standard tier, no caching or batch discounts). ``settings.prices`` extends and
overrides it, keyed by model name or by full spec string. An unknown model
costs ``None``: we say we don't know rather than guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

Price = tuple[float, float]  # USD per 1M (input, output) tokens

BUILTIN_PRICES: dict[str, Price] = {
    "offline": (0.0, 0.0),
    # OpenAI
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    # Anthropic
    "claude-opus-4-5": (5.00, 25.00),
    "claude-opus-4-1": (15.00, 75.00),
    "claude-opus-4-0": (15.00, 75.00),
    "claude-opus-4": (15.00, 75.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4-0": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-opus": (15.00, 75.00),
    "claude-3-haiku": (0.25, 1.25),
}

# dated snapshots and aliases share their family's price:
# gpt-4o-mini-2024-07-18, claude-3-5-sonnet-20241022, claude-3-5-haiku-latest
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def model_keys(name: str) -> tuple[str, ...]:
    """The keys a model table is searched under for ``name``: the name itself, then its family
    (a dated snapshot or ``-latest`` alias without the suffix). Shared by every per-model table."""
    family = _SNAPSHOT_SUFFIX.sub("", name)
    return (name,) if family == name else (name, family)


def price_for(*names: str, overrides: Mapping[str, Price] | None = None) -> Price | None:
    """The price of the first name found (spec string, model, reported model); None if unknown.

    ``overrides`` (``settings.prices``) win over the built-in table; a dated
    snapshot name falls back to its family's price.
    """
    table = {**BUILTIN_PRICES, **(overrides or {})}
    for name in names:
        for key in model_keys(name):
            if key in table:
                input_price, output_price = table[key]
                return float(input_price), float(output_price)
    return None


def cost_usd(price: Price | None, input_tokens: int, output_tokens: int) -> float | None:
    """USD cost of a call at ``price``; None when the price is unknown."""
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
