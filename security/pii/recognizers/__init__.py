"""PII recognizers: a registry plus PromptForge's built-ins, registered like plugins."""

from security.pii.recognizers.registry import (
    register_recognizer,
    registered_recognizers,
    replaced_builtins,
)

# Built-ins register themselves on import, through the same call a plugin uses.
from security.pii.recognizers import (  # noqa: F401  isort: skip
    bank_account,
    birth_date,
    card,
    driver_licence,
    known_names,
    name_cues,
    ner,
    nhs,
    passport,
    phone,
    routing,
    ssn,
    street_address,
    swift,
)

__all__ = ["register_recognizer", "registered_recognizers", "replaced_builtins"]
