"""Recording runs as TruLens records, and reading them back (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from config.errors import NotFoundError, StorageError
from storage.records import MetricValue


def test_record_shows_in_trulens_records_with_metrics(store, make_run, unique):
    app = f"loan-{unique}"
    runs = [make_run(i, app_name=app, app_version="v2") for i in range(3)]
    ids = store.record_runs(runs)
    store.flush()

    df, feedback = store.session.get_records_and_feedback(app_name=app)
    assert sorted(df["record_id"]) == sorted(ids)
    assert set(feedback) == {"toxicity", "similarity"}  # "unavailable" is not stored as a number
    row = df.set_index("record_id").loc[ids[0]]
    assert row["app_name"] == app and row["app_version"] == "v2"
    assert row["input"] == runs[0].input_text
    assert row["output"] == runs[0].output_text
    assert row["toxicity"] == pytest.approx(0.1)
    assert row["similarity"] == pytest.approx(0.9)
    assert row["total_tokens"] == 20
    assert row["total_cost"] == pytest.approx(0.002)
    assert row["latency"] == pytest.approx(runs[0].latency_s, abs=1e-3)  # real stage durations


def test_app_is_registered_and_on_the_leaderboard(store, make_run, unique):
    app = f"lb-{unique}"
    store.record_runs([make_run(i, app_name=app) for i in range(4)])
    store.flush()

    assert (app, "v1") in {(a["app_name"], a["app_version"]) for a in store.session.get_apps()}
    board = store.leaderboard().reset_index()
    mine = board[board["app_name"] == app].iloc[0]
    assert mine["toxicity"] == pytest.approx(0.2)  # mean of 0.1, 0.3, 0.1, 0.3
    assert mine["similarity"] == pytest.approx(0.9)


def test_list_count_and_get_run(store, make_run, unique):
    app = f"page-{unique}"
    runs = [make_run(i, app_name=app, batch_id=f"b-{unique}", dataset_row=i) for i in range(7)]
    store.record_runs(runs)
    store.record_run(make_run(0, app_name=f"other-{unique}"))
    store.flush()

    assert store.count_runs(app) == 7
    assert store.count_runs(batch_id=f"b-{unique}") == 7
    first, second = store.list_runs(app, limit=4), store.list_runs(app, limit=4, offset=4)
    assert [len(first), len(second)] == [4, 3]
    listed = [r["record_id"] for r in first + second]
    assert listed == [r.run_id for r in reversed(runs)]  # newest first
    assert first[0]["metrics"] == {"toxicity": pytest.approx(0.1), "similarity": 0.9, "detoxify": None}
    assert first[0]["injection_action"] == "allow" and first[0]["pii_in"] == {"PERSON": 1}

    got = store.get_run(runs[2].run_id)
    assert got["input"] == runs[2].input_text and got["output"] == runs[2].output_text
    assert [s["name"] for s in got["stages"]] == [s.name for s in runs[2].stages]
    assert got["stages"][3]["span_type"] == "generation"
    assert got["stages"][3]["duration_ms"] == pytest.approx(2.0, abs=0.01)
    assert {m["name"]: m["status"] for m in got["metrics"]}["detoxify"] == "unavailable"
    assert got["decisions"] == runs[2].decisions and got["variables"] == runs[2].variables
    assert got["provider"] == "offline" and got["cost_usd"] == pytest.approx(0.002)
    with pytest.raises(NotFoundError):
        store.get_run("0" * 32)


def test_summary_aggregates_in_sql(store, make_run, unique):
    app = f"sum-{unique}"
    store.record_runs([make_run(i, app_name=app) for i in range(4)])
    store.record_run(
        make_run(9, app_name=app, status="blocked", output_text=None, error="policy", metrics=[])
    )
    store.flush()
    (summary,) = store.summarize_runs(app)
    assert (summary["runs"], summary["ok"], summary["blocked"]) == (5, 4, 1)
    assert summary["total_cost_usd"] == pytest.approx(0.01)
    assert summary["metrics"]["toxicity"] == pytest.approx(0.2)


def test_record_runs_300_then_flush_loses_nothing(store, make_run, unique):
    app = f"bulk-{unique}"
    ids = store.record_runs([make_run(i, app_name=app) for i in range(300)])
    store.flush()
    assert store.pending == 0
    assert store.count_runs(app) == 300
    df, _ = store.session.get_records_and_feedback(app_name=app)
    assert set(df["record_id"]) == set(ids)


def test_blocked_run_and_later_human_feedback(store, make_run, unique):
    app = f"blk-{unique}"
    run = make_run(app_name=app, status="blocked", output_text=None, error="injection blocked", metrics=[])
    store.record_run(run)
    store.flush()
    store.add_metric_result(run.run_id, MetricValue("reviewer_score", 1.0, True, explanation="ok"))

    df, feedback = store.session.get_records_and_feedback(app_name=app)
    assert feedback == ["reviewer_score"]
    assert df.iloc[0]["output"] == "" and df.iloc[0]["reviewer_score"] == 1.0
    assert store.list_runs(app)[0]["metrics"] == {"reviewer_score": 1.0}
    with pytest.raises(NotFoundError):
        store.add_metric_result("f" * 32, MetricValue("x", 1.0, True))


def test_same_run_twice_is_stored_once(store, make_run, unique):
    app = f"dup-{unique}"
    run = make_run(app_name=app)
    store.record_runs([run, make_run(1, app_name=app), run])
    store.flush()
    store.record_run(run)
    store.flush()
    assert store.count_runs(app) == 2


def test_malformed_run_is_refused_on_the_callers_thread(store, make_run):
    with pytest.raises(StorageError, match="status"):
        store.record_run(make_run(status="done"))
    with pytest.raises(StorageError, match="finite"):
        store.record_run(make_run(metrics=[MetricValue("m", float("nan"), True)]))
    with pytest.raises(StorageError, match="run_id"):
        store.record_run(make_run(run_id="not-a-uuid"))
    assert store.pending == 0
