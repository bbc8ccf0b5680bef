"""The project's error family as HTTP responses: the same messages the command line prints."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from config.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    PolicyBlockedError,
    PromptForgeError,
    ProviderError,
    QuotaExceeded,
    StorageError,
)

# the first class an error is an instance of gives its status; everything else a user can act on is 400
STATUS: tuple[tuple[type[PromptForgeError], int], ...] = (
    (AuthenticationError, 401),
    (PermissionDenied, 403),
    (PolicyBlockedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (QuotaExceeded, 429),
    (ProviderError, 502),
    (StorageError, 503),
)


def status_of(exc: PromptForgeError) -> int:
    return next((status for cls, status in STATUS if isinstance(exc, cls)), 400)


def headers_of(exc: PromptForgeError) -> dict[str, str]:
    headers = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, QuotaExceeded):
        headers["Retry-After"] = str(exc.retry_after)
    return headers


def error_body(exc: PromptForgeError) -> dict:
    """``{"error": {"type", "message", "hint", "detail"}}``; ``detail`` is the line the CLI prints."""
    return {"error": {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint, "detail": str(exc)}}


async def project_error(request: Request, exc: PromptForgeError) -> JSONResponse:
    if request.url.path.startswith("/v1/chat/") or request.url.path == "/v1/models":
        from api.gateway import openai_error

        return openai_error(exc)
    return JSONResponse(error_body(exc), status_code=status_of(exc), headers=headers_of(exc))


async def invalid_request(request: Request, exc) -> JSONResponse:
    """A body or query that does not fit the route: where, and what was expected."""
    from config.errors import InputError

    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg', 'invalid')}"
        for e in exc.errors()[:5]
    )
    error = InputError(f"The request is not valid: {problems}.", "See the API's documentation at /docs.")
    if request.url.path.startswith("/v1/chat/"):
        from api.gateway import openai_error

        return openai_error(error, code="invalid_request", status=400)
    return JSONResponse(error_body(error), status_code=422)
