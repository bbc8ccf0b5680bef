"""``python launch.py export`` and ``python launch.py verify-export``: the compliance export from a shell.

    export --from DATE --to DATE [--prompt SLUG ...] [--version SLUG@vN ...] [--queue NAME ...]
           [--reviewer NAME ...] [--flag F ...] --format csv|jsonl|pdf [--format ...] [--appendix]
           --out DIR [--force] [--json]
                        one file per dataset and format, the PDF report, manifest.json (signed
                        when a key is configured); an audit event; progress on stderr
    verify-export DIR   every file's size and SHA-256 against the manifest, files added or
                        removed, the signature; exit 0 intact, 1 not

``reports.export`` and ``reports.manifest`` do the work, with their permission checks; the
command line acts as ``security.identity.cli.cli_principal``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import date
from typing import TextIO

from config.errors import InputError

_VERSION = re.compile(r"^(?P<slug>.+)@v(?P<number>\d+)$")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from execution.cli_support import caller_path
    from reports.export import FORMATS
    from storage.run_filter import FLAGS

    e = sub.add_parser(
        "export", help="export a period's runs, reviews, approvals and audit events (CSV, JSON lines, PDF)",
        description=(
            "Everything that happened in a period, one file per dataset and format, with a manifest of "
            "their SHA-256 hashes (signed when a key is configured). Text is checked for personal data "
            "before it is written: a finding stops the export and nothing is kept."
        ),
    )
    e.add_argument("--from", dest="first", required=True, type=_day, metavar="DATE", help="first day, YYYY-MM-DD (UTC)")
    e.add_argument("--to", dest="last", required=True, type=_day, metavar="DATE", help="last day, included (UTC)")
    e.add_argument("--prompt", action="append", default=[], metavar="SLUG", help="only this prompt (repeatable)")
    e.add_argument("--version", action="append", default=[], metavar="SLUG@vN", help="only this version (repeatable)")
    e.add_argument("--queue", action="append", default=[], metavar="NAME", help="only runs in this review queue (repeatable)")
    e.add_argument("--reviewer", action="append", default=[], metavar="NAME",
                   help="only runs this reviewer annotated, e.g. user:ann or ann (repeatable)")
    e.add_argument("--flag", action="append", default=[], choices=FLAGS, help="only runs flagged so (repeatable)")
    e.add_argument("--format", dest="formats", action="append", required=True, choices=FORMATS,
                   help="csv (formula-safe cells), jsonl, pdf (repeatable)")
    e.add_argument("--appendix", action="store_true", help="PDF: add a page block per run")
    e.add_argument("--out", required=True, type=caller_path, metavar="DIR", help="a new or empty folder")
    e.add_argument("--force", action="store_true", help="replace an earlier export in DIR (only its own files)")
    e.add_argument("--json", action="store_true", help="print the manifest as JSON")
    e.set_defaults(handler=cmd_export)

    v = sub.add_parser(
        "verify-export", help="check an export folder against its manifest (exit 0 intact, 1 not)",
        description="Check every file of an export against its manifest (size, SHA-256), files added or "
        "removed, and the manifest's signature. Exit 0 when intact, 1 when not.",
    )
    v.add_argument("folder", type=caller_path, metavar="DIR", help="the export's folder")
    v.set_defaults(handler=cmd_verify_export)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-03-31") from None


# -- export ----------------------------------------------------------------------------------------


def cmd_export(args) -> int:
    from config.offline import keep_torch_out

    keep_torch_out()  # this process checks text with spaCy and Presidio only: 200 MB, not 630
    from config.settings import get_settings
    from reports.export import ComplianceExport
    from security.identity.cli import cli_principal
    from storage.run_filter import RunFilter

    settings = get_settings()
    export = ComplianceExport(settings, cli_principal(settings))
    versions = [parse_version(v) for v in args.version]
    queues: list[str] = []
    reviewers: list[str] = list(args.reviewer)
    if args.queue or any(":" not in r for r in reviewers):
        options = export.scope_options()
        queues = resolve_queues(options["queues"], args.queue)
        reviewers = resolve_reviewers(options["reviewers"], reviewers)
    scope = RunFilter.for_days(
        args.first, args.last, prompts=tuple(args.prompt), versions=tuple(versions), queues=tuple(queues),
        reviewers=tuple(reviewers), flags=tuple(args.flag),
    )
    result = export.run(
        scope, args.out, args.formats, force=args.force, pdf_appendix=args.appendix, progress=progress_line(sys.stderr)
    )
    if args.json:
        print(json.dumps(result.manifest, indent=2, ensure_ascii=False))
    else:
        print_summary(result, sys.stdout)
    return 0


def parse_version(text: str) -> tuple[str, str]:
    match = _VERSION.match(text.strip())
    if not match:
        raise InputError(f"--version {text!r} is not SLUG@vN.", "Write it like loan-summary@v2.")
    return match["slug"], f"v{int(match['number'])}"


def resolve_queues(known: list[tuple[str, str]], asked: list[str]) -> list[str]:
    """Queue names (or ids) to ids; an unknown one is an error that lists the queues."""
    by_name = {name: qid for qid, name in known} | {qid: qid for qid, _ in known}
    ids = []
    for name in asked:
        if name not in by_name:
            names = ", ".join(sorted(n for _, n in known)) or "none yet"
            raise InputError(f"No review queue named {name!r}.", f"Queues: {names}.")
        ids.append(by_name[name])
    return ids


def resolve_reviewers(known: list[str], asked: list[str]) -> list[str]:
    """Reviewer names as stored (``user:ann``); a bare name matches every kind (``user:``,
    ``sso:``...). A name nobody annotated as is kept (it selects nothing)."""
    out: list[str] = []
    for name in asked:
        matches = [k for k in known if k.split(":", 1)[-1] == name] if ":" not in name else []
        out += matches or [name]
    return list(dict.fromkeys(out))


def print_summary(result, out: TextIO) -> None:
    manifest = result.manifest
    if result.empty:
        out.write("the scope matched nothing: an empty export (every dataset has 0 rows)\n")
    width = max(len(f["name"]) for f in result.files) if result.files else 10
    out.write(f"{'file':<{width}}  {'rows':>9}  {'bytes':>12}  sha256\n")
    for f in result.files:
        rows = "" if f["rows"] is None else f"{f['rows']:,}"
        out.write(f"{f['name']:<{width}}  {rows:>9}  {f['bytes']:>12,}  {f['sha256']}\n")
    chain = manifest["audit_chain"]
    out.write(f"audit chain: {chain['verdict']}\n")
    signed = "signed (" + manifest["signature"]["key"] + ")" if manifest["signature"] else "not signed (no key configured)"
    out.write(f"manifest: {result.folder / 'manifest.json'}, {signed}; {result.seconds:.1f} s\n")


def progress_line(stream: TextIO, every: float = 0.25):
    """``progress(done, total, what)`` printing one updating line, ``[####------] 12,000/80,000 (runs)``,
    ended when ``what`` is ``done``."""
    last, width = [0.0], [0]

    def update(done: int, total: int, what: str) -> None:
        now = time.perf_counter()
        final = what == "done"
        if not final and now - last[0] < every:
            return
        last[0] = now
        filled = int(30 * done / total) if total else 30
        line = f"[{'#' * filled}{'-' * (30 - filled)}] {done:,}/{total:,} ({what})"
        stream.write("\r" + line.ljust(width[0]))
        width[0] = max(width[0], len(line))
        if final:
            stream.write("\n")
        stream.flush()

    return update


# -- verify-export ---------------------------------------------------------------------------------


def cmd_verify_export(args) -> int:
    from config.settings import get_settings
    from reports.manifest import verify_export

    check = verify_export(args.folder, get_settings())
    for line in check.lines():
        print(line)
    return 0 if check.ok else 1

