#!/usr/bin/env python
"""PromptForge: the one entry point.

    python launch.py                       serve the app (http://localhost:8501)
    python launch.py check [FILE]          scrub + screen JSON lines, no database
    python launch.py run ...               one governed run
    python launch.py batch ...             a governed run per dataset row
    python launch.py eval ...              an evaluation run (exits 1 when a gate fails)
    python launch.py compare ...           an A/B comparison (exits 1 when a guard metric regresses)
    python launch.py seed-demo [--runs N]  create the demo workspace (and a year of N runs)
    python launch.py prompts ...           list, show, diff, lint, label, pull and push prompts
    python launch.py queues ...            list review queues; show one's progress and agreement
    python launch.py annotations export    a review queue's annotations as CSV or JSON lines
    python launch.py export ...            a compliance export of a period (CSV, JSON lines, PDF; manifest)
    python launch.py verify-export DIR     check an export against its manifest (exit 1 when not intact)
    python launch.py reindex               rebuild the run tables the pages query from TruLens's events
    python launch.py trulens [--port P]    TruLens's own dashboard on the same database (port 8502)
    python launch.py bench NAME            print benchmark figures (pipeline)

Every subcommand drives the same services as the app. Errors a user can act on
print one line and exit non-zero. File and folder arguments are the caller's: a relative
path is resolved against the folder the command was run from, although the launcher then
runs in the project folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))


def _cwd() -> Path | None:
    try:
        return Path.cwd()
    except OSError:  # the folder was removed under us
        return None


# where the caller ran the command, recorded before ``__main__`` changes into ROOT
CALLER_CWD = _cwd()

from config.offline import apply_offline_env  # noqa: E402

apply_offline_env()

from config.errors import PromptForgeError  # noqa: E402
from config.settings import get_settings  # noqa: E402


def main(argv: list[str] | None = None, *, cwd: Path | None = None) -> int:
    """Run one subcommand. ``cwd``: the folder relative paths are resolved against (default:
    the current folder; ``__main__`` passes the caller's, recorded before it changed folder)."""
    from config.logs import configure_logging
    from execution.cli_support import set_caller_cwd

    set_caller_cwd(cwd)
    args = _parser().parse_args(argv)
    configure_logging(get_settings().log_level)
    try:
        return args.handler(args)
    except PromptForgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: rows already recorded are kept", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    from execution.cli_support import caller_path

    parser = argparse.ArgumentParser(prog="launch.py", description="PromptForge: a governed prompt workbench.")
    parser.set_defaults(handler=cmd_serve, host="localhost", port=8501, no_demo=False, single_user=False)
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="serve the app (the default)")
    for p in (parser, serve):
        p.add_argument("--host", default="localhost", help="address to bind (default localhost)")
        p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
        p.add_argument("--no-demo", action="store_true", help="do not create the demo workspace on first start")
        p.add_argument(
            "--single-user", action="store_true",
            help="no login: a local session with every role, marked single-user in every audit event",
        )
    serve.set_defaults(handler=cmd_serve)

    check = sub.add_parser("check", help="scrub PII and screen for injection; reads JSON lines {\"text\": ...}")
    check.add_argument("file", nargs="?", type=caller_path, help="JSON lines file (default: stdin)")
    check.set_defaults(handler=cmd_check)

    for name, helptext in (("run", "one governed run"), ("batch", "a governed run per dataset row")):
        p = sub.add_parser(name, help=helptext)
        src = p.add_mutually_exclusive_group(required=True)
        src.add_argument("--prompt", help="registered prompt: SLUG, SLUG@LABEL or SLUG@vN")
        src.add_argument("--template-file", type=caller_path, help="a Jinja2 template file")
        p.add_argument("--provider", help="offline | openai:MODEL | anthropic:MODEL | compat:MODEL@BASE_URL")
        if name == "run":
            p.add_argument("--var", action="append", default=[], metavar="K=V", help="a variable value (repeatable)")
            p.set_defaults(handler=cmd_run)
        else:
            p.add_argument("--dataset", type=caller_path, required=True, help="CSV or JSONL of variable rows")
            p.add_argument("--concurrency", type=int, help="parallel calls for remote providers")
            p.set_defaults(handler=cmd_batch)

    seed = sub.add_parser("seed-demo", help="create the demo workspace (if the database is empty)")
    seed.add_argument("--force", action="store_true", help="seed even if prompts exist")
    seed.add_argument(
        "--runs", type=int, default=0, metavar="N",
        help="also add N runs of a year's history (label moves, reviews, audit events) to the demo workspace",
    )
    seed.set_defaults(handler=cmd_seed_demo)

    from security.audit_cli import add_parser as add_verify_audit

    add_verify_audit(sub)

    from execution.eval_cli import add_parser as add_eval

    add_eval(sub)

    from execution.compare_cli import add_parser as add_compare

    add_compare(sub)

    from prompts.cli import add_parser as add_prompts

    add_prompts(sub)

    from review.cli import add_parser as add_review

    add_review(sub)

    from execution.trulens_cli import add_parser as add_trulens

    add_trulens(sub)

    from reports.cli import add_parser as add_export

    add_export(sub)

    from security.identity.users_cli import add_parser as add_users

    add_users(sub)

    from security.identity.tokens_cli import add_parser as add_tokens

    add_tokens(sub)

    from api.cli import add_parser as add_api

    add_api(sub)

    from storage.reindex_cli import add_parser as add_reindex

    add_reindex(sub)

    bench = sub.add_parser("bench", help="run a benchmark and print its figures")
    bench.add_argument("name", choices=["pipeline", "audit", "security", "eval", "authoring", "compare", "annotation", "scale", "api"], help="which benchmark")
    bench.add_argument("--n", type=int, help="number of prompts (pipeline: 500), rows (eval: 1000) or runs (scale: 100000, api: 160)")
    bench.set_defaults(handler=cmd_bench)
    return parser


