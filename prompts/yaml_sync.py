"""Prompts as YAML files in git: ``pull`` writes one file per prompt, ``push`` imports them.

A file (``SLUG.yaml``; a fragment ``fragment:NAME`` is ``fragment-NAME.yaml``) holds one
prompt's whole history::

    schema: 1                     # this format's version
    slug: card-dispute
    kind: template                # or chat
    description: Reply to a card dispute
    tags: [cards, support]
    labels: {latest: 3, production: 2, staging: 3}
    metric_sets:                  # MetricSet lists: "all" (every version) and "vN"
      all:
      - metric: toxicity
        max_mean: 0.1
    versions:
    - version: 1
      note: initial version
      author: user:ann            # informative: imported versions are authored by the importer
      created: '2026-12-07T01:43:24Z'
      sha256: 6b5f…               # the spec's digest; optional for a version added by hand
      spec:                       # PromptSpec.to_dict() without schema, kind and empty parts
        template: |
          {% include "fragment:tone@production" %}
          Reply to {{ customer }}.
        variables:
        - {name: customer, type: short_text}
        fragments: {fragment:tone@production: 2}

Output is deterministic (fixed key order, sorted mappings where order means nothing,
multi-line text as ``|`` blocks) so files diff well.

``push`` never rewrites history: a version already in the database (same number, same
digest) is skipped, a version whose number exists with another digest is an error, and
new versions are appended in order through ``PromptRegistry.save`` (lint, permissions
and audit apply) with their pinned fragment versions kept, so digests survive a round
trip. A file is validated completely (YAML, schema, fields, slug, history, labels,
metric sets, lint of the new versions) before anything of it is written. Labels other
than ``production`` move to the file's version; ``latest`` moves by itself; a
``production`` that differs from the database's is refused (it needs a request and an
approval), except on a prompt this push creates when the acting principal is an approver.
Metric sets are saved when they differ; nothing is ever deleted by a push.

No argparse and no printing here: ``prompts.cli`` parses and prints.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from config.yaml_io import dump_block, load_strict
from config.errors import InputError, PromptForgeError
from prompts.registry import PRODUCTION, PromptRegistry
from prompts.spec import SCHEMA_VERSION as SPEC_SCHEMA
from prompts.spec import PromptSpec
from security.identity import Permission
from storage.prompts import FRAGMENT_PREFIX, LATEST, check_label, check_slug, split_ref

SCHEMA = 1  # the file format's version
SUFFIXES = (".yaml", ".yml")
ALL_VERSIONS_KEY = "all"
FILE_FIELDS = ("schema", "slug", "kind", "description", "tags", "labels", "metric_sets", "versions")
VERSION_FIELDS = ("version", "note", "author", "created", "sha256", "spec")
KINDS = ("template", "chat")
_SPEC_ORDER = ("template", "messages", "variables", "defaults", "response_format", "fragments")

# -- file names ---------------------------------------------------------------------------


def file_name(slug: str) -> str:
    """``faq`` -> ``faq.yaml``; ``fragment:tone`` -> ``fragment-tone.yaml``."""
    if slug.startswith(FRAGMENT_PREFIX):
        return "fragment-" + slug[len(FRAGMENT_PREFIX):] + ".yaml"
    return slug + ".yaml"


# -- YAML in and out ------------------------------------------------------------------------


def dump_yaml(data: Any) -> str:
    return dump_block(data)


def load_yaml(text: str, where: str = "the file") -> Any:
    """Parse YAML; a syntax error names its line (``InputError``)."""
    try:
        return load_strict(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InputError(f"{where} is not valid YAML{line}: {problem}.", "Fix the YAML (indentation, colons, quotes).") from None


# -- exporting (pull) ------------------------------------------------------------------------


def compact_spec(spec: dict) -> dict:
    """A stored spec (``PromptSpec.to_dict()``) without what a reader infers: the spec schema
    (when current), the kind (the file says it), and empty parts. Mappings sorted."""
    out: dict[str, Any] = {}
    if spec.get("schema", SPEC_SCHEMA) != SPEC_SCHEMA:
        out["schema"] = spec["schema"]
    for key in _SPEC_ORDER:
        value = spec.get(key)
        if value in (None, "", [], {}):
            continue
        if key in ("defaults", "response_format", "fragments"):
            value = _sorted(value)
        elif key == "variables":
            value = [_variable(v) for v in value]
        elif key == "messages":
            value = [{"role": m.get("role"), "content": m.get("content")} for m in value]
        out[key] = value
    for key in sorted(set(spec) - set(_SPEC_ORDER) - {"schema", "kind"}):  # fields a newer spec may add
        out[key] = _sorted(spec[key])
    return out


def _variable(v: dict) -> dict:
    order = ("name", "type", "description", "choices", "max_chars")
    out = {k: v[k] for k in order if k in v}
    out.update({k: v[k] for k in sorted(v) if k not in order})
    return out


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


def _kind_of_type(prompt_type: str) -> str:
    """TruLens's prompt type (text | chat) as a spec kind (template | chat)."""
    return "chat" if prompt_type == "chat" else "template"


