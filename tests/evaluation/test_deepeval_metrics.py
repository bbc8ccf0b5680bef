"""DeepEval metrics judged by our providers: DeepEval's real metric classes, prompts and
parsing, LangChain and our ChatProvider, against the local fake OpenAI-compatible server
whose scripted judge (tests/fakes/deepeval_judge.py) reads each prompt DeepEval sends."""

from __future__ import annotations

import threading

import pytest

from config.errors import ConfigError, MissingCredentialsError, ProviderError
from config.settings import Settings
from evaluation.deepeval_metrics import (
    DEFAULT_ADVICE_TYPES,
    NO_JUDGE_REASON,
    SIMULATED_PREFIX,
    AnswerRelevancy,
    Bias,
    ExactMatch,
    Faithfulness,
    GEvalMetric,
    JsonCorrectness,
    JudgeToxicity,
    NonAdvice,
    PatternMatch,
    PIILeakage,
    extract_json,
)
from evaluation.judge import JudgeReply
from evaluation.registry import MetricContext, MetricInput, registered_metrics
from execution.judges import ProviderJudge, build_judge
from tests.fakes.deepeval_judge import DeepEvalResponder, kind_of

JUDGE_MODEL = "judge-model"
QUESTION = "What does a wire transfer cost?"
THREE_STATEMENTS = (
    "A wire transfer costs 25 dollars. Transfers sent before 4 pm arrive the same day. "
    "ACME shares will double next year."
)
JUDGED = [AnswerRelevancy, Faithfulness, Bias, JudgeToxicity, PIILeakage, NonAdvice]


@pytest.fixture
def make_settings(make_settings):
    """The shared isolated settings, with no retries and a 10 s timeout for judge calls."""

    def make(**overrides) -> Settings:
        return make_settings(**{"provider_timeout_s": 10.0, "provider_max_retries": 0, **overrides})

    return make


@pytest.fixture
def responder(llm_server) -> DeepEvalResponder:
    scripted = DeepEvalResponder()
    llm_server.default_text = scripted
    return scripted


@pytest.fixture
def judged(make_settings, llm_server, responder):
    """``judged(MetricClass, **options)``: the metric with a compat judge on the fake server.
    The judge's price is 1 USD per input token, so a row's cost is the words it sent."""

    def make(cls, settings=None, **options):
        settings = settings or make_settings(prices={JUDGE_MODEL: (1_000_000.0, 0.0)})
        judge = build_judge(f"compat:{JUDGE_MODEL}@{llm_server.openai_base_url}", settings)
        return cls(MetricContext(settings, judge=judge), **options)

    return make


def row(output: str = THREE_STATEMENTS, **fields) -> MetricInput:
    return MetricInput(input=fields.pop("input", QUESTION), output=output, **fields)


def sent_words(llm_server) -> int:
    return sum(len(r.prompt_text.split()) for r in llm_server.requests)


# -- judged metrics against the fake server ------------------------------------------------


def test_answer_relevancy_counts_a_scripted_no_verdict(judged, llm_server, responder):
    (result,) = judged(AnswerRelevancy).score_many([row()])
    assert result.status == "ok" and not result.simulated
    assert result.value == pytest.approx(2 / 3)  # 3 statements, the ACME one judged irrelevant
    assert result.explanation == "The score is 0.67 because the scripted judge said so."
    assert result.higher_is_better is True
    assert responder.kinds == [
        "answer_relevancy.statements",
        "answer_relevancy.verdicts",
        "answer_relevancy.reason",
    ]
    statements, verdicts, _ = llm_server.requests
    assert {(r.path, r.body["model"]) for r in llm_server.requests} == {("/v1/chat/completions", JUDGE_MODEL)}
    assert THREE_STATEMENTS in statements.prompt_text
    assert QUESTION in verdicts.prompt_text and "ACME shares will double next year." in verdicts.prompt_text


def test_answer_relevancy_all_relevant_scores_one(judged):
    (result,) = judged(AnswerRelevancy).score_many([row("A wire transfer costs 25 dollars.")])
    assert result.value == 1.0 and result.explanation.startswith("The score is 1.00")


