"""Evaluation runs and comparisons in the background of the app's server process.

A Streamlit script run ends when the browser closes or the user moves on, so a
run is executed by a daemon thread here, and pages poll its row in the database
for progress. One runner per evaluation in this process; the database claim in
``Evaluator.execute`` keeps other processes from running it twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from config.errors import PromptForgeError
from execution.evaluate import Evaluator

logger = logging.getLogger(__name__)

_jobs: dict[str, tuple[threading.Thread, threading.Event]] = {}
_lock = threading.Lock()


def start_task(key: str, work: Callable[[threading.Event], object], what: str) -> bool:
    """Run ``work(cancel_event)`` in a background thread under ``key``; False if it already runs here."""
    with _lock:
        job = _jobs.get(key)
        if job is not None and job[0].is_alive():
            return False
        cancel = threading.Event()
        thread = threading.Thread(target=_run, args=(work, what, cancel), name=what, daemon=True)
        _jobs[key] = (thread, cancel)
        thread.start()
        return True


def start(evaluator: Evaluator, run_id: str) -> bool:
    """Run (or resume) evaluation ``run_id`` in a background thread; False if it already runs here."""
    return start_task(run_id, lambda cancel: evaluator.execute(run_id, cancel=cancel), f"evaluation {run_id[:8]}")


def start_comparison(comparisons, comparison_id: str) -> bool:
    """Run (or resume) both sides of a comparison in a background thread."""
    return start_task(
        f"comparison:{comparison_id}",
        lambda cancel: comparisons.execute(comparison_id, cancel=cancel),
        f"comparison {comparison_id[:8]}",
    )


def running(key: str) -> bool:
    with _lock:
        job = _jobs.get(key)
        return job is not None and job[0].is_alive()


def stop(key: str) -> None:
    """Tell this process's runner of ``key`` to stop after its current chunk."""
    with _lock:
        job = _jobs.get(key)
    if job is not None:
        job[1].set()


def cancel(evaluator: Evaluator, run_id: str) -> str:
    """Stop after the current chunk (here at once through the event, elsewhere through the row)."""
    stop(run_id)
    return evaluator.cancel(run_id)


def cancel_comparison(comparisons, comparison_id: str) -> str:
    stop(f"comparison:{comparison_id}")
    return comparisons.cancel(comparison_id)


def wait(key: str, timeout: float | None = None) -> bool:
    """Wait for this process's runner of ``key``; True when none is running."""
    with _lock:
        job = _jobs.get(key)
    if job is None:
        return True
    job[0].join(timeout)
    return not job[0].is_alive()


def _run(work: Callable[[threading.Event], object], what: str, cancel_event: threading.Event) -> None:
    try:
        work(cancel_event)
    except PromptForgeError as exc:  # recorded on the run's row; the page shows it
        logger.warning("%s stopped: %s", what, exc)
    except Exception:  # noqa: BLE001 - a background thread must not die silently
        logger.exception("%s failed", what)
