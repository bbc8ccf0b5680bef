"""``python launch.py bench annotation``: the review workflow at scale.

Everything runs in one process on a fresh SQLite database in a temporary folder (never the
user's ``data/``). Prints figures with floors beside them; asserts nothing.

The data: ``N_RUNS`` (100,000) recorded runs of six prompt versions over the last 30 days,
made by the demo history's generator (``execution.demo.history.make_runs``) and shaped as the
pipeline records them (the ``pf_runs`` row with its decisions, the six metrics the pipeline
scores, and the TruLens events: a root span, the pipeline's stage spans and one evaluation span
per metric). About 30% had personal data scrubbed from the input, 4% were flagged and 1%
blocked by the injection screen; a quarter come in batches with a batch id (as an evaluation
run's, for the queue filter). Building them through the pipeline would take hours, so they
are written as ``RunRecord``s through ``store.record_runs`` (the store's own writer: every
row and event exactly as the pipeline writes them), timed, for as long as that keeps the pace
that would write all of them within ``RECORD_BUDGET_S`` (3 minutes; the writer slows down as the
tables grow). The rest are then inserted in bulk with SQLAlchemy Core: the ``pf_runs`` and
``pf_run_metrics`` rows and only the root TruLens event of each run (from
``storage.trulens_events.run_events``), which is what ``get_run`` needs to show the input and
output. The table says which way was taken.

Then ten queues with different filters are created (prompt, version, provider, personal data
found, injection, a metric below a bound, a 10% sample, one evaluation's runs, a date range,
overlap 2 and 3), some with tens of thousands of items; each creation fills the queue.

1. Submit → next item, server side: ``Annotations.submit`` (checks the claim and the scores,
   scrubs the comments, stores the annotation, its TruLens feedback and the audit event)
   followed by ``Annotations.next_item`` (refreshes the queue, finds and claims the next
   item, loads the run). ``CYCLES`` (200) cycles by two reviewers taking turns on the queue of
   runs with personal data (overlap 2, ~30,000 items); every failing answer comes with a
   comment (as the rubric asks), so some submits scrub text. p50 and p95; floor
   ``FLOOR_CYCLE_P95_S`` on p95. The initial fill of the largest queue (the first refresh, which
   its creation runs) is timed too, and a later ``get`` of it.
2. Agreement for a queue of ``AGREEMENT_ITEMS`` (10,000) items × 3 reviewers:
   ``Adjudication.agreement`` end to end (reads the queue's current annotations, keeps each
   reviewer's newest, computes every rubric item's figures) over 30,000 review annotations of
   the shipped compliance rubric, bulk-inserted into ``pf_annotations`` with realistic
   disagreement (reviewers see the same item with their own noise); and the pure
   ``queue_agreement`` on the same reviews. Median of ``AGREEMENT_REPEATS``; floor
   ``FLOOR_AGREEMENT_S``.

When a floor is missed the operation is profiled (cProfile) and where the time goes is printed.
Progress goes to stderr; figures to stdout.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.figures import Row, ms, print_table
from config.settings import Settings

N_RUNS = 100_000
PROBE_RUNS = 5_000  # always recorded through store.record_runs (the pace is judged from there on)
RECORD_BUDGET_S = 180.0  # when record_runs falls behind the pace for every run in this time, the rest go in bulk
RECORD_CHUNK = 2_000
CYCLES = 200
FLOOR_CYCLE_P95_S = 0.300
AGREEMENT_ITEMS = 10_000
AGREEMENT_REVIEWERS = ("user:ada", "user:bo", "user:cy")
AGREEMENT_REPEATS = 5
FLOOR_AGREEMENT_S = 1.0
SEED = 20240611
DAYS = 30

# (slug, version, share of runs in twentieths); loan-summary is exactly 10% of the runs
APPS = (
    ("card-faq", "v1", 5),
    ("card-faq", "v2", 4),
    ("loan-summary", "v1", 2),
    ("fraud-triage", "v1", 3),
    ("savings-advice", "v3", 3),
    ("complaints", "v1", 3),
)
REVIEW_QUEUE = "pii-review"
AGREEMENT_QUEUE = "loans-triple"

_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def main(settings: Settings, n: int = N_RUNS) -> int:
    from config.offline import apply_offline_env

    apply_offline_env()
    started = datetime.now().astimezone()
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pf-bench-annotation-") as tmp:
        local = settings.model_copy(update={"data_dir": Path(tmp), "database_url": f"sqlite:///{tmp}/bench.db"})
        from storage.audit import audit_log
        from storage.trulens_store import open_store

        store = open_store(local)
        try:
            log(f"database: {store}")
            audit = audit_log(local, store.engine)
            batches = record_runs(store, n, rows, notes)
            create_queues(store, audit, batches, rows, notes)
            rows += submit_next_cycles(local, store, audit, notes)
            rows += agreement(store, audit, notes)
        finally:
            store.close()
    print_table(rows, started, notes, measured=30)
    from bench.authoring import profile_misses

    profile_misses(rows, reps=3)
    return 0


# -- the runs -----------------------------------------------------------------------------------


def make_runs(n: int) -> Iterator[Any]:
    """``n`` RunRecords as the pipeline records them, over ``APPS`` in the last ``DAYS`` days
    (``execution.demo.history``'s generator), deterministic."""
    from execution.demo.history import generic_app
    from execution.demo.history import make_runs as history_runs

    rng = random.Random(SEED)
    apps = [generic_app(slug, int(version[1:]), share, rng, DAYS) for slug, version, share in APPS]
    now_ns = time.time_ns() - 15 * 60 * 10**9  # every run ended before the queues are made
    return history_runs(n, apps, days=DAYS, seed=SEED, end_ns=now_ns)


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def record_runs(store, n: int, rows: list[Row], notes: list[str]) -> list[str]:
    """Write ``n`` runs (see the module docstring); the batch ids.

    Through ``store.record_runs`` while that keeps the pace that writes all ``n`` within
    ``RECORD_BUDGET_S`` (checked from ``PROBE_RUNS`` written runs on, after every chunk: the
    writer slows down as the tables grow); the rest in bulk."""
    import sqlalchemy as sa

    from storage import run_index, schema
    from storage.trulens_events import run_events

    batches: list[str] = []
    runs = make_runs(n)
    t0 = time.perf_counter()
    recorded = 0
    for chunk in _chunks(runs, RECORD_CHUNK):
        store.record_runs(chunk)  # queued: the store's writer thread writes while the next chunk is made
        batches += [r.batch_id for r in chunk]
        recorded += len(chunk)
        while store._writer.pending > 2 * RECORD_CHUNK:
            time.sleep(0.02)
        written = recorded - store._writer.pending
        if recorded < n and written >= PROBE_RUNS and time.perf_counter() - t0 > RECORD_BUDGET_S * written / n:
            break  # behind the pace that writes every run within the budget
    store.flush()
    record_s = time.perf_counter() - t0
    rate = recorded / record_s
    log(f"recorded {recorded:,} runs through store.record_runs in {record_s:.1f} s ({rate:,.0f} runs/s)")
    rows.append(Row(f"record {recorded:,} runs (store.record_runs)", record_s, text=f"{rate:,.0f} runs/s"))
    rest = n - recorded
    if not rest:
        return [b for b in dict.fromkeys(batches) if b]

    t1 = time.perf_counter()
    events_table = store._events
    for chunk in _chunks(runs, RECORD_CHUNK):
        store._register_apps(chunk)  # TruLens's app of each version (known already from the recorded runs)
        run_rows, event_rows, metric_rows = [], [], []
        for run in chunk:
            root = run_events(_root_only(run))[0]
            event_rows.append(root)
            run_rows.append(run_index.run_row(run, [root["event_id"]]))
            metric_rows += run_index.metric_rows(run)
            batches.append(run.batch_id)
        with store.engine.begin() as conn:
            conn.execute(sa.insert(schema.runs), run_rows)
            conn.execute(sa.insert(events_table), event_rows)
            conn.execute(sa.insert(schema.run_metrics), metric_rows)
    rest_s = time.perf_counter() - t1
    log(f"bulk-inserted {rest:,} runs in {rest_s:.1f} s")
    rows.append(Row(f"bulk insert {rest:,} more (runs, metrics, root event)", rest_s, text=f"{rest / rest_s:,.0f} runs/s"))
    notes.append(
        f"store.record_runs wrote {rate:,.0f} runs/s (13 TruLens events and 6 metrics a run) and fell behind the "
        f"pace that records {n:,} runs in {RECORD_BUDGET_S:.0f} s (all of them would take ~{n / rate:,.0f} s, more as "
        f"the tables grow), so the last {rest:,} were inserted in bulk: pf_runs, pf_run_metrics and only the root "
        "TruLens event (input and output; get_run shows no stages for them)"
    )
    return [b for b in dict.fromkeys(batches) if b]


def _root_only(run):
    """The run without stages and metrics: ``run_events`` then yields its root span only."""
    from dataclasses import replace

    return replace(run, stages=[], metrics=[])


# -- the queues ---------------------------------------------------------------------------------


def queue_specs(batches: list[str]) -> list[tuple[str, Any, int]]:
    """(name, filter, overlap) of the ten queues."""
    from review.queues import INJECTION_ACTIONS, MetricBound, QueueFilter
    from storage.schema import utcnow

    week_ago = utcnow() - timedelta(days=7)
    return [
        ("openai-answers", QueueFilter(provider="openai:gpt-4o-mini"), 1),
        ("card-faq", QueueFilter(prompt="card-faq"), 1),
        (REVIEW_QUEUE, QueueFilter(pii_found=True), 2),
        ("card-faq-v2", QueueFilter(prompt="card-faq", version=2), 1),
        ("last-week", QueueFilter(since=week_ago), 1),
        (AGREEMENT_QUEUE, QueueFilter(prompt="loan-summary"), 3),
        ("sample-10pct", QueueFilter(sample=0.1), 2),
        ("injection", QueueFilter(injection=INJECTION_ACTIONS), 2),
        ("short-answers", QueueFilter(metric=MetricBound("total_tokens", below=120)), 1),
        ("one-evaluation", QueueFilter(evaluation=batches[len(batches) // 2]), 2),
    ]


def create_queues(store, audit, batches: list[str], rows: list[Row], notes: list[str]) -> None:
    from review.queues import Queues
    from security.identity import Principal, Role
    from storage.schema import utcnow

    queues = Queues(store, Principal("lee", frozenset({Role.LEAD_REVIEWER})), audit)
    fills: dict[str, float] = {}
    refresh = queues.tables.refresh

    def timed_refresh(row, conditions, now):  # the first refresh of a queue, inside create, fills it
        t = time.perf_counter()
        try:
            return refresh(row, conditions, now)
        finally:
            fills.setdefault(row.id, time.perf_counter() - t)

    made = []
    queues.tables.refresh = timed_refresh  # type: ignore[method-assign]
    try:
        for name, queue_filter, overlap in queue_specs(batches):
            t = time.perf_counter()
            queue = queues.create(name, queue_filter, overlap=overlap)
            total = time.perf_counter() - t
            items = queues.tables.progress(queue.id, utcnow())["items"]
            made.append((queue, items, total, fills[queue.id]))
            log(f"queue {name}: {items:,} items ({queue_filter.describe()}), created in {total:.2f} s")
    finally:
        del queues.tables.refresh
    queue, items, total, fill = max(made, key=lambda m: m[1])
    t = time.perf_counter()
    queues.get(queue.name)  # a later read: only runs recorded since are matched
    again = time.perf_counter() - t
    rows.append(Row(f"initial fill of the largest queue ({items:,} items)", fill))
    rows.append(Row("  its whole create (count, fill, audit)", total))
    rows.append(Row("  a later get (refresh, nothing new)", again))
    notes.append(
        "queues (items; create incl. initial fill): "
        + "; ".join(f"{q.name} {n:,} ({ms(t)})" for q, n, t, _ in made)
    )


# -- 1. submit -> next item ---------------------------------------------------------------------


def _scores(rng: random.Random) -> tuple[dict[str, Any], str | None]:
    """A reviewer's answers, and the comment the rubric asks for when one fails."""
    from review.rubrics import DEFAULT_RUBRIC

    scores = {
        "policy_breach": rng.random() < 0.06,
        "personal_data_exposure": rng.random() < 0.08,
        "unsuitable_advice": rng.random() < 0.04,
        "tone": rng.choices(("unacceptable", "poor", "acceptable", "good"), (0.03, 0.12, 0.35, 0.5))[0],
        "factual_error": rng.random() < 0.07,
        "overall": rng.choices((1, 2, 3, 4, 5), (0.04, 0.1, 0.26, 0.4, 0.2))[0],
    }
    fails = DEFAULT_RUBRIC.fails(scores)
    comment = None
    if fails:
        comment = "The answer " + " and ".join(f.replace("_", " ") for f in fails) + "; see the second paragraph."
    return scores, comment


def submit_next_cycles(settings, store, audit, notes: list[str]) -> list[Row]:
    from review.annotations import Annotations
    from review.queues import Queues
    from security.identity import Principal, Role
    from security.pii import get_scrubber

    scrubber = get_scrubber(settings)
    scrubber.scrub("Warm-up: Maria Gonzalez called about her card.")  # loads the model, untimed
    reviewers = [
        Annotations(Queues(store, Principal(name, frozenset({Role.REVIEWER})), audit), scrubber=scrubber)
        for name in ("rita", "ravi")
    ]
    rng = random.Random(SEED + 2)
    t = time.perf_counter()
    items = [who.next_item(REVIEW_QUEUE) for who in reviewers]
    first = (time.perf_counter() - t) / 2
    cycle_s: list[float] = []
    submit_s: list[float] = []
    next_s: list[float] = []
    commented = 0

    def cycle(i: int) -> None:
        nonlocal commented
        k = i % 2
        who, item = reviewers[k], items[k]
        scores, comment = _scores(rng)
        commented += comment is not None
        t0 = time.perf_counter()
        who.submit(REVIEW_QUEUE, item.token, scores, comment)
        t1 = time.perf_counter()
        items[k] = who.next_item(REVIEW_QUEUE)
        t2 = time.perf_counter()
        cycle_s.append(t2 - t0)
        submit_s.append(t1 - t0)
        next_s.append(t2 - t1)

    for i in range(CYCLES):
        cycle(i)
    log(f"{CYCLES} submit + next cycles done")
    p50, p95 = _pct(cycle_s, 50), _pct(cycle_s, 95)
    counter = iter(range(CYCLES, 10**9))
    notes.append(
        f"submit → next: {CYCLES} cycles by 2 reviewers on {REVIEW_QUEUE} (overlap 2); "
        f"{commented} submits carried a comment (scrubbed); the first next_item of each reviewer took "
        f"{ms(first)}; max cycle {ms(max(cycle_s))}"
    )
    return [
        Row("submit + next item p50", p50),
        Row("submit + next item p95", p95, FLOOR_CYCLE_P95_S, profile=lambda: cycle(next(counter))),
        Row("  submit alone p50 / p95", _pct(submit_s, 50), text=f"/ {ms(_pct(submit_s, 95))}"),
        Row("  next_item alone p50 / p95", _pct(next_s, 50), text=f"/ {ms(_pct(next_s, 95))}"),
    ]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# -- 2. agreement -------------------------------------------------------------------------------


def write_annotations(store, queue, rubric_version: int) -> int:
    """``AGREEMENT_ITEMS`` items × 3 reviewers of review annotations, with realistic disagreement:
    each item has its own true answers and each reviewer sees them through their own noise."""
    import sqlalchemy as sa

    from review.rubrics import DEFAULT_RUBRIC
    from storage import schema
    from storage.schema import utcnow

    with store.engine.connect() as conn:
        records = [r[0] for r in conn.execute(
            sa.select(schema.review_items.c.record_id).where(schema.review_items.c.queue_id == queue.id)
            .order_by(schema.review_items.c.added_at, schema.review_items.c.record_id).limit(AGREEMENT_ITEMS)
        )]
    rng = random.Random(SEED + 3)
    tones = ("unacceptable", "poor", "acceptable", "good")
    created = utcnow() - timedelta(days=3)
    rows = []
    for record_id in records:
        truth = {
            "policy_breach": rng.random() < 0.06,
            "personal_data_exposure": rng.random() < 0.08,
            "unsuitable_advice": rng.random() < 0.04,
            "tone": rng.choices(range(4), (0.03, 0.12, 0.35, 0.5))[0],
            "factual_error": rng.random() < 0.07,
        }
        truth["overall"] = min(5, max(1, truth["tone"] + 2 - 2 * any(
            truth[k] for k in ("policy_breach", "personal_data_exposure", "unsuitable_advice", "factual_error"))))
        for reviewer in AGREEMENT_REVIEWERS:
            scores: dict[str, Any] = {}
            for name in ("policy_breach", "personal_data_exposure", "unsuitable_advice", "factual_error"):
                scores[name] = (not truth[name]) if rng.random() < 0.05 else truth[name]
            tone = truth["tone"] + (rng.choice((-1, 1)) if rng.random() < 0.25 else 0)
            scores["tone"] = tones[min(3, max(0, tone))]
            overall = truth["overall"] + (rng.choice((-1, 1)) if rng.random() < 0.35 else 0)
            scores["overall"] = min(5, max(1, overall))
            fails = DEFAULT_RUBRIC.fails(scores)
            comments = {"comment": "Fails on " + ", ".join(fails) + "."} if fails else {}
            checked = DEFAULT_RUBRIC.check(scores, comments.get("comment"))
            created += timedelta(seconds=rng.randrange(5, 90))
            rows.append({
                "id": uuid.UUID(int=rng.getrandbits(128)).hex, "queue_id": queue.id, "record_id": record_id,
                "reviewer": reviewer, "kind": "review", "rubric": DEFAULT_RUBRIC.name, "rubric_version": rubric_version,
                "scores": checked, "comments": comments, "created_at": created, "supersedes": None,
                "superseded_by": None,
            })
    with store.engine.begin() as conn:
        conn.execute(sa.insert(schema.annotations), rows)
    return len(records)


def agreement(store, audit, notes: list[str]) -> list[Row]:
    from review.adjudication import Adjudication, _by_item, _latest_reviews
    from review.agreement import queue_agreement
    from review.annotations import Annotations
    from review.queues import Queues
    from security.identity import Principal, Role

    lead = Queues(store, Principal("lee", frozenset({Role.LEAD_REVIEWER})), audit)
    queue = lead.get(AGREEMENT_QUEUE, refresh=False)
    t = time.perf_counter()
    items = write_annotations(store, queue, queue.rubric_version)
    log(f"wrote {items * len(AGREEMENT_REVIEWERS):,} annotations in {time.perf_counter() - t:.1f} s")
    adjudication = Adjudication(Annotations(lead))
    figures = adjudication.agreement(AGREEMENT_QUEUE)  # warm-up (imports)
    end_to_end = _times(lambda: adjudication.agreement(AGREEMENT_QUEUE), AGREEMENT_REPEATS)
    annotations = lead.tables.annotations(queue_id=queue.id, current=True)
    read = _times(lambda: lead.tables.annotations(queue_id=queue.id, current=True), AGREEMENT_REPEATS)
    by_item = _by_item(queue.rubric, _latest_reviews(annotations))
    pure = _times(lambda: queue_agreement(queue.rubric, by_item), AGREEMENT_REPEATS)
    log("agreement timed")
    notes.append(
        f"agreement over {items:,} items × {len(AGREEMENT_REVIEWERS)} reviewers ({len(annotations):,} annotations): "
        + ", ".join(
            f"{f.item} {f.percent_agreement:.0%} / α {f.krippendorff_alpha:.2f}" if f.krippendorff_alpha is not None
            else f"{f.item} {f.percent_agreement:.0%}"
            for f in figures
        )
    )
    return [
        Row(f"agreement {items:,} items × 3 reviewers (end to end)", statistics.median(end_to_end), FLOOR_AGREEMENT_S,
            profile=lambda: adjudication.agreement(AGREEMENT_QUEUE)),
        Row("  of which reading the annotations", statistics.median(read)),
        Row("  pure queue_agreement", statistics.median(pure)),
    ]


def _times(fn: Callable[[], Any], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out
