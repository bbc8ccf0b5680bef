"""One family of exceptions for errors a user can act on.

Every message says what went wrong *and what to do next*. Pages show them with
``st.error``; the CLI prints ``str(err)`` on one line and exits non-zero.
Messages never contain raw prompt text or PII: they name variables, lines,
entity types or settings, never values.
"""

from __future__ import annotations


class PromptForgeError(Exception):
    """Base class: ``message`` says what happened, ``hint`` what to do about it."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}".strip())


class ConfigError(PromptForgeError):
    """A setting is missing or invalid."""


class TemplateError(PromptForgeError):
    """A template does not parse, escapes the sandbox, or needs a missing variable."""


class InputError(PromptForgeError):
    """A prompt, variable value or uploaded row is unusable (empty, too big, binary)."""


class DatasetError(PromptForgeError):
    """A dataset file cannot be read or has malformed rows."""


class ProviderError(PromptForgeError):
    """A model provider is unknown, unreachable, misconfigured or failed."""


class MissingCredentialsError(ProviderError):
    """A remote provider was chosen but its API key is not configured."""


class ScrubbingError(PromptForgeError):
    """PII scrubbing failed: the pipeline fails closed and sends nothing."""


class PolicyBlockedError(PromptForgeError):
    """The injection policy blocked the prompt before it reached the model."""

    exit_code = 3


class StorageError(PromptForgeError):
    """The database is unreachable, locked or read-only."""


class NotFoundError(PromptForgeError):
    """A prompt, label, record or dataset that was asked for does not exist."""


class PermissionDenied(PromptForgeError):
    """The acting principal's roles do not allow the operation."""

    exit_code = 3


class AuthenticationError(PromptForgeError):
    """A login failed: wrong credentials, a locked or disabled account, an expired session."""

    exit_code = 3


class ConflictError(PromptForgeError):
    """Someone else changed the thing being saved first (optimistic concurrency).

    ``current`` carries what the saver must look at (e.g. the newer version)."""

    def __init__(self, message: str, hint: str = "", current: object | None = None) -> None:
        super().__init__(message, hint)
        self.current = current


class QuotaExceeded(PromptForgeError):
    """An API token's limit (requests per minute, model spend per day) is used up."""

    exit_code = 3

    def __init__(self, message: str, hint: str = "", retry_after: int = 60) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after
