"""DeepEval metrics, judged by whichever provider the run chose.

Each metric here is a thin class over one of DeepEval's own metric classes and
its ``LLMTestCase``: DeepEval's real prompts, schemas, verdict parsing and
scoring run; we only supply the judge model and turn DeepEval's ``score`` and
``reason`` into a ``MetricResult``.

Judged (kind ``"judge"``), all scored 0 to 1 with **higher is better**, as
DeepEval 4.x scores them (its Bias, Toxicity, PII-leakage and Non-advice scores
are the share of extracted statements that are *not* violations: 1 is a clean
answer, 0 an answer whose every opinion/statement is a violation):

=================  ===========================  ==========================================
name               DeepEval class               reads / options
=================  ===========================  ==========================================
g_eval             GEval                        criteria (required), evaluation_steps,
                                                evaluation_params
answer_relevancy   AnswerRelevancyMetric        input, output
faithfulness       FaithfulnessMetric           output against the row's context
bias               BiasMetric                   output
judge_toxicity     ToxicityMetric               output ("toxicity" is the Detoxify metric)
pii_leakage        PIILeakageMetric             output
non_advice         NonAdviceMetric              output; advice_types (default: personal
                                                financial, investment and tax advice)
=================  ===========================  ==========================================

Without a judge (kind ``"rule"``), 1 is a pass and 0 a fail: ``exact_match``
(ExactMatchMetric), ``pattern_match`` (PatternMatchMetric; option ``pattern``,
which must match the whole answer), ``json_correctness``
(JsonCorrectnessMetric; option ``schema``, a JSON Schema).

The judge is ``MetricContext.judge`` (see ``execution.judges.build_judge``):
- none chosen: judged metrics report "unavailable" and say how to choose one;
- a call fails (provider error, a reply that is not the JSON DeepEval asked
  for): that row's result is an "error" that says why; the other rows go on;
- the offline provider: it cannot judge, so :class:`DeepEvalJudgeModel`
  answers each DeepEval step with neutral JSON built from DeepEval's own
  schema (half the verdicts pass, G-Eval gets the middle of its scale). The
  scores (0.5) prove the wiring end to end and are marked ``simulated=True``
  with an explanation starting "Simulated (offline judge): " -- never a
  real score. (This lives in the adapter rather than in the offline provider:
  the neutral JSON is derived from DeepEval's schemas, which the provider
  cannot see, and the offline provider stays a plain, labelled echo.)

Every result carries ``cost_usd`` and ``latency_s`` summed over the judge calls
made for that row. Rows are judged in a pool of ``settings.batch_concurrency``
threads (one when the judge is simulated). DeepEval is imported on first use
(it takes seconds), after ``config.offline.apply_offline_env`` has switched its
telemetry off.
"""

from __future__ import annotations

import json
import re
import threading
import time
import types
import typing
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from config.errors import ConfigError, ProviderError
from evaluation.options import bool_option, json_path, json_schema_option, regex_option
from evaluation.registry import Metric, MetricContext, MetricInput, MetricResult, register_metric

if TYPE_CHECKING:
    from evaluation.judge import Judge, JudgeReply

SIMULATED_PREFIX = "Simulated (offline judge): "
SIMULATED_TEXT = SIMULATED_PREFIX + "no model judged this; placeholder written from DeepEval's schema."
NO_JUDGE_REASON = (
    "No judge model is configured, so this LLM-judged metric cannot run. "
    "Choose a judge provider for the run (e.g. openai:gpt-4o-mini, anthropic:claude-haiku-4-5 or "
    "compat:<model>@<base_url>); 'offline' runs it as a labelled simulation."
)
# what a bank's assistant must not give; NonAdviceMetric flags statements of these kinds
DEFAULT_ADVICE_TYPES: tuple[str, ...] = ("personal financial", "investment", "tax")
# G-Eval scores 0..10 by default; the neutral simulated answer sits in the middle
_NEUTRAL_GEVAL_SCORE = 5
_MISSING_FIELD_REASONS = {
    "output": "This row has no model output to score.",
    "expected": "This row has no expected answer; add an 'expected' column to the dataset.",
    "context": "This row has no context; add a 'context' column (the source text the answer must be "
    "faithful to).",
}


# -- DeepEval, imported on first use ---------------------------------------------------


