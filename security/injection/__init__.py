"""Prompt-injection screening: registered rules, a score, and the policy's action."""

from __future__ import annotations

import threading

from config.models import (
    EMBEDDINGS_HINT,
    EMBEDDINGS_NAME,
    MULTILINGUAL_HINT,
    MULTILINGUAL_NAME,
    embeddings_model_dir,
    multilingual_available,
    multilingual_embedder,
    sentence_embedder,
)
from config.settings import Settings, get_settings
from security.injection import builtin_rules  # noqa: F401  registers the built-in rules
from security.injection.rules import Hit, RegexRule, Rule, register_rule, registered_rules
from security.injection.screen import Screener
from security.injection.semantic import InstructionInData, SimilarToKnownAttack
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
            policy = settings.injection.model_copy(deep=True)
            _screeners[key] = Screener(policy, extra_rules=semantic_rules(settings))
        return _screeners[key]


def semantic_unavailable(settings: Settings) -> str:
    """Why the semantic rules are off ("" when they are on)."""
    if not settings.injection.semantic:
        return "off by policy (injection.semantic = false)"
    if embeddings_model_dir(settings) is None:
        return (
            f"unavailable: the {EMBEDDINGS_NAME} model is not installed ({EMBEDDINGS_HINT}); "
            "only the pattern rules screen"
        )
    if MULTILINGUAL_NAME in settings.injection.semantic_models and not multilingual_available():
        return (
            f"unavailable: the {MULTILINGUAL_NAME} model is not installed ({MULTILINGUAL_HINT}), or set "
            f"injection.semantic_models to [{EMBEDDINGS_NAME}]; only the pattern rules screen"
        )
    return ""


def semantic_rules(settings: Settings) -> list[Rule]:
    """The semantic rules for ``settings`` (none when the policy or the model says so)."""
    if semantic_unavailable(settings):
        return []
    policy = settings.injection

    def embedder():
        return sentence_embedder(settings)

    direct = [multilingual_embedder if name == MULTILINGUAL_NAME else embedder for name in policy.semantic_models]
    return [
        SimilarToKnownAttack(
            direct[0], others=direct[1:], threshold=policy.semantic_threshold, strong=policy.semantic_strong,
            extra_dir=policy.library_dir,
        ),
        InstructionInData(embedder, threshold=policy.indirect_threshold, extra_dir=policy.library_dir),
    ]
