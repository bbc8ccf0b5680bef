"""Plotly figures the pages share (pure functions of service results)."""

from __future__ import annotations

import plotly.graph_objects as go

STATUS_COLOURS = {"ok": "#2E7D32", "blocked": "#C62828", "errors": "#EF6C00"}


def runs_by_status_chart(summary: list[dict]) -> go.Figure:
    """Horizontal stacked bars: runs per prompt version, split by outcome."""
    labels = [f"{row['app_name']}@{row['app_version']}" for row in summary]
    fig = go.Figure()
    for status, colour in STATUS_COLOURS.items():
        fig.add_bar(
            y=labels, x=[row[status] or 0 for row in summary], name=status, orientation="h", marker_color=colour
        )
    fig.update_layout(
        barmode="stack", height=80 + 36 * len(labels), margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", y=-0.25), yaxis=dict(autorange="reversed"),
    )
    return fig


def stage_chart(stages_ms: dict[str, float]) -> go.Figure:
    """Horizontal bars: milliseconds per pipeline stage of one run."""
    fig = go.Figure(
        go.Bar(x=list(stages_ms.values()), y=list(stages_ms.keys()), orientation="h", marker_color="#0B5CAD")
    )
    fig.update_layout(
        height=200, margin=dict(l=10, r=10, t=30, b=10), title="Time per stage (ms)",
        yaxis=dict(autorange="reversed"), xaxis_title=None,
    )
    return fig


def metric_distribution(name: str, values: list[float], mean: float | None, flag: tuple | None) -> go.Figure:
    """A histogram of one metric's scores with its mean and flag thresholds marked."""
    fig = go.Figure(go.Histogram(x=values, nbinsx=min(30, max(5, len(set(values)))), marker_color="#0B5CAD"))
    if mean is not None:
        fig.add_vline(x=mean, line_dash="dash", line_color="#333", annotation_text="mean", annotation_position="top")
    for limit in flag or ():
        if limit is not None:
            fig.add_vline(x=limit, line_color="#C62828", annotation_text="flag", annotation_position="bottom right")
    fig.update_layout(
        title=dict(text=name, font=dict(size=14)), height=220, margin=dict(l=10, r=10, t=40, b=10),
        bargap=0.05, showlegend=False, yaxis_title="rows",
    )
    return fig
