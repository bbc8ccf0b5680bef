"""The TruLens side of ``bench.eval``: an instrumented app and feedback implementations.

TruLens stores a metric's implementation by module and name (``FunctionOrMethod``), so
feedback functions must live in an importable module, not in ``__main__``: here.

Each feedback function scores ONE record by calling ``score`` of the SAME PromptForge
metric instance the bench built from the same metric set (``use_metrics``), and returns
TruLens's ``(score, {"explanation": ...})`` pair, so TruLens records the score and the
explanation in its EVAL_ROOT / EVAL spans just as ``TruLensStore.add_metric_results`` does
for our path. A metric that is not "ok" raises, and TruLens records the error: no made-up
number. One call per record is how TruLens feedback functions work; that, and TruLens's
machinery around each call (a thread per input, two spans per result, its span exporter),
is what the benchmark measures against our batched path.

The app (``BankingAssistant``) is a stand-in model: it returns the pre-generated answer of
each question. The expected answer is an argument of its main method, so TruLens records
it as a call argument of the record root (``ai.observability.call.kwargs.expected``),
where the ``semantic_similarity`` feedback's selector reads it.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from trulens.core.otel.instrument import instrument

from evaluation.registry import MetricInput

if TYPE_CHECKING:
    from evaluation.registry import Metric as PFMetric

# result name -> the PromptForge metric instance the feedback functions call
_metrics: dict[str, PFMetric] = {}


def use_metrics(metrics: list[PFMetric]) -> None:
    """Make the feedback functions call these metric instances (built by the bench)."""
    _metrics.clear()
    _metrics.update({m.result_name: m for m in metrics})


def _score(name: str, *, question: str = "", answer: str | None = None, expected: str | None = None):
    result = _metrics[name].score(MetricInput(input=question, output=answer, expected=expected))
    if result.status != "ok":
        raise RuntimeError(f"{name} is {result.status}: {result.explanation}")
    return result.value, {"explanation": result.explanation}


# -- one feedback function per metric (argument names are what the selectors fill) ---------


def answer_relevance(question: str, answer: str):
    return _score("answer_relevance", question=question, answer=answer)


def semantic_similarity(answer: str, expected: str):
    return _score("semantic_similarity", answer=answer, expected=expected)


def assert_contains(answer: str):
    return _score("assert_contains", answer=answer)


def assert_length(answer: str):
    return _score("assert_length", answer=answer)


def assert_json_schema(answer: str):
    return _score("assert_json_schema", answer=answer)


FEEDBACKS = {
    "answer_relevance": answer_relevance,
    "semantic_similarity": semantic_similarity,
    "assert_contains": assert_contains,
    "assert_length": assert_length,
    "assert_json_schema": assert_json_schema,
}


def trulens_metrics(metrics: list[PFMetric]) -> list:
    """One TruLens ``Metric`` per PromptForge metric, with OTel selectors on the record root:
    the question is the record's main input, the answer its main output, the expected
    answer the main method's ``expected`` argument."""
    from trulens.core import Metric, Selector
    from trulens.otel.semconv.trace import SpanAttributes

    selectors = {
        "question": Selector.select_record_input(),
        "answer": Selector.select_record_output(),
        "expected": Selector(
            span_type=SpanAttributes.SpanType.RECORD_ROOT,
            function_attribute="expected",
            ignore_none_values=True,
        ),
    }
    built = []
    for metric in metrics:
        function = FEEDBACKS[metric.result_name]
        wanted = inspect.signature(function).parameters
        built.append(
            Metric(
                implementation=function,
                name=metric.result_name,
                higher_is_better=metric.higher_is_better,
                selectors={arg: selectors[arg] for arg in wanted},
            )
        )
    return built


class BankingAssistant:
    """A stand-in model for TruLens to record: the canned answer to each question."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    @instrument()
    def answer(self, question: str, expected: str) -> str:
        return self.answers[question]