def _canonical_metrics(metrics: list) -> list:
    """A stored metric list as ``MetricSet.to_list()`` writes it (as stored, if it does not parse)."""
    from evaluation import MetricSet

    try:
        return MetricSet.from_list(list(metrics)).to_list()
    except PromptForgeError:
        return list(metrics)


def _metric_key(version: int) -> str:
    return ALL_VERSIONS_KEY if version == 0 else f"v{version}"


def export_prompt(registry: PromptRegistry, metric_sets: Any, slug: str) -> dict:
    """One prompt as the file's mapping (see the module docstring)."""
    description, tags, prompt_type = registry.details(slug)
    versions = registry.versions(slug)
    kind = versions[-1].kind if versions else _kind_of_type(prompt_type)
    stored_sets = sorted(metric_sets.table.for_prompt(slug), key=lambda s: s.version)
    return {
        "schema": SCHEMA,
        "slug": slug,
        "kind": kind,
        "description": description,
        "tags": sorted(tags),
        "labels": dict(sorted(registry.labels(slug).items())),
        "metric_sets": {_metric_key(s.version): _canonical_metrics(s.metrics) for s in stored_sets},
        "versions": [
            {
                "version": v.version,
                "note": v.change_note or "",
                "author": v.created_by or "",
                "created": _timestamp(v.created_at),
                "sha256": v.digest,
                "spec": compact_spec(v.spec),
            }
            for v in versions
        ],
    }


@dataclass(frozen=True)
class Pulled:
    slug: str
    path: Path
    versions: int
    changed: bool  # the file is new or its content changed


def pull(registry: PromptRegistry, metric_sets: Any, slugs: Iterable[str] | None, out_dir: Path) -> list[Pulled]:
    """Write ``out_dir/<file_name(slug)>`` for each slug (None: every prompt and fragment that
    has a version). Every slug is looked up before any file is written."""
    if slugs is None:
        wanted = [p.slug for p in registry.list_prompts(fragments=None) if p.versions]
    else:
        wanted = list(dict.fromkeys(slugs))
        for slug in wanted:
            registry.details(slug)  # NotFoundError names the prompts there are
    exported = [(slug, export_prompt(registry, metric_sets, slug)) for slug in wanted]
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create the folder {out_dir}: {exc.strerror or exc}.", "Check the path.") from None
    results = []
    for slug, data in exported:
        text = dump_yaml(data)
        path = out_dir / file_name(slug)
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        if old != text:
            _write(path, text)
        results.append(Pulled(slug, path, len(data["versions"]), old != text))
    return results