# --- commands ---------------------------------------------------------------------


def cmd_serve(args) -> int:
    from execution.serve import serve

    settings = get_settings()
    if args.single_user:
        settings = settings.model_copy(update={"single_user": True})
    return serve(settings, host=args.host, port=args.port, demo=not args.no_demo)


def cmd_check(args) -> int:
    from execution.check import check_stream

    stream = open(args.file, encoding="utf-8") if args.file else sys.stdin
    with stream:
        return check_stream(get_settings(), stream, sys.stdout)


def cmd_run(args) -> int:
    from execution.cli_support import build_pipeline, load_template, parse_vars

    settings = get_settings()
    pipeline = build_pipeline(settings)
    template, ref = load_template(settings, pipeline, args.prompt, args.template_file)
    result = pipeline.run(template, parse_vars(args.var), prompt=ref, provider=args.provider)
    print(json.dumps(result.to_dict(), indent=2))
    return {"ok": 0, "blocked": 3}.get(result.status, 1)


def cmd_batch(args) -> int:
    from execution.cli_support import build_pipeline, load_template, progress_bar
    from execution.datasets import load_rows

    settings = get_settings()
    pipeline = build_pipeline(settings)
    template, ref = load_template(settings, pipeline, args.prompt, args.template_file)
    rows, bad_rows = load_rows(args.dataset)
    summary = pipeline.run_batch(
        template, rows, prompt=ref, provider=args.provider, concurrency=args.concurrency,
        progress=progress_bar(sys.stderr),
    )
    out = summary.to_dict()
    out["skipped_rows"] = [{"row": r.row, "error": r.error} for r in bad_rows] + out["skipped_rows"]
    out["skipped"] += len(bad_rows)
    out["rows"] += len(bad_rows)
    print(json.dumps(out, indent=2))
    return 0 if not out["error"] else 1


def cmd_seed_demo(args) -> int:
    from execution.cli_support import progress_bar
    from execution.demo import seed_demo

    bar = None

    def progress(done: int, total: int) -> None:  # the rate counts from the first run written
        nonlocal bar
        bar = bar or progress_bar(sys.stderr, unit="runs")
        bar(done, total)

    created = seed_demo(
        get_settings(), force=args.force, log=lambda m: print(m, file=sys.stderr), runs=args.runs, progress=progress
    )
    print(json.dumps(created, indent=2))
    return 0


def cmd_bench(args) -> int:
    from bench import run_benchmark

    return run_benchmark(args.name, get_settings(), **({"n": args.n} if args.n else {}))


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main(cwd=CALLER_CWD))