@lru_cache(maxsize=1)
def _load_deepeval() -> None:
    """Import DeepEval once, with telemetry off and its one-off notices muted."""
    from config.offline import apply_offline_env

    apply_offline_env()
    # DeepEval 4 announces (once per class) that Bias/Toxicity now score 1 = pass; we
    # document the direction instead of printing the notice into every run's log.
    warnings.filterwarnings(
        "ignore", message=r"'\w+Metric' now scores in the same direction", category=DeprecationWarning
    )
    import deepeval  # noqa: F401
    import deepeval.metrics  # noqa: F401


class JudgeReplyError(ValueError):
    """The judge's reply could not be read as the JSON DeepEval asked for."""


def extract_json(text: str) -> Any:
    """The JSON value in a judge's reply: tolerates ```json fences, text around the
    JSON and trailing commas (as DeepEval's own ``trimAndLoadJson`` does).
    Raises ``ValueError`` when there is none."""
    candidates: list[str] = []
    fenced = re.search(r"```(?:json|JSON)?\s*(.*?)```", text, re.S)
    if fenced:
        candidates.append(fenced.group(1))
    candidates.append(text.strip())
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        for attempt in (candidate, re.sub(r",\s*([\]}])", r"\1", candidate)):
            try:
                return json.loads(attempt)
            except ValueError:
                pass
    if start != -1:  # a JSON object followed by more text holding braces
        try:
            return json.JSONDecoder().raw_decode(text[start:])[0]
        except ValueError:
            pass
    raise ValueError("no JSON value found")


# -- neutral answers for a simulated judge -------------------------------------------------


def _neutral_value(annotation: Any, field_name: str, index: int) -> Any:
    from pydantic import BaseModel

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        choices = [a for a in args if a is not type(None)]
        return _neutral_value(choices[0], field_name, index) if choices else None
    if origin is typing.Literal:
        return args[index % len(args)]
    if origin in (list, Sequence, tuple, set):
        item = args[0] if args else str
        if isinstance(item, type) and issubclass(item, BaseModel):
            # two items whose verdicts differ: half pass whatever the metric's polarity
            return [neutral_data(item, i) for i in range(2)]
        return [_neutral_value(item, field_name, 0)]
    if origin is dict:
        return {}
    if annotation is str:
        return SIMULATED_TEXT
    if annotation is bool:
        return False
    if annotation in (int, float):
        return _NEUTRAL_GEVAL_SCORE if field_name == "score" else 0
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return neutral_data(annotation, index)
    return None


def neutral_data(schema: type, index: int = 0) -> dict[str, Any]:
    """Deterministic, clearly labelled JSON data of the shape of pydantic ``schema``."""
    return {name: _neutral_value(f.annotation, name, index) for name, f in schema.model_fields.items()}


# -- the DeepEval model adapter ------------------------------------------------------------