def _write(path: Path, text: str) -> None:
    """Atomically: a crash never leaves half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"Cannot write {path}: {exc.strerror or exc}.", "Check that the folder is writable.") from None


# -- reading a file (push) --------------------------------------------------------------------


@dataclass(frozen=True)
class FileVersion:
    number: int
    note: str
    author: str
    spec: PromptSpec  # with the fragment versions the file pins
    digest: str


@dataclass(frozen=True)
class PromptFile:
    """A prompt file, checked on its own (no database yet)."""

    path: Path
    slug: str
    kind: str
    description: str
    tags: tuple[str, ...]
    versions: tuple[FileVersion, ...]
    labels: dict[str, int]
    metric_sets: dict[int, Any]  # version (0: all versions) -> evaluation.MetricSet

    @property
    def fragments(self) -> set[str]:
        """The fragment slugs its versions pin (what must be pushed first)."""
        return {split_ref(ref)[0] for v in self.versions for ref in v.spec.fragments}


class FileError(InputError):
    """A file that cannot be imported; nothing of it is written."""


def read_utf8(path: Path, error: type[InputError] = FileError) -> str:
    """The text of ``path``; a missing, unreadable or non-UTF-8 file raises ``error`` saying which."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise error(f"{path} does not exist.", "Check the path.") from None
    except UnicodeDecodeError:
        raise error(f"{path} is not UTF-8 text.", "Save it as UTF-8.") from None
    except OSError as exc:
        raise error(f"Cannot read {path}: {exc.strerror or exc}.", "Check the path.") from None


def read_file(path: Path) -> PromptFile:
    """Parse and check one file on its own; ``FileError`` says what is wrong (one line)."""
    path = Path(path)
    text = read_utf8(path)
    try:
        return parse_prompt_file(load_yaml(text, "The file"), path)
    except FileError:
        raise
    except PromptForgeError as exc:
        raise FileError(exc.message, exc.hint) from None


def parse_prompt_file(data: Any, path: Path) -> PromptFile:
    if not isinstance(data, dict):
        raise FileError("The file is not a prompt file (a YAML mapping with schema, slug and versions).",
                        "Write it with `python launch.py prompts pull`.")
    if "schema" not in data:
        raise FileError("The file has no 'schema'.", f"Prompt files start with 'schema: {SCHEMA}'.")
    if data["schema"] != SCHEMA or isinstance(data["schema"], bool):
        raise FileError(
            f"Unknown prompt file schema {data['schema']!r}.",
            f"This PromptForge reads schema {SCHEMA}; upgrade PromptForge or pull the file again.",
        )
    _only(data, FILE_FIELDS, "the file")
    slug = data.get("slug")
    if not isinstance(slug, str):
        raise FileError("The file has no 'slug' (text).", "Add e.g. 'slug: card-dispute'.")
    check_slug(slug)
    description = _text(data.get("description"), "description")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise FileError("'tags' must be a list of words.", "e.g. tags: [cards, support].")
    raw_versions = data.get("versions")
    if not isinstance(raw_versions, list) or not raw_versions:
        raise FileError("The file has no versions.", "List them under 'versions:', oldest first.")
    versions: list[FileVersion] = []
    for position, raw in enumerate(raw_versions, start=1):
        versions.append(_version(raw, position))
    kind = data.get("kind") or versions[0].spec.kind
    if kind not in KINDS:
        raise FileError(f"Unknown kind {kind!r}.", "Use template or chat.")
    for v in versions:
        if v.spec.kind != kind:
            raise FileError(f"v{v.number} is a {v.spec.kind} prompt in a {kind} file.", "A prompt's kind is fixed.")
    for before, after in zip(versions, versions[1:]):
        if before.digest == after.digest:
            raise FileError(
                f"v{after.number} has the same spec as v{before.number}.",
                "A new version must change something; remove the repeated one.",
            )
    numbers = {v.number for v in versions}
    labels = _labels(data.get("labels"), numbers)
    metric_sets = _metric_sets(data.get("metric_sets"), numbers)
    return PromptFile(
        path=path, slug=slug, kind=kind, description=description, tags=tuple(tags), versions=tuple(versions),
        labels=labels, metric_sets=metric_sets,
    )


