"""The Overview's figures on both backends, against values worked out by hand for a fixed set of runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from storage.records import MetricValue
from storage.run_filter import RunFilter

DAY1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
DAY2 = DAY1 + timedelta(days=1)


def ns(moment: datetime, seconds: float = 0.0) -> int:
    return int((moment.timestamp() + seconds) * 1e9)


@pytest.fixture
def fixed(store, make_run, unique):
    """Ten runs over two days of two versions of one prompt:

    day 1, v1: latencies 0.1 .. 0.6 s (six ok runs), one flagged; PERSON×2 in one prompt, EMAIL in another
    day 2, v2: two ok runs (0.9, 1.0 s), one blocked, one error; PHONE_NUMBER out of one answer
    """
    app = f"ov-{unique}"
    runs = []

    def add(i, day, version, status="ok", latency=0.0, cost=0.001, injection="allow", pii_in=None, pii_out=None, tox=None):
        start = ns(day, i * 60)
        runs.append(
            make_run(
                i, app_name=app, app_version=version, status=status, latency_s=latency, cost_usd=cost,
                started_at_ns=start, ended_at_ns=start + int(latency * 1e9) + 1_000_000,
                output_text=None if status != "ok" else f"answer {i}",
                decisions={"pii_in": pii_in or {}, "pii_out": pii_out or {}, "injection": {"action": injection, "score": 0.0}},
                metrics=[MetricValue("toxicity", tox, False)] if tox is not None else [],
            )
        )

    for i, latency in enumerate((0.1, 0.2, 0.3, 0.4, 0.5, 0.6)):
        add(i, DAY1, "v1", latency=latency, injection="flag" if i == 2 else "allow",
            pii_in={"PERSON": 2} if i == 0 else {"EMAIL_ADDRESS": 1} if i == 1 else None, tox=0.1 * i)
    add(6, DAY2, "v2", latency=0.9, tox=0.5)
    add(7, DAY2, "v2", latency=1.0, pii_out={"PHONE_NUMBER": 1}, tox=0.7)
    add(8, DAY2, "v2", status="blocked", cost=None, injection="block")
    add(9, DAY2, "v2", status="error", cost=None)
    store.record_runs(runs)
    store.flush()
    store.add_metric_result(runs[0].run_id, MetricValue("human_correct", 1.0, True))
    store.add_metric_result(runs[6].run_id, MetricValue("human_correct", 0.0, True))
    return app, runs


def test_totals_rates_and_percentiles(store, fixed):
    app, _ = fixed
    figures = store.overview(RunFilter(prompts=(app,)))
    t = figures.totals
    assert (t["runs"], t["ok"], t["blocked"], t["errors"], t["flagged"]) == (10, 8, 1, 1, 1)
    assert t["block_rate"] == pytest.approx(0.1) and t["flag_rate"] == pytest.approx(0.1)
    assert t["cost_usd"] == pytest.approx(0.008) and t["cost_per_1k"] == pytest.approx(0.8)
    assert t["pii_entities"] == 3  # PERSON×2 + EMAIL×1 from prompts (the answer's phone is not counted here)
    # nearest rank over the 8 completed runs [0.1 .. 0.6, 0.9, 1.0]: p50 = 4th = 0.4, p95 = 8th = 1.0
    # (read from 4 %-wide histogram bins: within 2 %)
    assert t["p50_latency_s"] == pytest.approx(0.4, rel=0.02) and t["p95_latency_s"] == pytest.approx(1.0, rel=0.02)


def test_days_pii_verdicts_metrics(store, fixed):
    app, _ = fixed
    figures = store.overview(RunFilter(prompts=(app,)), bucket="day")
    days = {str(row["bucket"])[:10]: row for row in figures.over_time}
    assert list(days) == ["2026-03-02", "2026-03-03"]
    first, second = days["2026-03-02"], days["2026-03-03"]
    assert (first["runs"], first["flagged"], second["runs"], second["blocked"], second["errors"]) == (6, 1, 4, 1, 1)
    # day 1: six latencies, p50 = 3rd = 0.3, p95 = 6th = 0.6; day 2: two completed runs, p50 = 1st = 0.9
    assert first["p50_latency_s"] == pytest.approx(0.3, rel=0.02) and first["p95_latency_s"] == pytest.approx(0.6, rel=0.02)
    assert second["p50_latency_s"] == pytest.approx(0.9, rel=0.02) and second["p95_latency_s"] == pytest.approx(1.0, rel=0.02)
    assert first["mean_latency_s"] == pytest.approx(0.35)
    pii = {(r["entity_type"], r["direction"]): r["entities"] for r in figures.pii_by_type}
    assert pii == {("PERSON", "in"): 2, ("EMAIL_ADDRESS", "in"): 1, ("PHONE_NUMBER", "out"): 1}
    assert figures.verdicts == {"allow": 8, "flag": 1, "block": 1}
    means = {m["name"]: m for m in figures.metric_means}
    assert means["toxicity"]["mean"] == pytest.approx((0 + 0.1 + 0.2 + 0.3 + 0.4 + 0.5 + 0.5 + 0.7) / 8)
    assert means["human_correct"]["mean"] == pytest.approx(0.5) and means["human_correct"]["human"]
    per_day = {(str(r["bucket"])[:10], r["name"]): r["mean"] for r in figures.metric_over_time}
    assert per_day[("2026-03-03", "toxicity")] == pytest.approx(0.6)


def test_leaderboard_weeks_flagged_and_filters(store, fixed):
    app, runs = fixed
    figures = store.overview(RunFilter(prompts=(app,)), bucket="week")
    assert [str(r["bucket"])[:10] for r in figures.over_time] == ["2026-03-02"]  # Monday of the week
    board = {e["app_version"]: e for e in figures.leaderboard}
    assert list(board) == ["v1", "v2"]
    assert board["v1"]["runs"] == 6 and board["v1"]["flag_rate"] == pytest.approx(1 / 6)
    assert board["v2"]["block_rate"] == pytest.approx(0.25) and board["v2"]["error_rate"] == pytest.approx(0.25)
    assert board["v2"]["metrics"]["toxicity"] == pytest.approx(0.6)
    assert board["v1"]["cost_per_1k"] == pytest.approx(1.0) and board["v2"]["last_day"] == date(2026, 3, 3)
    # the newest first: the error (day 2, minute 9), the block (minute 8), then the flag of day 1
    assert [r["record_id"] for r in figures.flagged] == [runs[9].run_id, runs[8].run_id, runs[2].run_id]
    only_day2 = store.overview(RunFilter.for_days(date(2026, 3, 3), date(2026, 3, 3), prompts=(app,)))
    assert only_day2.totals["runs"] == 4 and only_day2.totals["pii_entities"] == 0
    empty = store.overview(RunFilter.for_days(date(2025, 1, 1), date(2025, 1, 2), prompts=(app,)))
    assert empty.totals["runs"] == 0 and empty.totals["block_rate"] is None and empty.leaderboard == []
    assert empty.totals["p50_latency_s"] is None and empty.over_time == [] and empty.flagged == []
