"""The Overview's charts: ECharts options whose series add up to the figures, with days on the x axis."""

from __future__ import annotations

import json
from datetime import date, timedelta

from dashboard import overview_charts as oc


def _rows(days: list[date]) -> list[dict]:
    return [{"bucket": d, "runs": 4, "ok": 3, "flagged": 1, "blocked": 1, "errors": 0, "cost_usd": 0.5,
             "p50_latency_s": 0.2, "p95_latency_s": None} for d in days]


def test_time_charts_label_days_and_carry_the_figures():
    days = [date(2026, 12, 6), date(2026, 12, 7)]
    runs = oc.runs_over_time(_rows(days), "day")
    assert runs["xAxis"]["data"] == ["Dec 6", "Dec 7"]
    by_name = {s["name"]: s["data"] for s in runs["series"]}
    assert by_name == {"allowed": [2, 2], "flagged": [1, 1], "blocked": [1, 1], "errors": [0, 0]}
    assert {s["stack"] for s in runs["series"]} == {"runs"}
    rates = {s["name"]: s["data"] for s in oc.rates_over_time(_rows(days), "day")["series"]}
    assert rates["flag rate"] == [25.0, 25.0] and rates["block rate"] == [25.0, 25.0]
    latency = {s["name"]: s["data"] for s in oc.latency_over_time(_rows(days), "day")["series"]}
    assert latency == {"p50": [200.0, 200.0], "p95": [None, None]}  # none is a gap, not a zero
    assert oc.cost_over_time(_rows(days[:1]), "day")["series"][0]["data"] == [0.5]
    json.dumps([runs, rates, latency])  # plain JSON, as ECharts takes it


def test_pii_by_type_is_sorted_most_first_and_stacks_prompts_and_answers():
    rows = [{"entity_type": "EMAIL_ADDRESS", "direction": "in", "entities": 3},
            {"entity_type": "PERSON", "direction": "in", "entities": 9},
            {"entity_type": "PERSON", "direction": "out", "entities": 1}]
    option = oc.pii_by_type(rows)
    assert option["yAxis"]["data"] == ["PERSON", "EMAIL_ADDRESS"]
    assert [(s["name"], s["data"]) for s in option["series"]] == [("from prompts", [9, 3]), ("from answers", [1, 0])]


def test_verdicts_switch_to_a_log_scale_when_allowed_runs_dwarf_the_rest():
    assert oc.verdicts({"allow": 10, "flag": 2, "block": 1})["yAxis"]["type"] == "value"
    log = oc.verdicts({"allow": 5000, "flag": 3, "block": 0})
    assert log["yAxis"]["type"] == "log" and [d["value"] for d in log["series"][0]["data"]] == [5000, 3, None]


def test_metric_means_line_up_on_shared_weeks():
    weeks = [date(2026, 9, 7) + timedelta(weeks=i) for i in range(3)]
    rows = [{"bucket": weeks[0], "name": "toxicity", "mean": 0.1}, {"bucket": weeks[2], "name": "toxicity", "mean": 0.3},
            {"bucket": weeks[1], "name": "similarity", "mean": 0.8}]
    option = oc.metric_means_over_time(rows, ["toxicity", "similarity"], "week", "Mean per week")
    assert option["xAxis"]["data"] == ["Sep 7", "Sep 14", "Sep 21"]
    assert {s["name"]: s["data"] for s in option["series"]} == {"toxicity": [0.1, None, 0.3], "similarity": [None, 0.8, None]}
