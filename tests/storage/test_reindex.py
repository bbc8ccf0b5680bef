"""The projection of runs (pf_runs, pf_run_metrics, pf_run_text, pf_run_entities, the daily rollups)
rebuilt from TruLens's events alone equals the one kept while recording, in any time zone."""

from __future__ import annotations

import io
import json
import math
import os
import random
import time
from datetime import datetime

import pytest
import sqlalchemy as sa

from storage import rollups, schema
from storage.records import MetricValue
from storage.reindex import rebuild_projection
from storage.reindex_cli import cmd_reindex
from storage.trulens_events import (
    ENDED_AT_NS,
    RECORDED_AT_NS,
    SEQ,
    SPAN_IDS,
    STARTED_AT_NS,
    UNAVAILABLE_METRICS,
    span_id,
)

# what spans carry since the projection can be rebuilt from them (older runs lack it)
NEWER_ATTRIBUTES = (SEQ, RECORDED_AT_NS, STARTED_AT_NS, ENDED_AT_NS, UNAVAILABLE_METRICS, SPAN_IDS)
PROJECTION = (schema.runs, schema.run_metrics, schema.run_text, schema.run_entities)
DAY_NS = 86_400 * 10**9
# POSIX zone strings (no tz database needed): UTC, US Eastern with DST, +05:30, +12:45/+13:45 with DST
ZONES = {
    "utc": "UTC0",
    "new_york": "EST5EDT,M3.2.0,M11.1.0",
    "kolkata": "IST-5:30",
    "chatham": "CHAST-12:45CHADT,M9.5.0/2:45,M4.1.0/3:45",
}


@pytest.fixture
def zone():
    """``zone(name)`` sets the process's local time zone (restored afterwards)."""
    before = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = ZONES[name]
        time.tzset()

    yield use
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


# -- what is compared ------------------------------------------------------------------------


def snapshot(conn: sa.Connection, app: str) -> dict[str, dict]:
    """Every projection row of the runs of apps named ``app…`` (all columns) and their rollups."""
    ids = sa.select(schema.runs.c.record_id).where(schema.runs.c.app_name.startswith(app))
    out: dict[str, dict] = {}
    for table in PROJECTION:
        keys = [c.name for c in table.primary_key.columns]
        out[table.name] = {
            tuple(row[k] for k in keys): dict(row)
            for row in conn.execute(sa.select(table).where(table.c.record_id.in_(ids))).mappings()
        }
    for name, rows in rollups.snapshot(conn).items():
        out[f"rollup_{name}"] = {key: values for key, values in rows.items() if key[1].startswith(app)}
    return out


def assert_same(kept: dict[str, dict], rebuilt: dict[str, dict]) -> None:
    assert kept.keys() == rebuilt.keys()
    for table, rows in kept.items():
        assert rows.keys() == rebuilt[table].keys(), (table, set(rows) ^ set(rebuilt[table]))
        for key, row in rows.items():
            _assert_equal(row, rebuilt[table][key], f"{table} {key}")


