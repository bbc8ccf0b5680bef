"""What the Security page shows: the policy, the recognizers and rules in force, and the
last ``bench security`` figures (saved by the benchmark under the data folder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from config.settings import Settings


def report_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "benchmarks" / "security.json"


def last_benchmark(settings: Settings) -> dict[str, Any] | None:
    """The last saved figures, or None when ``bench security`` has not run on this data folder."""
    try:
        return json.loads(report_path(settings).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def policy_rows(settings: Settings) -> list[dict[str, Any]]:
    """One row per entity type the recognizers know: scrubbed or not, how, from what score."""
    policy = settings.pii
    wanted = set(policy.entities)
    skipped = set(policy.not_personal_alone) - wanted
    rows = []
    for entity in sorted(_entity_types()):
        scrubbed = entity in wanted if wanted else entity not in skipped
        rows.append(
            {
                "entity type": entity,
                "scrubbed": scrubbed,
                "action": policy.action_for(entity) if scrubbed else "kept (not personal alone)",
                "min score": policy.threshold_for(entity),
            }
        )
    return rows


def recognizer_rows() -> list[dict[str, Any]]:
    """PromptForge's registered recognizers (Presidio's other built-ins run beside them)."""
    from security.pii.recognizers import registered_recognizers

    rows = []
    for cls in registered_recognizers():
        recognizer = cls()
        rows.append(
            {
                "recognizer": cls.__name__,
                "entities": ", ".join(recognizer.supported_entities),
                "replaces": ", ".join(getattr(cls, "REPLACES", ())) or "",
                "what it checks": " ".join((cls.__doc__ or "").split()),
            }
        )
    return rows


def rule_rows(settings: Settings) -> list[dict[str, Any]]:
    """The rules in force for ``settings``: the registered ones and the semantic ones."""
    from security.injection import get_screener, semantic_unavailable

    screener = get_screener(settings)
    rows = [
        {
            "rule": r.name,
            "category": r.category,
            "weight": r.weight,
            "reads": "untrusted values" if r.untrusted_only else "prompts and values",
            "description": r.description,
        }
        for r in screener.rules
    ]
    why = semantic_unavailable(settings)
    if why:
        rows.append({"rule": "semantic rules", "category": "", "weight": 0.0, "reads": "", "description": why})
    return rows


def _entity_types() -> set[str]:
    """Entity types of the process-wide analyzer (loads spaCy once, as scrubbing does)."""
    from security.pii import get_analyzer

    return set(get_analyzer().get_supported_entities())
