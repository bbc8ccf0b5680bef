"""The Overview's charts as ECharts options (``st.echarts_chart``): pure functions of
``storage.overview.Overview`` parts.

ECharts, not plotly, because the Overview is the page everyone opens first: plotly's 4.7 MB
chart bundle made about one first render in three 0.6 s slower while the browser compiled it;
ECharts' 1.2 MB costs a steady 0.1 s. Dates are categories labelled by day ("Dec 7"), so a
lone day is one bar, not a stretched axis of hours.
"""

from __future__ import annotations

from typing import Any

from storage.overview import as_date

OUTCOME_COLOURS = {"allowed": "#2E7D32", "flagged": "#F9A825", "blocked": "#C62828", "errors": "#EF6C00"}
VERDICT_COLOURS = {"allow": "#2E7D32", "flag": "#F9A825", "block": "#C62828"}
HEIGHT = 300

Option = dict[str, Any]


def _days(values: list) -> list[str]:
    return [f"{day:%b} {day.day}" for day in (as_date(v) for v in values)]


def _chart(title: str, x: list[str], series: list[Option], y_axis: Option | None = None) -> Option:
    return {
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 50, "right": 16, "top": 40, "bottom": 56},
        "xAxis": {"type": "category", "data": x},
        "yAxis": {"type": "value", **(y_axis or {})},
        "series": series,
    }


def _line(name: str, values: list, colour: str | None = None) -> Option:
    out: Option = {"name": name, "type": "line", "data": values, "connectNulls": False, "symbolSize": 5}
    if colour:
        out["itemStyle"] = {"color": colour}
        out["lineStyle"] = {"color": colour}
    return out


def runs_over_time(over_time: list[dict], bucket: str) -> Option:
    """Stacked bars per day or week: runs allowed, flagged, blocked and failed."""
    series = {
        "allowed": [row["ok"] - row["flagged"] if row["ok"] >= row["flagged"] else row["ok"] for row in over_time],
        "flagged": [min(row["flagged"], row["ok"]) for row in over_time],
        "blocked": [row["blocked"] for row in over_time],
        "errors": [row["errors"] for row in over_time],
    }
    bars = [
        {"name": name, "type": "bar", "stack": "runs", "data": values, "itemStyle": {"color": OUTCOME_COLOURS[name]},
         "barMaxWidth": 80}
        for name, values in series.items()
    ]
    return _chart(f"Runs per {bucket}, by outcome", _days([r["bucket"] for r in over_time]), bars)


def rates_over_time(over_time: list[dict], bucket: str) -> Option:
    """Flag, block and error rates per bucket, in percent of its runs."""
    lines = [
        _line(name, [round(100 * row[key] / row["runs"], 2) if row["runs"] else None for row in over_time], colour)
        for key, name, colour in (("flagged", "flag rate", "#F9A825"), ("blocked", "block rate", "#C62828"),
                                  ("errors", "error rate", "#EF6C00"))
    ]
    return _chart(f"Flag, block and error rates per {bucket}", _days([r["bucket"] for r in over_time]), lines,
                  {"min": 0, "axisLabel": {"formatter": "{value} %"}})


def latency_over_time(over_time: list[dict], bucket: str) -> Option:
    lines = [
        _line(name, [None if row[key] is None else round(row[key] * 1000, 1) for row in over_time], colour)
        for key, name, colour in (("p50_latency_s", "p50", "#0B5CAD"), ("p95_latency_s", "p95", "#7B1FA2"))
    ]
    return _chart(f"Model latency per {bucket} (completed runs)", _days([r["bucket"] for r in over_time]), lines,
                  {"min": 0, "name": "ms"})


def cost_over_time(over_time: list[dict], bucket: str) -> Option:
    bar = {"name": "cost", "type": "bar", "data": [round(row["cost_usd"] or 0, 6) for row in over_time],
           "itemStyle": {"color": "#00897B"}, "barMaxWidth": 80}
    return _chart(f"Model cost per {bucket}", _days([r["bucket"] for r in over_time]), [bar],
                  {"axisLabel": {"formatter": "${value}"}})


def pii_by_type(rows: list[dict]) -> Option:
    """Horizontal bars: entities scrubbed by type (most first), from prompts and from answers."""
    types = sorted({r["entity_type"] for r in rows}, key=lambda t: -sum(r["entities"] for r in rows if r["entity_type"] == t))
    bars = []
    for direction, name, colour in (("in", "from prompts", "#0B5CAD"), ("out", "from answers", "#EF6C00")):
        counts = {r["entity_type"]: r["entities"] for r in rows if r["direction"] == direction}
        if counts:
            bars.append({"name": name, "type": "bar", "stack": "pii", "data": [counts.get(t, 0) for t in types],
                         "itemStyle": {"color": colour}})
    option = _chart("PII entities scrubbed, by type", [], bars)
    option["xAxis"], option["yAxis"] = {"type": "value"}, {"type": "category", "data": types, "inverse": True}
    option["grid"] = {"left": 130, "right": 16, "top": 40, "bottom": 56}
    option["tooltip"] = {"trigger": "axis", "axisPointer": {"type": "shadow"}}
    return option


def pii_height(rows: list[dict]) -> int:
    return max(220, 100 + 28 * len({r["entity_type"] for r in rows}))


def verdicts(counts: dict[str, int]) -> Option:
    """Injection screen verdicts over the period (allow, flag, block): a log scale when allowed
    runs dwarf the rest."""
    names = [k for k in ("allow", "flag", "block", "none") if k in counts]
    log = counts.get("allow", 0) > 50 * max(1, counts.get("flag", 0))
    bar = {
        "name": "runs", "type": "bar", "barMaxWidth": 80,
        "data": [{"value": counts[k] if counts[k] or not log else None,
                  "itemStyle": {"color": VERDICT_COLOURS.get(k, "#9E9E9E")}} for k in names],
        "label": {"show": True, "position": "top"},
    }
    option = _chart("Injection screen verdicts", names, [bar], {"type": "log" if log else "value"})
    option["legend"] = {"show": False}
    return option


def metric_means_over_time(rows: list[dict], names: list[str], bucket: str, title: str) -> Option:
    buckets = sorted({r["bucket"] for r in rows if r["name"] in names}, key=as_date)
    lines = []
    for name in names:
        by_bucket = {r["bucket"]: r["mean"] for r in rows if r["name"] == name}
        lines.append(_line(name, [None if by_bucket.get(b) is None else round(by_bucket[b], 4) for b in buckets]))
    return _chart(title, _days(buckets), lines)
