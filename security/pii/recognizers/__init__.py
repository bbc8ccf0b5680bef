"""PII recognizers: a registry plus PromptForge's built-ins, registered like plugins."""

from security.pii.recognizers.registry import (
    register_recognizer,
    registered_recognizers,
    replaced_builtins,
)

# Built-ins register themselves on import, through the same call a plugin uses.
from security.pii.recognizers import birth_date, card, name_cues, ner, phone, routing, ssn, swift  # noqa: F401  isort: skip

__all__ = ["register_recognizer", "registered_recognizers", "replaced_builtins"]
