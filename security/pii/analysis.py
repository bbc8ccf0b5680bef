"""Analysis: the analyzer's detections for many texts, the same in-process and in a worker."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from presidio_analyzer import AnalyzerEngine, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from config.settings import PIIPolicy
from security.pii.engine import LANGUAGE
from security.pii.selection import analysis_threshold, recognizer_name

# what crosses the process boundary: (type, start, end, score, recognizer), never text
Span = tuple[str, int, int, float, str]


@dataclass(frozen=True, slots=True)
class AnalysisParams:
    """What the analyzer needs from a policy: entity types, the lowest threshold, batch size."""

    entities: tuple[str, ...]
    threshold: float
    batch_size: int = 64

    @classmethod
    def for_policy(cls, policy: PIIPolicy, batch_size: int = 64) -> AnalysisParams:
        return cls(tuple(policy.entities), analysis_threshold(policy), batch_size)


def analyze_many(
    analyzer: AnalyzerEngine, texts: Sequence[str], params: AnalysisParams
) -> list[list[RecognizerResult]]:
    """Analyzer results per text; spaCy runs over the non-empty texts with ``nlp.pipe``."""
    filled = [text for text in texts if text]
    if len(filled) <= 1:  # one text: the analyzer runs spaCy itself
        artifacts: Iterator[tuple[str, NlpArtifacts | None]] = iter([(text, None) for text in filled])
    else:
        artifacts = analyzer.nlp_engine.process_batch(filled, language=LANGUAGE, batch_size=params.batch_size)
    results: list[list[RecognizerResult]] = []
    for text in texts:
        if not text:
            results.append([])
            continue
        _, nlp_artifacts = next(artifacts)
        results.append(
            analyzer.analyze(
                text=text,
                language=LANGUAGE,
                entities=list(params.entities) or None,
                score_threshold=params.threshold,
                nlp_artifacts=nlp_artifacts,
            )
        )
    return results


def to_spans(results: Iterable[RecognizerResult]) -> list[Span]:
    """The fields selection reads, as plain tuples (cheap to pickle, no explanations)."""
    return [(r.entity_type, r.start, r.end, r.score, recognizer_name(r)) for r in results]


def from_spans(spans: Iterable[Span]) -> list[RecognizerResult]:
    """Analyzer results rebuilt from ``to_spans``; ``select`` treats them as the originals."""
    return [
        RecognizerResult(
            kind, start, end, score, recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: name}
        )
        for kind, start, end, score, name in spans
    ]
