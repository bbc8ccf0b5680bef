"""Evaluation runs in the background of the app's server process.

A Streamlit script run ends when the browser closes or the user moves on, so a
run is executed by a daemon thread here, and pages poll its row in the database
for progress. One runner per evaluation in this process; the database claim in
``Evaluator.execute`` keeps other processes from running it twice.
"""

from __future__ import annotations

import logging
import threading

from config.errors import PromptForgeError
from execution.evaluate import Evaluator

logger = logging.getLogger(__name__)

_jobs: dict[str, tuple[threading.Thread, threading.Event]] = {}
_lock = threading.Lock()


def start(evaluator: Evaluator, run_id: str) -> bool:
    """Run (or resume) ``run_id`` in a background thread; False if it already runs here."""
    with _lock:
        job = _jobs.get(run_id)
        if job is not None and job[0].is_alive():
            return False
        cancel = threading.Event()
        thread = threading.Thread(
            target=_run, args=(evaluator, run_id, cancel), name=f"eval-{run_id[:8]}", daemon=True
        )
        _jobs[run_id] = (thread, cancel)
        thread.start()
        return True


def running(run_id: str) -> bool:
    with _lock:
        job = _jobs.get(run_id)
        return job is not None and job[0].is_alive()


def cancel(evaluator: Evaluator, run_id: str) -> str:
    """Stop after the current chunk (here at once through the event, elsewhere through the row)."""
    with _lock:
        job = _jobs.get(run_id)
    if job is not None:
        job[1].set()
    return evaluator.cancel(run_id)


def wait(run_id: str, timeout: float | None = None) -> bool:
    """Wait for this process's runner of ``run_id``; True when none is running."""
    with _lock:
        job = _jobs.get(run_id)
    if job is None:
        return True
    job[0].join(timeout)
    return not job[0].is_alive()


def _run(evaluator: Evaluator, run_id: str, cancel_event: threading.Event) -> None:
    try:
        evaluator.execute(run_id, cancel=cancel_event)
    except PromptForgeError as exc:  # recorded on the run's row; the page shows it
        logger.warning("evaluation %s stopped: %s", run_id[:8], exc)
    except Exception:  # noqa: BLE001 - a background thread must not die silently
        logger.exception("evaluation %s failed", run_id[:8])
