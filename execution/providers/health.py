"""What each provider needs and whether it is configured. No network calls."""

from __future__ import annotations

from config.errors import ProviderError
from config.settings import Settings
from execution.providers.credentials import KEY_FIELDS, configured_key, key_hint
from execution.providers.spec import parse_spec


def _configured_compat_specs(settings: Settings) -> list[str]:
    specs = []
    for text in dict.fromkeys([settings.default_provider, *settings.fallback_providers]):
        try:
            spec = parse_spec(text)
        except ProviderError:
            continue
        if spec.kind == "compat":
            specs.append(spec.display)
    return specs


def provider_health(settings: Settings) -> list[dict]:
    """``[{spec, available, reason}]`` for offline, openai, anthropic and configured compat servers.

    "available" means configured (a key is present); servers are not contacted.
    """
    rows = [{"spec": "offline", "available": True, "reason": "Built-in simulation: no network, no key."}]
    for kind in KEY_FIELDS:
        if configured_key(kind, settings) is None:
            rows.append({"spec": kind, "available": False, "reason": f"No API key. {key_hint(kind)}"})
            continue
        base_url = getattr(settings, f"{kind}_base_url") or "the default endpoint"
        rows.append(
            {"spec": kind, "available": True, "reason": f"API key configured; calls go to {base_url}."}
        )
    for spec in _configured_compat_specs(settings):
        rows.append(
            {
                "spec": spec,
                "available": True,
                "reason": "OpenAI-compatible server configured (not contacted; a key is optional).",
            }
        )
    return rows
