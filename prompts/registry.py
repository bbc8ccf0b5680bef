"""The prompt registry as a principal may use it: authoring, versions, labels, search.

Every operation checks its permission and every change is an audit event;
``storage.prompts.PromptStore`` does the storing. Saving a version:

1. the spec's sources compile in the sandbox, with every fragment they include
   resolved (``{% include "fragment:NAME@LABEL" %}``) and pinned to the exact
   fragment version it resolved to;
2. lint runs: an error blocks the save, warnings come back with the result;
3. a spec equal to the latest version's is a no-op; a save that started from an
   older version than the latest is refused with ``ConflictError`` (optimistic
   concurrency) and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from config.errors import ConflictError, InputError, TemplateError
from execution.chat_template import ChatTemplate
from execution.templates import FRAGMENT_PREFIX, PromptTemplate, RenderLimits, RunSettings, included_names, parse_source
from prompts.projection import project
from prompts.spec import Message, PromptSpec, VariableSpec
from security.identity import Permission, Principal
from security.typed_text import TypedText
from storage.prompts import (
    BASE_ANY,
    LATEST,
    LabelMove,
    NewVersion,
    PromptStore,
    PromptSummary,
    PromptVersion,
    check_slug,
    split_ref,
)

PRODUCTION = "production"  # moving this label needs an approver
MAX_NOTE = 1000
MAX_TAGS = 20


@dataclass(frozen=True)
class Compiled:
    """A spec checked in the sandbox: its pinned fragments, variables and lint report."""

    spec: PromptSpec  # with ``fragments`` pinned
    includes: dict[str, str]  # fragment reference -> source
    variables: list[str]  # read by the sources and their fragments, in order
    lint: Any = None  # prompts.lint.LintReport, when lint ran


@dataclass(frozen=True)
class SaveResult:
    version: PromptVersion
    created: bool  # False: the spec equals the latest version's (nothing saved)
    warnings: list = field(default_factory=list)  # lint findings that did not block the save


class LintFailed(InputError):
    """Lint found errors: the version was not saved."""

    def __init__(self, findings: list) -> None:
        first = findings[0]
        super().__init__(
            f"Lint found {len(findings)} error{'s' if len(findings) > 1 else ''}; the version was not saved. "
            f"{first.rule}: {first.message}",
            first.hint,
        )
        self.findings = findings


class PromptRegistry:
    def __init__(
        self,
        store: Any,
        principal: Principal,
        audit: Any | None = None,
        *,
        limits: RenderLimits | None = None,
        scrubber: Any | None = None,
        embedder: Any | None = None,
        settings: Any | None = None,
    ) -> None:
        self.principal = principal
        self.store = PromptStore(store)
        self._audit = audit
        self.limits = limits or RenderLimits()
        self._scrubber = scrubber
        self._embedder = embedder
        self._settings = settings

    # -- authoring -------------------------------------------------------------------

    def create(
        self, slug: str, template: str, description: str = "", variables: list[str] | None = None
    ) -> PromptVersion:
        """A template prompt with its first version (variables typed as short text)."""
        spec = PromptSpec(template=template, variables=tuple(VariableSpec(v) for v in variables or ()))
        return self.create_prompt(slug, spec, description=description, lint=False).version

    def add_version(self, slug: str, template: str, message: str = "") -> PromptVersion:
        """A new version of a template prompt, keeping the latest version's other settings."""
        latest = self.resolve(slug)
        spec = replace(PromptSpec.from_dict(latest.spec), template=template, fragments={})
        return self.save(slug, spec, message or "new version", base_version=BASE_ANY, lint=False).version

    def create_prompt(
        self,
        slug: str,
        spec: PromptSpec,
        *,
        description: str = "",
        tags: tuple[str, ...] | list[str] = (),
        note: str = "initial version",
        lint: bool = True,
    ) -> SaveResult:
        """A new prompt (or fragment, slug ``fragment:NAME``) with its first version."""
        self.principal.require(Permission.AUTHOR_PROMPTS, "create prompts")
        check_slug(slug)
        tags = _clean_tags(tags)
        compiled = self.check(spec, slug=slug, lint=lint)
        if compiled.lint is not None and compiled.lint.errors:  # nothing is created for a refused version
            raise LintFailed(compiled.lint.errors)
        self.store.create_prompt(slug, spec.kind, description=description.strip(), tags=tags)
        self._event("prompt_created", slug, {"kind": spec.kind})
        return self._store_version(slug, compiled, note, base=0)

    def save(
        self, slug: str, spec: PromptSpec, note: str, base_version: int = BASE_ANY, *, lint: bool = True
    ) -> SaveResult:
        """A new immutable version of ``slug`` made by the acting principal.

        ``note`` (why) is required. ``base_version``: the version the author started
        from; if another version was saved since, ``ConflictError`` (its ``current``
        is the newer version) and nothing is saved. Unchanged content saves nothing.
        """
        self.principal.require(Permission.AUTHOR_PROMPTS, "add prompt versions")
        note = (note or "").strip()
        if not note:
            raise InputError("Say what changed.", "A change note is required: reviewers read it in the history.")
        _, _, kind = self.store.details(slug)
        if (kind == "chat") != (spec.kind == "chat"):
            raise InputError(
                f"Prompt {slug!r} is a {'chat' if kind == 'chat' else 'template'} prompt; its kind is fixed.",
                "Create a new prompt for the other kind.",
            )
        compiled = self.check(spec, slug=slug, lint=lint)
        self._adopt_foreign()  # a version made with TruLens's SDK counts as the prompt moving on
        return self._store_version(slug, compiled, note, base=base_version)

    def restore(self, slug: str, version: int, base_version: int = BASE_ANY, note: str = "") -> SaveResult:
        """A new version with exactly the content of an older one, fragment pins included, so it
        renders as the old one did (history is never rewritten). Lint reports but does not block:
        the content was approved once and rolling back must stay possible."""
        self.principal.require(Permission.AUTHOR_PROMPTS, "add prompt versions")
        old = self.get(slug, version)
        spec = PromptSpec.from_dict(old.spec)
        compiled = Compiled(spec, self.pinned_includes(spec), list(old.variables))
        self._adopt_foreign()
        return self._store_version(slug, compiled, note or f"restore v{version}", base=base_version)

    def update_details(self, slug: str, description: str, tags: tuple[str, ...] | list[str]) -> None:
        self.principal.require(Permission.AUTHOR_PROMPTS, "edit prompt details")
        self.store.update_details(slug, description.strip(), _clean_tags(tags))
        self._event("prompt_details_changed", slug, {"tags": len(_clean_tags(tags))})

    def check(self, spec: PromptSpec, slug: str | None = None, lint: bool = True) -> Compiled:
        """Compile every source with its fragments resolved now, and lint it (no save)."""
        pins: dict[str, int] = {}
        includes: dict[str, str] = {}
        variables: list[str] = []
        for where, source in spec.sources():
            if not source.strip():
                raise TemplateError(f"The {where} is empty.", "Write a prompt, e.g. 'Summarise {{ document }}'.")
            self._resolve_includes(included_names(parse_source(source, where), where), pins, includes, slug)
            template = PromptTemplate(source, self.limits, includes=includes)
            variables += [v for v in template.variables if v not in variables]
        if not spec.sources():
            raise TemplateError("The prompt has no content.", "Write a template or at least one message.")
        pinned = spec.with_fragments(pins)
        report = None
        if lint:
            from prompts.lint import lint as run_lint

            report = run_lint(
                pinned, includes=includes, scrubber=self._scrubber, context_window=self._context_window(spec)
            )
        return Compiled(pinned, includes, variables, report)

    def template(self, version: PromptVersion) -> PromptTemplate | ChatTemplate:
        """The runnable form of a version: its sandboxed template (or chat messages) with
        the pinned fragments, its model defaults, its untrusted variables and its
        variable types."""
        spec = PromptSpec.from_dict(version.spec)
        run = RunSettings(
            provider=spec.defaults.provider,
            temperature=spec.defaults.temperature,
            max_tokens=spec.defaults.max_tokens,
            untrusted=frozenset(v.name for v in spec.variables if v.untrusted),
            check_values=spec.check_values,
        )
        includes = self.pinned_includes(spec)
        if spec.kind == "chat":
            return ChatTemplate([(m.role, m.content) for m in spec.messages], self.limits, includes=includes, run=run)
        return PromptTemplate(spec.template, self.limits, includes=includes, run=run)

    def pinned_includes(self, spec: PromptSpec) -> dict[str, str]:
        """Fragment reference -> the source of the exact version the spec was pinned to."""
        out = {}
        for ref, number in spec.fragments.items():
            slug, _ = split_ref(ref)
            out[ref] = self.store.version(slug, number).template
        return out

    # -- reading -----------------------------------------------------------------------

    def resolve(self, ref: str) -> PromptVersion:
        self._read()
        self._adopt_foreign()
        return self.store.resolve(ref)

    def get(self, slug: str, version: int) -> PromptVersion:
        self._read()
        self._adopt_foreign()
        return self.store.version(slug, version)

    def versions(self, slug: str) -> list[PromptVersion]:
        self._read()
        self._adopt_foreign()
        return self.store.versions(slug)

    def labels(self, slug: str) -> dict[str, int]:
        self._read()
        self._adopt_foreign()
        return self.store.labels(slug)

    def label_history(self, slug: str) -> list[LabelMove]:
        self._read()
        self._adopt_foreign()
        return self.store.label_history(slug)

    def details(self, slug: str) -> tuple[str, tuple[str, ...], str]:
        self._read()
        return self.store.details(slug)

    def list_prompts(self, query: str = "", *, fragments: bool | None = False) -> list[PromptSummary]:
        """Prompts whose slug, description, tags or latest text hold every word of ``query``."""
        self._read()
        self._adopt_foreign()
        words = [w for w in query.casefold().split() if w]
        if not words:
            return self.store.list_prompts(fragments=fragments)

        def matches(p: PromptSummary) -> bool:
            haystack = " ".join((p.slug, p.description, " ".join(p.tags), p.text)).casefold()
            return all(w in haystack for w in words)

        return self.store.list_prompts(matches, fragments=fragments)

    def semantic_search(self, query: str, limit: int = 20, fragments: bool | None = False) -> list[tuple[PromptSummary, float]]:
        """Prompts by meaning: cosine of the query to each prompt's latest text (all-MiniLM-L6-v2)."""
        self._read()
        if not query.strip():
            return []
        rows = self.store.embeddings()
        missing = [(slug, n, text) for slug, n, vector, text in rows if vector is None]
        if missing:
            vectors = self.embedder.encode([text for _, _, text in missing])
            self.store.set_embeddings([(s, n, v.tobytes()) for (s, n, _), v in zip(missing, vectors)])
            fresh = {(s, n): v.tobytes() for (s, n, _), v in zip(missing, vectors)}
            rows = [(s, n, vector if vector is not None else fresh[(s, n)], t) for s, n, vector, t in rows]
        if not rows:
            return []
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        q = self.embedder.encode([query])[0]
        scores = matrix @ q / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(q) + 1e-9)
        by_slug = {p.slug: p for p in self.store.list_prompts(fragments=fragments)}
        ranked = sorted(
            ((by_slug[r[0]], float(s)) for r, s in zip(rows, scores) if r[0] in by_slug), key=lambda x: -x[1]
        )
        return ranked[:limit]

    def fragment_users(self, fragment: str, label: str | None = None) -> list[PromptSummary]:
        """Prompts whose latest version includes ``fragment`` (``fragment:NAME``), optionally through
        ``label``: the prompts a move of that fragment's label affects when they are next saved."""
        self._read()
        name = fragment if fragment.startswith(FRAGMENT_PREFIX) else FRAGMENT_PREFIX + fragment
        out = []
        for summary in self.store.list_prompts(fragments=None):
            if summary.slug == name or summary.versions == 0:
                continue
            spec = self.store.version(summary.slug, summary.versions).spec
            refs = [split_ref(ref) for ref in (spec.get("fragments") or {})]
            if any(slug == name and (label is None or selector == label) for slug, selector in refs):
                out.append(summary)
        return out

    # -- labels ------------------------------------------------------------------------

    def set_label(self, slug: str, version: int | str, label: str) -> PromptVersion:
        """Moving ``production`` needs an approver (see ``LabelMoves``); other labels an author;
        ``latest`` moves by itself with every save."""
        if label == LATEST:
            raise InputError("'latest' moves by itself to every new version.", "Use another label, e.g. staging.")
        if label == PRODUCTION:
            self.principal.require(Permission.APPROVE_LABEL_MOVE, "move the production label")
        else:
            self.principal.require(Permission.AUTHOR_PROMPTS, "move prompt labels")
        return self.move_label(slug, version, label)

    def move_label(self, slug: str, version: int | str, label: str, details: dict | None = None) -> PromptVersion:
        """The move itself, for callers that checked their own permission (``LabelMoves``)."""
        moved = self.store.set_label(slug, version, label, moved_by=self.principal.actor)
        self._event("label_moved", slug, {"label": label, "version": moved.version, **(details or {})})
        return moved

    # -- helpers -------------------------------------------------------------------------

    @property
    def embedder(self):
        if self._embedder is None:
            from config.models import sentence_embedder
            from config.settings import get_settings

            self._embedder = sentence_embedder(self._settings or get_settings())
        return self._embedder

    def _read(self) -> None:
        self.principal.require(Permission.READ_RUNS, "read prompts")

    def _store_version(self, slug: str, compiled: Compiled, note: str, base: int) -> SaveResult:
        report = compiled.lint
        if report is not None and report.errors:
            raise LintFailed(report.errors)
        spec = compiled.spec
        kind = spec.kind
        new = NewVersion(
            spec=spec.to_dict(), digest=spec.digest, kind=kind, text=spec.text, variables=compiled.variables,
            trulens_text=project(spec.template, compiled.variables) if kind == "template" else None,
            trulens_messages=[
                {"role": m.role, "content": project(m.content, compiled.variables)} for m in spec.messages
            ] if kind == "chat" else None,
            model_defaults=spec.defaults.to_dict(), response_format=spec.response_format,
            # reviewers and auditors read it: a name or a number typed in it is stored as a placeholder
            change_note=TypedText(self._scrubber).limited(note, "The change note", MAX_NOTE),
            created_by=self.principal.actor,
        )
        try:
            version, created = self.store.add_version(slug, new, base=base)
        except ConflictError:
            self._event("prompt_save_conflict", slug, {"base": base})
            raise
        if created:
            self._event(
                "prompt_version_created", slug,
                {"version": version.version, "sha256": version.digest[:16], "fragments": len(spec.fragments)},
            )
        return SaveResult(version, created, list(report.warnings) if report is not None else [])

    def _resolve_includes(
        self, names: list[str], pins: dict[str, int], includes: dict[str, str], slug: str | None
    ) -> None:
        """Resolve each reference (and what it includes) to the version its label points at now.
        Cycles among fragments are refused by the sandbox when the template is built."""
        for ref in names:
            if ref in includes:
                continue
            fragment_slug, _ = split_ref(ref)
            if fragment_slug == slug:
                raise TemplateError(
                    f"Fragments include each other in a cycle: {slug} → {ref}.", "Remove one of the includes."
                )
            if not self.store.exists(fragment_slug):
                raise TemplateError(f"Unknown fragment {ref!r}.", "Create the fragment first, or fix the reference.")
            version = self.store.resolve(ref)
            pins[ref] = version.version
            includes[ref] = version.template
            inner = included_names(parse_source(version.template, f"fragment {ref}"), f"fragment {ref}")
            self._resolve_includes(inner, pins, includes, slug)

    def _context_window(self, spec: PromptSpec) -> int | None:
        from config.settings import get_settings
        from execution.providers.context_windows import context_window_for

        settings = self._settings or get_settings()
        provider = spec.defaults.provider or settings.default_provider
        return context_window_for(provider, getattr(settings, "context_windows", {}) or {})

    def _adopt_foreign(self) -> None:
        """Versions created with TruLens's own SDK get a number and a spec the first time we look."""
        for slug, version in self.store.foreign_versions():
            if version.messages:
                spec = PromptSpec(messages=tuple(Message(m.role.value, str(m.content)) for m in version.messages))
            else:
                spec = PromptSpec(template=version.text or "")
            new = NewVersion(
                spec=spec.to_dict(), digest=spec.digest, kind=spec.kind, text=spec.text,
                variables=list(version.variables), trulens_text=None, trulens_messages=None, model_defaults={},
                response_format=version.response_format, change_note=version.change_note or "",
                created_by=version.created_by or "trulens",
            )
            self.store.adopt(slug, version.version_id, new, version.created_at.replace(tzinfo=None))

    def _event(self, action: str, slug: str, details: dict) -> None:
        if self._audit is not None:
            self._audit.append(self.principal.actor, action, f"prompt:{slug}", details)


def _clean_tags(tags) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(t.strip().lower() for t in tags if t and t.strip()))
    if len(cleaned) > MAX_TAGS or any(len(t) > 40 for t in cleaned):
        raise InputError(f"Too many or too long tags (up to {MAX_TAGS}, 40 characters each).", "Use fewer, shorter tags.")
    return cleaned