def test_cost_and_latency_are_summed_over_the_rows_judge_calls(judged, llm_server):
    llm_server.enqueue(delay_s=0.3)  # the first call is slow; the scripted judge still answers
    (result,) = judged(AnswerRelevancy).score_many([row()])
    assert len(llm_server.requests) == 3
    assert result.cost_usd == pytest.approx(sent_words(llm_server))  # 1 USD per input token
    assert 0.3 <= result.latency_s < 5


def test_cost_is_unknown_without_a_price(judged, make_settings):
    (result,) = judged(AnswerRelevancy, settings=make_settings()).score_many([row()])
    assert result.status == "ok" and result.cost_usd is None and result.latency_s > 0


def test_faithfulness_reads_the_context_and_skips_rows_without_one(judged, llm_server, responder):
    context = "A wire transfer costs 25 dollars. Transfers sent before 4 pm arrive the same day."
    with_context, without = judged(Faithfulness).score_many([row(context=context), row()])
    assert with_context.status == "ok"
    assert with_context.value == pytest.approx(2 / 3)  # the ACME claim is contradicted
    assert without.status == "unavailable" and "no context" in without.explanation
    assert without.cost_usd is None
    assert sorted(responder.kinds) == sorted(
        ["faithfulness.truths", "faithfulness.claims", "faithfulness.verdicts", "faithfulness.reason"]
    )
    truths = next(r for r in llm_server.requests if kind_of(r.prompt_text) == "faithfulness.truths")
    assert context in truths.prompt_text


@pytest.mark.parametrize(
    ("cls", "verdict_kind"),
    [
        (Bias, "bias.verdicts"),
        (JudgeToxicity, "toxicity.verdicts"),
        (PIILeakage, "pii_leakage.verdicts"),
        (NonAdvice, "non_advice.verdicts"),
    ],
)
def test_violation_metrics_score_the_share_of_clean_statements(judged, responder, cls, verdict_kind):
    clean = "Our savings account pays 3 percent a year. Branches open at 9 am."
    mixed = "Our savings account pays 3 percent a year. You should put your savings into ACME."
    results = judged(cls).score_many([row(clean), row(mixed)])
    assert [r.status for r in results] == ["ok", "ok"]
    # DeepEval 4 scores these 1 = no violation: higher is better
    assert [r.value for r in results] == [1.0, 0.5]
    assert cls.higher_is_better is True and cls.kind == "judge"
    assert results[1].explanation == "The score is 0.50 because the scripted judge said so."
    assert responder.kinds.count(verdict_kind) == 2


def test_non_advice_asks_about_personal_financial_advice_by_default(judged, llm_server):
    judged(NonAdvice).score_many([row("You should move your pension into ACME.")])
    verdicts = next(r for r in llm_server.requests if kind_of(r.prompt_text) == "non_advice.verdicts")
    assert "Advice types to flag: " + ", ".join(DEFAULT_ADVICE_TYPES) in verdicts.prompt_text
    assert "personal financial" in DEFAULT_ADVICE_TYPES


def test_non_advice_advice_types_option(judged, llm_server):
    metric = judged(NonAdvice, advice_types=["mortgage"])
    (result,) = metric.score_many([row("Take the ACME mortgage.")])
    assert result.value == 0.0
    verdicts = next(r for r in llm_server.requests if kind_of(r.prompt_text) == "non_advice.verdicts")
    assert "Advice types to flag: mortgage" in verdicts.prompt_text
    with pytest.raises(ConfigError, match="advice_types"):
        judged(NonAdvice, advice_types=[])


def test_g_eval_writes_steps_once_and_scores_every_row(judged, llm_server, responder):
    metric = judged(GEvalMetric, criteria="The answer states the fee and promises nothing.", flag_below=0.8)
    results = metric.score_many([row(), row("The fee is 25 dollars."), row("It is free.")])
    assert [r.value for r in results] == [pytest.approx(0.7)] * 3  # 7 on G-Eval's 0-10 scale
    assert all(r.explanation == "Scripted G-Eval judgement." and r.flagged for r in results)
    assert responder.kinds.count("g_eval.steps") == 1 and responder.kinds.count("g_eval.score") == 3
    steps = next(r for r in llm_server.requests if kind_of(r.prompt_text) == "g_eval.steps")
    assert "The answer states the fee and promises nothing." in steps.prompt_text
    score = next(r for r in llm_server.requests if kind_of(r.prompt_text) == "g_eval.score")
    assert "Penalise what the criteria forbid." in score.prompt_text  # the generated steps
    # the first row paid for writing the steps
    assert results[0].cost_usd > results[1].cost_usd


