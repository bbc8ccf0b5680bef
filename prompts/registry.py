"""The prompt registry as a principal may use it: every operation checks its permission and
every change is an audit event. ``storage.prompts.PromptStore`` does the storing."""

from __future__ import annotations

from typing import Any

from security.identity import Permission, Principal
from storage.prompts import PromptStore, PromptSummary, PromptVersion

PRODUCTION = "production"  # moving this label needs an approver


class PromptRegistry:
    def __init__(self, store: Any, principal: Principal, audit: Any | None = None) -> None:
        self.principal = principal
        self.store = PromptStore(store)
        self._audit = audit

    def create(
        self, slug: str, template: str, description: str = "", variables: list[str] | None = None
    ) -> PromptVersion:
        self.principal.require(Permission.AUTHOR_PROMPTS, "create prompts")
        version = self.store.create(slug, template, description=description, variables=variables)
        self._event("prompt_created", slug, {"version": version.version})
        return version

    def add_version(self, slug: str, template: str, message: str = "") -> PromptVersion:
        """A new immutable version (the same content twice gives back the same version, unrecorded)."""
        self.principal.require(Permission.AUTHOR_PROMPTS, "add prompt versions")
        before = self.store.version_count(slug)
        version = self.store.add_version(slug, template, message)
        if version.version > before:
            self._event("prompt_version_created", slug, {"version": version.version})
        return version

    def set_label(self, slug: str, version: int | str, label: str) -> PromptVersion:
        """Moving ``production`` needs an approver (see ``LabelMoves``); other labels an author."""
        if label == PRODUCTION:
            self.principal.require(Permission.APPROVE_LABEL_MOVE, "move the production label")
        else:
            self.principal.require(Permission.AUTHOR_PROMPTS, "move prompt labels")
        moved = self.store.set_label(slug, version, label, moved_by=self.principal.actor)
        self._event("label_moved", slug, {"label": label, "version": moved.version})
        return moved

    def resolve(self, ref: str) -> PromptVersion:
        self.principal.require(Permission.READ_RUNS, "read prompts")
        return self.store.resolve(ref)

    def list_prompts(self) -> list[PromptSummary]:
        self.principal.require(Permission.READ_RUNS, "read prompts")
        return self.store.list_prompts()

    def _event(self, action: str, slug: str, details: dict) -> None:
        if self._audit is not None:
            self._audit.append(self.principal.actor, action, f"prompt:{slug}", details)
