"""TruLens replaces ``threading.Thread`` for the whole process with a class that captures the
creating thread's full call stack (``inspect.stack``, which reads every frame's source file).
Its legacy instrumentation walked those stacks to tie work in a thread to a record; PromptForge
records through OpenTelemetry spans, whose parent travels in ``contextvars``, so only the context
copy matters. Every thread pays for the stack capture all the same: Streamlit starts one per page
view (45 ms measured on a page's first render) and a template render starts one per prompt.

``use_context_threads()`` puts back a thread class that copies the context and nothing else.
TruLens's own executors keep theirs."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

# the standard library's class, even when TruLens replaced it before this module was imported
_ORIGINAL = next(c for c in threading.Thread.__mro__ if c.__module__ == "threading")


class ContextThread(_ORIGINAL):
    """A thread whose target runs in a copy of the creating thread's ``contextvars``."""

    def __init__(self, group: Any = None, target: Any = None, name: Any = None, args: Any = (), kwargs: Any = None,
                 *, daemon: Any = None) -> None:
        if target is not None:
            context = contextvars.copy_context()
            target, args = context.run, (target, *args)
        # not super(): a class made from TruLens's thread class before the swap may call
        # ``threading.Thread.__init__(self)``, and then self is no ContextThread
        _ORIGINAL.__init__(self, group=group, target=target, name=name, args=args, kwargs=kwargs, daemon=daemon)


def use_context_threads() -> None:
    """Undo TruLens's replacement of ``threading.Thread`` (importing it first, so it cannot come after)."""
    import trulens.core.utils.threading  # noqa: F401  (its import replaces threading.Thread)

    threading.Thread = ContextThread  # type: ignore[misc]
