"""PromptForge's built-in lint rules, one class per file, registered like plugins."""

from prompts.lint.rules import (  # noqa: F401  (each module registers its rule)
    context_window,
    format_contradiction,
    json_not_requested,
    pii_literal,
    sandbox_unsafe,
    undefined_variable,
    unfenced_untrusted,
    unused_variable,
)
