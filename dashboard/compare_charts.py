"""Plotly figures of an A/B comparison (pure functions of ``Comparisons.paired`` and
``Comparisons.statistics``; no streamlit, so they are tested alone).

A metric with no score to draw (all NaN, or not comparable) never raises: it is left out and
an annotation on the figure names it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from evaluation.paired_stats import BETTER, WORSE, Comparison, MetricComparison, row_values, wilson_interval

SIDE_COLOURS = ("#0B5CAD", "#EF6C00")  # A, B
DIRECTION_COLOURS = {BETTER: "#2E7D32", WORSE: "#C62828"}
NEUTRAL = "#757575"
MAX_ROWS_IN_HOVER = 20


def distributions(data, metric: str, names: Sequence[str] = ("A", "B")) -> go.Figure:
    """Overlaid histograms of A's and B's row values (each row's mean over its repeats) for
    one metric; a side with no score is left out (and said)."""
    values = _row_values(data, metric)
    if values is None:
        return _empty(f"No scores for {metric}.")
    fig = go.Figure()
    missing = []
    bins = _shared_bins(np.concatenate(values))
    for side, (name, colour) in enumerate(zip(names, SIDE_COLOURS, strict=True)):
        finite = values[side][np.isfinite(values[side])]
        if finite.size == 0:
            missing.append(name)
            continue
        fig.add_histogram(
            x=finite, name=f"{name} ({finite.size} rows)", marker_color=colour, opacity=0.6, xbins=bins,
            hovertemplate=f"{name}: %{{x}}<br>%{{y}} rows<extra></extra>",
        )
    if not fig.data:
        return _empty(f"No scores for {metric} on either side.")
    fig.update_layout(
        barmode="overlay", title=dict(text=metric, font=dict(size=14)), height=260,
        margin=dict(l=10, r=10, t=40, b=10), yaxis_title="rows", xaxis_title="row value (mean over repeats)",
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    for name in missing:
        _note(fig, f"{name} has no score for {metric}.")
    return fig


def paired_scatter(data, metric: str, names: Sequence[str] = ("A", "B")) -> go.Figure:
    """B's row value against A's for one metric, one marker per distinct (A, B) pair sized by
    how many rows share it (the hover lists the dataset rows), with the y = x diagonal:
    above it B scored higher, below it lower."""
    values = _row_values(data, metric)
    if values is None:
        return _empty(f"No scores for {metric}.")
    a, b = values
    both = np.isfinite(a) & np.isfinite(b)
    if not both.any():
        return _empty(f"No row of {metric} has a score on both sides.")
    rows = np.asarray(data.rows)[both]
    groups: dict[tuple[float, float], list[int]] = {}
    for x, y, r in zip(a[both], b[both], rows, strict=True):
        groups.setdefault((float(x), float(y)), []).append(int(r))
    xs = [k[0] for k in groups]
    ys = [k[1] for k in groups]
    counts = [len(v) for v in groups.values()]
    hover_rows = [
        ", ".join(map(str, v[:MAX_ROWS_IN_HOVER]))
        + (f" and {len(v) - MAX_ROWS_IN_HOVER} more" if len(v) > MAX_ROWS_IN_HOVER else "")
        for v in groups.values()
    ]
    fig = go.Figure()
    low = float(min(min(xs), min(ys)))
    high = float(max(max(xs), max(ys)))
    pad = (high - low) * 0.05 or 0.5
    fig.add_scatter(
        x=[low - pad, high + pad], y=[low - pad, high + pad], mode="lines", name="y = x (no change)",
        line=dict(color=NEUTRAL, dash="dash", width=1), hoverinfo="skip",
    )
    fig.add_scatter(
        x=xs, y=ys, mode="markers", name="rows",
        marker=dict(size=[7 + 4 * math.sqrt(c - 1) for c in counts], color=SIDE_COLOURS[1], opacity=0.7,
                    line=dict(width=0.5, color="white")),
        customdata=[[h, c] for h, c in zip(hover_rows, counts, strict=True)],
        hovertemplate=(
            f"dataset row(s) %{{customdata[0]}}<br>{names[0]}: %{{x}}<br>{names[1]}: %{{y}}"
            "<br>%{customdata[1]} row(s)<extra></extra>"
        ),
    )
    fig.update_layout(
        title=dict(text=metric, font=dict(size=14)), height=360, margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title=f"{names[0]} (row mean over repeats)", yaxis_title=f"{names[1]} (row mean over repeats)",
        showlegend=False,
    )
    span = [low - pad, high + pad]  # one range on both axes, one unit as long on each: y = x is the diagonal
    fig.update_xaxes(range=span, constrain="domain")
    fig.update_yaxes(range=span, scaleanchor="x", scaleratio=1, constrain="domain")
    dropped = int((~both).sum())
    if dropped:
        _note(fig, f"{dropped} row(s) without a score on both sides are not shown.")
    return fig


def differences(stats: Comparison) -> go.Figure:
    """The difference B − A of each metric with its 95% bootstrap interval, one row per metric.

    Metrics have different scales, so each row is its own small panel with its own x axis in
    the metric's units (binary metrics in percentage points), and zero always in view; nothing
    is rescaled, so the tick labels are the real differences. Colour: green where B is
    significantly better, red where worse, grey otherwise; guard metrics are diamonds and
    say "(guard)"."""
    shown = [m for m in stats.metrics if m.comparable and m.difference.value is not None]
    skipped = [m.name for m in stats.metrics if m not in shown]
    if not shown:
        return _empty("No metric could be compared" + (f" ({', '.join(skipped)})." if skipped else "."))
    n = len(shown)
    # each panel ~46 px high with ~26 px between panels for its tick labels
    fig = make_subplots(rows=n, cols=1, shared_xaxes=False, vertical_spacing=26 / (72 * n))
    for i, m in enumerate(shown, start=1):
        scale, unit = (100.0, " pp") if m.kind == "binary" else (1.0, "")
        d = m.difference
        value = d.value * scale
        low = (d.low if d.low is not None else d.value) * scale
        high = (d.high if d.high is not None else d.value) * scale
        colour = DIRECTION_COLOURS.get(m.direction, NEUTRAL)
        label = _label(m)
        interval = f"[{low:.4g}, {high:.4g}]{unit}" if d.low is not None and d.high is not None else "(no interval)"
        fig.add_scatter(
            x=[value], y=[label], mode="markers", name=m.name, showlegend=False,
            marker=dict(size=11 if m.guard else 9, color=colour, symbol="diamond" if m.guard else "circle"),
            error_x=dict(type="data", symmetric=False, array=[max(high - value, 0.0)],
                         arrayminus=[max(value - low, 0.0)], color=colour, thickness=2, width=5),
            hovertemplate=(
                f"<b>{m.name}</b>{' (guard)' if m.guard else ''}<br>B - A: {value:+.4g}{unit} {interval}"
                f"<br>{_p(m)}<br>{m.direction}<extra></extra>"
            ),
            row=i, col=1,
        )
        lo, hi = min(low, 0.0, value), max(high, 0.0, value)
        pad = (hi - lo) * 0.1 or 1.0
        fig.add_vline(x=0, line_color="#333", line_width=1, row=i, col=1)
        fig.update_xaxes(range=[lo - pad, hi + pad], ticksuffix=unit, zeroline=False, row=i, col=1)
    fig.update_xaxes(
        title_text="difference B - A in each metric's own units (binary: percentage points)", row=n, col=1
    )
    fig.update_layout(
        height=110 + 72 * n, margin=dict(l=10, r=10, t=40, b=60), showlegend=False,
        title=dict(text="Difference B - A with 95% interval (each row on its own scale)", font=dict(size=14)),
    )
    if skipped:
        _note(fig, "Not comparable (not shown): " + ", ".join(skipped) + ".")
    return fig


def win_rates(stats: Comparison) -> go.Figure:
    """Per metric, the share of paired rows where B beats A (direction-aware) with its Wilson
    interval, and the share where A beats B; ties count for neither, so with many ties both
    sit under the 50% line."""
    shown = [m for m in stats.metrics if m.win_rate.rate is not None]
    skipped = [m.name for m in stats.metrics if m not in shown]
    if not shown:
        return _empty("No metric has paired rows to count wins on" + (f" ({', '.join(skipped)})." if skipped else "."))
    labels = [_label(m) for m in shown]
    b_rate, b_plus, b_minus, a_rate, a_plus, a_minus, hover = [], [], [], [], [], [], []
    for m in shown:
        w = m.win_rate
        n = w.wins + w.losses + w.ties
        rate = 100 * w.rate
        b_rate.append(rate)
        b_plus.append(max(100 * (w.high if w.high is not None else w.rate) - rate, 0.0))
        b_minus.append(max(rate - 100 * (w.low if w.low is not None else w.rate), 0.0))
        loss = 100 * w.losses / n
        low, high = wilson_interval(w.losses, n, stats.alpha)
        a_rate.append(loss)
        a_plus.append(max(100 * (high if high is not None else w.losses / n) - loss, 0.0))
        a_minus.append(max(loss - 100 * (low if low is not None else w.losses / n), 0.0))
        hover.append(f"B wins {w.wins}, A wins {w.losses}, ties {w.ties} of {n} paired rows")
    level = f"{1 - stats.alpha:.0%}"
    fig = go.Figure()
    fig.add_scatter(
        x=b_rate, y=labels, mode="markers", name=f"B wins (with {level} Wilson interval)",
        marker=dict(size=10, color=SIDE_COLOURS[1]),
        error_x=dict(type="data", symmetric=False, array=b_plus, arrayminus=b_minus, thickness=2, width=5),
        customdata=hover, hovertemplate="%{y}<br>B wins on %{x:.1f}% of rows<br>%{customdata}<extra></extra>",
    )
    fig.add_scatter(
        x=a_rate, y=labels, mode="markers", name=f"A wins (with {level} Wilson interval)",
        marker=dict(size=9, color=SIDE_COLOURS[0], symbol="circle-open", line=dict(width=2)),
        error_x=dict(type="data", symmetric=False, array=a_plus, arrayminus=a_minus, thickness=1, width=3,
                     color=SIDE_COLOURS[0]),
        customdata=hover, hovertemplate="%{y}<br>A wins on %{x:.1f}% of rows<br>%{customdata}<extra></extra>",
    )
    fig.add_vline(x=50, line_dash="dash", line_color=NEUTRAL, annotation_text="50%",
                  annotation_position="bottom right")
    fig.update_layout(
        height=150 + 34 * len(shown), margin=dict(l=10, r=10, t=70, b=60),
        xaxis=dict(range=[-3, 103], ticksuffix="%", title="share of paired rows (ties count for neither side)"),
        yaxis=dict(autorange="reversed"),
        title=dict(text="Win rate per metric", font=dict(size=14), y=0.98, yanchor="top"),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0, xanchor="left"),
    )
    if skipped:
        _note(fig, "Not comparable (not shown): " + ", ".join(skipped) + ".")
    return fig


# ----------------------------------------------------------------------------- helpers


def _row_values(data, metric: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Each side's row values (mean over repeats, NaN where none) or None when neither side
    has a finite score."""
    if metric not in data.scores:
        return None
    a, b = data.scores[metric]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ra, rb = row_values(a), row_values(b)
    if not (np.isfinite(ra).any() or np.isfinite(rb).any()):
        return None
    return ra, rb


def _shared_bins(values: np.ndarray) -> dict[str, float]:
    """One set of histogram bins for both sides (so overlaid bars line up): 5 to 30 bins."""
    finite = values[np.isfinite(values)]
    low, high = float(finite.min()), float(finite.max())
    if high == low:
        return {"start": low - 0.5, "end": high + 0.5, "size": 1.0}
    size = (high - low) / min(30, max(5, len(np.unique(finite))))
    return {"start": low, "end": high + size * 1e-6, "size": size}


def _label(m: MetricComparison) -> str:
    return m.name + (" (guard)" if m.guard else "")


def _p(m: MetricComparison) -> str:
    p = m.test.p_holm
    if p is None:
        return "no p-value"
    return "p < 0.001 after Holm" if p < 0.001 else f"p = {p:.3g} after Holm"


def _note(fig: go.Figure, text: str) -> None:
    """A line of small grey text under the plot area (several stack downwards)."""
    k = sum(1 for a in fig.layout.annotations if getattr(a, "name", None) == "note")
    fig.add_annotation(
        text=text, name="note", xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
        yshift=-46 - 14 * k, showarrow=False, font=dict(size=11, color=NEUTRAL),
    )
    fig.update_layout(margin=dict(b=max(fig.layout.margin.b or 0, 52 + 14 * (k + 1))))


def _empty(text: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=text, name="empty", x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(size=13, color=NEUTRAL))
    fig.update_layout(height=160, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="rgba(0,0,0,0)",
                      xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig
