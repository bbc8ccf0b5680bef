"""From analyzer results to the spans a policy scrubs: thresholds, allow-list, overlaps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from presidio_analyzer import RecognizerResult

from config.settings import PIIPolicy
from security.pii.name_spans import complete_names
from security.pii.recognizers.ner import FROM_ORGANISATION
from security.pii.results import Entity
from security.pii.vocabulary import PROMPT_VOCABULARY


def recognizer_name(result: RecognizerResult) -> str:
    """The name of the recognizer that produced ``result`` ("" when unknown)."""
    metadata = result.recognition_metadata or {}
    return str(metadata.get(RecognizerResult.RECOGNIZER_NAME_KEY, ""))


def _allowed(allow_list: Iterable[str]) -> set[str]:
    return {" ".join(term.split()).casefold() for term in allow_list if term.strip()}


def _uncovered(start: int, end: int, taken: list[Entity]) -> list[tuple[int, int]]:
    """The parts of ``[start, end)`` outside the ``taken`` spans."""
    pieces, cursor = [], start
    for t in sorted(taken, key=lambda e: e.start):
        if t.end <= cursor or t.start >= end:
            continue
        if t.start > cursor:
            pieces.append((cursor, t.start))
        cursor = max(cursor, t.end)
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def merge_same_type(entities: list[Entity]) -> list[Entity]:
    """Overlapping spans of one type become their union, with the higher score."""
    merged: list[Entity] = []
    for entity in sorted(entities, key=lambda e: (e.type, e.start)):
        last = merged[-1] if merged else None
        if last is not None and last.type == entity.type and entity.start < last.end:
            best = entity if entity.score > last.score else last
            merged[-1] = replace(best, start=last.start, end=max(last.end, entity.end))
        else:
            merged.append(entity)
    return merged


def resolve_overlaps(text: str, entities: list[Entity]) -> list[Entity]:
    """Non-overlapping spans, sorted by start.

    Spans of one type merge. Otherwise the highest score wins, then the longest. A
    loser that sticks out of the winners keeps the part they do not cover (a phone
    number cut by a date is still scrubbed whole); a loser that wraps a winner is
    dropped (the NER often labels the words around a value it does not understand).
    """
    kept: list[Entity] = []
    for entity in sorted(merge_same_type(entities), key=lambda e: (-e.score, -(e.end - e.start), e.start)):
        if any(entity.start <= k.start and k.end <= entity.end for k in kept):
            continue
        for start, end in _uncovered(entity.start, entity.end, kept):
            piece = text[start:end]
            if any(ch.isalnum() for ch in piece):
                start += len(piece) - len(piece.lstrip())
                end -= len(piece) - len(piece.rstrip())
                kept.append(replace(entity, start=start, end=end))
    return sorted(kept, key=lambda e: e.start)


def select(text: str, results: Iterable[RecognizerResult], policy: PIIPolicy) -> list[Entity]:
    """The detections ``policy`` scrubs, as entities with original offsets only."""
    wanted = set(policy.entities)
    skipped = set(policy.not_personal_alone) - wanted
    allowed = _allowed(policy.allow_list) | (PROMPT_VOCABULARY if policy.builtin_allow_list else set())
    candidates = [
        Entity(
            type=r.entity_type,
            start=r.start,
            end=r.end,
            score=round(float(r.score), 4),
            recognizer=recognizer_name(r),
        )
        for r in results
        if r.end > r.start
        and (r.entity_type in wanted if wanted else r.entity_type not in skipped)
        and (policy.names_from_organisations or not recognizer_name(r).endswith(FROM_ORGANISATION))
        and r.score >= policy.threshold_for(r.entity_type)
        and _keep(text[r.start : r.end], allowed)
    ]
    return resolve_overlaps(text, complete_names(text, candidates, lambda span: _keep(span, allowed)))


def _keep(span: str, allowed: set[str]) -> bool:
    return " ".join(span.split()).casefold() not in allowed


def analysis_threshold(policy: PIIPolicy) -> float:
    """The lowest threshold of the policy: results below it are never needed."""
    return min([policy.score_threshold, *policy.thresholds.values()])