def _version(raw: Any, position: int) -> FileVersion:
    where = f"versions entry {position}"
    if not isinstance(raw, dict):
        raise FileError(f"{where} is not a mapping.", "Each version has version, note and spec.")
    _only(raw, VERSION_FIELDS, where)
    number = raw.get("version")
    if not isinstance(number, int) or isinstance(number, bool):
        raise FileError(f"{where} has no version number.", f"Add 'version: {position}'.")
    if number != position:
        raise FileError(
            f"{where} is numbered v{number}; versions are numbered 1, 2, 3… in order, without gaps.",
            f"Number it {position}.",
        )
    note = _text(raw.get("note"), f"v{number} note")
    author = _text(raw.get("author"), f"v{number} author")
    spec_data = raw.get("spec")
    if not isinstance(spec_data, dict):
        raise FileError(f"v{number} has no spec.", "Add 'spec:' with a template or messages.")
    try:
        spec = PromptSpec.from_dict(spec_data)
    except PromptForgeError as exc:
        raise FileError(f"v{number}: {exc.message}", exc.hint) from None
    for ref, pinned in spec.fragments.items():
        fragment = split_ref(ref)[0]
        if not fragment.startswith(FRAGMENT_PREFIX) or pinned is None or pinned < 1:
            raise FileError(f"v{number} pins {ref!r} to {pinned!r}.", "Fragments are pinned as 'fragment:NAME…: N'.")
    if not spec.sources() or not any(source.strip() for _, source in spec.sources()):
        raise FileError(f"v{number} has no content.", "Write a template or at least one message.")
    digest = spec.digest
    stated = raw.get("sha256")
    if stated is not None and stated != digest:
        raise FileError(
            f"v{number}'s sha256 does not match its spec: the version was edited.",
            "Versions never change: add your edit as a new version at the end (its sha256 may be left out).",
        )
    return FileVersion(number, note, author, spec, digest)


def _labels(raw: Any, numbers: set[int]) -> dict[str, int]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FileError("'labels' must map label names to version numbers.", "e.g. labels: {staging: 2}.")
    out = {}
    for label, number in raw.items():
        if not isinstance(label, str):
            raise FileError(f"Invalid label {label!r}.", "Labels are lowercase names such as staging.")
        check_label(label)
        if not isinstance(number, int) or isinstance(number, bool) or number not in numbers:
            raise FileError(
                f"Label {label!r} points at {number!r}, which is not a version in the file.",
                f"Use a version number from 1 to {max(numbers)}.",
            )
        out[label] = number
    return dict(sorted(out.items()))


def _metric_sets(raw: Any, numbers: set[int]) -> dict[int, Any]:
    from evaluation import MetricSet

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FileError("'metric_sets' must map 'all' or 'vN' to a list of metrics.", "e.g. metric_sets: {all: [...]}.")
    out = {}
    for key, metrics in raw.items():
        version = 0 if key == ALL_VERSIONS_KEY else _version_key(key)
        if version is None or (version and version not in numbers):
            raise FileError(
                f"Metric set key {key!r} is not 'all' or a version of the file.", "Use 'all' or 'v1', 'v2'…"
            )
        try:
            out[version] = MetricSet.from_list(metrics)
        except PromptForgeError as exc:
            raise FileError(f"Metric set {key}: {exc.message}", exc.hint) from None
    return dict(sorted(out.items()))


def _version_key(key: Any) -> int | None:
    if isinstance(key, str) and key.startswith("v") and key[1:].isdigit():
        return int(key[1:])
    return None