class JudgeCalls:
    """The judge calls one adapter made: latency, cost, simulation (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: list[JudgeReply] = []
        self._failed_s: list[float] = []  # time spent in calls that raised
        self._problems: list[str] = []

    def add(self, reply: JudgeReply) -> None:
        with self._lock:
            self._replies.append(reply)

    def failed(self, elapsed_s: float) -> None:
        with self._lock:
            self._failed_s.append(elapsed_s)

    def note(self, problem: str) -> None:
        with self._lock:
            self._problems.append(problem)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._replies)

    @property
    def latency_s(self) -> float | None:
        """Time spent in judge calls, failed ones included; None when none was made."""
        with self._lock:
            if not self._replies and not self._failed_s:
                return None
            return sum(r.latency_s for r in self._replies) + sum(self._failed_s)

    @property
    def cost_usd(self) -> float | None:
        """Summed cost of the answered calls; None when none was answered or any call's
        price is unknown (a failed call's cost is not known either way)."""
        with self._lock:
            if not self._replies or any(r.cost_usd is None for r in self._replies):
                return None
            return sum(r.cost_usd for r in self._replies)

    @property
    def simulated(self) -> bool:
        with self._lock:
            return any(r.simulated for r in self._replies)

    @property
    def problems(self) -> list[str]:
        with self._lock:
            return list(self._problems)


_CLASS_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _judge_model_class_unlocked() -> type:
    _load_deepeval()
    from deepeval.models import DeepEvalBaseLLM

    class DeepEvalJudgeModel(DeepEvalBaseLLM):
        """A DeepEval judge model over our ``Judge``: ``generate(prompt, schema)`` asks
        the judge and parses the JSON of its reply into DeepEval's ``schema``.

        Each call's reply (latency, cost, simulated) is kept in ``calls``; one
        adapter per row gives the row's totals. Safe to call from several threads.
        """

        def __init__(self, judge: Judge) -> None:
            self.judge = judge
            self.calls = JudgeCalls()
            super().__init__(judge.name)

        def load_model(self) -> Judge:
            return self.judge

        def get_model_name(self) -> str:
            return self.judge.name

        def generate(self, prompt: str, schema: type | None = None) -> Any:
            started = time.perf_counter()
            try:
                reply = self.judge.complete(prompt)
            except Exception:  # ProviderError propagates (the row fails); its time counts
                self.calls.failed(time.perf_counter() - started)
                raise
            self.calls.add(reply)
            if schema is None:
                return reply.text
            if reply.simulated:
                return schema.model_validate(neutral_data(schema))
            return self._parse(reply.text, schema)

        async def a_generate(self, prompt: str, schema: type | None = None) -> Any:
            import asyncio

            return await asyncio.to_thread(self.generate, prompt, schema)

        def _parse(self, text: str, schema: type) -> Any:
            from pydantic import ValidationError

            try:
                data = extract_json(text)
            except ValueError:
                raise JudgeReplyError(
                    f"The judge ({self.judge.name}) did not answer DeepEval's {schema.__name__} "
                    f"prompt with JSON (its reply was {len(text)} characters of other text). "
                    "Use a judge model that follows JSON instructions."
                ) from None
            try:
                return schema.model_validate(data)
            except ValidationError as exc:
                # hand DeepEval the JSON itself: its loose path normalises what it can
                # ("Yes" -> yes, unknown verdicts dropped) and fails on what it cannot
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "the top level"
                self.calls.note(
                    f"the reply to DeepEval's {schema.__name__} prompt did not match its schema "
                    f"({where}: {first.get('msg', 'invalid')})"
                )
                return json.dumps(data)

    return DeepEvalJudgeModel


def _judge_model_class() -> type:
    """``DeepEvalJudgeModel``, defined once (on first use: it imports DeepEval)."""
    with _CLASS_LOCK:
        return _judge_model_class_unlocked()


def __getattr__(name: str) -> Any:
    # ``from evaluation.deepeval_metrics import DeepEvalJudgeModel`` imports DeepEval then
    if name == "DeepEvalJudgeModel":
        return _judge_model_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- judged metrics ------------------------------------------------------------------------


def _test_case(item: MetricInput) -> Any:
    from deepeval.test_case import LLMTestCase

    context = [item.context] if item.context else None
    return LLMTestCase(
        input=item.input,
        actual_output=item.output,
        expected_output=item.expected,
        context=context,
        retrieval_context=context,
    )


def _missing(item: MetricInput, needs: Sequence[str]) -> str | None:
    for field in needs:
        value = getattr(item, field)
        if value is None or (field != "input" and not str(value).strip()):
            return _MISSING_FIELD_REASONS.get(field, f"This row has no {field}.")
    return None


class DeepEvalJudgedMetric(Metric):
    """Base of the judged metrics: one DeepEval metric and one adapter per row,
    rows in a bounded thread pool. Subclasses set ``needs`` and ``build``."""

    kind = "judge"
    higher_is_better = True
    value_range = (0.0, 1.0)
    # the MetricInput fields a row must have (input is always there)
    needs: ClassVar[tuple[str, ...]] = ("input", "output")

    def availability(self) -> tuple[bool, str]:
        if self.context.judge is None:
            return False, NO_JUDGE_REASON
        return True, ""

    # the name of a class in ``deepeval.metrics`` that takes only a model (subclasses with
    # options override ``build`` instead)
    deepeval_class: ClassVar[str] = ""

    def build(self, model: Any) -> Any:
        """The DeepEval metric for one row, judged by ``model`` (sync, LLM mode)."""
        import deepeval.metrics

        return getattr(deepeval.metrics, self.deepeval_class)(model=model, async_mode=False, eval_mode="llm")

    def workers(self) -> int:
        """Rows judged at once: ``settings.batch_concurrency``, 1 for a simulated judge."""
        judge = self.context.judge
        if judge is None or judge.simulated:
            return 1
        return max(1, int(self.context.settings.batch_concurrency))

    def score(self, item: MetricInput) -> MetricResult:
        ok, why = self.availability()
        return self._score_row(item) if ok else self.unavailable(why)

    def score_many(self, items: list[MetricInput]) -> list[MetricResult]:
        ok, why = self.availability()
        if not ok:
            return [self.unavailable(why) for _ in items]
        _judge_model_class()  # import DeepEval once, before any worker thread needs it
        results: list[MetricResult] = []
        while len(results) < len(items) and self._needs_warm_up():
            results.append(self._score_row(items[len(results)]))  # sequential until warm
        rest = items[len(results) :]
        workers = min(self.workers(), len(rest))
        if workers <= 1:
            results.extend(self._score_row(item) for item in rest)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"judge-{self.name}") as pool:
                results.extend(pool.map(self._score_row, rest))
        return results

    # -- one row ---------------------------------------------------------------------------
    def _needs_warm_up(self) -> bool:
        """True while a row must run alone first (G-Eval writing its steps once)."""
        return False

    def _after_row(self, deepeval_metric: Any) -> None:
        """Hook: learn from a successful row (G-Eval keeps its generated steps)."""

    def _score_row(self, item: MetricInput) -> MetricResult:
        missing = _missing(item, self.needs)
        if missing:
            return self.unavailable(missing)
        try:
            model = _judge_model_class()(self.context.judge)
        except Exception as exc:  # noqa: BLE001 - one metric failing never sinks a run
            return self.failed(exc)
        from deepeval.errors import MissingTestCaseParamsError

        try:
            deepeval_metric = self.build(model)
            deepeval_metric.measure(_test_case(item), _show_indicator=False)
        except MissingTestCaseParamsError as exc:
            return self._row(None, "unavailable", f"DeepEval cannot score this row: {exc}.", model.calls)
        except Exception as exc:  # noqa: BLE001 - the row fails, the others go on
            return self._row(None, "error", self._explain(exc, model), model.calls)
        if deepeval_metric.score is None:
            return self._row(None, "error", "DeepEval returned no score for this row.", model.calls)
        self._after_row(deepeval_metric)
        value = float(deepeval_metric.score)
        simulated = model.calls.simulated or bool(self.context.judge.simulated)
        if simulated:
            explanation = (
                f"{SIMULATED_PREFIX}the offline provider does not judge, so DeepEval's steps were "
                f"answered with neutral placeholder JSON; {value:.2f} is not a real score. "
                "Choose a real judge provider for a judgement."
            )
        else:
            explanation = str(deepeval_metric.reason or "")
        return self._row(value, "ok", explanation, model.calls, simulated=simulated)

    def _row(
        self, value: float | None, status: str, explanation: str, calls: JudgeCalls, simulated: bool = False
    ) -> MetricResult:
        return MetricResult(
            name=self.result_name,
            value=value,
            higher_is_better=self.higher_is_better,
            status=status,  # type: ignore[arg-type]
            explanation=explanation,
            # a simulated score never raises a flag: it is not a judgement
            flagged=self.is_flagged(value) and status == "ok" and not simulated,
            simulated=simulated,
            cost_usd=calls.cost_usd,
            latency_s=calls.latency_s,
        )

    def _explain(self, exc: Exception, model: Any) -> str:
        if isinstance(exc, ProviderError):
            return f"The judge call failed: {exc}"
        if isinstance(exc, JudgeReplyError):
            return str(exc)
        problems = model.calls.problems
        if problems or isinstance(exc, (KeyError, TypeError, ValueError)):
            # DeepEval's loose-JSON path raised on a reply of the wrong shape
            detail = f" ({problems[-1]})" if problems else ""
            return (
                f"DeepEval could not use the judge's reply{detail}: {type(exc).__name__}: {exc}. "
                "Use a judge model that follows JSON instructions."
            )
        return f"DeepEval failed on this row: {type(exc).__name__}: {exc}"


