"""Turn a failed provider call into a ``ProviderError`` that says what to do next.

Messages name the provider spec, the HTTP status or failure kind and the
attempts made. They never quote the server's error text (it can echo parts
of a key or of the prompt) and never contain a key.
"""

from __future__ import annotations

from langchain_core.exceptions import ModelConnectionError, ModelTimeoutError

from config.errors import ProviderError
from config.settings import Settings
from execution.providers.credentials import KEY_FIELDS, key_hint
from execution.providers.retry import status_code
from execution.providers.spec import ProviderSpec

_AUTH_STATUSES = (401, 403)


def _is_timeout(error: BaseException) -> bool:
    return isinstance(error, (ModelTimeoutError, TimeoutError)) or "Timeout" in type(error).__name__


def _is_unreachable(error: BaseException) -> bool:
    return isinstance(error, (ModelConnectionError, ConnectionError)) or "Connect" in type(error).__name__


def _auth_hint(kind: str) -> str:
    if kind in KEY_FIELDS:
        return "Check the key (it may be wrong, revoked or for another organisation). " + key_hint(kind)
    return "Set PROMPTFORGE_COMPATIBLE_API_KEY (or compatible_api_key in .streamlit/secrets.toml)."


def describe_failure(
    spec: ProviderSpec, error: BaseException, attempts: int, settings: Settings
) -> ProviderError:
    """The user-facing error for ``error`` raised by ``spec`` after ``attempts`` calls."""
    kind, spec_text = spec.kind, spec.display
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    code = status_code(error)
    if _is_timeout(error):
        return ProviderError(
            f"Provider {spec_text} timed out after {settings.provider_timeout_s:g} s ({tries}).",
            "Check that the server is up and not overloaded, raise provider_timeout_s "
            "(PROMPTFORGE_PROVIDER_TIMEOUT_S), or add a provider to fallback_providers.",
        )
    if _is_unreachable(error):
        return ProviderError(
            f"Provider {spec_text} is unreachable ({tries}).",
            "Check the base URL and that the server is running (start local servers such as Ollama "
            "or vLLM first), or choose another provider.",
        )
    if code in _AUTH_STATUSES:
        verb = "rejected the API key" if code == 401 else "refused access to this model"
        return ProviderError(f"Provider {spec_text} {verb} (HTTP {code}).", _auth_hint(kind))
    if code == 429:
        return ProviderError(
            f"Provider {spec_text} is rate limiting requests (HTTP 429, {tries}).",
            "Wait a minute and retry, lower batch_concurrency, or raise provider_max_retries.",
        )
    if code == 404:
        return ProviderError(
            f"Provider {spec_text} does not know this model or endpoint (HTTP 404).",
            "Check the model name in the spec and the base URL (OpenAI-compatible servers usually "
            "end in /v1).",
        )
    if code is not None and code >= 500:
        return ProviderError(
            f"Provider {spec_text} had a server error (HTTP {code}, {tries}).",
            "Retry later or add a provider to fallback_providers.",
        )
    if code is not None:
        return ProviderError(
            f"Provider {spec_text} rejected the request (HTTP {code}).",
            "Check the model name and the prompt size; the application log has details.",
        )
    return ProviderError(
        f"Provider {spec_text} failed with {type(error).__name__} ({tries}).",
        "See the application log for details, or choose another provider.",
    )


def chained_cause(error: BaseException) -> BaseException | None:
    """The exception to chain under the ``ProviderError``: none for auth failures, whose
    SDK messages may quote part of the key."""
    return None if status_code(error) in _AUTH_STATUSES else error
