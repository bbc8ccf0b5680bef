"""Synthetic history at scale: a year of realistic work in the demo workspace.

``python launch.py seed-demo --runs N`` (``seed_history``) adds ``N`` recorded runs spread over
the last 365 days to the demo workspace, and what a year of work leaves around them:

- runs of the demo's registered prompt versions (read through the prompt registry), in office
  hours on working days and more of them as the year goes on, on several providers and models
  with their latency and list-price cost (``execution.providers.pricing``); batches of dataset
  rows in the day and nightly evaluation batches from CI; which version runs follows the
  production label as it moved;
- inputs rendered by each version's own template from values that are already placeholders
  (``execution.demo.texts``): nothing here ever held personal data, and what is stored is what
  the scrubber would have left;
- the injection screen's verdicts (allow / flag / block about 95 / 4 / 1 %), provider errors
  (about 0.5 %), the default metrics computed by the metric classes from each run's signals
  (``unavailable`` where the pipeline measures nothing), and the pipeline's stages laid end to end
  (render, scrub_input, screen, screen_variables, model, scrub_output, evaluate; the ones a chunk
  of rows shares carry ``batch_rows``), so a run's trace lasts that run's own time;
- production label moves through ``prompts.label_moves`` (requested by the demo analyst or
  product owner, approved or rejected by the demo approver), dated into the year;
- human annotations of a share of the runs that enter the demo review queues, by the demo
  reviewers with the queue's rubric, stored as a submitted annotation is (its slot, the
  annotation, ``human_*`` TruLens feedback, an ``annotation_submitted`` audit event).

Runs go through ``TruLensStore.record_runs`` (the store's own writer: TruLens events, ``pf_runs``,
metrics, search text, entities), each with its ``run`` audit event (and a ``batch`` event per
batch) through ``AuditLog.append_many``. Audit events carry the time they were appended: the
chain is append-only and in time order. ``make_runs`` is the run generator alone.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from config.errors import InputError
from execution.demo import texts
from execution.prompt_ref import PromptRef
from storage.records import MetricValue, RunRecord, StageTiming

MAX_RUNS = 5_000_000
DAYS = 365
SEED = 20240611
CHUNK = 2_000  # runs handed to the store (and audit events appended) at a time
POOL = 240  # rendered inputs per prompt version (runs draw from them)
ATTACK_POOL = 24  # ... with an injection attempt in a value
END_MARGIN_S = 600  # every run ended at least this long before seeding began
BATCH_CHUNK = 64  # rows the pipeline scrubs, screens and evaluates together (run_batch's chunk)
BATCH_CONCURRENCY = 4  # parallel calls of a batch on a remote provider
ERROR_RATE = 0.006  # of the runs that call a remote model (about 0.5 % of all runs)
LEAK_RATE = 0.012  # answers that added personal data (scrubbed from the output)
ANNOTATED_SHARE = 0.08  # of the runs that enter a demo queue, reviewed fully
HALF_REVIEWED_SHARE = 0.006  # ... with one of their reviews done
HERE = Path(__file__).resolve().parent

ANALYST, PRODUCT, CI = "user:demo-analyst", "user:demo-product", "os:ci"
REVIEWERS = ("demo:sample-reviewer-a", "demo:sample-reviewer-b", "user:demo-reviewer", "user:demo-lead_reviewer")
APPROVER = "demo-approver"


@dataclass(frozen=True)
class Model:
    """A provider and model as recorded, how fast it answers, and its share of runs at the start
    and at the end of the year (the mix moves from one to the other)."""

    spec: str  # the provider spec as the pipeline records it
    reported: str  # the model name the provider reports
    median_s: float
    sigma: float
    share_start: float
    share_end: float

    @property
    def simulated(self) -> bool:
        return self.spec == "offline"


MODELS = (
    Model("offline", "offline", 0.002, 0.9, 0.22, 0.10),
    Model("openai:gpt-4o-mini", "gpt-4o-mini-2024-07-18", 1.3, 0.45, 0.40, 0.16),
    Model("openai:gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", 1.5, 0.45, 0.02, 0.26),
    Model("openai:gpt-4.1", "gpt-4.1-2025-04-14", 2.9, 0.5, 0.08, 0.07),
    Model("anthropic:claude-3-5-haiku-latest", "claude-3-5-haiku-20241022", 1.5, 0.45, 0.18, 0.10),
    Model("anthropic:claude-sonnet-4-5", "claude-sonnet-4-5-20250929", 3.8, 0.5, 0.04, 0.15),
    Model("compat:llama-3.1-8b-instruct@http://llm.internal:8000/v1", "llama-3.1-8b-instruct", 0.9, 0.6, 0.06, 0.16),
)
NIGHTLY_MODELS = ("offline", "openai:gpt-4o-mini")
# UTC hour -> relative volume of interactive runs (office hours, a lunch dip)
HOURS = (1, 1, 1, 1, 1, 2, 4, 12, 55, 90, 100, 95, 70, 85, 95, 90, 75, 45, 20, 10, 6, 4, 2, 1)
WEEKDAYS = (1.0, 1.0, 0.97, 0.95, 0.8, 0.1, 0.06)  # Monday .. Sunday
ERROR_KINDS = (  # (share, error as the provider layer words it, seconds the call took before failing)
    (0.45, "Provider {spec} timed out after 60 s (after 3 attempts). Check that the server is up and not "
     "overloaded, raise provider_timeout_s (PROMPTFORGE_PROVIDER_TIMEOUT_S), or add a provider to "
     "fallback_providers.", 180.0),
    (0.35, "Provider {spec} is rate limiting requests (HTTP 429, after 3 attempts). Wait a minute and retry, "
     "lower batch_concurrency, or raise provider_max_retries.", 7.0),
    (0.20, "Provider {spec} had a server error (HTTP 503, after 3 attempts). Retry later or add a provider to "
     "fallback_providers.", 4.0),
)


# -- what runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One rendered input (scrubbed) and the answers the models give to it."""

    input_text: str
    chars: int  # characters rendered (the render stage)
    pii_in: dict[str, int]
    reply: str  # a remote model's answer
    offline_reply: str  # the offline provider's answer (its own function), as the output scrubber left it
    offline_pii_out: dict[str, int]
    input_tokens: int
    reply_tokens: int
    offline_input_tokens: int
    offline_reply_tokens: int
    names: texts.Placeholders
    variables: int  # how many variable values were screened
    attack: list[str] | None = None  # the screen's reasons when a value holds an injection attempt


