"""Failing closed: the error that stops the pipeline, and failures that never carry text."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from config.errors import PromptForgeError, ScrubbingError

logger = logging.getLogger(__name__)


def where(exc: BaseException) -> str:
    """Where ``exc`` was raised, innermost frame first (frames only: a message may quote text)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[-4:]))


class RemoteFailure(Exception):
    """Sent back by an analysis worker instead of its exception: the type and frames, no message."""

    def __init__(self, kind: str, at: str) -> None:
        super().__init__(kind, at)
        self.kind, self.at = kind, at

    @classmethod
    def of(cls, exc: BaseException) -> RemoteFailure:
        return cls(type(exc).__name__, where(exc))

    def __str__(self) -> str:
        return f"{self.kind} in an analysis worker at {self.at}"


def fail_closed(exc: Exception) -> ScrubbingError:
    """The error that stops the pipeline; it never carries text or the original message.

    The log names the exception type and where it was raised.
    """
    kind, at = (exc.kind, exc.at) if isinstance(exc, RemoteFailure) else (type(exc).__name__, where(exc))
    logger.error("PII scrubbing failed with %s at %s; nothing was sent", kind, at)
    if isinstance(exc, PromptForgeError):  # e.g. the model is missing: its own hint applies
        cause, hint = exc.message, exc.hint
    else:
        cause, hint = f"an internal {kind}", ""
    return ScrubbingError(
        f"PII scrubbing failed ({cause}), so the prompt was not sent.",
        hint
        or "Nothing left this machine. Try again; if it keeps failing, check the spaCy model "
        "(PROMPTFORGE_SPACY_MODEL_PATH) and the server log, or ask an administrator.",
    )
