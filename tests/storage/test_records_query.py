"""The records explorer's queries on both backends: every filter, sorting, paging, one run's detail."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from config.errors import InputError, NotFoundError
from storage import schema
from storage.records import MetricValue
from storage.run_filter import MetricRange, RunFilter
from storage.schema import utcnow


@pytest.fixture
def recorded(store, make_run, unique):
    """Twelve runs of one app with known statuses, flags, PII, texts, providers and metrics."""
    app = f"explore-{unique}"
    runs = []
    for i in range(12):
        injection = "block" if i == 0 else "flag" if i in (1, 2) else "allow"
        runs.append(
            make_run(
                i,
                app_name=app,
                app_version="v2" if i % 3 == 0 else "v1",
                status="blocked" if i == 0 else "error" if i == 5 else "ok",
                output_text=None if i in (0, 5) else f"Answer {i}: your card limit is fine" if i % 2 else f"Answer {i}: mortgage rates",
                error="Blocked by the injection policy" if i == 0 else "timeout" if i == 5 else None,
                provider="openai" if i % 4 == 0 else "offline",
                latency_s=0.1 * (i + 1),
                cost_usd=None if i == 0 else 0.001 * i,
                decisions={
                    "pii_in": {"PERSON": 1, "EMAIL_ADDRESS": 1} if i % 2 else {},
                    "pii_out": {"PHONE_NUMBER": 1} if i == 7 else {},
                    "injection": {"action": injection, "score": 0.9 if injection != "allow" else 0.0},
                },
                metrics=[MetricValue("toxicity", i / 20, False), MetricValue("similarity", 1 - i / 20, True)],
            )
        )
    store.record_runs(runs)
    store.flush()
    return app, runs


def ids(page) -> set[str]:
    return {row["record_id"] for row in page.rows}


def count(store, **fields) -> int:
    return store.page_of_runs(RunFilter(**fields), page_size=100).total


def test_each_filter_narrows_to_the_runs_it_names(store, recorded):
    app, runs = recorded
    base = {"prompts": (app,)}
    assert count(store, **base) == 12
    assert count(store, **base, statuses=("ok",)) == 10
    assert count(store, **base, flags=("blocked",)) == 1
    assert count(store, **base, flags=("flagged",)) == 2
    assert count(store, **base, flags=("flagged", "blocked")) == 3
    assert count(store, **base, flags=("error",)) == 1
    assert count(store, **base, flags=("pii",)) == 6
    assert count(store, **base, flags=("pii_out",)) == 1
    assert count(store, **base, providers=("openai",)) == 3
    assert count(store, **base, versions=((app, "v2"),)) == 4
    assert count(store, **base, metrics=(MetricRange("toxicity", 0.2, 0.4),)) == 5  # i = 4..8
    assert count(store, **base, metrics=(MetricRange("similarity", low=0.9),)) == 3  # i = 0, 1, 2
    # free text: every word must occur, case-insensitive, in the scrubbed input or output
    assert count(store, **base, text="MORTGAGE") == 5  # even i except 0 (blocked: no output)
    assert count(store, **base, text="card limit") == 5  # odd i except 5 (failed: no output)
    assert count(store, **base, text="card mortgage") == 0
    assert count(store, **base, text="<person_1> row 11") == 1
    assert count(store, **base, text="50%_") == 0  # LIKE wildcards are matched literally
    # dates: the runs started within the last minute
    today = utcnow().date()
    assert count(store, **base, start=utcnow() - timedelta(minutes=5)) == 12
    assert store.page_of_runs(RunFilter.for_days(today - timedelta(days=3), today - timedelta(days=1), prompts=(app,))).total == 0


def test_annotated_reviewers_and_queues(store, recorded):
    app, runs = recorded
    now = utcnow()
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(schema.annotations),
            [
                {"id": uuid.uuid4().hex, "queue_id": "q" + app[-8:], "record_id": runs[3].run_id, "reviewer": "rita",
                 "kind": "review", "rubric": "compliance", "rubric_version": 1, "scores": {"ok": 1}, "comments": {},
                 "created_at": now, "supersedes": None, "superseded_by": None},
            ],
        )
        conn.execute(
            sa.insert(schema.review_items),
            [{"queue_id": "q" + app[-8:], "record_id": r.run_id, "added_at": now, "complete": False} for r in runs[:4]],
        )
    assert count(store, prompts=(app,), annotated=True) == 1
    assert count(store, prompts=(app,), annotated=False) == 11
    assert count(store, prompts=(app,), reviewers=("rita",)) == 1
    assert count(store, prompts=(app,), reviewers=("nobody",)) == 0
    assert count(store, prompts=(app,), queues=("q" + app[-8:],)) == 4
    page = store.page_of_runs(RunFilter(prompts=(app,), annotated=True))
    assert page.rows[0]["annotations"] == 1


def test_sorting_and_pages_cover_every_run_once(store, recorded):
    app, runs = recorded
    seen: list[str] = []
    for number in range(3):
        page = store.page_of_runs(RunFilter(prompts=(app,)), sort="slowest", page=number, page_size=5)
        assert page.total == 12 and page.pages == 3
        latencies = [row["latency_s"] for row in page.rows]
        assert latencies == sorted(latencies, reverse=True)
        seen += [row["record_id"] for row in page.rows]
    assert sorted(seen) == sorted(r.run_id for r in runs)
    # a page past the end shows the last one; costliest puts runs without a cost last
    assert store.page_of_runs(RunFilter(prompts=(app,)), page=99, page_size=5).page == 2
    costly = store.page_of_runs(RunFilter(prompts=(app,)), sort="costliest", page_size=12).rows
    assert costly[0]["record_id"] == runs[11].run_id and costly[-1]["cost_usd"] is None
    newest = store.page_of_runs(RunFilter(prompts=(app,)), page_size=12).rows
    assert [r["started_at"] for r in newest] == sorted((r["started_at"] for r in newest), reverse=True)
    assert newest[0]["input_preview"].startswith("Summarise the loan of <PERSON_1>")


def test_a_runs_detail_has_its_trace_annotations_and_audit_events(store, recorded, settings):
    from storage.audit import audit_log

    app, runs = recorded
    audit = audit_log(settings)
    audit.append("analyst", "run", app, {"record_id": runs[4].run_id})
    audit.append("analyst", "run", app, {"record_id": runs[6].run_id})
    detail = store.run_detail(runs[4].run_id)
    assert detail.run["input"].startswith("Summarise the loan") and len(detail.run["stages"]) == 6
    assert [e.details["record_id"] for e in detail.audit] == [runs[4].run_id]
    # the page reads the audit events only when their tab is opened
    lean = store.run_detail(runs[4].run_id, audit=False)
    assert lean.audit == [] and lean.run["record_id"] == runs[4].run_id
    assert [e.details["record_id"] for e in store.run_audit(runs[4].run_id, lean.run["started_at"])] == [runs[4].run_id]
    assert detail.evaluation is None and detail.annotations == [] and detail.queues == []
    assert {m["name"] for m in detail.run["metrics"]} == {"toxicity", "similarity"}
    with pytest.raises(NotFoundError):
        store.run_detail("0" * 32)


def test_bad_filters_say_what_to_fix():
    with pytest.raises(InputError, match="ends .* before it starts"):
        RunFilter.for_days(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(InputError, match="Unknown flag"):
        RunFilter(flags=("purple",))
    with pytest.raises(InputError, match="lower bound first"):
        MetricRange("toxicity", 0.9, 0.1)
    with pytest.raises(InputError, match="at most 200"):
        RunFilter(text="x" * 201)
    # one day is a valid range: [day 00:00, next day 00:00)
    one = RunFilter.for_days(date(2026, 3, 1), date(2026, 3, 1))
    assert one.end - one.start == timedelta(days=1)


def test_filter_choices_list_what_was_recorded(store, recorded):
    app, _ = recorded
    choices = store.filter_choices()
    assert app in choices["prompts"] and {"openai", "offline"} <= set(choices["providers"])
    assert {"toxicity", "similarity"} <= set(choices["metrics"])
    assert {f"{app}@v1", f"{app}@v2"} <= set(choices["versions"])
