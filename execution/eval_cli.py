"""``launch.py eval``: an evaluation run from a shell, usable as a CI gate for prompts.

Prints progress on stderr and the run's summary on stdout (a table, or JSON with
``--json``). Exit status: 0 when every gate of the metric set passed, 1 when a
gate failed, rows failed or a metric errored on any row (unless
``--allow-metric-errors``), 2 for errors a user can act on (bad prompt, dataset,
metric or provider), 130 when interrupted (the run is resumable with --resume).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

GATE_FAILED = 1
METRIC_ERRORS_FAIL = "FAILED (a metric errored: fix its cause, or pass --allow-metric-errors)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from execution.cli_support import caller_path_or_name

    p = sub.add_parser(
        "eval",
        help="evaluate a prompt version over a dataset; exits 1 when a metric-set gate fails",
        description="Evaluate a prompt version over a dataset with its metric set (or --metrics).",
    )
    p.add_argument("--prompt", help="SLUG, SLUG@LABEL or SLUG@vN (required unless --resume)")
    p.add_argument(
        "--dataset", type=caller_path_or_name,
        help="a stored dataset's name, or a CSV/JSON/JSONL file (scrubbed and stored first)",
    )
    p.add_argument("--metrics", nargs="+", metavar="METRIC", help="only these metrics (default: the prompt's metric set)")
    p.add_argument("--provider", help="offline | openai:MODEL | anthropic:MODEL | compat:MODEL@BASE_URL")
    p.add_argument("--judge", help="the provider that judges DeepEval's judged metrics")
    p.add_argument("--resume", metavar="RUN_ID", help="resume an interrupted or cancelled run")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_allow_metric_errors(p)
    p.set_defaults(handler=cmd_eval)


def add_allow_metric_errors(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-metric-errors", action="store_true",
        help="exit 0 even if a metric errored on some rows (the errors are still printed)",
    )


def print_metric_errors(errored: list[tuple[str, object]], out: TextIO, allowed: bool) -> bool:
    """Prints each (where, metric summary) that errored with its count and first explanation;
    True when any did and that is not allowed (the run then fails)."""
    if not errored:
        return False
    out.write("\nmetric errors" + (" (allowed by --allow-metric-errors):\n" if allowed else ":\n"))
    for where, m in errored:
        out.write(f"  ERROR  {where + ' ' if where else ''}{m.error_note}\n")
    return not allowed


def cmd_eval(args) -> int:
    from config.errors import InputError
    from config.settings import get_settings
    from execution.cli_support import build_pipeline, progress_bar
    from execution.evaluate import Evaluator

    settings = get_settings()
    pipeline = build_pipeline(settings)
    evaluator = Evaluator(pipeline)
    if args.resume:
        run_id = evaluator.find(args.resume).id
    else:
        if not args.prompt or not args.dataset:
            raise InputError("eval needs --prompt and --dataset.", "Or pass --resume RUN_ID.")
        dataset = dataset_name(pipeline, args.dataset)
        run = evaluator.create(
            args.prompt, dataset, provider=args.provider, judge=args.judge, metrics=args.metrics
        )
        run_id = run.id
        print(f"evaluation {run_id} ({run.prompt_ref} × {dataset}, {run.total_rows} rows)", file=sys.stderr)
    try:
        report = evaluator.execute(run_id, progress=progress_bar(sys.stderr))
    except KeyboardInterrupt:
        print(f"\ninterrupted: resume with  python launch.py eval --resume {run_id}", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
        errored = bool(report.metric_errors) and not args.allow_metric_errors
    else:
        errored = print_summary(report, sys.stdout, allow_metric_errors=args.allow_metric_errors)
    return 0 if report.passed and not report.counts.get("error") and not errored else GATE_FAILED


def dataset_name(pipeline, value: str) -> str:
    """A stored dataset's name; a file is imported first (``resolve_dataset``)."""
    from execution.dataset_import import resolve_dataset

    name, report = resolve_dataset(
        value, settings=pipeline.settings, scrubber=pipeline.scrubber, store=pipeline.store, actor=pipeline.principal
    )
    if report is not None:
        print(f"dataset {name}: {report.rows_stored} of {report.rows_total} rows stored (scrubbed)", file=sys.stderr)
        for failure in report.rejected[:10]:
            print(f"  row {failure.row + 1} not stored: {failure.error}", file=sys.stderr)
    return name


def print_summary(report, out: TextIO, allow_metric_errors: bool = False) -> bool:
    """Prints the summary; True when a metric errored and that is not allowed."""
    data = report.to_dict()
    out.write(
        f"evaluation {data['evaluation']}  {data['prompt']} × {data['dataset']}  provider {data['provider']}"
        f"{'  judge ' + data['judge'] if data['judge'] else ''}\n"
        f"status {data['status']}: {data['recorded']}/{data['rows']} rows recorded "
        f"({data['ok']} ok, {data['blocked']} blocked, {data['error']} failed)\n\n"
    )
    header = f"{'metric':32} {'n':>5} {'mean':>9} {'95% CI':>21} {'pass rate':>9} {'flagged':>7}"
    out.write(header + "\n" + "-" * len(header) + "\n")
    for m in report.metrics:
        ci = f"[{_num(m.ci_low)}, {_num(m.ci_high)}]" if m.ci_low is not None else ""
        rate = f"{m.pass_rate:.1%}" if m.pass_rate is not None else ""
        note = ""
        if m.n == 0 and m.errors:
            note = f"  (no scores: {m.errors} errors)"
        elif m.n == 0 and m.unavailable:
            note = "  (no scores: unavailable)"
        elif m.errors:
            note = f"  ({m.errors} errors)"
        out.write(f"{m.name[:32]:32} {m.n:>5} {_num(m.mean):>9} {ci:>21} {rate:>9} {m.flagged:>7}{note}\n")
    cost = data["model_cost_usd"]
    out.write(f"\nmodel cost: {'unknown' if cost is None else f'${cost:.4f}'}")
    if data["judge_cost_usd"] is not None:
        out.write(f", judge cost: ${data['judge_cost_usd']:.4f}")
    out.write("\n")
    gates = report.gates
    if gates:
        out.write("\ngates:\n")
        for g in gates:
            verdict = {True: "PASS", False: "FAIL", None: "n/a "}[g.passed]
            actual = _num(g.actual) if g.actual is not None else "-"
            out.write(f"  {verdict}  {g.metric} {g.gate} {g.limit:g} (actual {actual}){'  ' + g.note if g.note else ''}\n")
    errored = print_metric_errors([("", m) for m in report.metric_errors], out, allow_metric_errors)
    if errored:
        out.write(f"\n{METRIC_ERRORS_FAIL}\n")
    else:
        out.write(f"\n{'PASSED' if report.passed else 'FAILED'}\n")
    return errored


def _num(value) -> str:
    return "-" if value is None else f"{value:.4g}"
