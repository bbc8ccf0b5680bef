"""``python launch.py queues ...`` and ``python launch.py annotations ...``: review queues from a shell.

    queues list [--json]                          one line per queue: rubric, overlap, items, complete, filter
    queues show NAME [--json]                     filter, rubric version, progress per reviewer,
                                                  agreement per rubric item, disputed items
    annotations export --queue NAME --format csv|jsonl [--out FILE]
                                                  every annotation of the queue (superseded ones too)

Reading a queue adds the runs recorded since it was last read (as the app does). This module
parses and prints; ``review.queues``, ``review.annotations`` and ``review.adjudication`` do the
work, with their permission checks. The command line acts as
``security.identity.cli.cli_principal``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

# the fixed columns of an export; then one ``score_<item>`` column per scored rubric item, then comments
EXPORT_COLUMNS = (
    "annotation_id", "record_id", "reviewer", "kind", "rubric", "rubric_version", "created_at",
    "supersedes", "superseded_by", "current",
)
SCORE_PREFIX = "score_"
FORMATS = ("csv", "jsonl")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from execution.cli_support import caller_path

    q = sub.add_parser(
        "queues", help="list review queues, show one with its progress and agreement",
        description="Review queues: which recorded runs reviewers judge, their progress and their agreement.",
    )
    commands = q.add_subparsers(dest="queues_command", metavar="COMMAND", required=True)
    ls = commands.add_parser("list", help="one line per queue: rubric, overlap, items, complete, filter")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=cmd_queues_list)
    show = commands.add_parser("show", help="a queue: filter, rubric, progress per reviewer, agreement, disputed items")
    show.add_argument("name", metavar="NAME", help="the queue's name (or id)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=cmd_queues_show)

    a = sub.add_parser(
        "annotations", help="export a queue's annotations (CSV or JSON lines)",
        description="Reviewers' annotations, corrections and adjudications.",
    )
    commands = a.add_subparsers(dest="annotations_command", metavar="COMMAND", required=True)
    export = commands.add_parser(
        "export", help="every annotation of a queue, superseded ones included, one row each",
    )
    export.add_argument("--queue", required=True, metavar="NAME", help="the queue's name (or id)")
    export.add_argument("--format", required=True, choices=FORMATS, help="csv (formula-safe cells) or jsonl")
    export.add_argument("--out", type=caller_path, metavar="FILE", help="write to FILE (default: standard output)")
    export.set_defaults(handler=cmd_annotations_export)


# -- services --------------------------------------------------------------------------------


def _services():
    """(Queues, Annotations, Adjudication) acting as the command line's principal."""
    from config.settings import get_settings
    from execution.cli_support import build_pipeline
    from review.adjudication import Adjudication
    from review.annotations import Annotations
    from review.queues import Queues

    pipeline = build_pipeline(get_settings())
    queues = Queues(pipeline.store, pipeline.principal, pipeline.audit)
    annotations = Annotations(queues)  # the scrubber loads only if something is written (never here)
    return queues, annotations, Adjudication(annotations)


# -- queues list / show -------------------------------------------------------------------------


def cmd_queues_list(args) -> int:
    queues, _, _ = _services()
    out = [queue_summary(queues, row.name) for row in queues.list()]
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print_queue_list(out, sys.stdout)
    return 0


def queue_summary(queues, name: str) -> dict[str, Any]:
    queue = queues.get(name)  # adds the runs recorded since the queue was last read
    progress = queues.progress(queue)
    return {
        "name": queue.name,
        "id": queue.id,
        "rubric": queue.rubric.name,
        "rubric_version": queue.rubric_version,
        "overlap": queue.row.overlap,
        "items": progress["items"],
        "complete": progress["complete"],
        "filter": queue.filter.to_dict(),
        "filter_text": queue.filter.describe(),
    }


def print_queue_list(queues: list[dict[str, Any]], out: TextIO) -> None:
    if not queues:
        out.write("no review queues yet (a lead reviewer creates them on the Review page)\n")
        return
    width = max(12, *(len(q["name"]) for q in queues))
    rubric_width = max(6, *(len(f"{q['rubric']} v{q['rubric_version']}") for q in queues))
    header = f"{'queue':<{width}}  {'rubric':<{rubric_width}}  {'overlap':>7}  {'items':>7}  {'complete':>8}  filter"
    out.write(header + "\n" + "-" * len(header) + "\n")
    for q in queues:
        rubric = f"{q['rubric']} v{q['rubric_version']}"
        out.write(
            f"{q['name']:<{width}}  {rubric:<{rubric_width}}  {q['overlap']:>7}  {q['items']:>7,}  "
            f"{q['complete']:>8,}  {q['filter_text']}\n"
        )


def cmd_queues_show(args) -> int:
    queues, _, adjudication = _services()
    queue = queues.get(args.name)
    progress = queues.progress(queue)
    agreement = adjudication.agreement(queue.name)
    disputed = adjudication.disputed(queue.name)
    row = queue.row
    data = {
        "name": queue.name,
        "id": queue.id,
        "description": row.description,
        "filter": queue.filter.to_dict(),
        "filter_text": queue.filter.describe(),
        "rubric": queue.rubric.name,
        "rubric_title": queue.rubric.title,
        "rubric_version": queue.rubric_version,
        "overlap": row.overlap,
        "claim_minutes": row.claim_minutes,
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "items": progress["items"],
        "complete": progress["complete"],
        "reviewers": {name: dict(figures) for name, figures in sorted(progress["reviewers"].items())},
        "agreement": [a.to_dict() for a in agreement],
        "disputed": len(disputed),
    }
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print_queue(data, sys.stdout)
    return 0


