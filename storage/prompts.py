"""Prompts on TruLens's prompt tables, with each version's full spec in ``pf_prompt_specs``.

TruLens's registry is the system of record for prompts, versions, labels and label
history: every version created here is a TruLens version (so ``TruSession.get_prompt``
returns it), and every label move goes through ``TruSession.set_prompt_label`` (so
TruLens's label history has it). TruLens stores ``{{ variable }}`` templates only,
so the version it holds is a projection of the source (see ``prompts.projection``),
and ``pf_prompt_specs`` keeps the full spec (Jinja2 source, typed variables, model
defaults, response format, pinned fragments) keyed by TruLens's version id, with a
version number (1, 2, 3… per prompt) and the spec's SHA-256.

Writes claim the version number first (a unique ``(slug, number)``), then insert
into TruLens: two authors saving from the same base cannot both get the next number.
This module stores and reads; it knows nothing of templates (``prompts.registry``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from config.errors import ConflictError, InputError, NotFoundError
from storage import schema
from storage.engine import storage_errors
from storage.migrate import ensure

LATEST = "latest"
FRAGMENT_PREFIX = "fragment:"
_NAME = r"[a-z0-9][a-z0-9._-]{0,99}"
_SLUG = re.compile(rf"^(?:{FRAGMENT_PREFIX})?{_NAME}$")
_LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_VERSION_REF = re.compile(r"^v?(\d+)$")
BASE_ANY = -1  # add_version(..., base=BASE_ANY): no optimistic check


@dataclass(frozen=True)
class PromptVersion:
    slug: str
    version: int
    version_id: str  # TruLens's id
    kind: str  # template | chat
    digest: str  # SHA-256 of the canonical spec
    spec: dict  # prompts.spec.PromptSpec.to_dict()
    text: str  # every source as one text
    variables: list[str] = field(default_factory=list)  # read by the sources and their fragments
    change_note: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    parent_version_id: str | None = None
    description: str = ""
    label: str | None = None  # the label it was resolved through

    @property
    def template(self) -> str:
        """The source of a template prompt (chat prompts: every message as one text)."""
        return self.spec.get("template") or self.text

    @property
    def ref(self) -> str:
        return f"{self.slug}@v{self.version}"


@dataclass(frozen=True)
class PromptSummary:
    slug: str
    description: str
    versions: int
    latest: int | None
    labels: dict[str, int] = field(default_factory=dict)  # label -> version number
    tags: tuple[str, ...] = ()
    kind: str = "template"
    updated_at: datetime | None = None
    text: str = ""  # the latest version's text

    @property
    def is_fragment(self) -> bool:
        return self.slug.startswith(FRAGMENT_PREFIX)


@dataclass(frozen=True)
class NewVersion:
    """What the registry hands over to store one version."""

    spec: dict
    digest: str
    kind: str
    text: str
    variables: list[str]  # every variable the sources read
    trulens_text: str | None  # the TruLens projection (template prompts)
    trulens_messages: list[dict] | None  # ... or messages (chat prompts)
    model_defaults: dict
    response_format: dict | None
    change_note: str
    created_by: str


@dataclass(frozen=True)
class LabelMove:
    label: str
    from_version: int | None
    to_version: int | None
    moved_by: str
    at: datetime


class PromptStore:
    """Create, version, label, list and resolve prompts through the store's ``TruSession``."""

    def __init__(self, store: Any) -> None:
        self._session = store.session
        self._engine = store.engine
        self._db = self._session.connector.db
        orm = self._db.orm
        self._prompts = orm.Prompt.__table__
        self._versions = orm.PromptVersion.__table__
        self._labels = orm.PromptLabel.__table__
        self._history = orm.PromptLabelHistory.__table__
        self._specs = schema.prompt_specs
        with storage_errors(self._engine):
            ensure(self._engine)

    # -- prompts -------------------------------------------------------------------

    def create_prompt(self, slug: str, kind: str, description: str = "", tags: tuple[str, ...] = ()) -> None:
        """A new, empty prompt (its first version comes with ``add_version``)."""
        check_slug(slug)
        with storage_errors(self._engine):
            if self._db.get_prompt(slug=slug) is not None:
                raise InputError(
                    f"A prompt named {slug!r} already exists.", "Add a version to it, or pick another slug."
                )
            self._session.create_prompt(
                slug, prompt_type="chat" if kind == "chat" else "text",
                description=description or None, tags=list(tags),
            )

    def update_details(self, slug: str, description: str, tags: tuple[str, ...]) -> None:
        prompt = self._prompt(slug)
        with storage_errors(self._engine):
            self._session.create_prompt(
                slug, name=prompt.name, prompt_type=prompt.prompt_type, description=description or None,
                tags=list(tags),
            )

    def exists(self, slug: str) -> bool:
        with storage_errors(self._engine):
            return self._db.get_prompt(slug=slug) is not None

    def details(self, slug: str) -> tuple[str, tuple[str, ...], str]:
        """(description, tags, TruLens prompt type)."""
        prompt = self._prompt(slug)
        return prompt.description or "", tuple(prompt.tags or ()), prompt.prompt_type.value

    # -- versions ------------------------------------------------------------------

    def add_version(self, slug: str, new: NewVersion, base: int = BASE_ANY) -> tuple[PromptVersion, bool]:
        """Store a version; ``(version, created)``. The same spec as the latest version is a
        no-op (``created`` False). ``base``: the version the author started from; if the
        prompt has moved on since, ``ConflictError`` carries the newer version."""
        from trulens.core.schema import prompt as prompt_schema

        prompt = self._prompt(slug)
        latest = self._latest(slug)
        if latest is not None and latest.digest == new.digest:
            return latest, False
        current = latest.version if latest else 0
        if base != BASE_ANY and base != current:
            raise _moved_on(slug, base, latest)
        parent = latest.version_id if latest else None
        defaults = {**new.model_defaults, "promptforge": {"spec_sha256": new.digest, "derived_from": parent}}
        try:
            version = prompt_schema.PromptVersion(
                prompt_id=prompt.prompt_id, prompt_type=prompt.prompt_type, text=new.trulens_text,
                messages=new.trulens_messages, variables=new.variables, model_defaults=defaults,
                response_format=new.response_format, change_note=new.change_note or None,
                parent_version_id=parent, created_by=new.created_by,
            )
        except ValueError as exc:  # TruLens's own validation of the projection
            raise InputError(f"TruLens's prompt registry refused this version: {exc}", "Report this as a bug.") from exc
        row = {
            "version_id": version.version_id, "slug": slug, "number": current + 1, "kind": new.kind,
            "digest": new.digest, "spec": json.dumps(new.spec, sort_keys=True, separators=(",", ":")),
            "text": new.text, "variables": list(new.variables), "change_note": new.change_note, "created_by": new.created_by,
            "created_at": schema.utcnow(), "parent_version_id": parent,
        }
        with storage_errors(self._engine):
            try:
                with self._engine.begin() as conn:  # claims the number: a concurrent save loses here
                    conn.execute(sa.insert(self._specs).values(**row))
            except sa.exc.IntegrityError:
                raise _moved_on(slug, current, self._latest(slug)) from None
            try:
                self._db.insert_prompt_version(version)
            except BaseException:
                with self._engine.begin() as conn:
                    conn.execute(sa.delete(self._specs).where(self._specs.c.version_id == version.version_id))
                raise
        return self._row_version(row, prompt.description or "", LATEST), True

    def adopt(self, slug: str, version_id: str, new: NewVersion, created_at: datetime) -> None:
        """Give a version made outside PromptForge (TruLens's own SDK) a number and a spec."""
        with storage_errors(self._engine), self._engine.begin() as conn:
            number = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(self._specs.c.number), 0)).where(self._specs.c.slug == slug)
            ).scalar_one() + 1
            conn.execute(sa.insert(self._specs).values(
                version_id=version_id, slug=slug, number=number, kind=new.kind, digest=new.digest,
                spec=json.dumps(new.spec, sort_keys=True, separators=(",", ":")), text=new.text,
                variables=list(new.variables), change_note=new.change_note, created_by=new.created_by, created_at=created_at,
                parent_version_id=None,
            ))

    def foreign_versions(self) -> list[tuple[str, Any]]:
        """TruLens versions with no spec row (made by TruLens's SDK), oldest first: (slug, version)."""
        from trulens.core.schema import prompt as prompt_schema

        v, p, s = self._versions, self._prompts, self._specs
        with storage_errors(self._engine), self._engine.connect() as conn:
            counts = conn.execute(
                sa.select(sa.select(sa.func.count()).select_from(v).scalar_subquery(),
                          sa.select(sa.func.count()).select_from(s).scalar_subquery())
            ).one()
        if counts[0] <= counts[1]:  # every TruLens version has its spec: nothing to adopt
            return []
        query = (
            sa.select(p.c.slug, v.c.prompt_version_json)
            .select_from(v.join(p, p.c.prompt_id == v.c.prompt_id))
            .outerjoin(s, s.c.version_id == v.c.version_id)
            .where(s.c.version_id.is_(None))
            .order_by(v.c.created_at)
        )
        with storage_errors(self._engine), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(slug, prompt_schema.PromptVersion.model_validate_json(raw)) for slug, raw in rows]

    def versions(self, slug: str) -> list[PromptVersion]:
        """Every version of ``slug``, oldest first."""
        description = self._prompt(slug).description or ""
        s = self._specs
        with storage_errors(self._engine), self._engine.connect() as conn:
            rows = conn.execute(sa.select(s).where(s.c.slug == slug).order_by(s.c.number)).all()
        return [self._row_version(r._mapping, description) for r in rows]

    def version(self, slug: str, number: int, label: str | None = None) -> PromptVersion:
        prompt = self._prompt(slug)
        s = self._specs
        with storage_errors(self._engine), self._engine.connect() as conn:
            row = conn.execute(sa.select(s).where(s.c.slug == slug, s.c.number == number)).first()
            if row is None:
                count = conn.execute(sa.select(sa.func.max(s.c.number)).where(s.c.slug == slug)).scalar()
        if row is None:
            raise NotFoundError(
                f"Prompt {slug!r} has no version v{number}.",
                f"Available versions: v1..v{count}." if count else "It has no versions yet.",
            )
        return self._row_version(row._mapping, prompt.description or "", label)

    def version_count(self, slug: str) -> int:
        latest = self._latest(slug)
        return latest.version if latest else 0

    def resolve(self, ref: str) -> PromptVersion:
        """``slug``, ``slug@label``, ``slug@v3`` or ``slug@3`` to one exact version."""
        slug, selector = split_ref(ref)
        match = _VERSION_REF.match(selector)
        if match:
            return self.version(slug, int(match.group(1)))
        labels = self.labels(slug)
        if selector not in labels:
            raise NotFoundError(
                f"Prompt {slug!r} has no label {selector!r}.",
                f"Available labels: {', '.join(sorted(labels)) or 'none'}.",
            )
        return self.version(slug, labels[selector], label=selector)

    # -- labels --------------------------------------------------------------------

    def set_label(self, slug: str, version: int | str, label: str, moved_by: str | None = None) -> PromptVersion:
        """Point ``label`` at a version; TruLens records the move in its label history."""
        check_label(label)
        target = self.version(slug, version_number(version))
        with storage_errors(self._engine):
            self._session.set_prompt_label(slug, label, target.version_id, moved_by=moved_by)
        return PromptVersion(**{**target.__dict__, "label": label})

    def labels(self, slug: str) -> dict[str, int]:
        """label -> version number."""
        prompt = self._prompt(slug)
        lab, s = self._labels, self._specs
        query = (
            sa.select(lab.c.label, s.c.number)
            .select_from(lab.join(s, s.c.version_id == lab.c.version_id))
            .where(lab.c.prompt_id == prompt.prompt_id)
            .order_by(lab.c.label)
        )
        with storage_errors(self._engine), self._engine.connect() as conn:
            return {label: number for label, number in conn.execute(query)}

    def label_history(self, slug: str, label: str | None = None) -> list[LabelMove]:
        """Every label move of ``slug``, newest first (TruLens's label history)."""
        prompt = self._prompt(slug)
        h = self._history
        query = sa.select(h).where(h.c.prompt_id == prompt.prompt_id).order_by(h.c.timestamp.desc())
        if label:
            query = query.where(h.c.label == label)
        numbers = self._numbers(slug)
        with storage_errors(self._engine), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            LabelMove(
                label=r.label, from_version=numbers.get(r.previous_version_id), to_version=numbers.get(r.new_version_id),
                moved_by=r.moved_by or "", at=datetime.fromtimestamp(r.timestamp, tz=UTC).replace(tzinfo=None),
            )
            for r in rows
        ]

    # -- history written after the fact ----------------------------------------------

    def date_version(self, slug: str, number: int, at: datetime) -> None:
        """Set when a version was written (``at``: naive UTC), in our spec row and TruLens's
        version, for history loaded or seeded after the fact."""
        version = self.version(slug, number)
        s, v = self._specs, self._versions
        with storage_errors(self._engine), self._engine.begin() as conn:
            conn.execute(sa.update(s).where(s.c.version_id == version.version_id).values(created_at=at))
            conn.execute(sa.update(v).where(v.c.version_id == version.version_id).values(created_at=_epoch(at)))

    def date_label_move(self, slug: str, label: str, number: int, at: datetime) -> None:
        """Set when ``label`` was last moved to version ``number`` (``at``: naive UTC) in
        TruLens's label history, and the label's own time when it still points there."""
        prompt = self._prompt(slug)
        version = self.version(slug, number)
        h, lab = self._history, self._labels
        with storage_errors(self._engine), self._engine.begin() as conn:
            newest = conn.execute(
                sa.select(h.c.history_id)
                .where(h.c.prompt_id == prompt.prompt_id, h.c.label == label, h.c.new_version_id == version.version_id)
                .order_by(h.c.timestamp.desc()).limit(1)
            ).scalar()
            if newest is None:
                raise NotFoundError(f"Label {label!r} of {slug!r} never pointed at v{number}.", "Move it first.")
            conn.execute(sa.update(h).where(h.c.history_id == newest).values(timestamp=_epoch(at)))
            conn.execute(
                sa.update(lab)
                .where(lab.c.prompt_id == prompt.prompt_id, lab.c.label == label, lab.c.version_id == version.version_id)
                .values(updated_at=_epoch(at))
            )

    # -- listing and search ----------------------------------------------------------

    def list_prompts(
        self, matches: Callable[[PromptSummary], bool] | None = None, fragments: bool | None = False
    ) -> list[PromptSummary]:
        """Every prompt (``fragments``: False = prompts only, True = fragments only, None = both),
        by slug, with its version count, labels and latest text, in three queries."""
        p, s, lab = self._prompts, self._specs, self._labels
        with storage_errors(self._engine), self._engine.connect() as conn:
            prompts = conn.execute(sa.select(p.c.prompt_id, p.c.slug, p.c.prompt_json).order_by(p.c.slug)).all()
            latest = sa.select(s.c.slug, sa.func.max(s.c.number).label("n")).group_by(s.c.slug).subquery()
            heads = {
                r.slug: r for r in conn.execute(
                    sa.select(s.c.slug, s.c.number, s.c.text, s.c.kind, s.c.created_at)
                    .select_from(s.join(latest, sa.and_(s.c.slug == latest.c.slug, s.c.number == latest.c.n)))
                )
            }
            labels: dict[str, dict[str, int]] = {}
            for prompt_id, label, number in conn.execute(
                sa.select(lab.c.prompt_id, lab.c.label, s.c.number)
                .select_from(lab.join(s, s.c.version_id == lab.c.version_id))
            ):
                labels.setdefault(prompt_id, {})[label] = number
        out = []
        for prompt_id, slug, raw in prompts:
            is_fragment = slug.startswith(FRAGMENT_PREFIX)
            if fragments is not None and is_fragment != fragments:
                continue
            meta = json.loads(raw) if isinstance(raw, str) else raw
            head = heads.get(slug)
            summary = PromptSummary(
                slug=slug, description=meta.get("description") or "", versions=head.number if head else 0,
                latest=(labels.get(prompt_id) or {}).get(LATEST), labels=labels.get(prompt_id) or {},
                tags=tuple(meta.get("tags") or ()), kind=head.kind if head else "template",
                updated_at=head.created_at if head else None, text=head.text if head else "",
            )
            if matches is None or matches(summary):
                out.append(summary)
        return out

    def embeddings(self, slugs: list[str] | None = None) -> list[tuple[str, int, bytes | None, str]]:
        """(slug, number, embedding, text) of each prompt's latest version."""
        s = self._specs
        latest = sa.select(s.c.slug, sa.func.max(s.c.number).label("n")).group_by(s.c.slug).subquery()
        query = sa.select(s.c.slug, s.c.number, s.c.embedding, s.c.text).select_from(
            s.join(latest, sa.and_(s.c.slug == latest.c.slug, s.c.number == latest.c.n))
        )
        if slugs is not None:
            query = query.where(s.c.slug.in_(slugs))
        with storage_errors(self._engine), self._engine.connect() as conn:
            return [tuple(r) for r in conn.execute(query)]

    def set_embeddings(self, rows: list[tuple[str, int, bytes]]) -> None:
        s = self._specs
        with storage_errors(self._engine), self._engine.begin() as conn:
            for slug, number, vector in rows:
                conn.execute(sa.update(s).where(s.c.slug == slug, s.c.number == number).values(embedding=vector))

    # -- helpers -------------------------------------------------------------------

    def _prompt(self, slug: str) -> Any:
        with storage_errors(self._engine):
            prompt = self._db.get_prompt(slug=slug)
            if prompt is None:
                slugs = [s for (s,) in self._select(sa.select(self._prompts.c.slug).order_by(self._prompts.c.slug).limit(20))]
        if prompt is None:
            raise NotFoundError(
                f"No prompt named {slug!r}.", f"Available prompts: {', '.join(slugs) or 'none'}."
            )
        return prompt

    def _select(self, query) -> list:
        with self._engine.connect() as conn:
            return conn.execute(query).all()

    def _latest(self, slug: str) -> PromptVersion | None:
        s = self._specs
        with storage_errors(self._engine):
            rows = self._select(sa.select(s).where(s.c.slug == slug).order_by(s.c.number.desc()).limit(1))
        return self._row_version(rows[0]._mapping, "", LATEST) if rows else None

    def _numbers(self, slug: str) -> dict[str, int]:
        s = self._specs
        with storage_errors(self._engine):
            return dict(self._select(sa.select(s.c.version_id, s.c.number).where(s.c.slug == slug)))

    @staticmethod
    def _row_version(row: Any, description: str, label: str | None = None) -> PromptVersion:
        spec = row["spec"]
        return PromptVersion(
            slug=row["slug"], version=row["number"], version_id=row["version_id"], kind=row["kind"],
            digest=row["digest"], spec=json.loads(spec) if isinstance(spec, str) else spec, text=row["text"],
            variables=list(row["variables"] or []), change_note=row["change_note"], created_by=row["created_by"], created_at=row["created_at"],
            parent_version_id=row["parent_version_id"], description=description, label=label,
        )


