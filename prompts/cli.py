"""``python launch.py prompts ...``: the prompt registry from a shell.

    prompts list [--query TEXT] [--fragments] [--json]
    prompts show REF [--json]                 REF: SLUG, SLUG@LABEL or SLUG@vN
    prompts diff REF_A REF_B                  word-level, part by part
    prompts lint (REF | --file FILE) [--json] [--no-pii]   exit 1 when lint finds errors
    prompts label SLUG VERSION LABEL [--reason TEXT]      production: a request, never a move
    prompts pull (SLUG... | --all) [--out DIR]            one YAML file per prompt
    prompts push FILE_OR_DIR... [--dry-run]               import YAML files (see prompts.yaml_sync)

This module parses and prints; the registry, label moves and ``prompts.yaml_sync`` do the work.
The command line acts as ``security.identity.cli.cli_principal``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

LINT_ERRORS = 1
PUSH_ERRORS = 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    from execution.cli_support import caller_path

    p = sub.add_parser(
        "prompts",
        help="list, show, diff, lint, label, pull and push prompts",
        description="The prompt registry from a shell: read it, lint, move labels, sync YAML files with git.",
    )
    commands = p.add_subparsers(dest="prompts_command", metavar="COMMAND", required=True)

    ls = commands.add_parser("list", help="prompts with their versions, labels and description")
    ls.add_argument("--query", default="", help="only prompts whose slug, description, tags or text hold every word")
    ls.add_argument("--fragments", action="store_true", help="list fragments instead of prompts")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=cmd_list)

    show = commands.add_parser("show", help="one version: metadata, variables, defaults and source")
    show.add_argument("ref", metavar="REF", help="SLUG, SLUG@LABEL or SLUG@vN")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=cmd_show)

    diff = commands.add_parser("diff", help="word-level diff of two versions, part by part")
    diff.add_argument("ref_a", metavar="REF_A")
    diff.add_argument("ref_b", metavar="REF_B")
    diff.set_defaults(handler=cmd_diff)

    lint = commands.add_parser("lint", help="lint a version or a file; exits 1 when there are errors")
    target = lint.add_mutually_exclusive_group(required=True)
    target.add_argument("ref", metavar="REF", nargs="?", help="SLUG, SLUG@LABEL or SLUG@vN")
    target.add_argument(
        "--file", type=caller_path, metavar="FILE",
        help="a template (.j2, .jinja, .txt), a spec mapping or a prompt file (.yaml, .yml, .json)",
    )
    lint.add_argument("--json", action="store_true", help="print the report as JSON")
    lint.add_argument("--no-pii", action="store_true", help="skip the PII rule (does not load the PII model)")
    lint.set_defaults(handler=cmd_lint)

    label = commands.add_parser(
        "label", help="move a label; production becomes a request an approver decides in the Prompt Studio"
    )
    label.add_argument("slug", metavar="SLUG")
    label.add_argument("version", metavar="VERSION", help="a version number (3 or v3)")
    label.add_argument("label", metavar="LABEL", help="e.g. staging; production is requested, never moved here")
    label.add_argument("--reason", default="", help="why (required for production: approvers read it)")
    label.set_defaults(handler=cmd_label)

    pull = commands.add_parser("pull", help="write one YAML file per prompt (for git)")
    pull.add_argument("slugs", metavar="SLUG", nargs="*", help="prompts (fragments: fragment:NAME)")
    pull.add_argument("--all", action="store_true", help="every prompt and fragment")
    pull.add_argument("--out", type=caller_path, default=".", metavar="DIR", help="folder to write to (default: .)")
    pull.set_defaults(handler=cmd_pull)

    push = commands.add_parser("push", help="import YAML files; never rewrites history or moves production")
    push.add_argument("paths", metavar="FILE_OR_DIR", nargs="+", type=caller_path, help="files, or folders of *.yaml")
    push.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    push.set_defaults(handler=cmd_push)


# -- services ----------------------------------------------------------------------------


@dataclass
class _Services:
    settings: Any
    store: Any
    audit: Any
    registry: Any

    @property
    def principal(self):
        return self.registry.principal

    def metric_sets(self):
        from execution.metric_sets import MetricSets

        return MetricSets(self.store, self.principal, self.audit)


def _services(scrubber: bool = False) -> _Services:
    """The registry as the command line's principal, with the audit log (and the PII scrubber,
    for lint's PII rule)."""
    from config.settings import get_settings
    from execution.templates import RenderLimits
    from prompts.registry import PromptRegistry
    from security.identity.cli import cli_principal
    from storage.audit import audit_log
    from storage.trulens_store import open_store

    settings = get_settings()
    principal = cli_principal(settings)
    store = open_store(settings)
    audit = audit_log(settings)
    pii = None
    if scrubber:
        from security.pii import get_scrubber

        pii = get_scrubber(settings)
    registry = PromptRegistry(
        store, principal, audit, limits=RenderLimits.from_settings(settings), scrubber=pii, settings=settings
    )
    return _Services(settings, store, audit, registry)


