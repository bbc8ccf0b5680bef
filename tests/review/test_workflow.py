"""The review workflow on a real database through the real pipeline: queue filters (runs
recorded later enter), claims under concurrency in two processes, expiry, skips, corrections,
agreement and adjudication, and TruLens's own leaderboard showing the human scores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from config.errors import InputError, PermissionDenied
from review.adjudication import Adjudication
from review.annotations import Annotations
from review.queues import MetricBound, QueueFilter, Queues
from security.identity import Principal, Role
from storage import schema

pytestmark = pytest.mark.slow

LEAD = Principal("lee", frozenset({Role.LEAD_REVIEWER}))
RITA = Principal("rita", frozenset({Role.REVIEWER}))
RAVI = Principal("ravi", frozenset({Role.REVIEWER}))
PRODUCT = Principal("pat", frozenset({Role.PRODUCT}))
AUDITOR = Principal("aud", frozenset({Role.AUDITOR}))
GOOD = {"policy_breach": False, "personal_data_exposure": False, "unsuitable_advice": False, "tone": "good",
        "factual_error": False, "overall": 4}


@pytest.fixture
def world(make_pipeline):
    return _seeded(make_pipeline())


def _seeded(pipeline):
    faq = pipeline.template("Answer the customer: {{ q }}")
    loans = pipeline.template("Summarise the loan note: {{ q }}")
    pipeline.run_batch(faq, [{"q": f"Is transfer {i} free? Ask Maria Gonzalez."} for i in range(4)], provider="offline")
    pipeline.run_batch(faq, [{"q": f"Is transfer {i} free?"} for i in range(3)], provider="offline")
    pipeline.run_batch(loans, [{"q": f"Loan {i} for a bakery."} for i in range(2)], provider="offline")
    pipeline.store.flush()
    return pipeline


def _as(pipeline, who) -> Annotations:
    return Annotations(Queues(pipeline.store, who, pipeline.audit), scrubber=pipeline.scrubber)


def _app(pipeline, app_name_start: str) -> str:
    with pipeline.store.engine.connect() as conn:
        return conn.execute(
            sa.select(schema.runs.c.app_name).where(schema.runs.c.app_name.startswith(app_name_start)).limit(1)
        ).scalar_one()


def test_a_queue_takes_matching_runs_and_runs_recorded_later(world):
    pipeline = world
    queues = Queues(pipeline.store, LEAD, pipeline.audit)
    with pipeline.store.engine.connect() as conn:
        with_pii = sum(1 for (found,) in conn.execute(sa.select(schema.runs.c.pii_in)) if found)
    assert with_pii >= 4  # the four questions naming Maria Gonzalez, at least
    pii = queues.create("pii-only", QueueFilter(pii_found=True))
    assert pii.matching == with_pii and queues.progress(queues.get("pii-only"))["items"] == with_pii
    everything = queues.create("everything", QueueFilter())
    assert everything.matching == 9
    tokens = queues.create("long-answers", QueueFilter(metric=MetricBound("total_tokens", above=0)))
    assert tokens.matching == 9
    none = queues.create("nothing-yet", QueueFilter(metric=MetricBound("total_tokens", below=0)))
    assert none.matching == 0  # the page says so; the queue still collects later matches
    half = queues.create("sample", QueueFilter(sample=0.5))
    with pipeline.store.engine.connect() as conn:
        ids = [rid for (rid,) in conn.execute(sa.select(schema.runs.c.record_id))]
    in_lower_half = sum(1 for rid in ids if int(rid[:4], 16) < 0x8000)  # the share is chosen by record id
    assert half.matching == queues.progress(queues.get("sample"))["items"] == in_lower_half

    pipeline.run_batch(pipeline.template("Answer the customer: {{ q }}"), [{"q": "Call John Smith on 212-555-0143."}], provider="offline")
    pipeline.store.flush()
    assert queues.progress(queues.get("pii-only"))["items"] == with_pii + 1  # recorded after the queue was made
    assert queues.progress(queues.get("everything"))["items"] == 10
    assert queues.progress(queues.get("pii-only"))["items"] == with_pii + 1  # a second read adds nothing twice

    with pytest.raises(InputError, match="exists"):
        queues.create("pii-only", QueueFilter())
    with pytest.raises(InputError, match="Invalid queue name"):
        queues.create("Bad Name!", QueueFilter())
    with pytest.raises(InputError, match="Overlap"):
        queues.create("too-many", QueueFilter(), overlap=9)
    with pytest.raises(InputError, match="sample share"):
        QueueFilter(sample=1.5)
    assert [e.action for e in pipeline.audit.list(action="review_queue_created")]


def test_overlap_one_two_reviewers_never_get_the_same_item(world):
    pipeline = world
    Queues(pipeline.store, LEAD, pipeline.audit).create("single", QueueFilter(), overlap=1)
    rita, ravi = _as(pipeline, RITA), _as(pipeline, RAVI)
    seen: dict[str, list[str]] = {"rita": [], "ravi": []}
    while True:
        moved = False
        for name, who in (("rita", rita), ("ravi", ravi)):
            item = who.next_item("single")
            if item is not None:
                who.submit("single", item.token, GOOD)
                seen[name].append(item.record_id)
                moved = True
        if not moved:
            break
    assert not set(seen["rita"]) & set(seen["ravi"]) and len(seen["rita"]) + len(seen["ravi"]) == 9


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def raced(request, tmp_path, make_pipeline):
    """(seeded pipeline, its database URL) on each backend; PostgreSQL gets a database of its own."""
    from config.settings import Settings

    if request.param == "sqlite":
        pipeline = _seeded(make_pipeline())
    else:
        settings = Settings(data_dir=tmp_path, database_url=request.getfixturevalue("fresh_pg_url"))
        pipeline = _seeded(make_pipeline(settings))
    return pipeline, pipeline.settings.resolved_database_url


@pytest.mark.parametrize("overlap", [1, 2])
def test_two_reviewers_in_two_processes(raced, overlap):
    pipeline, database_url = raced
    queue = Queues(pipeline.store, LEAD, pipeline.audit).create(f"race-{overlap}", QueueFilter(), overlap=overlap)
    # two fresh interpreters, started together, racing for the same items
    root = Path(__file__).resolve().parents[2]
    workers = {
        who: subprocess.Popen(
            [sys.executable, "-m", "tests.review.race_worker", database_url, queue.id, who],
            cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for who in ("user:p1", "user:p2")
    }
    results = {}
    try:
        for who, proc in workers.items():
            out, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, f"{who} stopped: {out[-3000:]}"
            results[who] = json.loads(out.strip().splitlines()[-1])
    finally:
        for proc in workers.values():  # never leave a child behind for the tests that follow
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    items = _as(pipeline, LEAD).queues.tables.annotations(queue_id=queue.id)
    per_record: dict[str, list[str]] = {}
    for a in items:
        per_record.setdefault(a.record_id, []).append(a.reviewer)
    assert len(per_record) == 9 and all(len(r) == overlap for r in per_record.values())
    assert all(len(set(r)) == len(r) for r in per_record.values())  # never one reviewer twice on an item
    if overlap == 1:
        assert not set(results["user:p1"]) & set(results["user:p2"])


def test_an_expired_claim_is_taken_over_and_its_submit_refused(world):
    pipeline = world
    Queues(pipeline.store, LEAD, pipeline.audit).create("expiring", QueueFilter(pii_found=True), claim_minutes=1)
    rita, ravi = _as(pipeline, RITA), _as(pipeline, RAVI)
    mine = rita.next_item("expiring")
    assert rita.next_item("expiring").token == mine.token  # asking again resumes the open claim
    with pipeline.store.engine.begin() as conn:  # a minute passes
        conn.execute(sa.update(schema.review_slots).values(expires_at=schema.utcnow() - timedelta(seconds=1)))
    theirs = ravi.next_item("expiring")
    assert theirs.record_id == mine.record_id  # the abandoned claim went to the next reviewer
    with pytest.raises(InputError, match="expired|no longer"):
        rita.submit("expiring", mine.token, GOOD)
    with pytest.raises(PermissionDenied, match="another reviewer"):
        rita.submit("expiring", theirs.token, GOOD)
    ravi.submit("expiring", theirs.token, GOOD)
    assert len(rita.queue_annotations("expiring")) == 1


def test_bad_scores_are_refused_and_a_skip_needs_a_reason(world):
    pipeline = world
    Queues(pipeline.store, LEAD, pipeline.audit).create("checks", QueueFilter())
    rita = _as(pipeline, RITA)
    item = rita.next_item("checks")
    with pytest.raises(InputError, match="outside the range"):
        rita.submit("checks", item.token, {**GOOD, "overall": 9})
    with pytest.raises(InputError, match="comment"):
        rita.submit("checks", item.token, {**GOOD, "policy_breach": True})  # a failing item needs a comment
    with pytest.raises(InputError, match="Say why"):
        rita.skip("checks", item.token, " ")
    rita.skip("checks", item.token, "needs a loans specialist")
    assert rita.next_item("checks").record_id != item.record_id  # not offered again
    progress = Queues(pipeline.store, LEAD, pipeline.audit).progress(Queues(pipeline.store, LEAD, pipeline.audit).get("checks"))
    assert progress["reviewers"]["user:rita"]["skipped"] == 1 and progress["reviewers"]["user:rita"]["claimed"] == 1


def test_a_correction_supersedes_and_the_history_keeps_both(world):
    pipeline = world
    Queues(pipeline.store, LEAD, pipeline.audit).create("fixes", QueueFilter(pii_found=True))
    rita = _as(pipeline, RITA)
    item = rita.next_item("fixes")
    first = rita.submit("fixes", item.token, GOOD, "Looks fine; Maria Gonzalez is addressed politely")
    assert "Maria" not in json.dumps(first.comments)  # comments are scrubbed before they are stored
    with pytest.raises(PermissionDenied):
        _as(pipeline, RAVI).correct(first.id, {**GOOD, "overall": 2})
    second = rita.correct(first.id, {**GOOD, "personal_data_exposure": True}, {"personal_data_exposure": "the name is repeated"})
    history = rita.history(item.record_id)
    assert [a.id for a in history] == [first.id, second.id]
    assert history[0].superseded_by == second.id and history[1].supersedes == first.id
    with pytest.raises(InputError, match="already corrected"):
        rita.correct(first.id, GOOD)
    actions = [e.action for e in pipeline.audit.list(limit=50)]
    assert "annotation_submitted" in actions and "annotation_corrected" in actions


def test_agreement_disagreement_and_adjudication(world):
    pipeline = world
    Queues(pipeline.store, LEAD, pipeline.audit).create("double", QueueFilter(pii_found=True), overlap=2)
    rita, ravi = _as(pipeline, RITA), _as(pipeline, RAVI)
    for who, tone in ((rita, ["good", "good", "poor", "good"]), (ravi, ["good", "acceptable", "poor", "good"])):
        for t in tone:
            item = who.next_item("double")
            # the second reviewer sees the pipeline's metrics, never the first reviewer's scores
            assert not [m for m in item.run["metrics"] if m["name"].startswith("human_")]
            assert item.run["metrics"]
            who.submit("double", item.token, {**GOOD, "tone": t})
    adjudication = Adjudication(_as(pipeline, LEAD))
    figures = {a.item: a for a in adjudication.agreement("double")}
    assert figures["tone"].reviewers == 2 and figures["tone"].percent_agreement == pytest.approx(0.75)
    assert figures["tone"].cohen_kappa is not None
    assert figures["policy_breach"].percent_agreement == 1.0
    [disputed] = adjudication.disputed("double")
    with pytest.raises(PermissionDenied):
        Adjudication(rita).adjudicate("double", disputed, GOOD)
    decided = adjudication.adjudicate("double", disputed, {**GOOD, "tone": "acceptable"}, "the reply is curt")
    assert decided.kind == "adjudication" and adjudication.disputed("double") == []
    final = adjudication.final_scores("double")
    assert final[disputed]["tone"] == "acceptable" and sum(v is not None for v in final.values()) == 4

    records, feedback = pipeline.store.session.get_records_and_feedback()  # TruLens's own reading
    assert {"human_tone", "human_overall"} <= set(feedback)
    board = pipeline.store.leaderboard()
    assert "human_overall" in " ".join(map(str, board.columns))  # beside the computed metrics


def test_roles(world):
    pipeline = world
    with pytest.raises(PermissionDenied):
        Queues(pipeline.store, RITA, pipeline.audit).create("nope", QueueFilter())
    Queues(pipeline.store, LEAD, pipeline.audit).create("roles", QueueFilter())
    with pytest.raises(PermissionDenied):
        _as(pipeline, PRODUCT).next_item("roles")
    auditor = _as(pipeline, AUDITOR)
    with pytest.raises(PermissionDenied):
        auditor.next_item("roles")
    assert auditor.queue_annotations("roles") == []  # auditors read
