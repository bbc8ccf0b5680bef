"""Embedding metrics on the real bundled all-MiniLM-L6-v2 (loaded once for the module)."""

from __future__ import annotations

import pytest

from config.models import EMBEDDINGS_HINT
from config.settings import Settings
from evaluation.registry import MetricContext, MetricInput
from evaluation.similarity import AnswerRelevance, SemanticSimilarity

pytestmark = pytest.mark.slow

EXPECTED = "Your credit card's annual fee is waived for the first year."
PARAPHRASE = "There is no yearly charge on your card during the first twelve months."
UNRELATED = "Our branch in Leeds opens at nine on Saturdays."


class CountingEmbedder:
    """The real embedder, wrapped to count ``encode`` calls and the texts sent."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def real_embedder():
    return MetricContext(Settings()).embedder()


@pytest.fixture
def counting(real_embedder):
    return CountingEmbedder(real_embedder)


@pytest.fixture
def metric_context(counting):
    return MetricContext(Settings(), embedder=counting)


def row(output, expected=None, prompt="What fees does my credit card have?"):
    return MetricInput(input=prompt, output=output, expected=expected)


def test_the_fixture_is_the_real_model(real_embedder):
    vectors = real_embedder.encode(["a", "b"])
    assert vectors.shape == (2, 384)


def test_paraphrase_scores_higher_than_an_unrelated_answer(metric_context):
    metric = SemanticSimilarity(metric_context)
    paraphrase, unrelated = metric.score_many([row(PARAPHRASE, EXPECTED), row(UNRELATED, EXPECTED)])
    assert paraphrase.status == unrelated.status == "ok"
    assert paraphrase.value > unrelated.value + 0.3, (paraphrase, unrelated)
    assert 0.0 <= unrelated.value < 0.3 < 0.5 < paraphrase.value <= 1.0
    assert "Cosine similarity of the output and the expected output" in paraphrase.explanation


def test_identical_text_scores_about_one(metric_context):
    [result] = SemanticSimilarity(metric_context).score_many([row(EXPECTED, EXPECTED)])
    assert result.value == pytest.approx(1.0, abs=1e-5)


def test_rows_without_expected_or_output_are_unavailable(metric_context, counting):
    metric = SemanticSimilarity(metric_context)
    results = metric.score_many([row(PARAPHRASE, None), row(None, EXPECTED), row(PARAPHRASE, "  ")])
    assert [r.status for r in results] == ["unavailable"] * 3
    assert all(r.value is None and not r.flagged for r in results)
    assert "no expected output" in results[0].explanation
    assert "no output for this row" in results[1].explanation
    assert counting.calls == [], "nothing to compare: the model is not called"


def test_an_empty_output_scores_zero_without_the_model(metric_context, counting):
    [result] = SemanticSimilarity(metric_context).score_many([row("", EXPECTED)])
    assert (result.status, result.value, result.explanation) == ("ok", 0.0, "The output is empty.")
    assert counting.calls == []


def test_one_encode_call_per_batch_on_distinct_texts(metric_context, counting):
    rows = [row(f"The annual fee is waived in year {i}.", EXPECTED) for i in range(40)]
    rows += [row(EXPECTED, EXPECTED), row(None, EXPECTED), row(PARAPHRASE, None)]
    results = SemanticSimilarity(metric_context).score_many(rows)
    assert len(counting.calls) == 1
    sent = counting.calls[0]
    assert len(sent) == len(set(sent)) == 41, "each distinct text is embedded once"
    assert [r.status for r in results] == ["ok"] * 41 + ["unavailable"] * 2
    # batching gives the same numbers as scoring rows one at a time
    alone = SemanticSimilarity(metric_context).score_many([rows[3]])[0]
    assert alone.value == pytest.approx(results[3].value, abs=1e-5)


def test_answer_relevance_compares_the_output_with_the_prompt(metric_context, counting):
    prompt = "Explain the annual fee on the Platinum credit card."
    metric = AnswerRelevance(metric_context)
    on_topic, off_topic, missing = metric.score_many(
        [row(EXPECTED, prompt=prompt), row(UNRELATED, prompt=prompt), row(None, prompt=prompt)]
    )
    assert on_topic.value > off_topic.value + 0.2, (on_topic, off_topic)
    assert "output and the prompt" in on_topic.explanation
    assert missing.status == "unavailable"
    assert len(counting.calls) == 1
    assert AnswerRelevance.describe()["reads"] == ["input", "output"]
    assert AnswerRelevance.describe()["kind"] == SemanticSimilarity.describe()["kind"] == "model"


def test_thresholds_flag_low_similarity(metric_context):
    metric = SemanticSimilarity(metric_context, flag_below=0.5)
    paraphrase, unrelated = metric.score_many([row(PARAPHRASE, EXPECTED), row(UNRELATED, EXPECTED)])
    assert not paraphrase.flagged and unrelated.flagged


def test_negative_cosines_are_clamped_to_zero_and_said_so():
    import numpy as np

    class Opposed:
        """Maps the first text to e1 and the second to -e1 (a cosine of -1)."""

        def encode(self, texts):
            vectors = np.zeros((len(texts), 3), dtype=np.float32)
            vectors[0, 0], vectors[1, 0] = 1.0, -1.0
            return vectors

    [result] = SemanticSimilarity(MetricContext(Settings(), embedder=Opposed())).score_many([row("a", "b")])
    assert result.value == 0.0
    assert "-1.000 (negative similarity is reported as 0)" in result.explanation


def test_missing_model_makes_every_row_unavailable_with_the_fix(tmp_path):
    context = MetricContext(Settings(embeddings_model_path=tmp_path))  # an empty folder: no model there
    metric = SemanticSimilarity(context)
    available, why = metric.availability()
    assert available is False
    assert EMBEDDINGS_HINT in why and "not installed" in why
    results = metric.score_many([row(PARAPHRASE, EXPECTED), row(EXPECTED, EXPECTED)])
    assert [(r.status, r.value) for r in results] == [("unavailable", None)] * 2
    assert all(EMBEDDINGS_HINT in r.explanation for r in results)
    [relevance] = AnswerRelevance(context).score_many([row(PARAPHRASE)])
    assert relevance.status == "unavailable" and EMBEDDINGS_HINT in relevance.explanation


def test_an_encoder_failure_is_an_error_not_a_score():
    class Broken:
        def encode(self, texts):
            raise RuntimeError("out of memory")

    results = SemanticSimilarity(MetricContext(Settings(), embedder=Broken())).score_many(
        [row(PARAPHRASE, EXPECTED), row(None, EXPECTED)]
    )
    assert [(r.status, r.value) for r in results] == [("error", None), ("unavailable", None)]
    assert "RuntimeError: out of memory" in results[0].explanation


def test_metrics_of_one_run_embed_a_shared_output_once(metric_context, counting):
    rows = [row(f"The fee for transfer {i} is two euros.", EXPECTED) for i in range(5)]
    relevance = AnswerRelevance(metric_context).score_many(rows)
    similarity = SemanticSimilarity(metric_context).score_many(rows)
    sent = [text for call in counting.calls for text in call]
    assert len(sent) == len(set(sent)) == 5 + 1 + 1, "5 outputs, 1 prompt, 1 expected answer: each once"
    fresh = SemanticSimilarity(MetricContext(Settings(), embedder=counting)).score_many(rows)
    assert [r.value for r in fresh] == pytest.approx([r.value for r in similarity], abs=1e-6)
    assert all(r.status == "ok" for r in relevance)
