"""The background batch writer: batches, retries failed writes, never drops items."""

from __future__ import annotations

import threading

import pytest

from config.errors import StorageError
from storage.writer import BatchWriter


class FlakyWrites:
    """Records written batches; fails while ``broken`` is set."""

    def __init__(self) -> None:
        self.written: list[int] = []
        self.batches: list[int] = []
        self.broken = threading.Event()

    def __call__(self, batch: list[int]) -> None:
        if self.broken.is_set():
            raise OSError("disk unplugged")
        self.batches.append(len(batch))
        self.written.extend(batch)


def to_error(exc: BaseException) -> StorageError:
    return StorageError(f"write failed: {exc}", "plug the disk back in")


def test_writes_everything_in_order_in_bounded_batches():
    sink = FlakyWrites()
    writer = BatchWriter(sink, to_error=to_error, max_batch=10)
    for start in range(0, 95, 5):
        writer.submit(range(start, start + 5))
    writer.flush(timeout=10)
    assert sink.written == list(range(95))
    assert max(sink.batches) <= 10
    writer.close()


def test_failed_batches_are_kept_and_flush_reports_then_recovers():
    sink = FlakyWrites()
    sink.broken.set()
    writer = BatchWriter(sink, to_error=to_error, max_batch=4)
    writer.submit(range(10))
    with pytest.raises(StorageError, match="10 run\\(s\\) are kept"):
        writer.flush(timeout=10)
    assert writer.pending == 10 and isinstance(writer.last_error, StorageError)

    sink.broken.clear()
    writer.flush(timeout=10)  # retries at once, no back-off wait
    assert sink.written == list(range(10)) and writer.last_error is None
    writer.close()


def test_close_refuses_new_items_and_reports_unwritten_ones():
    sink = FlakyWrites()
    sink.broken.set()
    writer = BatchWriter(sink, to_error=to_error)
    writer.submit([1])
    with pytest.raises(StorageError):
        writer.close(timeout=10)
    with pytest.raises(StorageError, match="closed"):
        writer.submit([2])
