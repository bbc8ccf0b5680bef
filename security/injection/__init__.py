"""Prompt-injection screening: registered rules, a score, and the policy's action."""

from __future__ import annotations

import threading

from config.settings import Settings, get_settings
from security.injection import builtin_rules  # noqa: F401  registers the built-in rules
from security.injection.rules import Hit, RegexRule, Rule, register_rule, registered_rules
from security.injection.screen import Screener
from security.injection.verdict import Verdict

__all__ = [
    "Hit",
    "RegexRule",
    "Rule",
    "Screener",
    "Verdict",
    "get_screener",
    "register_rule",
    "registered_rules",
]

_lock = threading.Lock()
_screeners: dict[str, Screener] = {}


def get_screener(settings: Settings | None = None) -> Screener:
    """The process-wide screener for ``settings.injection`` (one per distinct policy)."""
    settings = settings or get_settings()
    key = settings.injection.model_dump_json()
    with _lock:
        if key not in _screeners:
            _screeners[key] = Screener(settings.injection.model_copy(deep=True))
        return _screeners[key]
