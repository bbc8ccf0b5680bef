"""Provider kinds by name: each kind is a factory building a LangChain chat model.

Built-ins (offline, openai, anthropic, compat) register through the same
:func:`register_provider` call a plugin would use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from config.errors import ProviderError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from config.settings import Settings
    from execution.providers.spec import ProviderSpec

ChatModelFactory = Callable[["ProviderSpec", "Settings"], "BaseChatModel"]

_KIND = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class ProviderKind:
    """A registered kind: its factory and the spec form users should write."""

    name: str
    factory: ChatModelFactory
    form: str  # e.g. "openai:<model>"
    example: str  # e.g. "openai:gpt-4o-mini"
    model_required: bool = True
    base_url_required: bool = False


_KINDS: dict[str, ProviderKind] = {}


def register_provider(
    kind: str,
    factory: ChatModelFactory,
    *,
    form: str | None = None,
    example: str | None = None,
    model_required: bool = True,
    base_url_required: bool = False,
) -> None:
    """Register (or replace) the factory for specs ``<kind>:<model>[@<base_url>]``.

    ``factory(spec, settings)`` returns a LangChain ``BaseChatModel``; it raises
    ``MissingCredentialsError`` when a key it needs is not configured.
    """
    if not _KIND.match(kind):
        raise ValueError(f"provider kind must match {_KIND.pattern!r}, got {kind!r}")
    default_form = f"{kind}:<model>" if model_required else kind
    if base_url_required:
        default_form += "@<base_url>"
    _KINDS[kind] = ProviderKind(
        name=kind,
        factory=factory,
        form=form or default_form,
        example=example or (form or default_form),
        model_required=model_required,
        base_url_required=base_url_required,
    )


def registered_kinds() -> list[str]:
    """Names of the registered provider kinds, in registration order."""
    return list(_KINDS)


def provider_kind(kind: str) -> ProviderKind:
    """The registration of ``kind``; ``ProviderError`` listing the valid forms if unknown."""
    try:
        return _KINDS[kind]
    except KeyError:
        raise ProviderError(f"Unknown provider kind {kind!r}.", valid_forms_hint()) from None


def valid_forms_hint() -> str:
    """One sentence listing every registered spec form with an example."""
    forms = "; ".join(
        k.form if k.example == k.form else f"{k.form} (e.g. {k.example})" for k in _KINDS.values()
    )
    return f"Valid provider specs: {forms}."
