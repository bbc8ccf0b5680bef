"""The demo's synthetic year (``seed-demo --runs N``): what lands in the database, on a real
SQLite file, over the demo's prompts and review queue (without the demo's pipeline runs)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from execution.demo import history
from storage import schema
from storage.trulens_events import ROOT_SPAN_NAME

N = 300
HUMAN_ITEMS = 6  # scored items of the compliance rubric


def demo_workspace(settings):
    """A pipeline on ``settings`` with the demo's prompts and review queue, as the demo makes them."""
    from execution.demo.seed import DEMO, create_prompts, create_queue
    from execution.pipeline import Pipeline
    from prompts.registry import PromptRegistry

    pipeline = Pipeline(settings, principal=DEMO)
    create_prompts(PromptRegistry(pipeline.store, DEMO, pipeline.audit), log=lambda m: None)
    create_queue(pipeline)
    return pipeline


def seeded(settings, n: int = N):
    pipeline = demo_workspace(settings)
    audit_before = pipeline.audit.head()["seq"]
    summary = history.seed_history(pipeline, n, log=lambda m: None)
    return pipeline, summary, audit_before


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    from config.settings import Settings

    folder = tmp_path_factory.mktemp("history")
    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'pf.db'}")
    pipeline, summary, audit_before = seeded(settings)
    yield pipeline, summary, audit_before
    pipeline.store.close()


def count(conn, query) -> int:
    return int(conn.execute(query).scalar_one())


def span_named(events: sa.Table, name: str):
    return events.c.record["name"].as_string() == name


def root_spans(conn, events: sa.Table) -> list:
    return conn.execute(
        sa.select(events.c.record_attributes, events.c.start_timestamp, events.c.timestamp)
        .where(span_named(events, ROOT_SPAN_NAME))
    ).all()


def check_counts(pipeline, summary, audit_before) -> None:
    """Runs, root spans, metrics, annotations, label moves and audit events all landed."""
    store = pipeline.store
    assert summary["runs"] == N
    with store.engine.connect() as conn:
        assert count(conn, sa.select(sa.func.count()).select_from(schema.runs)) == N
        metric_rows = count(conn, sa.select(sa.func.count()).select_from(schema.run_metrics))
        annotations = count(conn, sa.select(sa.func.count()).select_from(schema.annotations))
        submitted = count(conn, sa.select(sa.func.count()).where(schema.review_slots.c.submitted_at.is_not(None)))
        complete = count(conn, sa.select(sa.func.count()).where(schema.review_items.c.complete.is_(True)))
        requests = conn.execute(sa.select(schema.label_requests.c.status)).scalars().all()
        actions = Counter(conn.execute(
            sa.select(schema.audit_events.c.action).where(schema.audit_events.c.seq > audit_before)
        ).scalars())
        human = conn.execute(
            sa.select(schema.run_metrics.c.name).where(schema.run_metrics.c.name.like("human_%"))
        ).scalars().all()
        events = store.events_table
        evals = conn.execute(sa.select(events.c.record_attributes).where(span_named(events, "eval_root"))).scalars().all()
    with store.engine.connect() as conn:
        assert len(root_spans(conn, store.events_table)) == N
    # six default metrics a run, plus one human_* result per rubric item of each reviewed run
    assert metric_rows == 6 * N + len(human)
    assert summary["annotations"] == annotations == submitted > 0
    assert summary["reviewed_items"] > 0 and complete <= summary["reviewed_items"]
    assert 0 < summary["queued"] < N  # the demo queue holds the complaint replies
    assert len(set(human)) == HUMAN_ITEMS
    human_feedback = [a for a in evals if a["ai.observability.eval_root.metric_name"].startswith("human_")]
    assert len(human_feedback) == HUMAN_ITEMS * annotations  # TruLens keeps both reviews of an item
    assert Counter(requests) == {"approved": 5, "rejected": 2} and summary["label_moves"] == 5
    assert actions["run"] == N and actions["batch"] == summary["batches"]
    assert actions["annotation_submitted"] == annotations
    assert actions["label_move_requested"] == 7 and actions["label_move_approved"] == 5
    assert actions["label_move_rejected"] == 2 and actions["label_moved"] == 5
    assert sum(actions.values()) == summary["audit_events"]
    assert pipeline.audit.verify().ok


