"""Which prompt a run belongs to: TruLens app name and app version."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromptRef:
    app_name: str  # the prompt's slug (TruLens app name)
    app_version: str  # "v3" for registered versions, "sha-<12 hex>" for ad-hoc templates
    label: str | None = None

    @classmethod
    def adhoc(cls, template) -> "PromptRef":
        """A template pasted or read from a file: versioned by its content hash."""
        return cls("adhoc", f"sha-{template.digest[:12]}")

    @classmethod
    def registered(cls, slug: str, version: int, label: str | None = None) -> "PromptRef":
        return cls(slug, f"v{version}", label)

    @property
    def label_text(self) -> str:
        suffix = f" ({self.label})" if self.label else ""
        return f"{self.app_name}@{self.app_version}{suffix}"