# -- list, show, diff ----------------------------------------------------------------------


def cmd_list(args, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    registry = _services().registry
    prompts = registry.list_prompts(args.query, fragments=True if args.fragments else False)
    if args.json:
        data = [
            {"slug": p.slug, "kind": p.kind, "versions": p.versions, "labels": dict(sorted(p.labels.items())),
             "description": p.description, "tags": list(p.tags)}
            for p in prompts
        ]
        out.write(json.dumps(data, indent=2) + "\n")
        return 0
    if not prompts:
        what = "fragments" if args.fragments else "prompts"
        out.write(f"no {what}" + (f" match {args.query!r}" if args.query else "") + "\n")
        return 0
    rows = [
        (p.slug, p.versions, ", ".join(f"{k}=v{v}" for k, v in sorted(p.labels.items(), key=_label_order)),
         _one_line(p.description))
        for p in prompts
    ]
    width = max(len("slug"), *(len(r[0]) for r in rows))
    label_width = max(len("labels"), *(len(r[2]) for r in rows))
    out.write(f"{'slug':{width}}  {'versions':>8}  {'labels':{label_width}}  description\n")
    for slug, versions, labels, description in rows:
        out.write(f"{slug:{width}}  {versions:>8}  {labels:{label_width}}  {description}".rstrip() + "\n")
    return 0


def _label_order(item: tuple[str, int]) -> tuple[int, str]:
    return ({"production": 0, "latest": 2}.get(item[0], 1), item[0])


def _one_line(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cmd_show(args, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    registry = _services().registry
    version = registry.resolve(args.ref)
    labels = sorted(label for label, n in registry.labels(version.slug).items() if n == version.version)
    spec = version.spec
    data = {
        "ref": version.ref,
        "slug": version.slug,
        "version": version.version,
        "labels": labels,
        "kind": version.kind,
        "author": version.created_by,
        "created": _when(version.created_at),
        "note": version.change_note,
        "sha256": version.digest,
        "description": version.description,
        "fragments": dict(sorted((spec.get("fragments") or {}).items())),
        "variables": spec.get("variables") or [],
        "defaults": spec.get("defaults") or {},
        "response_format": spec.get("response_format"),
        "spec": spec,
    }
    if args.json:
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    out.write(f"{version.ref}" + (f"  ({', '.join(labels)})" if labels else "") + f"  {version.kind}\n")
    for key, value in (
        ("description", _one_line(version.description, 200)), ("author", version.created_by),
        ("created", data["created"]), ("note", version.change_note), ("sha256", version.digest),
    ):
        out.write(f"{key:12} {value or '-'}\n")
    fragments = data["fragments"]
    out.write(f"{'fragments':12} " + (", ".join(f"{ref} -> v{n}" for ref, n in fragments.items()) or "-") + "\n")
    variables = data["variables"]
    out.write(f"{'variables':12} -\n" if not variables else "variables\n")
    for v in variables:
        extra = []
        if v.get("choices"):
            extra.append("choices: " + ", ".join(map(str, v["choices"])))
        if v.get("max_chars"):
            extra.append(f"max {v['max_chars']} chars")
        line = f"  {v.get('name')}: {v.get('type', 'short_text')}"
        if v.get("description"):
            line += f"  {v['description']}"
        out.write(line + (f"  ({'; '.join(extra)})" if extra else "") + "\n")
    defaults = data["defaults"]
    out.write(f"{'defaults':12} " + (", ".join(f"{k}={defaults[k]}" for k in sorted(defaults)) or "-") + "\n")
    response = data["response_format"]
    out.write(f"{'response':12} " + (json.dumps(response, sort_keys=True) if response is not None else "-") + "\n")
    out.write("source:\n")
    if version.kind == "chat":
        for message in spec.get("messages") or []:
            out.write(f"[{message.get('role')}]\n{message.get('content')}\n")
    else:
        source = spec.get("template") or ""
        out.write(source + ("" if source.endswith("\n") else "\n"))
    return 0


def _when(value) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat(sep=" ") + " UTC"


def cmd_diff(args, out: TextIO | None = None) -> int:
    from prompts.diff import spec_diff, unified_text

    out = out or sys.stdout
    registry = _services().registry
    a, b = registry.resolve(args.ref_a), registry.resolve(args.ref_b)
    out.write(f"--- {a.ref}  sha256 {a.digest[:12]}\n+++ {b.ref}  sha256 {b.digest[:12]}\n")
    changed = [d for d in spec_diff(a.spec, b.spec) if d.changed]
    if not changed:
        out.write("no differences\n")
        return 0
    for field in changed:
        text = unified_text(field.ops)
        out.write(f"@@ {field.label} @@\n{text}" + ("" if text.endswith("\n") else "\n"))
    return 0


# -- lint ----------------------------------------------------------------------------------


def cmd_lint(args, out: TextIO | None = None) -> int:
    from config.errors import TemplateError
    from prompts.spec import PromptSpec
    from prompts.yaml_sync import pinned_fragments

    out = out or sys.stdout
    services = _services(scrubber=not args.no_pii)
    registry = services.registry
    if args.ref:
        version = registry.resolve(args.ref)
        name, slug, spec = version.ref, version.slug, PromptSpec.from_dict(version.spec)
    else:
        name, slug, spec = _spec_from_file(args.file)
        if spec.fragments and not _pins_exist(registry, spec.fragments):
            spec = spec.with_fragments({})  # pinned versions not in this database: resolve includes as now
    try:
        with pinned_fragments(registry, spec.fragments):
            compiled = registry.check(spec, slug=slug, lint=True)
    except TemplateError as exc:  # does not compile: one PF000 error
        from prompts.lint.registry import COMPILE_RULE, ERROR, Finding, LintReport

        report = LintReport(findings=[Finding(COMPILE_RULE, ERROR, exc.message, exc.hint, "template")])
    else:
        report = compiled.lint
    if args.json:
        out.write(json.dumps({"prompt": name, **report.to_dict()}, indent=2, ensure_ascii=False) + "\n")
    else:
        for f in report.findings:
            where = f"{f.where}:{f.line}" if f.line else f.where
            out.write(f"{f.rule} {f.severity} {where} {f.message}" + (f" ({f.hint})" if f.hint else "") + "\n")
        errors, warnings = len(report.errors), len(report.warnings)
        out.write(
            f"{name}: {errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
            + ("" if report.findings else " (clean)") + "\n"
        )
        for rule, why in sorted(report.skipped.items()):
            out.write(f"  skipped {rule}: {why}\n")
    return LINT_ERRORS if report.errors else 0


def _spec_from_file(path: Path):
    """(name, slug or None, spec) from a template, a spec mapping or a prompt file (its newest version)."""
    from config.errors import InputError, PromptForgeError
    from prompts.spec import PromptSpec
    from prompts.yaml_sync import FileError, load_yaml, parse_prompt_file, read_utf8

    path = Path(path)
    text = read_utf8(path, InputError)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        return str(path), None, PromptSpec(template=text)
    data = load_yaml(text, str(path))
    if isinstance(data, dict) and "versions" in data:
        try:
            prompt = parse_prompt_file(data, path)
        except PromptForgeError as exc:
            raise FileError(f"{path}: {exc.message}", exc.hint) from None
        newest = prompt.versions[-1]
        return f"{path} ({prompt.slug} v{newest.number})", prompt.slug, newest.spec
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a prompt spec.", "Write a mapping with a template (or messages) and variables.")
    return str(path), None, PromptSpec.from_dict(data)


def _pins_exist(registry, pins: dict[str, int]) -> bool:
    from storage.prompts import split_ref

    store = registry.store
    for ref, number in pins.items():
        slug = split_ref(ref)[0]
        if not store.exists(slug) or store.version_count(slug) < number:
            return False
    return True


# -- label -----------------------------------------------------------------------------------


def cmd_label(args, out: TextIO | None = None) -> int:
    from prompts.label_moves import LabelMoves
    from prompts.registry import PRODUCTION
    from storage.prompts import version_number

    out = out or sys.stdout
    services = _services()
    registry = services.registry
    number = version_number(args.version)
    if args.label == PRODUCTION:
        request = LabelMoves(registry, services.audit).request(args.slug, number, args.reason)
        out.write(
            f"requested: {args.slug} production -> v{request.version} (request {request.id[:12]}). "
            "Production has not moved: an approver (not you) must approve the request in the Prompt Studio.\n"
        )
        return 0
    before = registry.labels(args.slug).get(args.label)
    moved = registry.set_label(args.slug, number, args.label)
    was = "" if before is None else (" (unchanged)" if before == moved.version else f" (was v{before})")
    out.write(f"{args.slug}: {args.label} -> v{moved.version}{was}\n")
    return 0


# -- pull and push ---------------------------------------------------------------------------


def cmd_pull(args, out: TextIO | None = None) -> int:
    from config.errors import InputError
    from prompts.yaml_sync import pull

    out = out or sys.stdout
    if args.all == bool(args.slugs):
        raise InputError("Name the prompts to pull, or pass --all.", "e.g. prompts pull faq fragment:tone --out prompts/")
    services = _services()
    results = pull(services.registry, services.metric_sets(), None if args.all else args.slugs, args.out)
    for r in results:
        out.write(f"{'wrote' if r.changed else 'unchanged'} {_shown(r.path)} ({r.slug}, {r.versions} version{'s' if r.versions != 1 else ''})\n")
    out.write(f"{len(results)} file{'s' if len(results) != 1 else ''} in {_shown(args.out)}, "
              f"{sum(r.changed for r in results)} changed\n")
    return 0


def cmd_push(args, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from prompts.yaml_sync import Pusher

    out, err = out or sys.stdout, err or sys.stderr
    services = _services()
    result = Pusher(services.registry, services.metric_sets()).push(args.paths, dry_run=args.dry_run)
    if not result.files:
        from config.errors import InputError

        raise InputError("No prompt files found.", "Pass .yaml files, or folders holding them.")
    verb = "would " if result.dry_run else ""
    for plan in result.files:
        head = f"{_shown(plan.path)}" + (f" ({plan.slug})" if plan.slug else "")
        if plan.error is not None:
            err.write(f"error: {head}: {plan.error}\n")
            continue
        if not plan.changed and not plan.refused:
            out.write(f"{head}: up to date ({plan.skipped} version{'s' if plan.skipped != 1 else ''})\n")
            continue
        out.write(f"{head}:" + (f" {plan.skipped} version{'s' if plan.skipped != 1 else ''} already there" if plan.skipped else "") + "\n")
        for change in plan.changes:
            prefix = "  warning: " if change.kind == "warning" else f"  {verb}"
            out.write(prefix + change.text + "\n")
        for refusal in plan.refused:
            out.write(f"  REFUSED {refusal}\n")
    errors = sum(plan.error is not None for plan in result.files)
    changed = sum(plan.error is None and plan.changed for plan in result.files)
    summary = f"{len(result.files)} file{'s' if len(result.files) != 1 else ''}: {changed} {'to change' if result.dry_run else 'changed'}"
    if errors:
        summary += f", {errors} with errors (nothing written from {'them' if errors > 1 else 'it'})"
    if result.dry_run:
        summary += "; dry run: nothing written"
    out.write(summary + "\n")
    return PUSH_ERRORS if errors else 0


def _shown(path: Path) -> str:
    """A path as the caller would write it: relative to their folder when inside it."""
    from execution.cli_support import caller_cwd

    path = Path(path)
    try:
        return str(path.resolve().relative_to(caller_cwd().resolve())) or "."
    except ValueError:
        return str(path)
