"""The governed pipeline: the only way a prompt reaches a model.

render (sandboxed) -> scrub input (fail closed) -> screen for injection
-> call the provider -> scrub output -> metrics -> record (TruLens + audit)

Nothing unscrubbed leaves this module: records, audit details, metric inputs,
error messages and results carry scrubbed text only. Raw values live in local
variables for the duration of one run and are never stored.

``run`` handles one prompt; ``run_batch`` handles rows in chunks so the NLP work
is batched (spaCy ``nlp.pipe``), provider calls run with bounded concurrency for
remote providers, and recording happens per chunk so a failure never loses the
rows already done.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from dataclasses import dataclass, field

from config.errors import InputError, PromptForgeError, ProviderError
from config.settings import Settings
from evaluation.registry import Metric, MetricInput, MetricResult, build_metrics
from evaluation.summary import SIMULATED_SUFFIX
from evaluation.signals import DEFAULT_METRICS
from execution.chat_template import joined_scrub
from execution.datasets import CONTEXT, EXPECTED, RowFailure, template_values
from execution.prompt_ref import PromptRef
from execution.providers import ChatProvider, ChatResult
from execution.templates import PromptTemplate, RenderLimits
from security.identity import Permission, Principal
from security.injection import Screener, Verdict
from security.pii import PseudonymMap, Scrubber, ScrubResult
from security.pii.scrubber import ScrubJob
from storage.records import MetricValue, RunRecord, StageTiming

Progress = Callable[[int, int], None]
LOOKAHEAD = 2  # chunks whose input scrubbing starts while the current one completes


@dataclass
class RunResult:
    """What one governed run produced: scrubbed text and decisions only."""

    record_id: str
    status: str  # ok | blocked | error
    prompt: PromptRef
    scrubbed_input: str
    input_entities: list[dict]
    injection: dict
    output: str | None = None
    output_entities: list[dict] = field(default_factory=list)
    output_screen: dict = field(default_factory=dict)  # leak of the system prompt or a canary
    pii_in: dict[str, int] = field(default_factory=dict)  # entity type -> count scrubbed from the input
    pii_out: dict[str, int] = field(default_factory=dict)  # ... and from the output
    metrics: list[MetricResult] = field(default_factory=list)
    provider: str = ""
    model: str = ""
    simulated: bool = False
    latency_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    error: str | None = None
    stages: list[StageTiming] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "record_id": self.record_id,
            "status": self.status,
            "prompt": self.prompt.label_text,
            "app_name": self.prompt.app_name,
            "app_version": self.prompt.app_version,
            "scrubbed_input": self.scrubbed_input,
            "input_entities": self.input_entities,
            "pii_in": self.pii_in,
            "injection": self.injection,
            "output": self.output,
            "output_entities": self.output_entities,
            "output_screen": self.output_screen,
            "pii_out": self.pii_out,
            "metrics": {m.name: m.value for m in self.metrics},
            "metric_details": [m.to_dict() for m in self.metrics],
            "provider": self.provider,
            "model": self.model,
            "simulated": self.simulated,
            "latency_s": round(self.latency_s, 4),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "error": self.error,
            "stages_ms": {s.name: round((s.end_ns - s.start_ns) / 1e6, 2) for s in self.stages},
        }


@dataclass
class BatchSummary:
    batch_id: str
    total: int
    results: list[RunResult]
    skipped: list[RowFailure]
    wall_s: float
    ignored_columns: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"ok": 0, "blocked": 0, "error": 0}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        out["skipped"] = len(self.skipped)
        return out

    def to_dict(self) -> dict:
        costs = [r.cost_usd for r in self.results if r.cost_usd is not None]
        latencies = sorted(r.latency_s for r in self.results if r.status == "ok")
        return {
            "batch_id": self.batch_id,
            "rows": self.total,
            **self.counts(),
            "skipped_rows": [{"row": f.row, "error": f.error} for f in self.skipped],
            "ignored_columns": self.ignored_columns,
            "errors": [{"record_id": r.record_id, "error": r.error} for r in self.results if r.status == "error"],
            "record_ids": [r.record_id for r in self.results],
            "wall_s": round(self.wall_s, 3),
            "rows_per_s": round(self.total / self.wall_s, 2) if self.wall_s else None,
            "cost_usd": round(sum(costs), 6) if costs else None,
            "p50_latency_s": latencies[len(latencies) // 2] if latencies else None,
        }


def new_record_id(row: int) -> str:
    """A fresh record id (uuid4 hex); evaluation runs derive theirs from (run, row) instead."""
    return uuid.uuid4().hex


@dataclass
class BatchOptions:
    """How an evaluation run drives ``run_batch`` (the defaults suit a plain batch).

    ``row_numbers``: the dataset row of each row passed (default 0, 1, 2, ...);
    ``record_id``: a deterministic record id per dataset row, so a resumed run can
    never record a row twice; ``record_rejected``: a row that cannot be rendered is
    recorded as a failed run with its error instead of only being reported;
    ``cancel``: checked between chunks; ``on_chunk``: called after each chunk is
    handed to storage.
    """

    batch_id: str | None = None
    row_numbers: list[int] | None = None
    record_id: Callable[[int], str] = new_record_id
    metrics: list[Metric] | None = None
    record_rejected: bool = False
    cancel: threading.Event | None = None
    on_chunk: Callable[[list[RunResult]], None] | None = None


BATCH_ROWS = "batch_rows"  # a stage attribute: how many rows one batched stage served


class _Stages:
    """Collects each pipeline stage of one row for its trace.

    A stage the row ran alone (render, the model call) is its wall-clock span. A stage a
    chunk of rows ran together (input and output scrubbing, prompt screening, evaluation)
    is recorded with the chunk's span and ``batch_rows``; the row is charged its share
    (the span divided by the rows). ``timeline`` lays the row's stages end to end, so a
    row's trace lasts the row's own time, not its whole chunk's.
    """

    def __init__(self) -> None:
        self.items: list[StageTiming] = []

    def add(self, name: str, start_ns: int, **attributes) -> None:
        self.items.append(StageTiming(name, start_ns, time.time_ns(), attributes))

    def shared(self, name: str, start_ns: int, end_ns: int, rows: int, **attributes) -> None:
        """A stage that ``rows`` rows ran together from ``start_ns`` to ``end_ns``."""
        attributes = {**attributes, BATCH_ROWS: rows, "batch_ms": round((end_ns - start_ns) / 1e6, 3)}
        self.items.append(StageTiming(name, start_ns, end_ns, attributes))


def own_ns(stage: StageTiming) -> int:
    """The nanoseconds of ``stage`` that belong to its row (a batched stage's share)."""
    return (stage.end_ns - stage.start_ns) // max(int(stage.attributes.get(BATCH_ROWS, 1)), 1)


def timeline(stages: list[StageTiming], end_ns: int) -> tuple[int, list[StageTiming]]:
    """(start, stages) of a row that finished at ``end_ns``: its stages in order, end to end,
    each lasting the row's own share, so the row starts ``sum(own)`` before it ends."""
    start = end_ns - sum(own_ns(s) for s in stages)
    laid, t = [], start
    for stage in sorted(stages, key=lambda s: s.start_ns):
        laid.append(StageTiming(stage.name, t, t + own_ns(stage), stage.attributes))
        t += own_ns(stage)
    return start, laid


@dataclass
class _Prepared:
    """A row after render + scrub + screen, before the model call (scrubbed only)."""

    index: int
    record_id: str
    scrub: ScrubResult  # the whole prompt (a chat prompt's transcript)
    verdict: Verdict
    pseudonyms: PseudonymMap
    stages: _Stages
    messages: list[tuple[str, str]]  # (role, scrubbed text): what the model is sent
    expected: str | None = None
    context: str | None = None


class _Preparing:
    """Rendered rows whose input scrubbing is under way."""

    def __init__(
        self,
        pipeline: Pipeline,
        rendered: list,
        job: ScrubJob | None,
        t_scrub: int,
        ids: list[str],
        untrusted: frozenset[str],
    ) -> None:
        self._pipeline, self._rendered, self._job, self._t_scrub = pipeline, rendered, job, t_scrub
        self._ids, self._untrusted = ids, untrusted

    def finish(self) -> list[_Prepared]:
        """Scrub (fail closed) and screen the rows: ready for the model."""
        if self._job is None:
            return []
        maps = [PseudonymMap() for _ in self._rendered]
        # a row's messages were scrubbed as separate texts, sharing the row's pseudonyms
        parts = iter(self._job.finish([pmap for r, pmap in zip(self._rendered, maps) for _ in r[1]]))
        messages = [[(role, next(parts)) for role, _ in r[1]] for r in self._rendered]
        scrubbed = [
            joined_scrub([role for role, _ in row], [text for _, text in r[1]], [s for _, s in row])
            for r, row in zip(self._rendered, messages)
        ]
        scrub_end = time.time_ns()
        prepared: list[_Prepared] = []
        # the prompts are screened together, so the model-backed rules batch the whole chunk
        t_screen = time.time_ns()
        prompt_verdicts = self._pipeline.screener.screen_many([scrub.text for scrub in scrubbed], source="prompt")
        screen_end = time.time_ns()
        for (index, _parts, variables, stages, _t0, expected, context), scrub, row, pmap, on_prompt, record_id in zip(
            self._rendered, scrubbed, messages, maps, prompt_verdicts, self._ids
        ):
            stages.shared("scrub_input", self._t_scrub, scrub_end, len(maps), entities=len(scrub.entities))
            t_row = time.time_ns()
            verdict = self._pipeline._screen(on_prompt, variables, pmap, self._untrusted)
            stages.shared("screen", t_screen, screen_end, len(maps), score=verdict.score, action=verdict.action)
            if variables and self._pipeline.settings.injection.screen_variables:  # the row's own values
                stages.add("screen_variables", t_row)
            sent = [(role, s.text) for role, s in row]
            prepared.append(_Prepared(index, record_id, scrub, verdict, pmap, stages, sent, expected, context))
        return prepared

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()


class Pipeline:
    """Governed execution. Heavy parts are injected (tests pass small ones) or built lazily."""

    def __init__(
        self,
        settings: Settings,
        *,
        scrubber: Scrubber | None = None,
        screener: Screener | None = None,
        store=None,
        audit=None,
        metrics: list[str] | None = None,
        principal: Principal,
    ) -> None:
        self.settings = settings
        self._scrubber = scrubber
        self._screener = screener
        self._store = store
        self._audit = audit
        self._metrics = build_metrics(list(metrics) if metrics is not None else list(DEFAULT_METRICS))
        self.principal = principal
        self._providers: dict[tuple[str, ...], ChatProvider] = {}
        self.limits = RenderLimits.from_settings(settings)
        self._leaks = None  # the output leak detector, built on first use

    # lazily built heavy services -------------------------------------------------
    @property
    def scrubber(self) -> Scrubber:
        if self._scrubber is None:
            from security.pii import get_scrubber

            self._scrubber = get_scrubber(self.settings)
        return self._scrubber

    @property
    def screener(self) -> Screener:
        if self._screener is None:
            from security.injection import get_screener

            self._screener = get_screener(self.settings)
        return self._screener

    @property
    def store(self):
        if self._store is None:
            from storage import open_store

            self._store = open_store(self.settings)
        return self._store

    @property
    def audit(self):
        if self._audit is None:
            from storage.audit import audit_log

            self._audit = audit_log(self.settings)
        return self._audit

    def provider(self, spec: str | None) -> ChatProvider:
        chain = tuple([spec or self.settings.default_provider, *self.settings.fallback_providers])
        if chain not in self._providers:
            self._providers[chain] = ChatProvider(list(chain), self.settings)
        return self._providers[chain]

    @property
    def actor(self) -> str:
        return self.principal.actor

    def acting_as(self, principal: Principal) -> Pipeline:
        """This pipeline (same scrubber, store, providers) acting for ``principal``."""
        other = copy.copy(self)
        other.principal = principal
        return other

    def template(self, source: str) -> PromptTemplate:
        return PromptTemplate(source, self.limits)

    # one run ----------------------------------------------------------------------
    def run(
        self,
        template: PromptTemplate,
        variables: dict[str, str],
        prompt: PromptRef | None = None,
        provider: str | None = None,
        expected: str | None = None,
        context: str | None = None,
    ) -> RunResult:
        """One governed run. Raises ``PromptForgeError`` for input that never reached
        the model (nothing recorded but an audit event); model failures come back as a
        recorded result with ``status == "error"``."""
        self.principal.require(Permission.RUN_PROMPTS, "run prompts")
        prompt = prompt or PromptRef.adhoc(template)
        # the caller's provider, else the version's default: unknown or keyless fail before any work
        chat = self.provider(provider or template.run.provider)
        self.store  # noqa: B018 - an unusable database fails before any model call is paid for
        try:
            prepared = self._prepare([(0, variables, expected, context)], template).finish()
        except PromptForgeError as exc:
            self._audit_rejection(prompt, chat, exc)
            raise
        [result] = self._complete(prepared, prompt, chat, batch_id=None, concurrency=1, options=template.run.call_options())
        self.store.flush()
        return result

    # a batch ----------------------------------------------------------------------
    def run_batch(
        self,
        template: PromptTemplate,
        rows: Iterable[dict[str, str]],
        prompt: PromptRef | None = None,
        provider: str | None = None,
        concurrency: int | None = None,
        progress: Progress | None = None,
        chunk_size: int = 64,
        total: int | None = None,
        options: BatchOptions | None = None,
    ) -> BatchSummary:
        """Governed runs over variable rows. A bad row is reported and skipped (or
        recorded as failed, see ``BatchOptions``); every chunk is recorded before the
        next starts, so a failure loses nothing done."""
        options = options or BatchOptions()
        self.principal.require(Permission.RUN_PROMPTS, "run prompts")
        prompt = prompt or PromptRef.adhoc(template)
        chat = self.provider(provider or template.run.provider)
        call_options = template.run.call_options()
        self.store  # noqa: B018 - an unusable database fails before any model call is paid for
        concurrency = 1 if all(spec.kind == "offline" for spec in chat.chain) else max(1, concurrency or self.settings.batch_concurrency)
        rows = list(rows)
        total = total if total is not None else len(rows)
        if len(rows) > chunk_size:
            self.scrubber.warm_up(wait=False)  # the second core joins once its model is loaded
        batch_id = options.batch_id or uuid.uuid4().hex
        numbers = options.row_numbers or list(range(len(rows)))
        metrics = options.metrics if options.metrics is not None else self._metrics
        results: list[RunResult] = []
        skipped: list[RowFailure] = []
        started = time.perf_counter()
        declared = set(template.variables)
        ignored = sorted({k for row in rows for k in row if k not in declared and not k.startswith("_")})

        def prepare(offset: int) -> _Preparing:
            chunk = [
                (numbers[offset + i], template_values(row, declared), row.get(EXPECTED), row.get(CONTEXT))
                for i, row in enumerate(rows[offset : offset + chunk_size])
            ]
            return self._prepare(chunk, template, failures=skipped, record_id=options.record_id)

        # chunks ahead: their input scrubbing runs in the PII workers while this one
        # goes to the model, is scrubbed, scored and recorded here
        offsets = iter(range(0, len(rows), chunk_size))
        ahead = deque(prepare(offset) for offset in islice(offsets, LOOKAHEAD + 1))
        try:
            rejections_recorded = 0
            for done in range(chunk_size, len(rows) + chunk_size, chunk_size):
                if options.cancel is not None and options.cancel.is_set():
                    break
                prepared = ahead.popleft().finish()
                ahead.extend(prepare(offset) for offset in islice(offsets, 1))
                chunk = self._complete(
                    prepared, prompt, chat, batch_id=batch_id, concurrency=concurrency, metrics=metrics, options=call_options
                )
                if options.record_rejected:
                    chunk += self._record_rejected(skipped[rejections_recorded:], prompt, chat, batch_id, options.record_id)
                    rejections_recorded = len(skipped)
                results.extend(chunk)
                if options.on_chunk:
                    options.on_chunk(chunk)
                if progress:
                    progress(min(done, total), total)
        finally:
            for preparing in ahead:
                preparing.cancel()
        self.store.flush()
        summary = BatchSummary(batch_id, total, results, skipped, time.perf_counter() - started, ignored)
        self._audit_event("batch", prompt, {"batch_id": batch_id, "provider": chat.primary.display, **summary.counts()})
        return summary

    # stages -----------------------------------------------------------------------
    def _prepare(
        self,
        rows: list[tuple[int, dict[str, str], str | None, str | None]],
        template: PromptTemplate,
        failures: list[RowFailure] | None = None,
        record_id: Callable[[int], str] = new_record_id,
    ) -> _Preparing:
        """Render rows and start scrubbing them (a pool's workers begin at once); with
        ``failures`` a bad row is recorded there and skipped, without it the error
        propagates (single runs). ``_Preparing.finish`` completes the rows."""
        rendered: list[tuple[int, list[tuple[str, str]], dict[str, str], _Stages, int, str | None, str | None]] = []
        for index, variables, expected, context in rows:
            stages = _Stages()
            t0 = time.time_ns()
            try:
                messages = template.render_messages(variables)
                if not any(text.strip() for role, text in messages if role == "user"):
                    raise InputError("The rendered prompt is empty.", "Fill in the variables or the template.")
            except PromptForgeError as exc:
                if failures is None:
                    raise
                failures.append(RowFailure(index, str(exc)))
                continue
            stages.add("render", t0, chars=sum(len(text) for _, text in messages))
            rendered.append((index, messages, variables, stages, t0, expected, context))
        t_scrub = time.time_ns()
        ids = [record_id(r[0]) for r in rendered]
        # fails closed: a ScrubbingError propagates and nothing is sent or stored
        texts = [text for r in rendered for _, text in r[1]]
        job = self.scrubber.begin(texts) if rendered else None
        return _Preparing(self, rendered, job, t_scrub, ids, template.run.untrusted)

    def _screen(
        self, on_prompt: Verdict, variables: dict[str, str], pmap: PseudonymMap, declared_untrusted: frozenset[str]
    ) -> Verdict:
        """The prompt's verdict combined with those of its variable values; a value is
        untrusted when the version declares it so or the injection policy names it."""
        verdicts = [on_prompt]
        if self.settings.injection.screen_variables:
            for name, value in variables.items():
                if isinstance(value, str) and value.strip():
                    untrusted = name in declared_untrusted or self.settings.injection.is_untrusted(name)
                    # model-backed rules read a trusted value inside the rendered prompt
                    v = self.screener.screen(value, source=f"variable:{name}", untrusted=untrusted, models=untrusted)
                    if v.hits:
                        # the raw value was screened in memory; its excerpts are scrubbed
                        # before the verdict goes anywhere
                        v = v.with_excerpts([self.scrubber.scrub(h.excerpt, pmap).text for h in v.hits])
                    verdicts.append(v)
        return Verdict.combine(verdicts)

    def _complete(
        self,
        prepared: list[_Prepared],
        prompt: PromptRef,
        chat: ChatProvider,
        batch_id: str | None,
        concurrency: int,
        metrics: list[Metric] | None = None,
        options: dict | None = None,
    ) -> list[RunResult]:
        """Call the model (with the version's ``options``: temperature, max tokens), scrub
        output, score and record a chunk of prepared rows."""
        metrics = self._metrics if metrics is None else metrics
        if not prepared:
            return []
        calls = [p for p in prepared if p.verdict.action != "block"]
        answers: dict[str, ChatResult | PromptForgeError] = {}

        def call(p: _Prepared) -> None:
            t = time.time_ns()
            try:
                answers[p.record_id] = chat.invoke(p.messages, system=self.settings.system_prompt, options=options)
                p.stages.add("model", t, provider=answers[p.record_id].provider)
            except ProviderError as exc:
                answers[p.record_id] = exc
                p.stages.add("model", t, error=type(exc).__name__)

        if concurrency > 1 and len(calls) > 1:
            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="provider") as pool:
                list(pool.map(call, calls))
        else:
            for p in calls:
                call(p)

        answered = [p for p in calls if isinstance(answers.get(p.record_id), ChatResult)]
        leaks = {p.record_id: self._leak_check(answers[p.record_id].text) for p in answered}
        t_out = time.time_ns()
        outputs = self.scrubber.scrub_many(
            [answers[p.record_id].text for p in answered], [p.pseudonyms for p in answered]
        )
        out_end = time.time_ns()
        scrubbed_out = {p.record_id: o for p, o in zip(answered, outputs)}

        results = []
        for p in prepared:
            answer = answers.get(p.record_id)
            out = scrubbed_out.get(p.record_id)
            if out is not None:
                p.stages.shared("scrub_output", t_out, out_end, len(answered), entities=len(out.entities))
            results.append(self._result(p, prompt, chat, answer, out, leaks.get(p.record_id)))

        t_eval = time.time_ns()
        self._score(results, prepared, metrics)
        eval_end = time.time_ns()
        for p in prepared:
            p.stages.shared("evaluate", t_eval, eval_end, len(prepared), metrics=len(metrics))
        self._record(results, [p.index for p in prepared], batch_id)
        return results

    def _record_rejected(
        self,
        failures: list[RowFailure],
        prompt: PromptRef,
        chat: ChatProvider,
        batch_id: str,
        record_id: Callable[[int], str],
    ) -> list[RunResult]:
        """Rows that never reached the model (a render error), recorded as failed runs."""
        if not failures:
            return []
        results = [
            RunResult(
                record_id=record_id(f.row),
                status="error",
                prompt=prompt,
                scrubbed_input="",
                input_entities=[],
                injection={},
                provider=chat.primary.display,
                error=f"Row not run: {f.error}",
            )
            for f in failures
        ]
        self._record(results, [f.row for f in failures], batch_id)
        return results

    def _result(
        self,
        p: _Prepared,
        prompt: PromptRef,
        chat: ChatProvider,
        answer: ChatResult | PromptForgeError | None,
        out: ScrubResult | None,
        leak: Verdict | None = None,
    ) -> RunResult:
        result = RunResult(
            record_id=p.record_id,
            status="ok",
            prompt=prompt,
            scrubbed_input=p.scrub.text,
            input_entities=[e.to_dict() for e in p.scrub.entities],
            pii_in=p.scrub.counts_by_type(),
            injection=p.verdict.to_dict(),
            provider=chat.primary.display,
            stages=p.stages.items,
        )
        if p.verdict.action == "block":
            result.status = "blocked"
            result.error = "Blocked by the injection policy: " + "; ".join(p.verdict.reasons[:3])
        elif isinstance(answer, PromptForgeError):
            result.status = "error"
            result.error = str(answer)
        elif isinstance(answer, ChatResult) and out is not None:
            result.output = out.text
            result.output_entities = [e.to_dict() for e in out.entities]
            result.pii_out = out.counts_by_type()
            result.provider = answer.provider
            result.model = answer.model
            result.simulated = answer.simulated
            result.latency_s = answer.latency_s
            result.input_tokens = answer.input_tokens
            result.output_tokens = answer.output_tokens
            result.cost_usd = answer.cost_usd
            if leak is not None:
                result.output_screen = leak.to_dict()
                if leak.action == "block":  # the leaked answer is withheld: never shown or stored
                    result.status, result.output, result.output_entities, result.pii_out = "blocked", None, [], {}
                    result.error = "Output withheld by the output screen: " + "; ".join(leak.reasons)
        return result

    def _leak_check(self, output: str) -> Verdict:
        policy = self.settings.injection
        if self._leaks is None:
            from security.injection.leakage import LeakDetector

            self._leaks = LeakDetector(self.settings.system_prompt, policy.canaries)
        return self._leaks.check(output, policy.on_output_leak)

    def _score(self, results: list[RunResult], prepared: list[_Prepared], metrics: list[Metric]) -> None:
        items = [
            MetricInput(
                input=r.scrubbed_input,
                output=r.output,
                expected=p.expected,
                context=p.context,
                signals={
                    "pii_in_count": float(len(r.input_entities)),
                    "pii_out_count": float(len(r.output_entities)) if r.output is not None else None,
                    "injection_score": r.injection.get("score"),
                    "latency_s": r.latency_s if r.status == "ok" else None,
                    "total_tokens": float(r.input_tokens + r.output_tokens) if r.status == "ok" else None,
                    "cost_usd": r.cost_usd if r.status == "ok" else None,
                },
            )
            for r, p in zip(results, prepared)
        ]
        for metric in metrics:
            for r, score in zip(results, metric.score_many(items)):
                r.metrics.append(score)
        for r in results:
            r.metrics.extend(_judge_usage(r.metrics))

    def _record(self, results: list[RunResult], rows: list[int], batch_id: str | None) -> None:
        """Hand runs to storage and the audit trail; ``rows``: the dataset row of each result.

        Each run ends now (its chunk is done) and starts its own time earlier (see ``timeline``):
        TruLens's latency of a batch row is that row's, not the batch's."""
        now = time.time_ns()
        decisions = [_decisions(r) for r in results]
        starts = []
        for r in results:
            start, r.stages = timeline(r.stages, now)
            starts.append(start)
        records = [
            RunRecord(
                run_id=r.record_id,
                app_name=r.prompt.app_name,
                app_version=r.prompt.app_version,
                input_text=r.scrubbed_input,
                output_text=r.output,
                status=r.status,
                error=r.error,
                provider=r.provider,
                model=r.model,
                simulated=r.simulated,
                latency_s=r.latency_s,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                cost_usd=r.cost_usd,
                started_at_ns=started_ns,
                ended_at_ns=now,
                stages=r.stages,
                metrics=[_stored(m) for m in r.metrics],
                decisions=d,
                variables={},  # variable values exist only inside the scrubbed input
                actor=self.actor,
                batch_id=batch_id,
                dataset_row=index if batch_id else None,
            )
            for r, index, started_ns, d in zip(results, rows, starts, decisions)
        ]
        self.store.record_runs(records)
        self.audit.append_many(
            [
                (self.actor, "run", r.prompt.label_text, {"record_id": r.record_id, "batch_id": batch_id, **d})
                for r, d in zip(results, decisions)
            ]
        )

    def _audit_event(self, action: str, prompt: PromptRef, details: dict) -> None:
        self.audit.append(self.actor, action, prompt.label_text, details)

    def _audit_rejection(self, prompt: PromptRef, chat: ChatProvider, exc: PromptForgeError) -> None:
        # the reason is the error class and message, which never carry raw values
        try:
            self._audit_event("run_rejected", prompt, {"provider": chat.primary.display, "reason": type(exc).__name__})
        except PromptForgeError:
            pass  # an unusable database must not hide the user's real error


