"""Analysis in worker processes, so a large batch uses every core.

Only analysis moves: a worker receives texts through the executor's pipe and sends
back spans (type, offsets, score, recognizer). Selection, replacement, policies and
pseudonym maps stay in this process. Workers are spawned, never forked (the parent
runs threads), and build their own analyzer on the same model and recognizers.

A batch is cut into small pieces; each worker is fed one piece at a time from the
front, and when the caller needs the results it analyses, from the end, every piece
not yet sent, then waits for the workers' last ones. So the split follows what each side really achieves, and a batch queued ahead
(``submit``) keeps a worker busy while the caller does other work.

A pool starts lazily on its first large batch (or ``start``) and never makes a
batch wait for it: until the workers are ready, batches are analysed in-process.
A worker that dies fails its batch closed; the next large batch restarts the pool.
A worker ends by itself within a second of its parent process ending, ``kill -9`` included.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_for
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing import get_context
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, RecognizerResult

from config.offline import apply_offline_env
from config.settings import PROJECT_ROOT, Settings
from security.pii.analysis import AnalysisParams, Span, analyze_many, from_spans, to_spans
from security.pii.engine import build_analyzer, model_path_for, use_bundled_suffix_list
from security.pii.failure import RemoteFailure
from security.pii.recognizers import registered_recognizers

logger = logging.getLogger(__name__)

MIN_BATCH = 16  # below this, shipping texts to a worker does not pay
PIECE = 8  # texts per queued piece: big enough for nlp.pipe, small enough to steal back
_BROKEN = "A PII analysis worker stopped; its batch failed closed, the next one restarts it"
# analysed (as one batch) at start so a worker's first batch does not pay for lazy set-up
WARM_UP_TEXTS = ("Call Jane Doe on 212-555-0143 or mail jane@example.com.", "Nothing to see here.") * 16
Local = Callable[[Sequence[str]], list[list[RecognizerResult]]]

# in a worker process: its own analyzer, built by the initializer
_worker_analyzer: AnalyzerEngine | None = None


PARENT_POLL_SECONDS = 0.5  # how often a worker checks that the process that started it lives


def _init_worker(factory: Callable[[], AnalyzerEngine], parent_pid: int | None = None) -> None:
    global _worker_analyzer
    _exit_with_parent(os.getppid() if parent_pid is None else parent_pid)  # first: model loading takes a while
    apply_offline_env()  # already inherited; set again so the worker never depends on it
    use_bundled_suffix_list()
    _worker_analyzer = factory()
    analyze_many(_worker_analyzer, WARM_UP_TEXTS, AnalysisParams((), 0.0))


def _exit_with_parent(parent_pid: int) -> None:
    """End this worker soon after ``parent_pid`` ends, however it ends (``kill -9`` runs no
    ``atexit`` and no executor shutdown, and a worker blocked on its task queue holds that
    queue's write end itself, so it would never see end of file and wait forever).

    A daemon thread polls the parent pid: a dead parent's children are re-parented (to
    init or a subreaper), so ``getppid`` changes. ``PR_SET_PDEATHSIG`` is not used: it
    fires when the parent *thread* that spawned the worker ends (the executor spawns from
    whichever thread submits, e.g. a Streamlit script run), not only the parent process."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)  # no cleanup to run: the worker holds nothing but its analyzer

    threading.Thread(target=watch, name="pii-worker-parent-watch", daemon=True).start()


def _ping() -> int:
    return os.getpid()


def _analyze_spans(texts: list[str], params: AnalysisParams) -> list[list[Span]]:
    """Spans of ``texts``, analysed in a worker."""
    try:
        return [to_spans(results) for results in analyze_many(_worker_analyzer, texts, params)]
    except Exception as exc:  # noqa: BLE001  the message may quote text: send type and frames only
        raise RemoteFailure.of(exc) from None