def _epoch(at: datetime) -> float:
    """A naive UTC time as TruLens's prompt tables keep time: seconds since the epoch."""
    return at.replace(tzinfo=UTC).timestamp()


def _moved_on(slug: str, base: int, latest: PromptVersion | None) -> ConflictError:
    newer = latest.version if latest else 0
    return ConflictError(
        f"Prompt {slug!r} moved on: you started from v{base}, and v{newer} was saved since"
        + (f" by {latest.created_by}." if latest and latest.created_by else "."),
        "Compare your text with the newer version, then save again on top of it. Your text is kept.",
        current=latest,
    )


def split_ref(ref: str) -> tuple[str, str]:
    """``slug@selector`` -> (slug, selector); the selector defaults to ``latest``."""
    slug, _, selector = ref.strip().partition("@")
    return slug, selector or LATEST


def check_slug(slug: str) -> None:
    if not _SLUG.match(slug or ""):
        raise InputError(
            f"Invalid prompt slug {slug!r}.",
            "Use lowercase letters, digits, '.', '_' or '-' (up to 100 characters, starting with a letter or digit).",
        )


def check_label(label: str) -> None:
    if not _LABEL.match(label or "") or _VERSION_REF.match(label):
        raise InputError(
            f"Invalid label {label!r}.",
            "Use a lowercase name such as 'production' or 'staging' (not 'v3' or a number).",
        )


def version_number(version: int | str) -> int:
    if isinstance(version, int):
        return version
    match = _VERSION_REF.match(str(version).strip())
    if not match:
        raise InputError(f"Invalid version {version!r}.", "Use a number such as 3 or 'v3'.")
    return int(match.group(1))