def print_queue(data: dict[str, Any], out: TextIO) -> None:
    out.write(f"queue {data['name']}  (id {data['id']})\n")
    if data["description"]:
        out.write(f"  {data['description']}\n")
    out.write(f"filter:  {data['filter_text']}\n")
    out.write(f"rubric:  {data['rubric']} v{data['rubric_version']} ({data['rubric_title']})\n")
    out.write(
        f"overlap: {data['overlap']} review{'s' if data['overlap'] != 1 else ''} per item; "
        f"claims last {data['claim_minutes']} min\n"
    )
    out.write(f"created: {data['created_at']} by {data['created_by']}\n")
    out.write(f"items:   {data['items']:,}, complete {data['complete']:,}\n\n")

    reviewers = data["reviewers"]
    if reviewers:
        width = max(8, *(len(r) for r in reviewers))
        header = f"{'reviewer':<{width}}  {'done':>6}  {'claimed':>7}  {'skipped':>7}"
        out.write(header + "\n" + "-" * len(header) + "\n")
        out.writelines(f"{name:<{width}}  {f['done']:>6,}  {f['claimed']:>7,}  {f['skipped']:>7,}\n" for name, f in reviewers.items())
    else:
        out.write("no reviewer has claimed an item yet\n")

    out.write("\nagreement per rubric item (current reviews)\n")
    width = max(4, *(len(a["item"]) for a in data["agreement"])) if data["agreement"] else 4
    header = (
        f"{'item':<{width}}  {'level':<8}  {'reviewers':>9}  {'units':>6}  {'% agree':>7}  "
        f"{'kappa':>6}  {'alpha':>6}"
    )
    out.write(header + "\n" + "-" * len(header) + "\n")
    notes: list[str] = []
    for a in data["agreement"]:
        percent = "-" if a["percent_agreement"] is None else f"{a['percent_agreement']:.1%}"
        out.write(
            f"{a['item']:<{width}}  {a['level']:<8}  {a['reviewers']:>9}  {a['units']:>6,}  {percent:>7}  "
            f"{_figure(a['cohen_kappa']):>6}  {_figure(a['krippendorff_alpha']):>6}\n"
        )
        notes += [f"{a['item']}: {note}" for note in a["notes"]]
    out.writelines(f"  note: {note}\n" for note in notes)
    out.write(f"\ndisputed items (reviewers disagree, not adjudicated yet): {data['disputed']:,}\n")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# -- annotations export -----------------------------------------------------------------------


def cmd_annotations_export(args) -> int:
    from config.errors import InputError

    queues, annotations, _ = _services()
    queue = queues.get(args.queue, refresh=False)
    rows = annotations.queue_annotations(queue.name)  # superseded ones included, oldest first
    score_items = score_columns(queue.rubric, rows)
    text = annotations_csv(rows, score_items) if args.format == "csv" else annotations_jsonl(rows, score_items)
    if args.out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    path = Path(args.out)
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"Cannot write {path}: {exc.strerror or exc}.", "Check that the folder exists and is writable.") from None
    print(f"{len(rows):,} annotation{'s' if len(rows) != 1 else ''} of queue {queue.name} written to {path}", file=sys.stderr)
    return 0


def score_columns(rubric, rows) -> list[str]:
    """The queue's rubric's scored items in rubric order, then any other item an annotation made
    with an older rubric version scored (by name)."""
    names = [item.name for item in rubric.scored_items]
    extra = sorted({key for a in rows for key in a.scores} - set(names))
    return names + extra


def export_record(a, score_items: list[str]) -> dict[str, Any]:
    """One annotation as a flat record (the export's columns, typed)."""
    record: dict[str, Any] = {
        "annotation_id": a.id,
        "record_id": a.record_id,
        "reviewer": a.reviewer,
        "kind": a.kind,
        "rubric": a.rubric,
        "rubric_version": a.rubric_version,
        "created_at": _iso(a.created_at),
        "supersedes": a.supersedes,
        "superseded_by": a.superseded_by,
        "current": a.superseded_by is None,
    }
    for name in score_items:
        record[SCORE_PREFIX + name] = a.scores.get(name)
    record["comments"] = dict(a.comments or {})
    return record


def annotations_csv(rows, score_items: list[str]) -> str:
    """One line per annotation; text cells are guarded against spreadsheet formula injection;
    the comments cell holds JSON."""
    from reports.csv_cells import cell as _cell
    from reports.csv_cells import text_cell as _text_cell

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*EXPORT_COLUMNS, *(SCORE_PREFIX + n for n in score_items), "comments"])
    for a in rows:
        record = export_record(a, score_items)
        cells = []
        for key, value in record.items():
            if key == "comments":
                cells.append(_text_cell(json.dumps(value, ensure_ascii=False, sort_keys=True)))
            elif isinstance(value, (bool, int, float)) or value is None:
                cells.append(_cell(value))
            else:
                cells.append(_text_cell(value))
        writer.writerow(cells)
    return out.getvalue()


def annotations_jsonl(rows, score_items: list[str]) -> str:
    return "".join(json.dumps(export_record(a, score_items), ensure_ascii=False) + "\n" for a in rows)


def _iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with its offset."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