class AnalysisPool:
    """``workers`` spawned processes, each analysing with ``factory()``. A batch is cut
    in pieces of ``piece`` texts; workers take them from the front one at a time, the
    caller's thread takes back from the end whatever is left when it needs the results
    (work stealing), so neither side idles whatever the two achieve, and a batch
    submitted ahead (the next chunk) runs in a worker while the caller does other work."""

    def __init__(
        self,
        factory: Callable[[], AnalyzerEngine],
        workers: int,
        min_batch: int = MIN_BATCH,
        piece: int = PIECE,
    ) -> None:
        if workers < 1 or piece < 1:
            raise ValueError("an analysis pool needs at least one worker and pieces of one text or more")
        self.workers = workers
        self.min_batch = min_batch
        self.piece = piece
        self._factory = factory
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._pings: list[Future[int]] = []
        self._unavailable: str | None = None  # why batches stay in-process for good
        self._logged: set[str] = set()
        self._feeder: _Feeder | None = None

    def start(self, wait: bool = False) -> bool:
        """Start the workers unless they run; with ``wait``, wait until they are ready.
        Returns whether they are ready."""
        with self._lock:
            if self._unavailable is None and self._executor is None:
                try:
                    with _spawn_clean():
                        self._executor = ProcessPoolExecutor(
                            max_workers=self.workers,
                            mp_context=get_context("spawn"),
                            initializer=_init_worker,
                            initargs=(self._factory, os.getpid()),
                        )
                        # the processes are spawned here, on the first submissions
                        self._pings = [self._executor.submit(_ping) for _ in range(self.workers)]
                    self._feeder = _Feeder(self._executor, self.workers)
                except Exception as exc:  # noqa: BLE001  no pool: analyse in-process
                    self._executor, self._unavailable = (
                        None,
                        f"the workers could not start ({type(exc).__name__})",
                    )
            pings = self._pings
        if wait:
            wait_for(pings)
        return self._ready_executor() is not None

    @property
    def worker_pids(self) -> set[int]:
        """Process ids of the workers that answered, once they are ready."""
        with self._lock:
            pings = self._pings
        return {ping.result() for ping in pings} if self._ready_executor() is not None else set()

    def submit(self, texts: Sequence[str], params: AnalysisParams) -> Pending:
        """Queue ``texts`` for the workers in small pieces and return at once; the caller
        collects with ``Pending.result(local)``, analysing itself every piece no worker has
        started by then. Small batches, or a pool that is not ready, stay in-process."""
        executor = None
        if len(texts) < self.min_batch:
            self._note(f"batches of under {self.min_batch} texts")
        elif not self.start():
            self._note(self._unavailable or "the workers are starting")
        else:
            executor = self._ready_executor()
        with self._lock:
            feeder = self._feeder if executor is not None and self._feeder is not None else None
        if feeder is not None and feeder.executor is not executor:
            feeder = None  # replaced meanwhile: analyse this batch here
        return Pending(self, feeder, texts, params)

    def shutdown(self) -> None:
        """Stop the workers and wait for them; later batches are analysed in-process."""
        with self._lock:
            self._unavailable = self._unavailable or "the pool was shut down"
            executor = self._executor
        if executor is not None:
            self._discard(executor)

    def _ready_executor(self) -> ProcessPoolExecutor | None:
        """The executor once every worker answered; a failed start makes the pool unavailable."""
        with self._lock:
            executor, pings = self._executor, self._pings
            if executor is None or not all(ping.done() for ping in pings):
                return None
            if not any(ping.cancelled() or ping.exception() for ping in pings):
                return executor
            self._unavailable = "the workers could not load the analyzer"
        self._discard(executor)
        return None

    def _discard(self, executor: ProcessPoolExecutor, warning: str | None = None) -> None:
        """Forget ``executor`` (if still current) and shut it down, reaping its processes."""
        with self._lock:
            if self._executor is not executor:
                return
            self._executor, self._pings = None, []
        if warning:
            logger.warning(warning)
        executor.shutdown(wait=True, cancel_futures=True)

    def _note(self, why: str) -> None:
        with self._lock:
            if why in self._logged:
                return
            self._logged.add(why)
        logger.debug("PII analysis runs in-process: %s", why)


@contextmanager
def _spawn_clean() -> Iterator[None]:
    """Spawned workers need nothing from a script's environment and must not be misled by it.

    When the main module is a script file (a Streamlit page run by AppTest, a bench script),
    spawn would execute it in the worker; and the worker inherits ``sys.path``, whose first
    entry is then the script's folder, where a file such as ``pages/security.py`` shadows
    the project's package of that name. For the moment the processes start, the script is
    hidden and the project root leads ``sys.path``."""
    main = sys.modules.get("__main__")
    script = not (
        main is None or getattr(getattr(main, "__spec__", None), "name", None) or not getattr(main, "__file__", None)
    )
    saved_path = list(sys.path)
    sys.path[:] = [str(PROJECT_ROOT)] + [p for p in saved_path if p != str(PROJECT_ROOT)]
    if script:  # a module run by name (python -m ...) is not re-run by spawn; a script is
        sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.path[:] = saved_path
        if script:
            sys.modules["__main__"] = main