def test_g_eval_with_given_steps_and_params(judged, responder, llm_server):
    metric = judged(
        GEvalMetric,
        criteria="Matches the expected answer.",
        evaluation_steps=["Compare the actual output with the expected output."],
        evaluation_params=["input", "output", "expected"],
    )
    with_expected, without = metric.score_many([row(expected="25 dollars"), row()])
    assert with_expected.value == pytest.approx(0.7) and "g_eval.steps" not in responder.kinds
    assert "25 dollars" in llm_server.requests[0].prompt_text
    assert without.status == "unavailable" and "no expected answer" in without.explanation


@pytest.mark.parametrize("options", [{}, {"criteria": "  "}, {"evaluation_steps": ["Check it."]}])
def test_g_eval_requires_criteria(options):
    with pytest.raises(ConfigError) as err:
        GEvalMetric(MetricContext(), **options)
    assert "needs a 'criteria' option" in str(err.value) and "options: {criteria:" in str(err.value)


def test_g_eval_rejects_unknown_params_and_options():
    with pytest.raises(ConfigError, match="unknown field"):
        GEvalMetric(MetricContext(), criteria="x", evaluation_params=["output", "tools"])
    with pytest.raises(ConfigError, match="does not take the option"):
        GEvalMetric(MetricContext(), criteria="x", rubric="y")


@pytest.mark.parametrize("wrap", ["fence", "prose"])
def test_json_in_fences_or_prose_is_read(judged, responder, wrap):
    responder.wrap = wrap
    (result,) = judged(AnswerRelevancy).score_many([row()])
    assert result.status == "ok" and result.value == pytest.approx(2 / 3)


def test_http_500_fails_only_that_row(judged, make_settings, llm_server):
    llm_server.enqueue(status=500)
    settings = make_settings(batch_concurrency=1)
    first, second = judged(AnswerRelevancy, settings=settings).score_many([row(), row()])
    assert first.status == "error" and first.value is None
    assert first.explanation.startswith("The judge call failed: Provider compat:judge-model@")
    assert "server error (HTTP 500" in first.explanation
    assert first.latency_s is not None  # the failed call took time too
    assert second.status == "ok" and second.value == pytest.approx(2 / 3)


def test_malformed_json_fails_only_that_row(judged, make_settings):
    settings = make_settings(batch_concurrency=3)
    results = judged(Bias, settings=settings).score_many(
        [row("Fees are low. ACME is bad."), row("BROKEN text here."), row("Fees are low.")]
    )
    assert [r.status for r in results] == ["ok", "error", "ok"]
    assert [results[0].value, results[2].value] == [0.5, 1.0]
    assert "did not answer DeepEval's Opinions prompt with JSON" in results[1].explanation
    assert results[1].cost_usd is None and results[1].latency_s > 0


def test_json_of_the_wrong_shape_is_an_error_that_says_so(judged):
    bad, good = judged(AnswerRelevancy).score_many([row("WRONGSHAPE answer."), row()])
    assert bad.status == "error"
    assert "Statements prompt did not match its schema" in bad.explanation
    assert "statements" in bad.explanation
    assert good.status == "ok"


def test_rows_are_judged_with_bounded_concurrency(judged, make_settings, responder):
    responder.delay_s = 0.15
    metric = judged(Bias, settings=make_settings(batch_concurrency=3))
    assert metric.workers() == 3
    results = metric.score_many([row(f"Statement number {i}.") for i in range(6)])
    assert [r.value for r in results] == [1.0] * 6  # in row order
    assert 2 <= responder.max_in_flight <= 3


@pytest.mark.parametrize("cls", [*JUDGED, GEvalMetric])
def test_without_a_judge_judged_metrics_are_unavailable(cls, make_settings, llm_server):
    options = {"criteria": "x"} if cls is GEvalMetric else {}
    results = cls(MetricContext(make_settings(), judge=None), **options).score_many([row(), row()])
    assert [r.status for r in results] == ["unavailable", "unavailable"]
    assert results[0].explanation == NO_JUDGE_REASON and "Choose a judge provider" in NO_JUDGE_REASON
    assert llm_server.requests == []


