"""The daily rollups never drift from the runs they count, and their percentiles stay within 2 %."""

from __future__ import annotations

import random

import pytest

from storage import rollups
from storage.records import MetricValue


def test_kept_rollups_equal_a_rebuild_after_runs_and_replaced_results(store, make_run, unique):
    app = f"roll-{unique}"
    rng = random.Random(7)
    runs = [
        make_run(
            i, app_name=app, app_version=f"v{1 + i % 3}", provider=rng.choice(["offline", "openai"]),
            status=rng.choice(["ok", "ok", "ok", "blocked", "error"]), latency_s=rng.uniform(0.001, 3.0),
            cost_usd=rng.choice([None, 0.001, 0.02]),
            decisions={"pii_in": {"PERSON": rng.randrange(3)}, "pii_out": {}, "injection": {"action": rng.choice(["allow", "flag", "block"])}},
            started_at_ns=make_run(i).started_at_ns - rng.randrange(40) * 86_400 * 10**9,
        )
        for i in range(120)
    ]
    store.record_runs(runs)
    store.flush()
    # later results: new ones, and replacements of results counted already
    store.add_metric_results([(r.run_id, MetricValue("human_ok", float(i % 2), True)) for i, r in enumerate(runs[:40])])
    store.add_metric_results([(r.run_id, MetricValue("human_ok", 1.0, True)) for r in runs[:20]])
    store.add_metric_results([(r.run_id, MetricValue("toxicity", 0.9, False)) for r in runs[50:60]])
    with store.engine.connect() as conn:
        kept = rollups.snapshot(conn)
    assert sum(v[0] for v in kept["runs"].values()) >= 120
    rollups.rebuild(store.engine)
    with store.engine.connect() as conn:
        rebuilt = rollups.snapshot(conn)
    for table in rollups.TABLES:
        assert kept[table].keys() == rebuilt[table].keys(), table
        for key, values in kept[table].items():
            assert values == pytest.approx(rebuilt[table][key], abs=1e-6), (table, key)


def test_histogram_percentiles_are_within_two_percent_of_nearest_rank():
    rng = random.Random(3)
    for n in (1, 2, 7, 100, 5000):
        values = [rng.lognormvariate(-1, 1.2) for _ in range(n)]
        histogram: dict[int, int] = {}
        for v in values:
            histogram[rollups.latency_bin(v)] = histogram.get(rollups.latency_bin(v), 0) + 1
        ordered = sorted(values)
        for pct in (50, 95, 99):
            exact = ordered[(n * pct + 99) // 100 - 1]
            assert rollups.percentile(histogram.items(), pct) == pytest.approx(exact, rel=0.021)
    assert rollups.percentile([], 50) is None
    assert rollups.percentile([(rollups.latency_bin(0.0), 3)], 95) == 0.0