def test_the_counts_land_and_the_audit_chain_verifies(year):
    check_counts(*year)


def test_runs_spread_over_the_year_in_office_hours_with_realistic_verdicts(year):
    pipeline, summary, _ = year
    with pipeline.store.engine.connect() as conn:
        rows = conn.execute(sa.select(
            schema.runs.c.started_at, schema.runs.c.status, schema.runs.c.injection_action, schema.runs.c.provider,
            schema.runs.c.app_name, schema.runs.c.app_version, schema.runs.c.batch_id, schema.runs.c.pii_in,
        )).all()
    now = datetime.utcnow()
    starts = [r.started_at for r in rows]
    assert min(starts) < now - timedelta(days=330) and max(starts) > now - timedelta(days=30)
    assert max(starts) < now
    assert len({(s.year, s.month) for s in starts}) >= 12
    assert summary["from"] < summary["to"]
    weekdays = [s for s in starts if s.weekday() < 5]
    assert len(weekdays) > 0.85 * len(starts)
    singles = [r.started_at for r in rows if r.batch_id is None]
    assert sum(7 <= s.hour < 19 for s in singles) > 0.85 * len(singles)
    # the second half of the year has more runs than the first (the workspace grows)
    middle = now - timedelta(days=182)
    assert sum(s > middle for s in starts) > sum(s <= middle for s in starts)
    verdicts = Counter(r.injection_action for r in rows)
    assert verdicts["allow"] > 0.85 * N and verdicts["flag"] + verdicts["block"] > 0
    assert Counter(r.status for r in rows)["blocked"] == verdicts["block"]
    assert len({r.provider for r in rows}) >= 5
    assert {(r.app_name, r.app_version) for r in rows} <= {
        ("complaint-reply", "v1"), ("complaint-reply", "v2"), ("loan-summary", "v1"), ("kyc-gap-check", "v1"),
        ("product-faq-chat", "v1"),
    }
    types = Counter(t for r in rows for t in r.pii_in)
    assert types.most_common(1)[0][0] == "PERSON" and {"EMAIL_ADDRESS", "PHONE_NUMBER"} <= set(types)


def test_trulens_latency_is_each_runs_own_and_stages_are_the_pipelines(year):
    pipeline, _, _ = year
    store = pipeline.store
    with store.engine.connect() as conn:
        spans = {
            attrs["ai.observability.record_id"]: end - start for attrs, start, end in root_spans(conn, store.events_table)
        }
        runs = conn.execute(sa.select(schema.runs.c.record_id, schema.runs.c.started_at, schema.runs.c.ended_at)).all()
    assert len(spans) == N
    for run in runs:
        assert spans[run.record_id] == run.ended_at - run.started_at
        assert run.ended_at - run.started_at < timedelta(minutes=5)
    for run in runs[:40]:
        detail = store.get_run(run.record_id)
        names = [s["name"] for s in detail["stages"]]
        assert names[:3] == ["render", "scrub_input", "screen"] and names[-1] == "evaluate"
        if detail["status"] == "ok":
            assert "model" in names and "scrub_output" in names


