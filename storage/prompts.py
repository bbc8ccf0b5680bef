"""The prompt registry, on TruLens's prompt tables (prompts, immutable versions, labels).

TruLens identifies versions by content hash; PromptForge numbers them 1, 2, 3
in creation order. A reference is ``slug`` (the ``latest`` label), ``slug@label``
or ``slug@v3`` / ``slug@3``. TruLens stores only ``{{ variable }}`` templates:
statement tags (``{% ... %}``) and filters are rejected with a ``TemplateError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from config.errors import InputError, NotFoundError, TemplateError
from storage.engine import storage_errors

LATEST = "latest"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_VERSION_REF = re.compile(r"^v?(\d+)$")


@dataclass(frozen=True)
class PromptVersion:
    slug: str
    version: int
    template: str
    variables: list[str]
    label: str | None
    description: str
    version_id: str = ""  # TruLens's content-addressed id
    change_note: str = ""


@dataclass(frozen=True)
class PromptSummary:
    slug: str
    description: str
    versions: int
    latest: int | None
    labels: dict[str, int] = field(default_factory=dict)  # label -> version number


class PromptStore:
    """Create, version, label and resolve prompts through the store's ``TruSession``."""

    def __init__(self, store: Any) -> None:
        self._session = store.session
        self._engine = store.engine

    def create(
        self, slug: str, template: str, description: str = "", variables: list[str] | None = None
    ) -> PromptVersion:
        """A new prompt with its first version."""
        if not _SLUG.match(slug):
            raise InputError(
                f"Invalid prompt slug {slug!r}.",
                "Use lowercase letters, digits, '.', '_' or '-' (up to 100 characters).",
            )
        with storage_errors(self._engine):
            if self._session.connector.db.get_prompt(slug=slug) is not None:
                raise InputError(
                    f"A prompt named {slug!r} already exists.", "Add a version to it, or pick another slug."
                )
            self._session.create_prompt(slug, description=description or None)
        return self._add(slug, template, variables=variables, note="initial version")

    def add_version(self, slug: str, template: str, message: str = "") -> PromptVersion:
        """A new immutable version (the same content twice gives back the same version)."""
        self._prompt(slug)
        return self._add(slug, template, note=message)

    def set_label(
        self, slug: str, version: int | str, label: str, moved_by: str | None = None
    ) -> PromptVersion:
        """Point ``label`` (e.g. ``production``) at a version; TruLens keeps the label history."""
        if not label or _VERSION_REF.match(label) or "@" in label:
            raise InputError(
                f"Invalid label {label!r}.", "Use a name such as 'production' (not 'v3' or a number)."
            )
        target = self._by_number(slug, _number(version))
        with storage_errors(self._engine):
            self._session.set_prompt_label(slug, label, target.version_id, moved_by=moved_by)
        return PromptVersion(**{**target.__dict__, "label": label})

    def version_count(self, slug: str) -> int:
        return len(self._version_ids(slug))

    def resolve(self, ref: str) -> PromptVersion:
        """``slug``, ``slug@label``, ``slug@v3`` or ``slug@3`` to one exact version."""
        slug, _, selector = ref.strip().partition("@")
        selector = selector or LATEST
        match = _VERSION_REF.match(selector)
        if match:
            return self._by_number(slug, int(match.group(1)))
        labels = self._labels(slug)
        if selector not in labels:
            raise NotFoundError(
                f"Prompt {slug!r} has no label {selector!r}.",
                f"Available labels: {', '.join(sorted(labels)) or 'none'}.",
            )
        version = self._by_id(slug, labels[selector])
        return PromptVersion(**{**version.__dict__, "label": selector})

    def list_prompts(self) -> list[PromptSummary]:
        with storage_errors(self._engine):
            prompts = self._session.get_prompts()
        summaries = []
        for row in prompts.itertuples():
            ids = self._version_ids(row.slug)
            numbers = {vid: i + 1 for i, vid in enumerate(ids)}
            labels = {label: numbers[vid] for label, vid in self._labels(row.slug).items() if vid in numbers}
            summaries.append(
                PromptSummary(
                    slug=row.slug,
                    description=row.description or "",
                    versions=len(ids),
                    latest=labels.get(LATEST),
                    labels=labels,
                )
            )
        return summaries

    # -- helpers -------------------------------------------------------------------

    def _add(
        self, slug: str, template: str, *, variables: list[str] | None = None, note: str = ""
    ) -> PromptVersion:
        try:
            with storage_errors(self._engine):
                created = self._session.create_prompt_version(
                    slug, text=template, variables=variables, change_note=note or None
                )
        except ValueError as exc:  # TruLens's InvalidTemplateError / VariableError
            raise TemplateError(
                f"The prompt registry cannot store this template: {exc}",
                "Use {{ variable }} placeholders only; move logic out of the template.",
            ) from exc
        return PromptVersion(**{**self._by_id(slug, created.version_id).__dict__, "label": LATEST})

    def _prompt(self, slug: str) -> Any:
        with storage_errors(self._engine):
            prompt = self._session.connector.db.get_prompt(slug=slug)
            if prompt is None:
                slugs = sorted(self._session.get_prompts()["slug"])
        if prompt is None:
            raise NotFoundError(
                f"No prompt named {slug!r}.", f"Available prompts: {', '.join(slugs) or 'none'}."
            )
        return prompt

    def _version_ids(self, slug: str) -> list[str]:
        """Version ids, oldest first: position + 1 is the version number."""
        self._prompt(slug)
        with storage_errors(self._engine):
            return list(self._session.get_prompt_versions(slug)["version_id"])

    def _labels(self, slug: str) -> dict[str, str]:
        self._prompt(slug)
        with storage_errors(self._engine):
            frame = self._session.get_prompt_labels(slug)
        return dict(zip(frame["label"], frame["version_id"]))

    def _by_number(self, slug: str, number: int) -> PromptVersion:
        ids = self._version_ids(slug)
        if not 1 <= number <= len(ids):
            raise NotFoundError(
                f"Prompt {slug!r} has no version v{number}.",
                f"Available versions: v1..v{len(ids)}." if ids else "It has no versions yet.",
            )
        return self._by_id(slug, ids[number - 1], number)

    def _by_id(self, slug: str, version_id: str, number: int | None = None) -> PromptVersion:
        prompt = self._prompt(slug)
        if number is None:
            number = self._version_ids(slug).index(version_id) + 1
        with storage_errors(self._engine):
            resolved = self._session.get_prompt(slug, version_id=version_id)
        version = resolved.version
        return PromptVersion(
            slug=slug,
            version=number,
            template=version.text or "",
            variables=list(version.variables),
            label=None,
            description=prompt.description or "",
            version_id=version.version_id,
            change_note=version.change_note or "",
        )


def _number(version: int | str) -> int:
    if isinstance(version, int):
        return version
    match = _VERSION_REF.match(str(version).strip())
    if not match:
        raise InputError(f"Invalid version {version!r}.", "Use a number such as 3 or 'v3'.")
    return int(match.group(1))
