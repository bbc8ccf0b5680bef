"""``python launch.py reindex``: rebuild the run tables the pages query from TruLens's events.

    reindex     empty pf_runs, pf_run_metrics, pf_run_text, pf_run_entities and the daily
                rollups and refill them from trulens_events (``storage.reindex``), in one
                transaction; progress on stderr, a JSON summary on stdout

Stop the app (and any batch or evaluation running from a shell) first: runs recorded during
the rebuild wait for it or fail on the busy timeout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

PHASES = {
    "events": "events read",
    "older": "runs recorded by older versions given their events",
    "rollups": "runs counted in the rollups",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reindex", help="rebuild the run tables the pages query from TruLens's events (stop the app first)",
        description=(
            "Empty PromptForge's projection of recorded runs (pf_runs, pf_run_metrics, pf_run_text, "
            "pf_run_entities, the daily rollups) and refill it from TruLens's trulens_events table, in one "
            "transaction. Nothing else is changed. Stop the app first."
        ),
    )
    p.set_defaults(handler=cmd_reindex)


def cmd_reindex(args: argparse.Namespace | None = None, *, settings=None, out: TextIO | None = None,
                err: TextIO | None = None) -> int:
    """Rebuild the projection of ``settings``' database (default: the configured one); 0 when done."""
    from config.settings import get_settings
    from storage.engine import storage_errors
    from storage.reindex import rebuild_projection
    from storage.trulens_store import TruLensStore

    out, err = out or sys.stdout, err or sys.stderr
    store = TruLensStore(settings or get_settings())
    try:
        print(f"Rebuilding the projection of {store!r} from TruLens's events…", file=err)
        with storage_errors(store.engine):
            summary = rebuild_projection(store.engine, store.events_table, progress_printer(err))
    finally:
        store.close()
    print(json.dumps(summary), file=out)
    return 0


def progress_printer(stream: TextIO, every_s: float | None = None):
    """A ``progress(phase, done, total)`` callback: one line per phase, rewritten in place on a
    terminal (every ``every_s``, default 0.5 s), else a new line every 5 s and when done."""
    tty = hasattr(stream, "isatty") and stream.isatty()
    every_s = every_s if every_s is not None else (0.5 if tty else 5.0)
    state = {"phase": None, "at": 0.0, "started": time.perf_counter()}

    def update(phase: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if phase != state["phase"]:  # this phase began when the last one reported, or at the start
            state.update(phase=phase, started=state["at"] or state["started"], shown=0.0)
        state["at"] = now
        if done < total and now - state["shown"] < every_s:
            return
        state["shown"] = now
        rate = done / max(now - state["started"], 1e-3)
        line = f"{done:,}/{total:,} {PHASES.get(phase, phase)}, {rate:,.0f}/s"
        if tty:
            stream.write(f"\r{line}" + ("\n" if done >= total else ""))
        else:
            stream.write(line + "\n")
        stream.flush()

    return update