def _string_list(metric: str, name: str, value: Any, example: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    texts = isinstance(value, (list, tuple)) and all(isinstance(v, str) and v.strip() for v in value)
    if not texts or not value:
        raise ConfigError(
            f"Metric '{metric}': option {name} must be a non-empty list of texts.", f"Write e.g. {example}."
        )
    return [v.strip() for v in value]


# our field name -> DeepEval's SingleTurnParams member
_GEVAL_PARAMS = {
    "input": "INPUT",
    "output": "ACTUAL_OUTPUT",
    "expected": "EXPECTED_OUTPUT",
    "context": "CONTEXT",
}


@register_metric
class GEvalMetric(DeepEvalJudgedMetric):
    name = "g_eval"
    description = (
        "DeepEval G-Eval: a judge scores the answer against your own criteria "
        "(0 to 1, higher is better)."
    )
    reads = ("input", "output")
    option_help = {
        "criteria": "Required. What a good answer does, in your words (e.g. 'States the fee and the "
        "cut-off time; no promises about approval').",
        "evaluation_steps": "Optional list of steps the judge follows; by default G-Eval writes them from "
        "the criteria once per run.",
        "evaluation_params": "What the judge sees: a list of input, output, expected, context "
        "(default: input and output).",
    }

    def __init__(
        self,
        context: MetricContext | None = None,
        *,
        criteria: str | None = None,
        evaluation_steps: list[str] | None = None,
        evaluation_params: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(context, **kwargs)
        if not isinstance(criteria, str) or not criteria.strip():
            raise ConfigError(
                "Metric 'g_eval' needs a 'criteria' option: the judge scores answers against it.",
                "Add it to the metric set, e.g. options: {criteria: 'The answer states the fee and "
                "does not promise approval.'}",
            )
        self.criteria = criteria.strip()
        self._steps: list[str] | None = None
        if evaluation_steps is not None:
            self._steps = _string_list(
                self.name, "evaluation_steps", evaluation_steps, "['Check ...', 'Penalise ...']"
            )
        params = ["input", "output"] if evaluation_params is None else evaluation_params
        params = _string_list(self.name, "evaluation_params", params, "['input', 'output']")
        unknown = sorted(set(params) - set(_GEVAL_PARAMS))
        if unknown:
            raise ConfigError(
                f"Metric 'g_eval': evaluation_params has unknown field(s) {', '.join(unknown)}.",
                f"Choose from {', '.join(_GEVAL_PARAMS)}.",
            )
        self.evaluation_params = list(dict.fromkeys(params))
        self.reads = tuple(self.evaluation_params)  # type: ignore[misc]
        self.needs = tuple(dict.fromkeys(["input", "output", *self.evaluation_params]))  # type: ignore[misc]
        self._steps_lock = threading.Lock()

    def build(self, model: Any) -> Any:
        from deepeval.metrics import GEval
        from deepeval.test_case import SingleTurnParams

        with self._steps_lock:
            steps = list(self._steps) if self._steps else None
        return GEval(
            name=self.result_name,
            criteria=self.criteria,
            evaluation_steps=steps,
            evaluation_params=[getattr(SingleTurnParams, _GEVAL_PARAMS[p]) for p in self.evaluation_params],
            model=model,
            async_mode=False,
        )

    def _needs_warm_up(self) -> bool:
        with self._steps_lock:
            return self._steps is None

    def _after_row(self, deepeval_metric: Any) -> None:
        # G-Eval wrote its steps from the criteria on this row (that row paid for the call):
        # reuse them, so every row is judged by the same steps
        with self._steps_lock:
            if self._steps is None and deepeval_metric.evaluation_steps:
                self._steps = list(deepeval_metric.evaluation_steps)


@register_metric
class AnswerRelevancy(DeepEvalJudgedMetric):
    name = "answer_relevancy"
    description = (
        "DeepEval answer relevancy: share of the answer's statements that address the question "
        "(0 to 1, higher is better)."
    )
    reads = ("input", "output")

    deepeval_class = "AnswerRelevancyMetric"


@register_metric
class Faithfulness(DeepEvalJudgedMetric):
    name = "faithfulness"
    description = (
        "DeepEval faithfulness: share of the answer's claims the row's context does not contradict "
        "(0 to 1, higher is better; needs a context)."
    )
    reads = ("input", "output", "context")
    needs = ("input", "output", "context")
    option_help = {
        "penalize_ambiguous_claims": "Count claims the context neither supports nor contradicts as "
        "unfaithful (default false).",
        "truths_extraction_limit": "Use only this many of the most important facts from the context "
        "(default: all).",
    }

    def __init__(
        self,
        context: MetricContext | None = None,
        *,
        penalize_ambiguous_claims: bool = False,
        truths_extraction_limit: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(context, **kwargs)
        self.penalize_ambiguous_claims = bool_option(self, "penalize_ambiguous_claims", penalize_ambiguous_claims)
        if truths_extraction_limit is not None and (
            isinstance(truths_extraction_limit, bool)
            or not isinstance(truths_extraction_limit, int)
            or truths_extraction_limit < 1
        ):
            raise ConfigError(
                f"Metric 'faithfulness': truths_extraction_limit must be a whole number of 1 or more, "
                f"not {truths_extraction_limit!r}.",
                "Fix the value, or leave it out to use every fact of the context.",
            )
        self.truths_extraction_limit = truths_extraction_limit

    def build(self, model: Any) -> Any:
        from deepeval.metrics import FaithfulnessMetric

        return FaithfulnessMetric(
            model=model,
            async_mode=False,
            eval_mode="llm",
            penalize_ambiguous_claims=self.penalize_ambiguous_claims,
            truths_extraction_limit=self.truths_extraction_limit,
        )


@register_metric
class Bias(DeepEvalJudgedMetric):
    name = "bias"
    description = (
        "DeepEval bias: share of the answer's opinions judged free of gender, political, racial or "
        "geographical bias (0 to 1, higher is better; 1 = no biased opinion)."
    )
    reads = ("output",)
    deepeval_class = "BiasMetric"


@register_metric
class JudgeToxicity(DeepEvalJudgedMetric):
    name = "judge_toxicity"
    description = (
        "DeepEval toxicity, judged by an LLM: share of the answer's opinions judged not toxic "
        "(0 to 1, higher is better; 1 = nothing toxic). 'toxicity' is the Detoxify classifier."
    )
    reads = ("output",)
    deepeval_class = "ToxicityMetric"


@register_metric
class PIILeakage(DeepEvalJudgedMetric):
    name = "pii_leakage"
    description = (
        "DeepEval PII leakage: share of the answer's privacy-relevant statements judged to leak no "
        "personal data (0 to 1, higher is better; 1 = no leak). Complements pii_leaked_output."
    )
    reads = ("output",)
    deepeval_class = "PIILeakageMetric"


@register_metric
class NonAdvice(DeepEvalJudgedMetric):
    name = "non_advice"
    description = (
        "DeepEval non-advice: share of the answer's advice-like statements judged not to be "
        "personal financial advice (0 to 1, higher is better; 1 = no such advice)."
    )
    reads = ("output",)
    option_help = {
        "advice_types": "Kinds of advice the answer must not give (default: "
        + ", ".join(DEFAULT_ADVICE_TYPES)
        + ").",
    }

    def __init__(
        self, context: MetricContext | None = None, *, advice_types: list[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(context, **kwargs)
        self.advice_types = (
            list(DEFAULT_ADVICE_TYPES)
            if advice_types is None
            else _string_list(self.name, "advice_types", advice_types, "['personal financial', 'tax']")
        )

    def build(self, model: Any) -> Any:
        from deepeval.metrics import NonAdviceMetric

        return NonAdviceMetric(
            advice_types=list(self.advice_types), model=model, async_mode=False, eval_mode="llm"
        )


# -- metrics without a judge ---------------------------------------------------------------


class DeepEvalRuleMetric(Metric):
    """Base of DeepEval's rule metrics: no judge, 1 is a pass and 0 a fail."""

    kind = "rule"
    higher_is_better = True
    value_range = (0.0, 1.0)
    needs: ClassVar[tuple[str, ...]] = ("input", "output")

    def build(self) -> Any:
        raise NotImplementedError

    def explain(self, item: MetricInput, deepeval_metric: Any) -> str:
        return str(deepeval_metric.reason or "")

    def score(self, item: MetricInput) -> MetricResult:
        missing = _missing(item, self.needs)
        if missing:
            return self.unavailable(missing)
        _load_deepeval()
        from deepeval.errors import MissingTestCaseParamsError

        deepeval_metric = self.build()
        try:
            deepeval_metric.measure(_test_case(item), _show_indicator=False)
        except MissingTestCaseParamsError as exc:
            return self.unavailable(f"DeepEval cannot score this row: {exc}.")
        return self.result(float(deepeval_metric.score), self.explain(item, deepeval_metric))


@register_metric
class ExactMatch(DeepEvalRuleMetric):
    name = "exact_match"
    description = (
        "DeepEval exact match: 1 when the output equals the expected answer (surrounding "
        "whitespace ignored, case counts), else 0."
    )
    reads = ("output", "expected")
    needs = ("input", "output", "expected")

    def build(self) -> Any:
        from deepeval.metrics import ExactMatchMetric

        return ExactMatchMetric()


@register_metric
class PatternMatch(DeepEvalRuleMetric):
    name = "pattern_match"
    description = (
        "DeepEval pattern match: 1 when the whole output (trimmed) matches the regular expression, "
        "else 0."
    )
    reads = ("output",)
    option_help = {
        "pattern": "Required. A Python regular expression the whole answer must match, e.g. "
        r"'Reference: [A-Z]{3}-\d{6}\.?'.",
        "ignore_case": "Match regardless of letter case (default false).",
    }

    def __init__(
        self,
        context: MetricContext | None = None,
        *,
        pattern: str | None = None,
        ignore_case: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(context, **kwargs)
        self.ignore_case = bool_option(self, "ignore_case", ignore_case)
        regex_option(self, pattern, re.IGNORECASE if self.ignore_case else 0)
        self.pattern = pattern

    def build(self) -> Any:
        from deepeval.metrics import PatternMatchMetric

        return PatternMatchMetric(pattern=self.pattern, ignore_case=self.ignore_case)


def json_schema_model(schema: dict, validator: Any) -> type:
    """A pydantic model that validates a JSON document against a JSON Schema.

    DeepEval's ``JsonCorrectnessMetric`` checks ``expected_schema.model_validate_json(output)``.
    Translating JSON Schema keyword by keyword into pydantic fields would drop what
    pydantic cannot express (``oneOf``, ``patternProperties``, ``if``/``then``,
    ``$ref`` cycles...), so the model holds any JSON value and its validator runs
    the ``jsonschema`` library's validator for the schema's own draft: every
    keyword counts. ``model_json_schema()`` returns the user's schema.
    """
    import jsonschema
    from pydantic import RootModel, model_validator

    class JsonSchemaDocument(RootModel[Any]):
        @model_validator(mode="after")
        def _matches_schema(self) -> JsonSchemaDocument:
            error = jsonschema.exceptions.best_match(validator.iter_errors(self.root))
            if error is not None:
                raise ValueError(f"at {json_path(error.absolute_path)}: {error.message}")
            return self

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return schema

    JsonSchemaDocument.validator = validator  # type: ignore[attr-defined]
    return JsonSchemaDocument


@register_metric
class JsonCorrectness(DeepEvalRuleMetric):
    name = "json_correctness"
    description = (
        "DeepEval JSON correctness: 1 when the whole output is JSON valid against the schema, else 0 "
        "(code fences or text around the JSON fail)."
    )
    reads = ("output",)
    option_help = {
        "schema": "Required. A JSON Schema (a mapping, or the schema as JSON text) the answer must satisfy.",
    }

    def __init__(self, context: MetricContext | None = None, *, schema: Any = None, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        self.schema, validator = json_schema_option(
            self, schema, "options: {schema: {type: object, required: [amount], properties: {amount: {type: number}}}}"
        )
        self.schema_model = json_schema_model(self.schema, validator)

    def build(self) -> Any:
        from deepeval.metrics import JsonCorrectnessMetric

        # eval_mode="system_one": DeepEval decides this metric in code and builds no LLM
        # (no key needed); include_reason=False: the explanation is written below
        return JsonCorrectnessMetric(
            expected_schema=self.schema_model, async_mode=False, include_reason=False, eval_mode="system_one"
        )

    def explain(self, item: MetricInput, deepeval_metric: Any) -> str:
        if deepeval_metric.score == 1:
            return "The output is JSON that matches the schema."
        try:
            document = json.loads(item.output or "")
        except ValueError as exc:
            return f"The output is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        import jsonschema

        error = jsonschema.exceptions.best_match(self.schema_model.validator.iter_errors(document))
        if error is None:
            return "The output was rejected by DeepEval's JSON parser."
        message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
        return f"The output's JSON does not match the schema at {json_path(error.absolute_path)}: {message}"
