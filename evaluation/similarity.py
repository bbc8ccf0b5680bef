"""Embedding metrics: cosine similarity of sentence embeddings (all-MiniLM-L6-v2).

Both metrics score a whole batch with one ``encode`` call on the distinct texts of
the batch that their context has not embedded yet (``MetricContext.embed``: unit-length
float32 rows, so a dot product is the cosine; the metrics of one run share the vectors,
so an output read by both metrics is encoded once). The model reads at most 256 word pieces of each text and ignores
the rest. When the model is not installed every row is "unavailable" with the fix
(``config.models.EMBEDDINGS_HINT``), never a made-up score.

Cosine similarity lies in -1..1; these metrics report 0..1, so a negative cosine
(unrelated or opposed texts) is reported as 0 and the explanation gives the raw
value. An empty output is scored 0 without calling the model: it says nothing.
"""

from __future__ import annotations

from typing import ClassVar

from config.errors import ConfigError
from config.models import EMBEDDINGS_HINT
from evaluation.registry import Metric, MetricInput, MetricResult, register_metric


class EmbeddingSimilarity(Metric):
    """Cosine similarity between the output and another text of the same row (``other``)."""

    kind = "model"
    higher_is_better = True
    value_range = (0.0, 1.0)
    option_help: ClassVar[dict[str, str]] = {}
    other: ClassVar[str]  # the MetricInput field compared with the output
    other_label: ClassVar[str]

    def availability(self) -> tuple[bool, str]:
        try:
            self.context.embedder()
        except ConfigError as exc:
            reason = str(exc)
            if EMBEDDINGS_HINT not in reason:
                reason = f"{reason} Fix: {EMBEDDINGS_HINT}."
            return False, reason
        return True, ""

    def _skip(self, item: MetricInput) -> MetricResult | None:
        """The result of a row that needs no model (unavailable or empty), else None."""
        if item.output is None:
            return self.unavailable("There is no output for this row (blocked, or the model call failed).")
        other = getattr(item, self.other)
        if other is None or not other.strip():
            return self.unavailable(f"This row has no {self.other_label} to compare the output with.")
        if not item.output.strip():
            return self.result(0.0, "The output is empty.")
        return None

    def score_many(self, items: list[MetricInput]) -> list[MetricResult]:
        results: list[MetricResult | None] = [self._skip(item) for item in items]
        todo = [i for i, r in enumerate(results) if r is None]
        if not todo:
            return results  # type: ignore[return-value]
        ok, why = self.availability()
        if not ok:
            return [self.unavailable(why) if r is None else r for r in results]
        import numpy as np

        texts: dict[str, int] = {}
        for i in todo:
            for text in (items[i].output, getattr(items[i], self.other)):
                texts.setdefault(text, len(texts))
        try:
            vectors = self.context.embed(list(texts))
        except Exception as exc:  # noqa: BLE001 - one metric failing never sinks a run
            return [self.failed(exc) if r is None else r for r in results]
        for i in todo:
            a = vectors[texts[items[i].output]]
            b = vectors[texts[getattr(items[i], self.other)]]
            norms = float(np.linalg.norm(a) * np.linalg.norm(b))  # rows are unit length; be safe anyway
            results[i] = self._scored(float(a @ b) / norms if norms > 0 else 0.0)
        return results  # type: ignore[return-value]

    def score(self, item: MetricInput) -> MetricResult:
        return self.score_many([item])[0]

    def _scored(self, cosine: float) -> MetricResult:
        value = min(max(cosine, 0.0), 1.0)
        note = " (negative similarity is reported as 0)" if cosine < 0 else ""
        return self.result(value, f"Cosine similarity of the output and the {self.other_label}: {cosine:.3f}{note}.")


@register_metric
class SemanticSimilarity(EmbeddingSimilarity):
    name = "semantic_similarity"
    description = (
        "Meaning overlap of the output with the expected output: cosine similarity of "
        "all-MiniLM-L6-v2 embeddings, 0 to 1 (negative cosines count as 0). Needs an expected output."
    )
    reads = ("output", "expected")
    other = "expected"
    other_label = "expected output"


@register_metric
class AnswerRelevance(EmbeddingSimilarity):
    name = "answer_relevance"
    description = (
        "How closely the output relates to the prompt it answers: cosine similarity of "
        "all-MiniLM-L6-v2 embeddings of the output and the scrubbed rendered prompt, 0 to 1 "
        "(negative cosines count as 0)."
    )
    reads = ("input", "output")
    other = "input"
    other_label = "prompt"