def test_label_moves_are_dated_into_the_year_and_production_ends_where_the_demo_left_it(year):
    from prompts.label_moves import LabelMoves
    from prompts.registry import PromptRegistry

    pipeline, _, _ = year
    registry = PromptRegistry(pipeline.store, pipeline.principal, pipeline.audit)
    moves = LabelMoves(registry, pipeline.audit)
    entries = [e for e in moves.history("complaint-reply") if e.label == "production" and e.approved_by]
    assert [(e.from_version, e.to_version) for e in entries] == [(2, 1), (1, 2)]  # the rollback, then the trial
    assert all(e.approved_by == "user:demo-approver" and e.requested_by for e in entries)
    assert all(e.at < datetime.utcnow() - timedelta(days=100) for e in entries)
    assert registry.labels("complaint-reply")["production"] == 1
    assert registry.labels("product-faq-chat")["production"] == 1
    assert registry.get("complaint-reply", 1).created_at < datetime.utcnow() - timedelta(days=360)


def test_a_second_call_adds_runs_with_new_ids_and_no_second_year_of_label_moves(year):
    pipeline, _, _ = year
    more = history.seed_history(pipeline, 100, log=lambda m: None)
    assert more["runs"] == 100 and more["label_moves"] == 0
    with pipeline.store.engine.connect() as conn:
        ids = conn.execute(sa.select(schema.runs.c.record_id)).scalars().all()
    assert len(ids) == len(set(ids)) == N + 100
    assert pipeline.audit.verify().ok


@pytest.mark.parametrize("n", [-1, history.MAX_RUNS + 1])
def test_refuses_a_negative_or_absurd_number_of_runs(n, tmp_settings):
    from config.errors import InputError
    from execution.demo import seed_demo

    with pytest.raises(InputError, match="--runs"):
        seed_demo(tmp_settings, runs=n)
    assert not (tmp_settings.data_dir / "pf.db").exists()  # refused before the database was opened


def test_the_cli_refuses_with_one_line(capsys):
    import launch

    assert launch.main(["seed-demo", "--runs", "-5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --runs must be 0 or more") and err.count("\n") == 1


def test_generated_runs_are_valid_records_in_time_order():
    import random

    from storage.records import validate_run

    apps = [history.generic_app("faq", 1, 1.0, random.Random(1), days=30)]
    runs = list(history.make_runs(500, apps, days=30, seed=3))
    for run in runs:
        validate_run(run)
        assert [m.name for m in run.metrics] == [
            "pii_leaked_output", "pii_in_input", "injection_score", "latency_s", "total_tokens", "cost_usd",
        ]
        assert run.stages[0].start_ns == run.started_at_ns and run.stages[-1].end_ns == run.ended_at_ns
        if run.status != "ok":
            assert {m.name for m in run.metrics if m.status == "unavailable"} >= {"latency_s", "total_tokens", "cost_usd"}
    assert [r.ended_at_ns for r in runs] == sorted(r.ended_at_ns for r in runs)
    again = [r.run_id for r in history.make_runs(500, apps, days=30, seed=3, end_ns=runs[-1].ended_at_ns + 1)]
    assert len(set(again)) == 500


@pytest.mark.slow
def test_stored_texts_hold_only_placeholders(year, scrubber):
    """The real scrubber finds nothing in stored inputs, outputs and review comments but the
    placeholders themselves."""
    pipeline, _, _ = year
    placeholder = re.compile(r"<[A-Z][A-Z_]*_\d+>")
    with pipeline.store.engine.connect() as conn:
        ids = conn.execute(sa.select(schema.runs.c.record_id).order_by(schema.runs.c.record_id).limit(60)).scalars().all()
        comments = conn.execute(sa.select(schema.annotations.c.comments)).scalars().all()
    texts = []
    for record_id in ids:
        run = pipeline.store.get_run(record_id)
        texts += [run["input"], run["output"] or ""]
    texts += sorted({c["comment"] for c in comments if c})
    assert any(placeholder.search(t) for t in texts)
    for text in texts:
        inside = [(m.start(), m.end()) for m in placeholder.finditer(text)]
        for entity in scrubber.detect(text):
            assert any(a <= entity.start and entity.end <= b for a, b in inside), (entity, json.dumps(text))