def _judge_usage(results: list[MetricResult]) -> list[MetricResult]:
    """What the judge cost for a row, as two metrics (none when no judge was asked)."""
    judged = [m for m in results if m.latency_s is not None]
    if not judged:
        return []
    costs = [m.cost_usd for m in judged if m.cost_usd is not None]
    cost = MetricResult(
        "judge_cost_usd", sum(costs) if costs else None, False, "ok" if costs else "unavailable",
        "" if costs else "The judge's model has no known price.",
    )
    latency = MetricResult("judge_latency_s", sum(m.latency_s for m in judged), False)
    return [cost, latency]


def _stored(m: MetricResult) -> MetricValue:
    """A simulated judge score is stored under its own name, so no chart, leaderboard
    or gate takes it for a real one."""
    name = m.name + SIMULATED_SUFFIX if m.simulated else m.name
    return MetricValue(name, m.value, m.higher_is_better, m.status, m.explanation)


def _decisions(r: RunResult) -> dict:
    return {
        "status": r.status,
        "provider": r.provider,
        "simulated": r.simulated,
        "pii_in": r.pii_in,
        "pii_out": r.pii_out,
        "injection": {k: r.injection.get(k) for k in ("action", "score", "reasons")},
        "output_screen": {k: r.output_screen.get(k) for k in ("action", "score", "reasons")} if r.output_screen else None,
    }
