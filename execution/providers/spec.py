"""Provider spec strings: ``offline``, ``openai:<model>``, ``compat:<model>@<base_url>``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.errors import ProviderError
from execution.providers.registry import provider_kind, registered_kinds, valid_forms_hint

_URL_PASSWORD = re.compile(r"(://[^/@:\s]*):[^/@\s]*@")


def redact(text: str) -> str:
    """``text`` with any password in a URL's user info replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\1:***@", text)


@dataclass(frozen=True)
class ProviderSpec:
    """A parsed spec. ``base_url`` is only what the spec itself names (settings add theirs later)."""

    kind: str
    model: str
    base_url: str | None = None

    def __str__(self) -> str:
        text = self.kind if self.model == self.kind else f"{self.kind}:{self.model}"
        return f"{text}@{self.base_url}" if self.base_url else text

    @property
    def display(self) -> str:
        """The spec for messages, logs and records: a password in the URL is hidden."""
        return redact(str(self))


def parse_spec(spec: str | ProviderSpec) -> ProviderSpec:
    """Parse ``<kind>[:<model>][@<base_url>]`` (split on the first ':' and the first '@' after it)."""
    if isinstance(spec, ProviderSpec):
        return spec
    text = (spec or "").strip()
    shown = redact(text)
    if not text:
        raise ProviderError("No provider spec given.", valid_forms_hint())
    kind_name, _, rest = text.partition(":")
    kind_name = kind_name.strip().lower()
    if kind_name not in registered_kinds():
        raise ProviderError(f"Unknown provider kind {kind_name!r} in spec {shown!r}.", valid_forms_hint())
    kind = provider_kind(kind_name)
    model, _, base_url = rest.partition("@")
    model, base_url = model.strip(), base_url.strip()
    bad = f"Provider spec {shown!r} is incomplete: expected {kind.form} (e.g. {kind.example})."
    if "@" in text and not base_url:
        raise ProviderError(bad)
    if kind.model_required and not model:
        raise ProviderError(bad)
    if kind.base_url_required and not base_url:
        raise ProviderError(bad)
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ProviderError(
            f"Provider spec {shown!r} has base URL {redact(base_url)!r}, which is not an http(s) URL.",
            f"Write it as {kind.form} (e.g. {kind.example}).",
        )
    return ProviderSpec(kind=kind.name, model=model or kind.name, base_url=base_url or None)
