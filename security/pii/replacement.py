"""Writing replacements into text according to the policy: tag, mask or pseudonym."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from config.settings import PIIPolicy
from security.pii.pseudonyms import PseudonymMap
from security.pii.results import Entity


class Anonymize(Protocol):
    """Replaces ``entities`` (sorted, non-overlapping) in ``text``; returns text and placed entities."""

    def __call__(
        self, text: str, entities: Sequence[Entity], policy: PIIPolicy, pseudonyms: PseudonymMap
    ) -> tuple[str, list[Entity]]: ...


def replacement_for(text: str, entity: Entity, policy: PIIPolicy, pseudonyms: PseudonymMap) -> str:
    """``<TYPE>``, a same-length mask, or the run's pseudonym for the value."""
    action = policy.action_for(entity.type)
    if action == "tag":
        return f"<{entity.type}>"
    if action == "mask":
        return policy.mask_char * (entity.end - entity.start)
    if action == "pseudonym":
        return pseudonyms.placeholder(entity.type, text[entity.start : entity.end])
    raise ValueError(f"unknown PII action {action!r} for {entity.type}")


def apply_policy(
    text: str, entities: Sequence[Entity], policy: PIIPolicy, pseudonyms: PseudonymMap
) -> tuple[str, list[Entity]]:
    """The default ``Anonymize``: left to right, so pseudonyms number in reading order."""
    parts: list[str] = []
    placed: list[Entity] = []
    cursor = out = 0
    for entity in entities:
        if entity.start < cursor:
            raise ValueError("overlapping PII spans reached the anonymizer")
        new = replacement_for(text, entity, policy, pseudonyms)
        out += entity.start - cursor
        parts += [text[cursor : entity.start], new]
        placed.append(replace(entity, replacement=new, out_start=out, out_end=out + len(new)))
        out += len(new)
        cursor = entity.end
    parts.append(text[cursor:])
    return "".join(parts), placed
