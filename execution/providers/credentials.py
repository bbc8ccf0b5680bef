"""Which settings hold each remote provider's key, and how to tell users to set it."""

from __future__ import annotations

from pydantic import SecretStr

from config.errors import MissingCredentialsError
from config.settings import Settings

# kind -> Settings field holding its key
KEY_FIELDS = {"openai": "openai_api_key", "anthropic": "anthropic_api_key"}


def key_hint(kind: str) -> str:
    """Exactly how to configure the key of ``kind``."""
    field = KEY_FIELDS[kind]
    return (
        f"Set the environment variable PROMPTFORGE_{field.upper()} or add "
        f'{field} = "..." to .streamlit/secrets.toml, then restart the app.'
    )


def configured_key(kind: str, settings: Settings) -> SecretStr | None:
    """The key of ``kind`` if one is configured (a blank value counts as none)."""
    key = getattr(settings, KEY_FIELDS[kind])
    if key is None or not key.get_secret_value().strip():
        return None
    return key


def require_key(kind: str, settings: Settings, spec: str) -> SecretStr:
    """The key of ``kind``, or ``MissingCredentialsError`` saying how to set it."""
    key = configured_key(kind, settings)
    if key is None:
        raise MissingCredentialsError(
            f"Provider {spec} needs an API key and none is configured.", key_hint(kind)
        )
    return key
