"""A background thread that writes queued items in batches and never drops one.

``submit`` only appends to a queue, so callers stay off the database. A failed
batch goes back to the front of the queue and is retried (on the next submit,
on ``flush``, or after a back-off); ``flush`` returns only when everything
submitted before it is written, and raises the write error otherwise.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from config.errors import StorageError

T = TypeVar("T")
logger = logging.getLogger(__name__)


class BatchWriter(Generic[T]):
    """Runs ``write_batch(items)`` on a daemon thread, ``max_batch`` items at a time."""

    def __init__(
        self,
        write_batch: Callable[[list[T]], None],
        *,
        to_error: Callable[[BaseException], StorageError],
        max_batch: int = 256,
        max_backoff_s: float = 30.0,
        name: str = "promptforge-storage-writer",
    ) -> None:
        self._write_batch = write_batch
        self._to_error = to_error
        self._max_batch = max_batch
        self._max_backoff_s = max_backoff_s
        self._queue: deque[T] = deque()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._failures = 0  # failed attempts so far
        self._last_error: StorageError | None = None
        self._closing = False
        self._retry_now = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Items submitted but not yet written."""
        with self._cond:
            return len(self._queue) + self._in_flight

    @property
    def last_error(self) -> StorageError | None:
        """The error of the latest failed attempt, cleared by a successful write."""
        return self._last_error

    def submit(self, items: Iterable[T]) -> None:
        with self._cond:
            if self._closing:
                raise StorageError("The run recorder is closed.", "Open the store again to record more runs.")
            self._queue.extend(items)
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> None:
        """Block until the queue is empty; raise ``StorageError`` if a write fails meanwhile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            failures_before = self._failures
            self._retry_now = True  # a writer backing off after a failure retries now
            self._cond.notify_all()
            while self._queue or self._in_flight:
                if self._failures > failures_before:
                    raise self._with_pending(self._last_error)
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise StorageError(
                        f"Timed out with {len(self._queue) + self._in_flight} run(s) not yet written.",
                        "The database may be slow or locked; call flush() again to keep waiting.",
                    )
                self._cond.wait(remaining)

    def close(self, timeout: float | None = 30.0) -> None:
        """Flush, then stop the thread. Raises if runs could not be written."""
        try:
            self.flush(timeout)
        finally:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._thread.join(timeout=5)

    def _with_pending(self, error: StorageError | None) -> StorageError:
        error = error or StorageError("Writing to the database failed.")
        count = len(self._queue) + self._in_flight
        return StorageError(
            f"{error.message} {count} run(s) are kept in memory and will be retried.",
            error.hint,
        )

    def _run(self) -> None:
        backoff = 0.0
        while True:
            with self._cond:
                self._wait_backoff(backoff)
                while not self._queue and not self._closing:
                    self._cond.wait()
                if self._closing and (not self._queue or self._last_error is not None):
                    return  # drained, or the database refuses writes: items stay queued
                count = min(len(self._queue), self._max_batch)
                batch = [self._queue.popleft() for _ in range(count)]
                self._in_flight = count
                self._retry_now = False
            try:
                self._write_batch(batch)
            except Exception as exc:  # noqa: BLE001 - any failure keeps the batch for a retry
                error = self._to_error(exc)
                logger.warning("storage writer: %s (%d items kept for retry)", error, len(batch))
                with self._cond:
                    self._queue.extendleft(reversed(batch))
                    self._in_flight = 0
                    self._failures += 1
                    self._last_error = error
                    self._cond.notify_all()
                backoff = min(max(backoff * 2, 0.5), self._max_backoff_s)
                continue
            with self._cond:
                self._in_flight = 0
                self._last_error = None
                self._cond.notify_all()
            backoff = 0.0

    def _wait_backoff(self, backoff: float) -> None:
        """After a failure, wait ``backoff`` seconds unless ``flush`` or ``close`` asks for a retry."""
        deadline = time.monotonic() + backoff
        while not self._retry_now and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._cond.wait(remaining)