class _Feeder:
    """Feeds one executor's workers: each holds one piece at a time, always the front piece
    of the oldest batch that has any left (the one its caller needs first). Pieces wait
    here, not in the executor, so what a caller takes back is really untouched and a
    caller that runs out waits for at most one piece per worker."""

    def __init__(self, executor: ProcessPoolExecutor, workers: int) -> None:
        self.executor = executor
        self.broken = False
        self._slots = workers
        self._lock = threading.Lock()
        self._batches: deque[Pending] = deque()

    def add(self, batch: Pending) -> None:
        with self._lock:
            self._batches.append(batch)
        self._fill()

    def take_last(self, batch: Pending) -> range | None:
        """The batch's last unsent piece, for its caller to analyse (None: all sent)."""
        with self._lock:
            return batch.unsent.pop() if batch.unsent else None

    def withdraw(self, batch: Pending) -> None:
        with self._lock:
            batch.unsent.clear()

    def _fill(self, finished: Future | None = None) -> None:
        sent: list[Future] = []
        with self._lock:
            if finished is not None:
                self._slots += 1
            while self._slots > 0 and not self.broken:
                while self._batches and not self._batches[0].unsent:
                    self._batches.popleft()
                if not self._batches:
                    break
                batch = self._batches[0]
                piece = batch.unsent.popleft()
                try:
                    future = self.executor.submit(_analyze_spans, [batch.texts[i] for i in piece], batch.params)
                except (BrokenProcessPool, RuntimeError):  # died or shut down: callers analyse the rest
                    batch.unsent.appendleft(piece)
                    self.broken = True
                    break
                batch.sent.append((piece, future))
                self._slots -= 1
                sent.append(future)
        for future in sent:  # outside the lock: a future already done calls back at once
            future.add_done_callback(self._fill)


class Pending:
    """A batch submitted to ``AnalysisPool``: pieces are sent to the workers by its feeder;
    ``result`` analyses the rest here."""

    def __init__(self, pool: AnalysisPool, feeder: _Feeder | None, texts: Sequence[str], params: AnalysisParams) -> None:
        self.texts, self.params = texts, params
        self.unsent: deque[range] = deque(
            range(i, min(i + pool.piece, len(texts))) for i in range(0, len(texts), pool.piece)
        )
        self.sent: list[tuple[range, Future[list[list[Span]]]]] = []
        self._pool, self._feeder = pool, feeder
        if feeder is not None:
            feeder.add(self)

    def result(self, local: Local) -> list[list[RecognizerResult]]:
        """Analyzer results per text, in order. Takes back, last first, each piece not yet
        sent and analyses it with ``local``; then waits for the workers' pieces. A worker
        that dies holding a piece fails the batch closed."""
        if self._feeder is None:
            return local(self.texts)
        results: dict[int, list[RecognizerResult]] = {}
        try:
            while (piece := self._feeder.take_last(self)) is not None:
                results.update(zip(piece, local([self.texts[i] for i in piece])))
            for piece, future in self.sent:
                results.update(zip(piece, map(from_spans, future.result())))
        except BrokenProcessPool:
            self._pool._discard(self._feeder.executor, _BROKEN)
            raise
        finally:
            self.cancel()
        if self._feeder.broken:  # found dead when sending: this batch is done here, restart the pool
            self._pool._discard(self._feeder.executor, _BROKEN)
        return [results[i] for i in range(len(self.texts))]

    def cancel(self) -> None:
        """Send no more of this batch (abandoned half-way); what a worker holds finishes."""
        if self._feeder is not None:
            self._feeder.withdraw(self)
        for _, future in self.sent:
            future.cancel()


_lock = threading.Lock()
_pools: dict[tuple[Path, int], AnalysisPool] = {}


def analyzer_factory(model_path: Path) -> Callable[[], AnalyzerEngine]:
    """What a worker calls to build its analyzer: ``build_analyzer`` on ``model_path`` with
    the recognizers registered here now, in the same order (picklable)."""
    return partial(build_analyzer, model_path, recognizers=tuple(registered_recognizers()))


def worker_count(settings: Settings) -> int:
    """``settings.pii_workers``, by default one per CPU beyond the caller's own."""
    if settings.pii_workers is not None:
        return max(0, settings.pii_workers)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cpus - 1


def get_pool(settings: Settings) -> AnalysisPool | None:
    """The process-wide pool for the model and worker count of ``settings`` (None: no workers)."""
    workers = worker_count(settings)
    if workers < 1:
        logger.info(
            "PII analysis runs in-process: no worker processes (pii_workers=%s)", settings.pii_workers
        )
        return None
    model_path = model_path_for(settings)
    with _lock:
        if not _pools:
            atexit.register(shutdown_all)
        key = (model_path, workers)
        if key not in _pools:
            _pools[key] = AnalysisPool(analyzer_factory(model_path), workers)
        return _pools[key]


def shutdown_all() -> None:
    """Stop every pool's workers (registered to run at interpreter exit)."""
    with _lock:
        pools = list(_pools.values())
    for pool in pools:
        pool.shutdown()