@dataclass
class App:
    """A prompt version the history runs: its samples and how much it runs on each day."""

    slug: str
    version: int
    samples: list[Sample]
    attacks: list[Sample]
    weights: list[float]  # relative volume per day, index 0 = a year ago
    production: list[bool] = field(default_factory=list)  # holds the production label on that day

    @property
    def app_version(self) -> str:
        return f"v{self.version}"


def _samples(slug: str, template, variables: Sequence[str], rng: random.Random, count: int, attacks: bool,
             system_prompt: str) -> list[Sample]:
    """Inputs rendered by ``template`` (the version's own) from made-up scrubbed values."""
    from execution.providers.offline import simulate_reply
    from execution.providers.tokens import count_tokens

    system_tokens = count_tokens(system_prompt)
    trials = [_values(variables, rng)[0] for _ in range(3)]
    render = _renderer(template, variables, trials) if template is not None else None
    out = []
    for i in range(count):
        values, names = _values(variables, rng)
        attack = None
        if attacks:
            text, reasons = texts.ATTACKS[i % len(texts.ATTACKS)]
            target = next((v for v in ("complaint", "question", "notes", "note") if v in values), None)
            if target is None:
                continue
            values[target] = f"{values[target]} {text}"
            attack = reasons + [f"variable:{target}: {reasons[0]}"]
        messages = render(values) if render is not None else [("user", _generic(values))]
        if len(messages) == 1 and messages[0][0] == "user":
            input_text = messages[0][1]
        else:  # a chat prompt is recorded as its transcript
            from execution.chat_template import transcript

            input_text = transcript(messages)
        user_text = next(text for role, text in reversed(messages) if role == "user")
        answer = texts.reply(slug, values, names, rng)
        offline, offline_pii = _scrubbed_offline(simulate_reply(user_text, system_prompt), names)
        prompt_tokens = sum(count_tokens(text) for _, text in messages)
        out.append(Sample(
            input_text=input_text, chars=sum(len(text) for _, text in messages), pii_in=texts.entity_counts(input_text),
            reply=answer, offline_reply=offline, offline_pii_out=offline_pii, input_tokens=prompt_tokens + system_tokens + 4 * len(messages),
            reply_tokens=count_tokens(answer), offline_input_tokens=prompt_tokens + system_tokens,
            offline_reply_tokens=count_tokens(offline), names=names, variables=len(values), attack=attack,
        ))
    return out


MARK = "\ue000{}\ue001"  # a variable's place in a rendered template (private-use characters)


def _values(variables: Sequence[str], rng: random.Random) -> tuple[dict[str, str], texts.Placeholders]:
    """Made-up values of one run's variables, and the placeholders they used."""
    names = texts.Placeholders()
    return {name: texts.value_for(name, rng, names) for name in variables}, names


def _renderer(template, variables: Sequence[str], trials: list[dict[str, str]]) -> Callable[[dict[str, str]], list]:
    """``values -> messages`` for ``template``, rendering each shape once.

    Rendering is sandboxed in a thread per call (a timeout guard), which is slow when TruLens
    is loaded (its Thread records the caller's stack), so the template is rendered once with a
    marker in each variable's place and the values are put in. A variable whose value the
    version checks (a choice) keeps its real value and is part of the shape. Checked on
    ``trials`` against the real rendering; any difference: every sample is rendered for real."""
    from config.errors import PromptForgeError

    def marked(values: dict[str, str], real: set[str]) -> dict[str, str]:
        return {k: (v if k in real else MARK.format(k)) for k, v in values.items()}

    real: set[str] = set()
    for name in variables:  # values the version checks cannot be markers
        try:
            template.render_messages(marked(trials[0], {v for v in variables if v != name}))
        except PromptForgeError:
            real.add(name)
    shapes: dict[tuple, list[tuple[str, str]]] = {}

    def fast(values: dict[str, str]) -> list[tuple[str, str]]:
        key = tuple(values[name] for name in sorted(real))
        if key not in shapes:
            shapes[key] = template.render_messages(marked(values, real))
        out = []
        for role, text in shapes[key]:
            for name in variables:
                if name not in real:
                    text = text.replace(MARK.format(name), values[name])
            out.append((role, text))
        return out

    try:
        if all(fast(values) == template.render_messages(values) for values in trials):
            return fast
    except PromptForgeError:
        pass
    return template.render_messages