def _only(data: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = [str(k) for k in data if k not in allowed]
    if unknown:
        raise FileError(
            f"Unknown field{'s' if len(unknown) > 1 else ''} in {where}: {', '.join(unknown)}.",
            "Allowed: " + ", ".join(allowed) + ".",
        )


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FileError(f"The {what} must be text.", "Quote it.")
    return value


# -- pushing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    kind: str  # create | version | label | metric_set | details | warning
    text: str


@dataclass
class FilePlan:
    """What pushing one file changes (or would), what it refuses, or why it cannot be pushed."""

    path: Path
    slug: str | None = None
    changes: list[Change] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # labels not moved, and why
    skipped: int = 0  # versions already in the database
    error: str | None = None  # nothing of the file was written (unless ``applied``)
    applied: bool = False  # writing started
    file: PromptFile | None = field(default=None, repr=False)
    # what _apply does, decided by _plan
    _labels: dict[str, int] = field(default_factory=dict, repr=False)
    _metric_sets: list[int] = field(default_factory=list, repr=False)
    _details: bool = field(default=False, repr=False)

    @property
    def changed(self) -> bool:
        return any(c.kind != "warning" for c in self.changes)


@dataclass
class PushResult:
    files: list[FilePlan]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return all(f.error is None for f in self.files)


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named, and the ``*.yaml``/``*.yml`` files directly inside folders named (sorted)."""
    out: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith("."))
        else:
            out.append(path)
    return list(dict.fromkeys(out))


class Pusher:
    """Pushes prompt files as ``registry.principal``; ``metric_sets`` is an
    ``execution.metric_sets.MetricSets`` acting for the same principal."""

    def __init__(self, registry: PromptRegistry, metric_sets: Any) -> None:
        self.registry = registry
        self.metric_sets = metric_sets
        self.principal = registry.principal

    def push(self, paths: Iterable[Path], *, dry_run: bool = False) -> PushResult:
        """Push files and folders: fragments before the prompts that pin them, each file checked
        whole before any of it is written. ``dry_run``: plan only, write nothing."""
        plans = [self._read(path) for path in collect_files(paths)]
        ordered = self._order(plans)
        pending: dict[str, int] = {}  # dry run: fragments this push would create (slug -> versions)
        for plan in ordered:
            if plan.error is not None:
                continue
            try:
                self._plan(plan, pending if dry_run else {})
                if plan.error is None and not dry_run and plan.changed:
                    self._apply(plan)
            except PromptForgeError as exc:
                done = [c.text for c in plan.changes if c.kind != "warning"] if plan.applied else []
                plan.error = str(exc) + (f" (written before the error: {'; '.join(done)})" if done else "")
                if not plan.applied:
                    plan.changes, plan.refused = [], []
            if dry_run and plan.error is None and plan.file is not None:
                pending[plan.slug] = len(plan.file.versions)
        return PushResult(ordered, dry_run)

    # -- reading and ordering ----------------------------------------------------------------

    @staticmethod
    def _read(path: Path) -> FilePlan:
        plan = FilePlan(path)
        try:
            plan.file = read_file(path)
            plan.slug = plan.file.slug
        except FileError as exc:
            plan.error = str(exc)
        return plan

    @staticmethod
    def _order(plans: list[FilePlan]) -> list[FilePlan]:
        """Fragments first, each file after the files whose fragments it pins (stable by slug)."""
        by_slug: dict[str, FilePlan] = {}
        for plan in plans:
            if plan.file is None:
                continue
            if plan.slug in by_slug:
                plan.error = f"{plan.slug!r} is also in {by_slug[plan.slug].path}. Push one file per prompt."
                continue
            by_slug[plan.slug] = plan
        done: list[FilePlan] = []
        placed: set[str] = set()
        waiting = sorted(by_slug.values(), key=lambda p: (not p.slug.startswith(FRAGMENT_PREFIX), p.slug))
        while waiting:
            ready = [p for p in waiting if all(d in placed or d not in by_slug or d == p.slug for d in p.file.fragments)]
            if not ready:
                for plan in waiting:
                    plan.error = "Its fragments pin each other in a cycle: " + ", ".join(sorted(p.slug for p in waiting)) + "."
                done += waiting
                break
            for plan in ready:
                done.append(plan)
                placed.add(plan.slug)
            waiting = [p for p in waiting if p.slug not in placed]
        placed_ids = {id(p) for p in done}
        return [p for p in plans if id(p) not in placed_ids] + done

    # -- planning ----------------------------------------------------------------------------

    def _plan(self, plan: FilePlan, pending: dict[str, int]) -> None:
        f = plan.file
        assert f is not None
        registry, store = self.registry, self.registry.store
        exists = store.exists(f.slug)
        db_versions = registry.versions(f.slug) if exists else []
        if exists:
            db_kind = db_versions[-1].kind if db_versions else _kind_of_type(registry.details(f.slug)[2])
            if db_kind != f.kind:
                raise FileError(f"{f.slug} is a {db_kind} prompt in the database, {f.kind} in the file.",
                                "A prompt's kind is fixed.")
        for v, db in zip(f.versions, db_versions):
            if v.digest != db.digest and v.digest != _normalised_digest(db.spec):
                raise FileError(
                    f"v{v.number} differs from v{db.version} in the database (the histories differ); "
                    "nothing was imported from this file.",
                    "Pull the prompt again and add your change as a new version.",
                )
        plan.skipped = min(len(f.versions), len(db_versions))
        new = list(f.versions[len(db_versions):])
        if not exists:
            plan.changes.append(Change("create", f"create {f.kind} prompt {f.slug}"))
        if new:
            self._need(Permission.AUTHOR_PROMPTS, "add prompt versions")
        for v in new:
            if not v.note.strip() and (exists or v.number > 1):  # only a new prompt's v1 may have none
                raise FileError(f"v{v.number} has no note.", "Say what changed in 'note:'.")
            warnings = self._check_version(f.slug, v, pending)
            plan.changes.append(Change("version", f"add v{v.number}: {v.note.strip() or '(no note)'}"))
            plan.changes += [Change("warning", f"v{v.number}: {w}") for w in warnings]

        db_labels = registry.labels(f.slug) if exists else {}
        for label, number in f.labels.items():
            current = db_labels.get(label)
            if label == LATEST or current == number:
                continue
            if label == PRODUCTION:
                if not exists and self.principal.can(Permission.APPROVE_LABEL_MOVE):
                    plan._labels[label] = number
                    plan.changes.append(Change("label", f"set production to v{number} (new prompt; you are an approver)"))
                    continue
                was = f"v{current}" if current is not None else "not set"
                why = "is " + was + " in the database" if exists else "needs an approver"
                plan.refused.append(
                    f"production -> v{number}: production {why}, and a push never moves it. "
                    f"Request the move: python launch.py prompts label {f.slug} {number} production --reason \"...\""
                )
                continue
            self._need(Permission.AUTHOR_PROMPTS, "move prompt labels")
            was = f" (was v{current})" if current is not None else ""
            plan._labels[label] = number
            plan.changes.append(Change("label", f"move {label} to v{number}{was}"))

        for version, metric_set in f.metric_sets.items():
            stored = self.metric_sets.table.get(f.slug, version) if exists else None
            if stored is not None and list(stored.metrics) == metric_set.to_list():
                continue
            self._need(Permission.EVALUATE, "edit metric sets")
            from evaluation import MetricContext

            metric_set.build(MetricContext(self.metric_sets.settings))  # unknown metrics, bad options: fail now
            plan._metric_sets.append(version)
            plan.changes.append(Change("metric_set", f"save metric set ({_where(version)})"))

        if exists:
            description, tags, _ = registry.details(f.slug)
            if description != f.description.strip() or sorted(tags) != sorted(_clean(f.tags)):
                self._need(Permission.AUTHOR_PROMPTS, "edit prompt details")
                plan._details = True
                plan.changes.append(Change("details", "update description and tags"))

    def _check_version(self, slug: str, v: FileVersion, pending: dict[str, int]) -> list[str]:
        """Compile and lint a new version with the fragment versions it pins; its digest must
        come out as the file's. Returns lint warnings; errors raise ``FileError``."""
        store = self.registry.store
        deferred = False
        for ref, pinned in v.spec.fragments.items():
            fragment = split_ref(ref)[0]
            have = store.version_count(fragment) if store.exists(fragment) else 0
            if pinned <= have:
                continue
            if pinned <= pending.get(fragment, 0):
                deferred = True  # dry run: that fragment version comes with this push
                continue
            raise FileError(
                f"v{v.number} pins {ref} to v{pinned}, which does not exist"
                + (f" (the fragment has {have} version{'s' if have != 1 else ''})." if have else "."),
                f"Push {file_name(fragment)} first, or pull the fragment too.",
            )
        if deferred:
            return ["not checked yet: it pins fragment versions this push creates"]
        try:
            with pinned_fragments(self.registry, v.spec.fragments):
                compiled = self.registry.check(v.spec, slug=slug, lint=True)
        except PromptForgeError as exc:
            raise FileError(f"v{v.number}: {exc.message}", exc.hint) from None
        report = compiled.lint
        if report is not None and report.errors:
            first = report.errors[0]
            raise FileError(
                f"v{v.number}: lint found {len(report.errors)} error{'s' if len(report.errors) > 1 else ''}; "
                f"{first.rule}: {first.message}",
                first.hint,
            )
        if compiled.spec.digest != v.digest:
            raise FileError(
                f"v{v.number}'s fragment pins do not match the fragments it includes.",
                "Pin every included fragment reference to a version (as `prompts pull` writes them).",
            )
        return [f"{w.rule} {w.message}" for w in (report.warnings if report is not None else [])]

    def _need(self, permission: Permission, doing: str) -> None:
        self.principal.require(permission, doing)

    # -- writing -----------------------------------------------------------------------------

    def _apply(self, plan: FilePlan) -> None:
        f = plan.file
        assert f is not None
        registry = self.registry
        plan.applied = True
        exists = registry.store.exists(f.slug)
        current = registry.store.version_count(f.slug) if exists else 0
        for v in f.versions[current:]:
            with pinned_fragments(registry, v.spec.fragments):
                if not exists:
                    result = registry.create_prompt(
                        f.slug, v.spec, description=f.description, tags=f.tags, note=v.note, lint=True
                    )
                    exists = True
                else:
                    result = registry.save(f.slug, v.spec, v.note, base_version=v.number - 1, lint=True)
            if not result.created or result.version.version != v.number or result.version.digest != v.digest:
                raise FileError(
                    f"v{v.number} was stored as v{result.version.version} with another digest.",
                    "Report this as a bug; compare the prompt's history with the file.",
                )
        for label, number in plan._labels.items():
            if label == PRODUCTION:  # only on a prompt this push created, by an approver (see _plan)
                self._need(Permission.APPROVE_LABEL_MOVE, "move the production label")
                registry.move_label(f.slug, number, PRODUCTION, {"via": "prompts push", "new_prompt": True})
            else:
                registry.set_label(f.slug, number, label)
        for version in plan._metric_sets:
            self.metric_sets.save(f.slug, version, f.metric_sets[version])
        if plan._details:
            registry.update_details(f.slug, f.description, f.tags)


def _where(version: int) -> str:
    return "all versions" if version == 0 else f"v{version}"


def _clean(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().lower() for t in tags if t and t.strip()))


def _normalised_digest(spec: dict) -> str | None:
    try:
        return PromptSpec.from_dict(spec).digest
    except PromptForgeError:
        return None


class _PinnedStore:
    """The registry's prompt store, resolving the include references a file pins to the
    pinned fragment versions (so a version saved from a file keeps its pins and its digest)."""

    def __init__(self, store: Any, pins: dict[str, int]) -> None:
        self._store = store
        self._pins = dict(pins)

    def resolve(self, ref: str):
        if ref in self._pins:
            return self._store.version(split_ref(ref)[0], self._pins[ref])
        return self._store.resolve(ref)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@contextmanager
def pinned_fragments(registry: PromptRegistry, pins: dict[str, int]) -> Iterator[None]:
    """While inside, the registry resolves ``pins``' references to their pinned versions."""
    if not pins:
        yield
        return
    original = registry.store
    registry.store = _PinnedStore(original, pins)
    try:
        yield
    finally:
        registry.store = original
