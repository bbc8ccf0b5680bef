"""Retries with exponential backoff for one provider: which errors, how long to wait.

Retryable: rate limits (429), server errors (5xx), timeouts and connection
failures. LangChain classifies SDK errors for us (``ModelError.is_retryable``);
plain exceptions from plugins are judged by type or ``status_code``.
A ``Retry-After`` (or ``retry-after-ms``) header sets the wait when present.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from langchain_core.exceptions import ModelError

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_RETRY_AFTER_S = 60.0  # a server asking for a longer pause gets no retry: fall back instead


class CallFailed(Exception):
    """The call failed for good: the last error, the attempts made, and whether it was retryable."""

    def __init__(self, error: BaseException, attempts: int, retryable: bool) -> None:
        super().__init__(f"{type(error).__name__} after {attempts} attempt(s)")
        self.error = error
        self.attempts = attempts
        self.retryable = retryable


def status_code(error: BaseException) -> int | None:
    """The HTTP status an SDK error carries, if any."""
    code = getattr(error, "status_code", None)
    return code if isinstance(code, int) else None


def is_retryable(error: BaseException) -> bool:
    """True for 429, 5xx, 408, timeouts and connection failures."""
    if isinstance(error, ModelError):
        return error.is_retryable
    if isinstance(error, (TimeoutError, ConnectionError)):
        return True
    code = status_code(error)
    return code is not None and (code in (408, 429) or code >= 500)


def retry_after_s(error: BaseException) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` / ``retry-after``), if it did."""
    headers: Any = getattr(getattr(error, "response", None), "headers", None)
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / divisor)
        except ValueError:
            parsed = email.utils.parsedate_tz(value)  # an HTTP date
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    return None


def backoff_delay(attempt: int, backoff_s: float, error: BaseException) -> float | None:
    """Wait before the next attempt, ``backoff_s * 2**(attempt-1)`` unless the server says;
    None when the server asks for more than :data:`MAX_RETRY_AFTER_S`."""
    asked = retry_after_s(error)
    if asked is None:
        return backoff_s * 2 ** (attempt - 1)
    return asked if asked <= MAX_RETRY_AFTER_S else None


def call_with_retries(
    call: Callable[[], T],
    *,
    max_retries: int,
    backoff_s: float,
    label: str,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, int]:
    """``(call(), attempts)``; ``CallFailed`` once retries are spent or the error is not retryable."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return call(), attempt
        except Exception as error:  # classified, then re-raised as CallFailed
            retryable = is_retryable(error)
            delay = backoff_delay(attempt, backoff_s, error) if retryable else None
            if delay is None or attempt > max_retries:
                raise CallFailed(error, attempt, retryable) from error
            log.warning(
                "provider %s attempt %d failed (%s, status %s); retrying in %.2f s",
                label,
                attempt,
                type(error).__name__,
                status_code(error),
                delay,
            )
            sleep(delay)