def _scrubbed_offline(reply: str, names: texts.Placeholders) -> tuple[str, dict[str, int]]:
    """The offline answer as stored: a fingerprint of digits only reads as a phone number to the
    output scrubber, which replaces it."""
    head, sep, fingerprint = reply.rpartition("Fingerprint: ")
    if sep and fingerprint.isdigit():
        return f"{head}{sep}{names.next('PHONE_NUMBER')}", {"PHONE_NUMBER": 1}
    return reply, {}


def _generic(values: dict[str, str]) -> str:
    return "Answer the customer briefly: " + " ".join(values.values())


def generic_app(slug: str, version: int, share: float, rng: random.Random, days: int = DAYS,
                system_prompt: str = "") -> App:
    """A prompt version that is not registered: a customer's question answered briefly."""
    samples = _samples(slug, None, ["question"], rng, POOL, False, system_prompt)
    attacks = _samples(slug, None, ["question"], rng, ATTACK_POOL, True, system_prompt)
    return App(slug, version, samples, attacks, [share] * days, [True] * days)


# -- when ------------------------------------------------------------------------------------


class Calendar:
    """Moments over the last ``days`` days: office hours on working days, a slow growth and
    quieter holiday weeks; nights for the nightly evaluation batches."""

    def __init__(self, end: datetime, days: int) -> None:
        self.end = end  # naive UTC; nothing ends after it
        self.days = days
        first = (end - timedelta(days=days - 1)).date()
        self.dates = [first + timedelta(days=i) for i in range(days)]
        self.volume = [self._volume(i, d) for i, d in enumerate(self.dates)]
        self._hours = list(itertools.accumulate(HOURS))

    def _volume(self, index: int, day) -> float:
        trend = 0.55 + 0.9 * index / max(self.days - 1, 1)  # volume grows about 2.6x over the year
        holiday = 0.35 if (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 2) else 1.0
        summer = 0.8 if day.month == 8 else 1.0
        return trend * holiday * summer * WEEKDAYS[day.weekday()]

    def moment(self, rng: random.Random, index: int, night: bool = False) -> int:
        """Nanoseconds since the epoch: a time on day ``index`` (office hours, or 01:00-04:00)."""
        midnight = datetime.combine(self.dates[index], datetime.min.time())
        for _ in range(20):
            hour = rng.uniform(1.0, 4.0) if night else (
                bisect.bisect_right(self._hours, rng.random() * self._hours[-1]) + rng.random()
            )
            at = midnight + timedelta(hours=hour)
            if at < self.end:
                break
        else:  # today's office hours are still to come: earlier today
            at = midnight + (self.end - midnight) * rng.random()
        return int(at.replace(tzinfo=UTC).timestamp() * 1e9)


# -- the generator ---------------------------------------------------------------------------


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _ms(rng: random.Random, median: float, sigma: float = 0.35) -> int:
    """A lognormal duration in nanoseconds around ``median`` milliseconds."""
    return max(int(median * math.exp(rng.gauss(0.0, sigma)) * 1e6), 1_000)


@dataclass
class Batch:
    """A batch of dataset rows (an evaluation from CI at night, or an analyst's batch)."""

    batch_id: str
    app: App
    actor: str
    model: Model
    rows: int
    ok: int = 0
    blocked: int = 0
    error: int = 0


