"""The store puts back a thread class that copies the context but not TruLens's stack capture."""

from __future__ import annotations

import contextvars
import inspect
import threading


def test_threads_after_a_store_opens_copy_the_context_and_capture_no_stack(sqlite_store, monkeypatch):
    from storage.trulens_threads import ContextThread

    assert threading.Thread is ContextThread and ContextThread.__mro__[1].__module__ == "threading"

    def no_stack(*_args, **_kwargs):
        raise AssertionError("a thread captured the call stack")

    monkeypatch.setattr(inspect, "stack", no_stack)
    var = contextvars.ContextVar("var")
    var.set("from the creating thread")
    seen: list = []
    thread = threading.Thread(target=lambda suffix: seen.append(var.get() + suffix), args=("!",), name="probe")
    thread.start()
    thread.join()
    assert seen == ["from the creating thread!"] and thread.name == "probe"

    class Worker(threading.Thread):  # a subclass that overrides run(), as libraries do
        def run(self) -> None:
            seen.append("ran")

    worker = Worker(daemon=True)
    worker.start()
    worker.join()
    assert seen[-1] == "ran" and worker.daemon


def test_a_thread_class_made_before_the_swap_still_starts(sqlite_store):
    from trulens.core.utils.threading import Thread as TruLensThread

    class Early(TruLensThread):  # as a library imported after TruLens but before the store defines it
        def __init__(self) -> None:
            threading.Thread.__init__(self, target=lambda: None, daemon=True)

    early = Early()
    early.start()
    early.join()
    assert not early.is_alive()
