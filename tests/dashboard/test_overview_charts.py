"""The Overview's time charts read as days: no times of day, and a lone day is not stretched."""

from __future__ import annotations

from datetime import date, timedelta

from dashboard import overview_charts as oc


def _rows(days: list[date]) -> list[dict]:
    return [{"bucket": d, "runs": 4, "ok": 3, "flagged": 1, "blocked": 1, "errors": 0, "cost_usd": 0.5,
             "p50_latency_s": 0.2, "p95_latency_s": 0.9} for d in days]


def test_a_single_day_sits_in_the_middle_of_its_own_span_with_a_tick_per_day():
    day = date(2026, 12, 7)
    for build in (oc.runs_over_time, oc.rates_over_time, oc.latency_over_time, oc.cost_over_time):
        axis = build(_rows([day]), "day").layout.xaxis
        assert axis.type == "date" and axis.tickformat == "%b %-d" and axis.dtick == 86_400_000
        assert list(axis.range) == [day - timedelta(days=1), day + timedelta(days=1)]
    bars = oc.runs_over_time(_rows([day]), "day").data
    assert {bar.width for bar in bars} == {0.8 * 86_400_000}  # a lone bar is as wide as most of its day


def test_a_quarter_of_weeks_keeps_plotly_s_own_ticks_and_range():
    weeks = [date(2026, 9, 7) + timedelta(weeks=i) for i in range(13)]
    axis = oc.runs_over_time(_rows(weeks), "week").layout.xaxis
    assert axis.tickformat == "%b %-d" and axis.dtick is None and axis.range is None
    few = oc.metric_means_over_time(
        [{"bucket": w, "name": "toxicity", "mean": 0.1} for w in weeks[:3]], ["toxicity"], "week", "Mean per week"
    ).layout.xaxis
    assert few.dtick == 7 * 86_400_000