@pytest.mark.parametrize("cls", [*JUDGED, GEvalMetric])
def test_offline_judge_results_are_marked_simulated(cls, make_settings):
    settings = make_settings(batch_concurrency=4)
    judge = build_judge("offline", settings)
    options = {"criteria": "States the fee."} if cls is GEvalMetric else {}
    metric = cls(MetricContext(settings, judge=judge), flag_below=0.9, **options)
    assert judge.simulated and metric.workers() == 1
    (result,) = metric.score_many([row(context="Wire transfers cost 25 dollars.")])
    assert result.status == "ok" and result.simulated is True
    assert result.explanation.startswith(SIMULATED_PREFIX)
    assert result.value == 0.5  # the neutral placeholder, never a judgement
    assert result.flagged is False  # a simulated score raises no flag
    assert result.cost_usd == 0.0


def test_a_judge_uses_fallbacks_only_when_its_spec_list_names_them(make_settings, llm_server, responder):
    for _ in range(6):
        llm_server.enqueue(status=500)
    primary = f"compat:{JUDGE_MODEL}@{llm_server.openai_base_url}"
    settings = make_settings(fallback_providers=["offline"])
    alone_judge = build_judge(primary, settings)
    (alone,) = AnswerRelevancy(MetricContext(settings, judge=alone_judge)).score_many([row()])
    assert alone.status == "error"  # the settings' fallbacks do not apply to a judge
    chain = build_judge([primary, "offline"], settings)
    assert not chain.simulated and chain.name == f"{primary}, then offline"
    (fell_back,) = AnswerRelevancy(MetricContext(settings, judge=chain)).score_many([row()])
    assert fell_back.status == "ok" and fell_back.simulated is True
    assert fell_back.explanation.startswith(SIMULATED_PREFIX)


# -- the judge and the adapter -------------------------------------------------------------


def test_build_judge(make_settings, llm_server):
    settings = make_settings()
    assert build_judge(None, settings) is None and build_judge(" none ", settings) is None
    assert build_judge([], settings) is None
    with pytest.raises(ProviderError, match="Unknown provider kind"):
        build_judge("gemini:pro", settings)
    with pytest.raises(MissingCredentialsError, match="PROMPTFORGE_OPENAI_API_KEY"):
        build_judge("openai:gpt-4o-mini", settings)  # said when the judge is chosen, not per row
    host = llm_server.openai_base_url.removeprefix("http://")
    judge = build_judge(f"compat:m@http://user:s3cret@{host}", settings)
    assert isinstance(judge, ProviderJudge) and "s3cret" not in judge.name and not judge.simulated
    reply = judge.complete("Say hi.")
    assert isinstance(reply, JudgeReply) and reply.model == "m" and reply.input_tokens == 2


class RecordingJudge:
    name = "recording"
    simulated = False

    def __init__(self, text: str) -> None:
        self.text = text
        self.prompts: list[str] = []
        self._lock = threading.Lock()

    def complete(self, prompt: str) -> JudgeReply:
        with self._lock:
            self.prompts.append(prompt)
        return JudgeReply(self.text, "m", False, latency_s=0.25, cost_usd=0.001)


def test_adapter_parses_into_deepeval_schemas_and_records_calls():
    from deepeval.metrics.answer_relevancy.schema import Statements
    from deepeval.models import DeepEvalBaseLLM

    from evaluation.deepeval_metrics import DeepEvalJudgeModel

    model = DeepEvalJudgeModel(RecordingJudge('Here you go:\n```json\n{"statements": ["a", "b",]}\n```'))
    assert isinstance(model, DeepEvalBaseLLM) and model.get_model_name() == "recording"
    threads = [threading.Thread(target=lambda: model.generate("p", schema=Statements)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert model.generate("p", schema=Statements).statements == ["a", "b"]
    assert model.calls.count == 9
    assert model.calls.latency_s == pytest.approx(9 * 0.25) and model.calls.cost_usd == pytest.approx(0.009)
    assert model.generate("p").startswith("Here you go")  # no schema: the text as is


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
        ('Sure: {"a": {"b": "}"}} hope that helps {really}', {"a": {"b": "}"}}),
        ('{"a": [1, 2,],}', {"a": [1, 2]}),
    ],
)
def test_extract_json(text, expected):
    assert extract_json(text) == expected


