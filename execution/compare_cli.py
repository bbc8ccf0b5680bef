"""``launch.py compare``: an A/B comparison from a shell, usable as a CI gate.

Prints progress on stderr and the verdict table on stdout (or JSON with ``--json``).
Exit status: 1 when B is significantly worse than A on a guard metric (after Holm's
correction) or a metric errored on any row of either side (unless
``--allow-metric-errors``), 0 otherwise; 2 for errors a user can act on; 130 when interrupted (resume
with ``--resume ID``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

GUARD_REGRESSED = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    from execution.cli_support import caller_path_or_name
    from execution.eval_cli import add_allow_metric_errors

    p = sub.add_parser(
        "compare",
        help="compare two prompt versions (or one on two providers); exits 1 when a guard metric regresses",
        description="Run A and B over one dataset, paired row by row, and print the statistics and the verdict.",
    )
    p.add_argument("--a", help="side A: SLUG@vN or SLUG@LABEL (the baseline)")
    p.add_argument("--b", help="side B: SLUG@vN or SLUG@LABEL (default: A's version, with --b-provider)")
    p.add_argument(
        "--dataset", type=caller_path_or_name,
        help="a stored dataset's name, or a CSV/JSON/JSONL file (scrubbed and stored first)",
    )
    p.add_argument("--a-provider", help="A's provider (default: A's version default, then the configured one)")
    p.add_argument("--b-provider", help="B's provider: a model migration when B is A's version")
    p.add_argument("--metrics", nargs="+", metavar="METRIC", help="only these metrics (default: A's metric set)")
    p.add_argument("--guard", nargs="+", default=[], metavar="METRIC", help="metrics B must not be worse on")
    p.add_argument("--repeats", type=int, default=1, help="runs per row and side, for models that are not deterministic")
    p.add_argument("--no-reuse", action="store_true", help="run both sides again even if matching runs exist")
    p.add_argument("--resume", metavar="ID", help="resume an interrupted or cancelled comparison")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    add_allow_metric_errors(p)
    p.set_defaults(handler=cmd_compare)


def cmd_compare(args) -> int:
    from config.errors import InputError
    from config.settings import get_settings
    from execution.cli_support import build_pipeline, progress_bar
    from execution.compare import Comparisons
    from execution.eval_cli import METRIC_ERRORS_FAIL, dataset_name, print_metric_errors

    pipeline = build_pipeline(get_settings())
    comparisons = Comparisons(pipeline)
    if args.resume:
        row = comparisons.find(args.resume)
    else:
        if not args.a or not args.dataset:
            raise InputError("compare needs --a and --dataset.", "Or pass --resume ID.")
        if not args.b and not args.b_provider:
            raise InputError("B is missing.", "Give --b SLUG@V2, or --b-provider for a model migration.")
        row = comparisons.create(
            args.a, dataset_name(pipeline, args.dataset), prompt_b=args.b, provider_a=args.a_provider,
            provider_b=args.b_provider, metrics=args.metrics, guards=args.guard, repeats=args.repeats,
            reuse=not args.no_reuse,
        )
        reused = f", {len(row.reused)} run(s) reused" if row.reused else ""
        print(f"comparison {row.id} ({row.title}, {row.total_rows} rows × {row.repeats}{reused})", file=sys.stderr)
    try:
        row = comparisons.execute(row.id, progress=progress_bar(sys.stderr))
    except KeyboardInterrupt:
        print(f"\ninterrupted: resume with  python launch.py compare --resume {row.id}", file=sys.stderr)
        return 130
    if row.status != "done":
        print(f"comparison {row.id} is {row.status}; resume with --resume {row.id}", file=sys.stderr)
        return GUARD_REGRESSED
    stats = comparisons.statistics(row.id)
    errors = comparisons.metric_errors(row)
    if args.json:
        found = [{"side": where, "metric": m.name, "errors": m.errors, "first_error": m.first_error} for where, m in errors]
        print(json.dumps({"comparison": row.id, "title": row.title, **stats.to_dict(), "metric_errors": found},
                         indent=2, default=str))
        errored = bool(errors) and not args.allow_metric_errors
    else:
        print_verdict(row, stats, sys.stdout)
        errored = print_metric_errors(errors, sys.stdout, args.allow_metric_errors)
        if errored:
            print(f"\n{METRIC_ERRORS_FAIL}")
    return GUARD_REGRESSED if stats.guard_regressions or errored else 0


def print_verdict(row, stats, out: TextIO) -> None:
    from execution.compare import Side

    a, b = Side.from_dict(row.side_a), Side.from_dict(row.side_b)
    out.write(f"comparison {row.id}  {row.slug}  over {row.dataset} ({row.total_rows} rows × {row.repeats})\n")
    out.write(f"A: {a.display}\nB: {b.display}\n\n")
    header = f"{'metric':24} {'n':>5} {'A':>9} {'B':>9} {'B − A':>9} {'95% CI':>21} {'test':>9} {'p (Holm)':>9}  verdict"
    out.write(header + "\n" + "-" * len(header) + "\n")
    for m in stats.metrics:
        ci = f"[{_num(m.difference.low)}, {_num(m.difference.high)}]" if m.difference.low is not None else ""
        test = (m.test.name or "")[:9] if m.test else ""
        p = _p(m.test.p_holm) if m.test else "-"
        guard = " (guard)" if m.guard else ""
        out.write(
            f"{m.name[:24]:24} {m.n_pairs:>5} {_num(m.mean_a.value):>9} {_num(m.mean_b.value):>9} "
            f"{_num(m.difference.value):>9} {ci:>21} {test:>9} {p:>9}  {m.direction}{guard}\n"
        )
    out.write("\n" + stats.verdict() + "\n")
    if stats.guard_regressions:
        out.write("\nGUARD REGRESSED: " + ", ".join(stats.guard_regressions) + "\n")


def _num(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _p(value) -> str:
    return "-" if value is None else ("<0.001" if value < 0.001 else f"{value:.3f}")