class History:
    """Deterministic generator of ``RunRecord``s over ``apps`` (see the module docstring)."""

    def __init__(
        self,
        apps: Sequence[App],
        *,
        end_ns: int | None = None,
        days: int = DAYS,
        seed: int = SEED,
        models: Sequence[Model] = MODELS,
        batch_share: float = 0.25,
    ) -> None:
        from evaluation.registry import build_metrics
        from evaluation.signals import DEFAULT_METRICS
        from execution.providers.pricing import price_for
        from execution.providers.spec import parse_spec

        if not apps:
            raise InputError("There is no prompt version to make history for.", "Create the demo workspace first.")
        self.apps = list(apps)
        self.rng = random.Random(seed)
        end_ns = end_ns if end_ns is not None else time.time_ns() - int(END_MARGIN_S * 1e9)
        self.calendar = Calendar(datetime.fromtimestamp(end_ns / 1e9, tz=UTC).replace(tzinfo=None), days)
        self.models = list(models)
        self.prices = {m.spec: price_for(m.spec, parse_spec(m.spec).model, m.reported) for m in self.models}
        self.metrics = build_metrics(list(DEFAULT_METRICS))
        self.batch_share = batch_share
        self.batches: dict[str, Batch] = {}
        self._day_apps = [list(itertools.accumulate(app.weights[d] for app in self.apps)) for d in range(days)]
        self._day_models = [
            list(itertools.accumulate(
                m.share_start + (m.share_end - m.share_start) * d / max(days - 1, 1) for m in self.models
            ))
            for d in range(days)
        ]

    # -- drawing ------------------------------------------------------------------------

    @staticmethod
    def _pick(rng: random.Random, cumulative: list[float]) -> int:
        return min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)

    def _app(self, day: int) -> App:
        return self.apps[self._pick(self.rng, self._day_apps[day])]

    def _model(self, day: int) -> Model:
        return self.models[self._pick(self.rng, self._day_models[day])]

    # -- runs ---------------------------------------------------------------------------

    def runs(self, n: int) -> Iterator[RunRecord]:
        """``n`` runs in the order they ended (see ``events``)."""
        return (run for run, _ in self.events(n))

    def events(self, n: int) -> Iterator[tuple[RunRecord, str | None]]:
        """``n`` runs in the order they ended, each with the label it was run through
        (``production``, or None). Each day gets its share of the runs (the calendar's volume);
        a day's runs are single runs and batches."""
        import numpy as np

        rng = self.rng
        mean_batch = 90
        batch_event = self.batch_share / (self.batch_share + (1 - self.batch_share) * mean_batch) if self.batch_share else 0
        volume = np.array(self.calendar.volume, dtype=float)
        counts = np.random.default_rng(rng.getrandbits(64)).multinomial(n, volume / volume.sum())
        for day, count in enumerate(counts.tolist()):
            made: list[tuple[RunRecord, str | None]] = []
            while len(made) < count:
                if rng.random() < batch_event:
                    rows = min(count - len(made), rng.choice((24, 40, 64, 90, 120, 160, 200)))
                    produced = self._batch(day, rows)
                    self._score(produced)
                    made += [(run, None) for run in produced]
                else:
                    run, label = self._single(day)
                    self._score([run])
                    made.append((run, label))
            made.sort(key=lambda item: item[0].ended_at_ns)  # stable: a batch's rows stay in order
            yield from made

    def _single(self, day: int) -> tuple[RunRecord, str | None]:
        rng = self.rng
        app, model = self._app(day), self._model(day)
        end = self.calendar.moment(rng, day)
        actor = ANALYST if rng.random() < 0.72 else PRODUCT
        label = "production" if app.production and app.production[day] and rng.random() < 0.8 else None
        shared = (_ms(rng, 22), _ms(rng, 12), _ms(rng, 16), _ms(rng, 0.4))
        return self._run(app, model, day, end, actor, None, None, 1, shared, concurrency=1), label

    def _batch(self, day: int, rows: int) -> list[RunRecord]:
        rng = self.rng
        app = self._app(day)
        nightly = rng.random() < 0.4
        if nightly:
            spec = rng.choice(NIGHTLY_MODELS)
            model = next(m for m in self.models if m.spec == spec)
            actor = CI
        else:
            model, actor = self._model(day), ANALYST if rng.random() < 0.8 else PRODUCT
        start = self.calendar.moment(rng, day, night=nightly)
        batch = Batch(_hex(rng), app, actor, model, rows)
        self.batches[batch.batch_id] = batch
        concurrency = 1 if model.simulated else BATCH_CONCURRENCY
        out: list[RunRecord] = []
        t = start
        for first in range(0, rows, BATCH_CHUNK):
            size = min(BATCH_CHUNK, rows - first)
            shared = (_ms(rng, 9 * size, 0.25), _ms(rng, 3 * size, 0.25), _ms(rng, 6 * size, 0.25), _ms(rng, 0.2 * size))
            chunk = [
                self._run(app, model, day, 0, actor, batch.batch_id, first + i, size, shared, concurrency)
                for i in range(size)
            ]
            # the chunk ends when its last stage is done: every row of it is recorded then
            wall = sum(shared) + sum(
                (s.end_ns - s.start_ns) for r in chunk for s in r.stages if s.name in ("render", "screen_variables")
            ) + sum(s.end_ns - s.start_ns for r in chunk for s in r.stages if s.name == "model") // concurrency
            t = min(t + wall, int(self.calendar.end.replace(tzinfo=UTC).timestamp() * 1e9))
            for run in chunk:
                _end_at(run, t)
                batch.ok += run.status == "ok"
                batch.blocked += run.status == "blocked"
                batch.error += run.status == "error"
            out += chunk
        return out

    def _run(
        self, app: App, model: Model, day: int, end_ns: int, actor: str, batch_id: str | None, row: int | None, rows: int,
        shared: tuple[int, int, int, int], concurrency: int,
    ) -> RunRecord:
        """One run ending at ``end_ns``; ``shared``: the chunk's scrub, screen, output scrub and
        evaluation time in ns (``rows`` rows share them)."""
        rng = self.rng
        draw = rng.random()  # allow / flag / block about 95 / 4 / 1 %
        sample = rng.choice(app.attacks) if draw < 0.05 and app.attacks else rng.choice(app.samples)
        if sample.attack is not None:
            reasons, action = sample.attack, "block" if draw < 0.01 else "flag"
            score = round(rng.uniform(0.86, 0.99), 4) if action == "block" else round(rng.uniform(0.5, 0.84), 4)
        else:
            reasons, action = [], "allow"
            score = 0.0 if rng.random() < 0.8 else round(rng.uniform(0.02, 0.4), 4)
        blocked = action == "block"
        failed = not blocked and not model.simulated and rng.random() < ERROR_RATE
        scrub_ms, screen_ms, out_ms, eval_ms = shared
        stages = [
            ("render", _ms(rng, 0.5 + sample.chars / 4000), {"chars": sample.chars}),
            ("scrub_input", scrub_ms, {"entities": sum(sample.pii_in.values()), **_shared(rows, scrub_ms)}),
            ("screen", screen_ms, {"score": score, "action": action, **_shared(rows, screen_ms)}),
        ]
        if sample.variables:
            stages.append(("screen_variables", _ms(rng, 0.3 + 0.4 * sample.variables), {}))
        status, error, output, pii_out = "ok", None, None, {}
        latency, input_tokens, output_tokens, cost, reported, simulated = 0.0, 0, 0, None, "", False
        if blocked:
            status = "blocked"
            error = "Blocked by the injection policy: " + "; ".join(reasons[:3])
        elif failed:
            status = "error"
            _, message, seconds = rng.choices(ERROR_KINDS, [k[0] for k in ERROR_KINDS])[0]
            error = message.format(spec=model.spec)
            stages.append(("model", int(seconds * rng.uniform(0.9, 1.1) * 1e9), {"error": "ProviderError"}))
        else:
            if model.simulated:
                output, input_tokens, output_tokens = sample.offline_reply, sample.offline_input_tokens, sample.offline_reply_tokens
                pii_out = dict(sample.offline_pii_out)
                latency = _ms(rng, model.median_s * 1000, model.sigma) / 1e9
            else:
                output, input_tokens, output_tokens = sample.reply, sample.input_tokens, sample.reply_tokens
                if rng.random() < LEAK_RATE:
                    added, pii_out = texts.leak(sample.names, rng)
                    output += added
                    output_tokens += 14
                faster = 1.15 - 0.3 * day / max(self.calendar.days - 1, 1)  # models got faster over the year
                latency = model.median_s * math.exp(rng.gauss(0.0, model.sigma)) * (0.6 + output_tokens / 400) * faster
            price = self.prices[model.spec]
            cost = None if price is None else (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
            reported, simulated = model.reported, model.simulated
            stages.append(("model", int(latency * 1e9) + _ms(rng, 0.3), {"provider": model.spec}))
            stages.append(("scrub_output", out_ms, {"entities": sum(pii_out.values()), **_shared(rows, out_ms)}))
        stages.append(("evaluate", eval_ms, {"metrics": len(self.metrics), **_shared(rows, eval_ms)}))
        # placed one after another from 0 for now; ``_end_at`` lays them out as the pipeline does
        timings, t = [], 0
        for name, ns, attrs in stages:
            timings.append(StageTiming(name, t, t + ns, attrs))
            t += ns
        decisions = {
            "status": status,
            "provider": model.spec,
            "simulated": simulated,
            "pii_in": dict(sample.pii_in),
            "pii_out": pii_out,
            "injection": {"action": action, "score": score, "reasons": reasons},
            "output_screen": {"action": "allow", "score": 0.0, "reasons": []} if output is not None else None,
        }
        run = RunRecord(
            run_id=_hex(rng), app_name=app.slug, app_version=app.app_version, input_text=sample.input_text,
            output_text=output, status=status, error=error, provider=model.spec, model=reported, simulated=simulated,
            latency_s=latency, input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost,
            started_at_ns=0, ended_at_ns=0, stages=timings, metrics=[], decisions=decisions, variables={},
            actor=actor, batch_id=batch_id, dataset_row=row,
        )
        if end_ns:
            _end_at(run, end_ns)
        return run

    def _score(self, runs: list[RunRecord]) -> None:
        """The default metrics, computed by the metric classes from each run's signals."""
        from evaluation.registry import MetricInput

        items = [
            MetricInput(
                input=r.input_text, output=r.output_text,
                signals={
                    "pii_in_count": float(sum(r.decisions["pii_in"].values())),
                    "pii_out_count": float(sum(r.decisions["pii_out"].values())) if r.output_text is not None else None,
                    "injection_score": r.decisions["injection"]["score"],
                    "latency_s": r.latency_s if r.status == "ok" else None,
                    "total_tokens": float(r.input_tokens + r.output_tokens) if r.status == "ok" else None,
                    "cost_usd": r.cost_usd if r.status == "ok" else None,
                },
            )
            for r in runs
        ]
        for metric in self.metrics:
            for run, m in zip(runs, metric.score_many(items)):
                run.metrics.append(MetricValue(m.name, m.value, m.higher_is_better, m.status, m.explanation))


def _shared(rows: int, span_ns: int) -> dict[str, Any]:
    """The attributes of a stage ``rows`` rows ran together for ``span_ns`` (as the pipeline sets them)."""
    from execution.pipeline import BATCH_ROWS

    return {BATCH_ROWS: rows, "batch_ms": round(span_ns / 1e6, 3)}


def _end_at(run: RunRecord, end_ns: int) -> None:
    """The run ends at ``end_ns`` (when its chunk is recorded): its stages are laid end to end
    before it, each lasting the run's own share, by the pipeline's own ``timeline``."""
    from execution.pipeline import timeline

    run.started_at_ns, run.stages = timeline(run.stages, end_ns)
    run.ended_at_ns = end_ns


def make_runs(n: int, apps: Sequence[App], **options: Any) -> Iterator[RunRecord]:
    """``n`` runs over ``apps`` in the order they ended, deterministic for a seed; ``options`` go
    to ``History`` (``days``, ``seed``, ``end_ns``, ``batch_share``, ``models``)."""
    return History(apps, **options).runs(n)


# -- the demo's year -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """A production label move over the year: requested, then approved or rejected."""

    slug: str
    version: int
    days_ago: int
    approved: bool
    reason: str
    note: str = ""
    requester: str = "demo-analyst"


LABEL_PLAN = (
    Move("loan-summary", 1, 301, True, "Credit officers used the staging summaries for a month without a correction."),
    Move("kyc-gap-check", 1, 206, False, "Onboarding wants the gap check in production.",
         "Run an evaluation over real KYC notes first."),
    Move("kyc-gap-check", 1, 185, True, "Evaluation over 40 KYC notes: no missed document, two false alarms."),
    Move("complaint-reply", 2, 152, True, "Shorter replies with a concrete next step; the comparison favours v2.",
         requester="demo-product"),
    Move("complaint-reply", 1, 121, True,
         "Roll back: v2 replies promised call-back times the complaints team could not keep."),
    Move("product-faq-chat", 1, 93, True, "Launch the product FAQ chat after the staging pilot.", requester="demo-product"),
    Move("complaint-reply", 2, 38, False, "Try v2 again for the complaints team.",
         "The wording that caused the rollback is unchanged."),
)
VERSION_AGE_DAYS = {("complaint-reply", 2): 214}  # when later demo versions were written (v1: a year ago)
SHARES = {"complaint-reply": 0.40, "product-faq-chat": 0.30, "loan-summary": 0.18, "kyc-gap-check": 0.12}
PILOT = 0.15  # a prompt's volume while nothing of it is in production
CANDIDATES = 0.12  # share of a prompt's runs on versions other than production's (evaluations, playground)
DEMO_QUEUES = "demo-"  # the demo's review queues are named demo-...


def demo_slugs() -> list[str]:
    return [spec["slug"] for spec in json.loads((HERE / "prompts.json").read_text())]


def demo_apps(registry, slugs: Sequence[str], calendar: Calendar, system_prompt: str, rng: random.Random) -> list[App]:
    """The demo's registered versions as the history runs them: each version from the day it
    was written, production's version most, following the label's moves (TruLens's label
    history), the other versions a little (evaluations, the playground)."""
    apps = []
    noons = [datetime.combine(d, datetime.min.time()) + timedelta(hours=12) for d in calendar.dates]
    for slug in slugs:
        versions = registry.versions(slug)
        moves = sorted((m for m in registry.label_history(slug) if m.label == "production"), key=lambda m: m.at)
        production: list[int | None] = []
        for noon in noons:
            current = None
            for move in moves:
                if move.at <= noon:
                    current = move.to_version
            production.append(current)
        share = SHARES.get(slug, 0.1)
        for version in versions:
            weights = []
            for day, noon in enumerate(noons):
                available = [v for v in versions if v.created_at is None or v.created_at <= noon]
                if version not in available:
                    weights.append(0.0)
                    continue
                current = production[day]
                others = [v for v in available if v.version != current]
                if current is None:  # a pilot: the newest version, a little
                    weights.append(share * PILOT if version is available[-1] else 0.0)
                elif version.version == current:
                    weights.append(share * (1 - CANDIDATES if others else 1.0))
                else:
                    weights.append(share * CANDIDATES / len(others))
            if not any(weights):
                continue
            template = registry.template(version)
            apps.append(App(
                slug, version.version,
                _samples(slug, template, version.variables, rng, POOL, False, system_prompt),
                _samples(slug, template, version.variables, rng, ATTACK_POOL, True, system_prompt),
                weights, [p == version.version for p in production],
            ))
    return apps


def _principal(name: str, *roles):
    from security.identity import Principal

    return Principal(name, frozenset(roles), "user")


def _office_time(rng: random.Random, day_start: datetime) -> datetime:
    return day_start + timedelta(hours=rng.uniform(9.0, 17.0))


def label_year(store, audit, slugs: Sequence[str], end: datetime, rng: random.Random, log: Callable[[str], None]) -> dict:
    """The year's production label moves (``LABEL_PLAN``) through the label-move services, dated
    into the year, with the demo's versions and first labels dated from when they were written.
    Done once per database: nothing happens when the demo's prompts have label requests already."""
    from prompts.label_moves import LabelMoves
    from prompts.registry import PRODUCTION, PromptRegistry
    from security.identity import Role
    from storage.label_requests import LabelRequestTable
    from storage.prompts import PromptStore

    requests = LabelRequestTable(store.engine)
    if any(requests.with_status(None, slug, limit=1) for slug in slugs):
        return {"label_requests": 0, "label_moves": 0}
    prompts = PromptStore(store)
    start = datetime.combine((end - timedelta(days=DAYS)).date(), datetime.min.time())
    for slug in slugs:
        dated: dict[int, datetime] = {}
        for version in prompts.versions(slug):
            age = VERSION_AGE_DAYS.get((slug, version.version), DAYS + 1 if version.version == 1 else None)
            if age is None:
                continue  # written later than the demo: left as it is
            dated[version.version] = at = _office_time(rng, start - timedelta(days=age - DAYS))
            prompts.date_version(slug, version.version, at)
        for move in prompts.label_history(slug):  # the demo's own first labels
            if move.to_version in dated:
                prompts.date_label_move(slug, move.label, move.to_version, dated[move.to_version] + timedelta(minutes=1))
    approver = _principal(APPROVER, Role.APPROVER)
    made = moved = 0
    for move in sorted(LABEL_PLAN, key=lambda m: -m.days_ago):
        if move.slug not in slugs or move.version > prompts.version_count(move.slug):
            continue
        role = Role.PRODUCT if move.requester == "demo-product" else Role.ANALYST
        requester = LabelMoves(PromptRegistry(store, _principal(move.requester, role), audit), audit)
        deciding = LabelMoves(PromptRegistry(store, approver, audit), audit)
        request = requester.request(move.slug, move.version, move.reason, PRODUCTION)
        if move.approved:
            deciding.approve(request.id, move.note)
        else:
            deciding.reject(request.id, move.note)
        asked = _office_time(rng, start + timedelta(days=DAYS - move.days_ago))
        decided = _office_time(rng, datetime.combine((asked + timedelta(days=rng.choice((0, 1, 1, 2)))).date(),
                                                     datetime.min.time()))
        decided = max(decided, asked + timedelta(minutes=20))
        requests.date(request.id, asked, decided)
        if move.approved:
            prompts.date_label_move(move.slug, PRODUCTION, move.version, decided + timedelta(seconds=1))
            moved += 1
        made += 1
        log(f"history: {move.slug} v{move.version} to production {'approved' if move.approved else 'rejected'} "
            f"on {decided:%Y-%m-%d}")
    return {"label_requests": made, "label_moves": moved}


# -- writing -------------------------------------------------------------------------------------


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _target(run: RunRecord, label: str | None) -> str:
    """The audit target of a run, as ``PromptRef.label_text`` words it."""
    return PromptRef(run.app_name, run.app_version, label).label_text


def write_runs(store, audit, history: History, n: int, progress: Callable[[int, int], None] | None,
               candidates: list[tuple[str, int]], rng: random.Random) -> dict:
    """Hand ``n`` runs to the store's writer chunk by chunk, each chunk's audit events appended
    as the pipeline appends them; keeps the answered runs a reviewer may have judged
    (``candidates``: record id, end). Returns counts and the rate."""
    started = time.perf_counter()
    recorded = batches = 0
    first = last = None
    if progress:
        progress(0, n)
    for chunk in _chunks(history.events(n), CHUNK):
        runs = [run for run, _ in chunk]
        store.record_runs(runs)  # queued: the writer thread writes while the next chunk is made
        events = []
        for run, label in chunk:
            events.append((run.actor, "run", _target(run, label), {"record_id": run.run_id, "batch_id": run.batch_id,
                                                                    **run.decisions}))
            batch = history.batches.get(run.batch_id) if run.batch_id else None
            if batch is not None and run.dataset_row == batch.rows - 1:
                events.append((batch.actor, "batch", _target(run, None), {
                    "batch_id": batch.batch_id, "provider": batch.model.spec, "ok": batch.ok,
                    "blocked": batch.blocked, "error": batch.error, "skipped": 0,
                }))
                del history.batches[run.batch_id]
                batches += 1
            if run.status == "ok" and rng.random() < 2 * (ANNOTATED_SHARE + HALF_REVIEWED_SHARE):
                candidates.append((run.run_id, run.ended_at_ns))
            first = min(first or run.started_at_ns, run.started_at_ns)
            last = max(last or run.ended_at_ns, run.ended_at_ns)
        audit.append_many(events)
        recorded += len(runs)
        while store.pending > 2 * CHUNK:
            time.sleep(0.02)
        if progress and recorded - store.pending < n:
            progress(recorded - store.pending, n)
    store.flush()
    if progress:
        progress(recorded, n)
    seconds = time.perf_counter() - started
    return {
        "runs": recorded, "batches": batches, "runs_seconds": round(seconds, 1),
        "runs_per_s": round(recorded / seconds) if seconds else None,
        "from": _day(first), "to": _day(last),
    }


def _day(ns: int | None) -> str | None:
    return None if ns is None else datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d")


# -- reviews -------------------------------------------------------------------------------------

FAIL_COMMENTS = {
    "policy_breach": "promises an outcome before the case has been investigated",
    "personal_data_exposure": "repeats more account detail than the question needs",
    "unsuitable_advice": "recommends a product without knowing the customer's circumstances",
    "tone": "reads as curt and dismissive",
    "factual_error": "states a fee that is not in the current tariff",
    "overall": "needs rewriting before it can be sent",
}


def _answers(rubric, rng: random.Random, truth: dict[str, float]) -> tuple[dict[str, Any], str | None]:
    """A reviewer's answers to every scored item: the item's true quality (0 worst .. 1 best)
    seen through the reviewer's own noise, and a comment when an answer is a fail."""
    scores: dict[str, Any] = {}
    for item in rubric.scored_items:
        seen = min(1.0, max(0.0, truth[item.name] + rng.gauss(0.0, 0.12)))
        if item.kind == "boolean":
            passing = seen >= 0.3 if rng.random() > 0.03 else seen < 0.3
            scores[item.name] = (not item.fail_when) if passing else bool(item.fail_when)
        elif item.kind == "categorical":
            labels = list(item.labels) if item.ordered else sorted(item.labels, key=lambda x: x not in item.failing)
            scores[item.name] = labels[min(len(labels) - 1, int(seen * len(labels)))]
        else:
            low, high = float(item.min), float(item.max)
            value = seen if item.higher_is_better else 1.0 - seen
            number = low + value * (high - low)
            if item.step:
                number = low + round((number - low) / item.step) * item.step
            scores[item.name] = min(high, max(low, number))
    fails = rubric.fails(scores)
    comment = None
    if fails:
        comment = "The answer " + "; it ".join(FAIL_COMMENTS.get(f, f"fails on {f.replace('_', ' ')}") for f in fails) + "."
    return rubric.check(scores, comment), comment


def _truth(rubric, rng: random.Random) -> dict[str, float]:
    """How good one answer really is on each item (most answers are fine)."""
    bad = rng.random() < 0.1
    out = {}
    for item in rubric.scored_items:
        if item.kind == "boolean":
            out[item.name] = rng.uniform(0.0, 0.3) if rng.random() < (0.3 if bad else 0.02) else rng.uniform(0.45, 1.0)
        else:
            out[item.name] = rng.betavariate(2, 3) if bad else rng.betavariate(5, 1.6)
    return out


def review_year(store, audit, candidates: list[tuple[str, int]], end: datetime, rng: random.Random,
                log: Callable[[str], None]) -> dict:
    """Put the new runs into the demo review queues (a queue holds every matching run) and have
    the demo reviewers judge a share of them, some days after each run, written as submitted
    annotations are."""
    from review.annotations import audit_event, feedback_results
    from review.queues import Queues
    from security.identity import Principal, Role
    from storage.review import AnnotationRow

    queues = Queues(store, Principal("demo", frozenset(Role), "system"), audit)
    end_ns = int(end.replace(tzinfo=UTC).timestamp() * 1e9)
    added = annotations = items = 0
    for row in [q for q in queues.list() if q.name.startswith(DEMO_QUEUES)]:
        added += queues.backfill(row.name)
        queue = queues.get(row.name, refresh=False)
        members = queues.tables.items_among(queue.id, [record_id for record_id, _ in candidates])
        chosen = [(r, e) for r, e in candidates if r in members and rng.random() < 0.5]
        slots, rows, results, times, events = [], [], [], [], []

        def flush() -> None:
            nonlocal slots, rows, results, times, events
            queues.tables.add_reviews(slots, rows)
            store.add_metric_results(results, at_ns=times)
            audit.append_many(events)
            slots, rows, results, times, events = [], [], [], [], []

        for record_id, ended_ns in chosen:
            reviews = queue.row.overlap if rng.random() < ANNOTATED_SHARE / (ANNOTATED_SHARE + HALF_REVIEWED_SHARE) else 1
            reviewers = rng.sample(REVIEWERS, min(reviews, len(REVIEWERS)))
            truth = _truth(queue.rubric, rng)
            at_ns = ended_ns
            done = 0
            for slot, reviewer in enumerate(reviewers):
                at_ns += int(rng.lognormvariate(math.log(1.5 * 86_400), 0.8) * 1e9)  # days after the run
                if at_ns >= end_ns:
                    break
                scores, comment = _answers(queue.rubric, rng, truth)
                created = datetime.fromtimestamp(at_ns / 1e9, tz=UTC).replace(tzinfo=None)
                claimed = created - timedelta(minutes=rng.uniform(1.5, 12.0))
                slots.append({
                    "queue_id": queue.id, "record_id": record_id, "slot": slot, "reviewer": reviewer,
                    "token": _hex(rng), "claimed_at": claimed,
                    "expires_at": claimed + timedelta(minutes=queue.row.claim_minutes), "submitted_at": created,
                })
                annotation = AnnotationRow(
                    _hex(rng), queue.id, record_id, reviewer, "review", queue.rubric.name, queue.rubric_version,
                    scores, {"comment": comment} if comment else {}, created, None, None,
                )
                rows.append(dict(annotation.__dict__))
                feedback = feedback_results(queue.rubric, annotation)
                results += feedback
                times += [at_ns] * len(feedback)
                events.append(audit_event(queue, annotation, "annotation_submitted"))
                done += 1
            annotations += done
            items += done > 0
            if len(rows) >= 500:
                flush()
        if slots:
            flush()
        log(f"history: queue {row.name}: {added:,} runs added, {items:,} reviewed ({annotations:,} annotations)")
    return {"queued": added, "reviewed_items": items, "annotations": annotations}


# -- all of it -----------------------------------------------------------------------------------


def check_count(n: int) -> int:
    if n < 0:
        raise InputError(f"--runs must be 0 or more, not {n}.", "Give the number of historical runs to add, e.g. --runs 100000.")
    if n > MAX_RUNS:
        raise InputError(
            f"--runs {n:,} is more than {MAX_RUNS:,}.",
            "Seed at most 5,000,000 runs at a time; call seed-demo --runs again to add more.",
        )
    return n


def seed_history(pipeline, n: int, log: Callable[[str], None] = print,
                 progress: Callable[[int, int], None] | None = None, seed: int | None = None) -> dict:
    """Add ``n`` runs of a year's work (and its label moves, reviews and audit events) to the
    demo workspace in ``pipeline``'s database. ``seed``: default from the runs already recorded,
    so a second call adds different runs. Returns a summary."""
    from prompts.registry import PromptRegistry

    check_count(n)
    started = time.perf_counter()
    store, audit = pipeline.store, pipeline.audit
    before = audit.head()["seq"]
    registry = PromptRegistry(store, pipeline.principal, audit, settings=pipeline.settings)
    present = {p.slug for p in registry.list_prompts()}
    slugs = [slug for slug in demo_slugs() if slug in present]
    if not slugs:
        raise InputError(
            "This database has none of the demo's prompts, so there is nothing to add history to.",
            "Run seed-demo --runs N on an empty database (it creates the demo workspace first).",
        )
    seed = SEED + store.count_runs() if seed is None else seed
    rng = random.Random(seed)
    end_ns = time.time_ns() - int(END_MARGIN_S * 1e9)
    end = datetime.fromtimestamp(end_ns / 1e9, tz=UTC).replace(tzinfo=None)
    labels = label_year(store, audit, slugs, end, rng, log)
    calendar = Calendar(end, DAYS)
    apps = demo_apps(registry, slugs, calendar, pipeline.settings.system_prompt, rng)
    log(f"history: {n:,} runs of {len(apps)} prompt versions over {DAYS} days, through the store's writer")
    history = History(apps, end_ns=end_ns, seed=rng.getrandbits(64))
    candidates: list[tuple[str, int]] = []
    runs = write_runs(store, audit, history, n, progress, candidates, rng) if n else {"runs": 0}
    reviews = review_year(store, audit, candidates, end, rng, log) if n else {}
    return {
        **runs, **reviews, **labels,
        "audit_events": audit.head()["seq"] - before,
        "seconds": round(time.perf_counter() - started, 1),
    }