def test_extract_json_rejects_prose():
    with pytest.raises(ValueError):
        extract_json("no JSON here")


# -- metrics without a judge ---------------------------------------------------------------


def test_exact_match():
    metric = ExactMatch(MetricContext(judge=None))
    same, different, no_expected = metric.score_many(
        [row(" 25 dollars ", expected="25 dollars"), row("25 Dollars", expected="25 dollars"), row("x")]
    )
    assert (same.value, different.value) == (1.0, 0.0)
    assert same.explanation == "The actual and expected outputs are exact matches."
    assert no_expected.status == "unavailable" and "expected" in no_expected.explanation
    assert ExactMatch.kind == "rule" and ExactMatch.higher_is_better


def test_pattern_match():
    metric = PatternMatch(MetricContext(), pattern=r"Reference: [A-Z]{3}-\d{6}\.?")
    hit, partial, miss = metric.score_many(
        [row("Reference: ABC-123456."), row("See Reference: ABC-123456"), row("No.")]
    )
    assert [hit.value, partial.value, miss.value] == [1.0, 0.0, 0.0]  # the whole answer must match
    loose = PatternMatch(MetricContext(), pattern=r"reference: .*", ignore_case=True)
    assert loose.score(row("REFERENCE: anything")).value == 1.0
    with pytest.raises(ConfigError, match="option 'pattern' must be a non-empty regular expression"):
        PatternMatch(MetricContext())
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        PatternMatch(MetricContext(), pattern="([a-z")


SCHEMA = {
    "type": "object",
    "required": ["amount", "currency"],
    "properties": {"amount": {"type": "number", "minimum": 0}, "currency": {"enum": ["EUR", "USD"]}},
    "additionalProperties": False,
}


def test_json_correctness():
    metric = JsonCorrectness(MetricContext(judge=None), schema=SCHEMA)
    good, wrong_type, extra, not_json, fenced = metric.score_many(
        [
            row('{"amount": 25, "currency": "EUR"}'),
            row('{"amount": "25", "currency": "EUR"}'),
            row('{"amount": 25, "currency": "EUR", "note": "x"}'),
            row("The amount is 25 EUR."),
            row('```json\n{"amount": 25, "currency": "EUR"}\n```'),
        ]
    )
    assert [r.value for r in (good, wrong_type, extra, not_json, fenced)] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert good.explanation == "The output is JSON that matches the schema."
    assert wrong_type.explanation.startswith("The output's JSON does not match the schema at amount:")
    assert "note" in extra.explanation
    assert not_json.explanation.startswith("The output is not JSON")
    assert JsonCorrectness.kind == "rule"


def test_json_correctness_schema_option():
    as_text = JsonCorrectness(MetricContext(), schema='{"type": "array", "items": {"type": "integer"}}')
    assert as_text.score(row("[1, 2, 3]")).value == 1.0 and as_text.score(row("[1, 2.5]")).value == 0.0
    with pytest.raises(ConfigError, match="option 'schema' is required"):
        JsonCorrectness(MetricContext())
    with pytest.raises(ConfigError, match="not valid JSON"):
        JsonCorrectness(MetricContext(), schema="{type: object")
    with pytest.raises(ConfigError, match="not a valid JSON Schema"):
        JsonCorrectness(MetricContext(), schema={"type": "nonsense"})


def test_registered_with_kinds_and_directions(make_settings):
    import evaluation.deepeval_metrics  # noqa: F401  (registers on import)

    metrics = registered_metrics(make_settings())
    judged_names = [
        "g_eval", "answer_relevancy", "faithfulness", "bias", "judge_toxicity", "pii_leakage", "non_advice"
    ]
    for name in judged_names:
        assert metrics[name].kind == "judge" and metrics[name].higher_is_better is True
    for name in ["exact_match", "pattern_match", "json_correctness"]:
        assert metrics[name].kind == "rule" and metrics[name].higher_is_better is True
    assert metrics["judge_toxicity"].describe()["range"] == "0 to 1"
    assert "criteria" in metrics["g_eval"].describe()["options"]