def _assert_equal(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _assert_equal(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (where, a, b)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_equal(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (where, a, b)
    elif isinstance(a, datetime):
        assert isinstance(b, datetime) and a == b and a.microsecond == b.microsecond, (where, a, b)
    else:
        assert a == b and type(a) is type(b), (where, a, b)


# -- what is recorded ------------------------------------------------------------------------


def varied_runs(make_run, app: str, n_random: int = 30) -> list:
    """Runs of every kind: ok, blocked, error, PII both ways, unavailable and failed metrics,
    batches with dataset rows (row 0 too), no stages, dotted variable names, other days."""
    base = make_run(0).started_at_ns
    runs = [
        make_run(0, app_name=app),
        make_run(
            1, app_name=app, status="blocked", output_text=None, cost_usd=None, input_tokens=0,
            output_tokens=0, metrics=[],
            decisions={"pii_in": {}, "pii_out": {}, "injection": {"action": "block", "score": 0.97}},
        ),
        make_run(
            2, app_name=app, app_version="v2", status="error", error="The provider timed out.",
            output_text=None,
            metrics=[
                MetricValue("toxicity", None, False, "error", "no output to score"),
                MetricValue("judge", None, True, "error"),
                MetricValue("detoxify", None, False, "unavailable", "no checkpoint configured"),
            ],
        ),
        make_run(
            3, app_name=app, provider="openai", model="gpt-4o-mini", simulated=False, cost_usd=0.0123,
            decisions={
                "pii_in": {"PERSON": 2, "EMAIL_ADDRESS": 1, "PHONE_NUMBER": 0},
                "pii_out": {"CREDIT_CARD": 1},
                "injection": {"action": "flag", "score": 0.71, "rules": ["ignore-previous"]},
            },
        ),
        make_run(4, app_name=app, stages=[], metrics=[], decisions={}, variables={}),
        make_run(5, app_name=app, variables={"customer": "<PERSON_1>", "loan.amount": "12,000", "empty": ""}),
        *(make_run(6 + row, app_name=app, batch_id=f"batch-{app}", dataset_row=row) for row in range(3)),
    ]
    rng = random.Random(11)
    for i in range(9, 9 + n_random):
        runs.append(
            make_run(
                i, app_name=f"{app}-{rng.choice('ab')}", app_version=f"v{rng.randrange(1, 4)}",
                provider=rng.choice(["offline", "openai", "anthropic"]),
                status=rng.choice(["ok", "ok", "blocked", "error"]), latency_s=rng.uniform(0.0, 4.0),
                cost_usd=rng.choice([None, 0.0, 0.004]),
                decisions={"pii_in": {"PERSON": rng.randrange(3)}, "pii_out": {"IBAN_CODE": rng.randrange(2)},
                           "injection": {"action": rng.choice(["allow", "flag", "block"])}},
                started_at_ns=base + i * 1_000_000 - rng.randrange(30) * DAY_NS,
            )
        )
    return runs


def add_later_results(store, runs: list, *, same_call_duplicates: bool = True) -> None:
    """Human and other results after recording: new names, replacements of recorded results
    (an unavailable one too), a result replaced twice, failed ones, explicit times."""
    ok, blocked, error = runs[0], runs[1], runs[2]
    store.add_metric_results([
        (ok.run_id, MetricValue("human_ok", 1.0, True, "ok", "review by ann: yes")),
        (ok.run_id, MetricValue("toxicity", 0.9, False)),  # replaces the recorded result
        (ok.run_id, MetricValue("detoxify", 0.02, False, "ok", "scored later")),  # was unavailable
        (blocked.run_id, MetricValue("human_ok", 0.0, True)),
        (error.run_id, MetricValue("judge", None, True, "error", "judge timed out")),
    ])
    store.add_metric_results(
        [(r.run_id, MetricValue("human_ok", float(i % 2), True)) for i, r in enumerate(runs[3:])]
    )
    store.add_metric_results([(ok.run_id, MetricValue("human_ok", 0.5, True, "ok", "adjudicated"))])
    if same_call_duplicates:  # one call, one time: the later of the two stands
        store.add_metric_results([
            (runs[3].run_id, MetricValue("preference", 0.0, True)),
            (runs[3].run_id, MetricValue("preference", 1.0, True)),
        ])
    later = time.time_ns() + 5 * 10**9
    imported = [MetricValue("imported", 0.25 * i, True, "ok", "from history") for i in range(4)]
    store.add_metric_results(
        [(r.run_id, m) for r, m in zip(runs[5:9], imported, strict=True)], at_ns=[later + i for i in range(4)]
    )


def record(store, make_run, app: str, **options) -> list:
    runs = varied_runs(make_run, app)
    store.record_runs(runs)
    store.flush()
    add_later_results(store, runs, **options)
    return runs


# -- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded_in", "rebuilt_in"), [("utc", "utc"), ("new_york", "kolkata"), ("chatham", "new_york")]
)
def test_a_rebuild_gives_back_the_projection_kept_while_recording(
    store, make_run, unique, zone, recorded_in, rebuilt_in
):
    app = f"reidx-{unique}"
    zone(recorded_in)
    runs = record(store, make_run, app)
    with store.engine.connect() as conn:
        kept = snapshot(conn, app)
    assert len(kept["pf_runs"]) == len(runs)
    statuses = {(row["status"]) for row in kept["pf_run_metrics"].values()}
    assert statuses == {"ok", "error", "unavailable"}
    assert kept["pf_run_metrics"][(runs[0].run_id, "human_ok")]["value"] == 0.5
    assert kept["pf_run_metrics"][(runs[3].run_id, "preference")]["value"] == 1.0

    zone(rebuilt_in)
    summary = rebuild_projection(store.engine, store.events_table)
    with store.engine.connect() as conn:
        rebuilt = snapshot(conn, app)
    assert_same(kept, rebuilt)
    assert summary["runs"] >= len(runs) and summary["skipped_roots"] == 0
    assert summary["events_read"] > 10 * len(runs)

    again = rebuild_projection(store.engine, store.events_table)  # a rebuild of a rebuild changes nothing
    with store.engine.connect() as conn:
        assert_same(kept, snapshot(conn, app))
    assert again["runs"] == summary["runs"] and again["metrics"] == summary["metrics"]


def test_a_rebuild_repairs_a_damaged_projection(store, make_run, unique, monkeypatch):
    monkeypatch.setattr("storage.reindex.CHUNK", 7)  # a run's events and results over many pages
    app = f"reidx-{unique}"
    runs = record(store, make_run, app)
    with store.engine.connect() as conn:
        kept = snapshot(conn, app)
    lost, changed = runs[3], runs[0]
    with store.engine.begin() as conn:
        conn.execute(sa.delete(schema.runs).where(schema.runs.c.record_id == lost.run_id))  # cascades
        m = schema.run_metrics.c
        similarity = sa.and_(m.record_id == changed.run_id, m.name == "similarity")
        conn.execute(sa.update(schema.run_metrics).where(similarity).values(value=0.1))
        conn.execute(sa.delete(schema.run_text).where(schema.run_text.c.record_id == runs[5].run_id))
        r = schema.runs.c
        conn.execute(sa.update(schema.runs).where(r.record_id == runs[6].run_id).values(event_ids=[]))
        rollup = schema.rollup_runs
        conn.execute(sa.update(rollup).where(rollup.c.app_name == app).values(runs=99))
    with store.engine.connect() as conn:
        damaged = snapshot(conn, app)
    assert lost.run_id not in {key[0] for key in damaged["pf_runs"]}
    assert damaged["pf_run_metrics"][(changed.run_id, "similarity")]["value"] == 0.1

    rebuild_projection(store.engine, store.events_table)
    with store.engine.connect() as conn:
        assert_same(kept, snapshot(conn, app))
    assert store.get_run(lost.run_id)["input"] == lost.input_text


def test_runs_recorded_before_the_spans_carried_times_and_places_are_rebuilt_from_trulens_timestamps(
    store, make_run, unique, zone
):
    """Older spans lack exact times, places and unavailable results: times come from TruLens's
    local timestamps, stages keep their order, metric spans follow by name, unavailable rows are lost."""
    app = f"reidx-{unique}"
    zone("chatham")
    runs = record(store, make_run, app, same_call_duplicates=False)
    with store.engine.connect() as conn:
        kept = snapshot(conn, app)
    events = store.events_table
    ours = {r.run_id for r in runs}
    with store.engine.begin() as conn:
        rows = conn.execute(sa.select(events.c.event_id, events.c.record_attributes)).all()
        for event_id, attrs in rows:
            if attrs.get("ai.observability.record_id") not in ours:
                continue
            old = {k: v for k, v in attrs.items() if k not in NEWER_ATTRIBUTES}
            conn.execute(sa.update(events).where(events.c.event_id == event_id).values(record_attributes=old))

    summary = rebuild_projection(store.engine, store.events_table)
    assert summary["older_runs"] >= len(runs)
    with store.engine.connect() as conn:
        rebuilt = snapshot(conn, app)
    recorded_unavailable = {
        key for key, row in kept["pf_run_metrics"].items() if row["status"] == "unavailable"
    }
    assert recorded_unavailable  # lost: they were not written as events then
    metrics = {k: v for k, v in kept["pf_run_metrics"].items() if k not in recorded_unavailable}
    expected = {**kept, "pf_run_metrics": metrics}
    for key, row in rebuilt["pf_runs"].items():
        was = kept["pf_runs"][key]["event_ids"]
        assert row["event_ids"][0] == was[0] and sorted(row["event_ids"]) == sorted(was)
        stages = 1 + len(next(r for r in runs if r.run_id == key[0]).stages)
        assert row["event_ids"][:stages] == was[:stages]  # the root, then its stages in order
        row["event_ids"] = was
    assert_same(expected, rebuilt)  # the rollups count no unavailable result: they are equal too


def test_the_command_prints_progress_and_a_json_summary(store, make_run, unique):
    app = f"reidx-{unique}"
    runs = record(store, make_run, app)
    out, err = io.StringIO(), io.StringIO()
    assert cmd_reindex(settings=store.settings, out=out, err=err) == 0
    summary = json.loads(out.getvalue())
    assert summary["runs"] >= len(runs) and summary["metrics"] > 3 * len(runs)
    assert summary["events_read"] > 10 * len(runs)
    assert {"entities", "seconds", "skipped_roots", "orphan_results"} <= summary.keys()
    assert "events read" in err.getvalue() and "runs counted in the rollups" in err.getvalue()
    with store.engine.connect() as conn:
        assert len(snapshot(conn, app)["pf_runs"]) == len(runs)


def test_a_run_whose_root_span_is_gone_is_dropped_and_its_results_counted(store, make_run, unique):
    """The events are the record: without its root span a run is not rebuilt, nor its results."""
    app = f"reidx-{unique}"
    runs = record(store, make_run, app)
    gone = runs[0]
    with store.engine.begin() as conn:
        events = store.events_table
        conn.execute(sa.delete(events).where(events.c.event_id == str(span_id(gone.run_id, "root"))))
    summary = rebuild_projection(store.engine, store.events_table)
    with store.engine.connect() as conn:
        rebuilt = snapshot(conn, app)
    assert len(rebuilt["pf_runs"]) == len(runs) - 1
    assert not [key for key in rebuilt["pf_run_metrics"] if key[0] == gone.run_id]
    assert summary["orphan_results"] >= 4  # its toxicity, similarity, human_ok and detoxify (scored later)
