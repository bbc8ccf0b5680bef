"""The Overview's plotly figures: pure functions of ``storage.overview.Overview`` parts."""

from __future__ import annotations

import plotly.graph_objects as go

from datetime import timedelta

from storage.overview import as_date

OUTCOME_COLOURS = {"allowed": "#2E7D32", "flagged": "#F9A825", "blocked": "#C62828", "errors": "#EF6C00"}
VERDICT_COLOURS = {"allow": "#2E7D32", "flag": "#F9A825", "block": "#C62828"}
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2), hovermode="x unified")


def _titled(fig: go.Figure, title: str, height: int = 300) -> go.Figure:
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=height, **_LAYOUT)
    return fig


def _days_axis(fig: go.Figure, x: list, bucket: str) -> go.Figure:
    """Dates on the x axis as days (never times of day), a tick per day or week when there are
    few, and a lone bucket in the middle of its own span rather than stretched to fill the axis."""
    step = timedelta(days=7 if bucket == "week" else 1)
    fig.update_xaxes(type="date", tickformat="%b %-d", hoverformat="%Y-%m-%d")
    if len(x) <= 10:
        fig.update_xaxes(dtick=step.days * 86_400_000)
    if len(x) == 1:
        fig.update_xaxes(range=[x[0] - step, x[0] + step])
    fig.update_traces(width=0.8 * step.total_seconds() * 1000, selector=dict(type="bar"))  # as wide as its day
    return fig


def runs_over_time(over_time: list[dict], bucket: str) -> go.Figure:
    """Stacked bars per day or week: runs allowed, flagged, blocked and failed."""
    x = [as_date(row["bucket"]) for row in over_time]
    series = {
        "allowed": [row["ok"] - row["flagged"] if row["ok"] >= row["flagged"] else row["ok"] for row in over_time],
        "flagged": [min(row["flagged"], row["ok"]) for row in over_time],
        "blocked": [row["blocked"] for row in over_time],
        "errors": [row["errors"] for row in over_time],
    }
    fig = go.Figure([go.Bar(x=x, y=y, name=name, marker_color=OUTCOME_COLOURS[name]) for name, y in series.items()])
    fig.update_layout(barmode="stack")
    return _days_axis(_titled(fig, f"Runs per {bucket}, by outcome"), x, bucket)


def rates_over_time(over_time: list[dict], bucket: str) -> go.Figure:
    x = [as_date(row["bucket"]) for row in over_time]
    fig = go.Figure()
    for key, name, colour in (("flagged", "flag rate", "#F9A825"), ("blocked", "block rate", "#C62828"), ("errors", "error rate", "#EF6C00")):
        fig.add_scatter(x=x, y=[row[key] / row["runs"] if row["runs"] else None for row in over_time], name=name,
                        mode="lines+markers", line_color=colour)
    fig.update_yaxes(tickformat=".1%", rangemode="tozero")
    return _days_axis(_titled(fig, f"Flag, block and error rates per {bucket}"), x, bucket)


def latency_over_time(over_time: list[dict], bucket: str) -> go.Figure:
    x = [as_date(row["bucket"]) for row in over_time]
    fig = go.Figure()
    for key, name, colour in (("p50_latency_s", "p50", "#0B5CAD"), ("p95_latency_s", "p95", "#7B1FA2")):
        fig.add_scatter(x=x, y=[None if row[key] is None else row[key] * 1000 for row in over_time], name=name,
                        mode="lines+markers", line_color=colour)
    fig.update_yaxes(title="ms", rangemode="tozero")
    return _days_axis(_titled(fig, f"Model latency per {bucket} (completed runs)"), x, bucket)


def cost_over_time(over_time: list[dict], bucket: str) -> go.Figure:
    x = [as_date(row["bucket"]) for row in over_time]
    fig = go.Figure(go.Bar(x=x, y=[row["cost_usd"] or 0 for row in over_time], marker_color="#00897B", name="cost"))
    fig.update_yaxes(title="USD", tickprefix="$")
    return _days_axis(_titled(fig, f"Model cost per {bucket}"), x, bucket)


def pii_by_type(rows: list[dict]) -> go.Figure:
    """Horizontal bars: entities scrubbed by type, from prompts and from answers."""
    types = sorted({r["entity_type"] for r in rows}, key=lambda t: -sum(r["entities"] for r in rows if r["entity_type"] == t))
    fig = go.Figure()
    for direction, name, colour in (("in", "from prompts", "#0B5CAD"), ("out", "from answers", "#EF6C00")):
        counts = {r["entity_type"]: r["entities"] for r in rows if r["direction"] == direction}
        if counts:
            fig.add_bar(y=types, x=[counts.get(t, 0) for t in types], name=name, orientation="h", marker_color=colour)
    fig.update_layout(barmode="stack", yaxis=dict(autorange="reversed"))
    return _titled(fig, "PII entities scrubbed, by type", height=max(220, 80 + 30 * len(types)))


def verdicts(counts: dict[str, int]) -> go.Figure:
    """Injection screen verdicts over the period (allow, flag, block)."""
    names = [k for k in ("allow", "flag", "block", "none") if k in counts]
    fig = go.Figure(go.Bar(x=names, y=[counts[k] for k in names], marker_color=[VERDICT_COLOURS.get(k, "#9E9E9E") for k in names],
                           text=[f"{counts[k]:,}" for k in names], textposition="outside"))
    fig.update_yaxes(type="log" if counts.get("allow", 0) > 50 * max(1, counts.get("flag", 0)) else "linear")
    return _titled(fig, "Injection screen verdicts", height=300)


def metric_means_over_time(rows: list[dict], names: list[str], bucket: str, title: str) -> go.Figure:
    fig = go.Figure()
    for name in names:
        points = [r for r in rows if r["name"] == name]
        fig.add_scatter(x=[as_date(r["bucket"]) for r in points], y=[r["mean"] for r in points], name=name, mode="lines+markers")
    days = sorted({as_date(r["bucket"]) for r in rows if r["name"] in names})
    return _days_axis(_titled(fig, title), days, bucket)
