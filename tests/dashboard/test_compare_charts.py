"""Plotly figures of an A/B comparison: what each draws, and that no metric breaks them."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard.compare_charts import (
    DIRECTION_COLOURS,
    NEUTRAL,
    differences,
    distributions,
    paired_scatter,
    win_rates,
)
from evaluation.paired_stats import PairedMetric, compare, row_values, wilson_interval
from execution.compare import PairedData

ROWS = 10


def _data() -> PairedData:
    rng = np.random.default_rng(3)
    score_a = rng.normal(0.5, 0.1, (ROWS, 2))
    score_b = score_a + 0.1
    score_a[4, :] = np.nan  # row 4 has no score on A
    score_b[7, 1] = np.nan  # one repeat missing: the row value is the other repeat
    pass_a = np.tile([[1.0], [0.0]], (ROWS // 2, 2))
    pass_b = np.ones((ROWS, 2))
    nothing = np.full((ROWS, 2), np.nan)
    a_only = rng.random((ROWS, 2))
    rows = list(range(100, 100 + ROWS))  # dataset rows are not array positions
    return PairedData(
        rows=rows,
        scores={
            "score": (score_a, score_b), "passes": (pass_a, pass_b),
            "nothing": (nothing, nothing.copy()), "a_only": (a_only, nothing.copy()),
        },
        latency=(np.ones((ROWS, 2)), np.ones((ROWS, 2))), cost=(nothing.copy(), nothing.copy()),
        records=({r: f"a{r}" for r in rows}, {r: f"b{r}" for r in rows}),
        status=({r: "ok" for r in rows}, {r: "ok" for r in rows}),
    )


def _stats(data: PairedData, guards=("passes",)):
    kinds = {"passes": "binary"}
    return compare(
        [
            PairedMetric(name, a, b, kind=kinds.get(name, "continuous"), guard=name in guards)
            for name, (a, b) in data.scores.items()
        ],
        resamples=300,
    )


def _annotations(fig: go.Figure) -> str:
    return " | ".join(a.text for a in fig.layout.annotations)


# -- distributions --------------------------------------------------------------------------


def test_distributions_overlay_each_sides_row_means():
    data = _data()
    fig = distributions(data, "score")
    assert [t.type for t in fig.data] == ["histogram", "histogram"] and fig.layout.barmode == "overlay"
    assert fig.data[0].name == "A (9 rows)" and fig.data[1].name == "B (10 rows)"
    a, b = data.scores["score"]
    assert sorted(fig.data[0].x) == pytest.approx(sorted(row_values(a)[~np.isnan(row_values(a))]))
    assert sorted(fig.data[1].x) == pytest.approx(sorted(row_values(b)))
    assert "mean over repeats" in fig.layout.xaxis.title.text


def test_distributions_of_a_metric_without_scores_show_a_note_instead():
    data = _data()
    for metric in ("nothing", "not a metric"):
        fig = distributions(data, metric)
        assert len(fig.data) == 0 and "No scores" in _annotations(fig)
    one_side = distributions(data, "a_only", names=("v1", "v2"))
    assert [t.name for t in one_side.data] == ["v1 (10 rows)"]
    assert "v2 has no score for a_only" in _annotations(one_side)


# -- paired scatter -------------------------------------------------------------------------


def test_paired_scatter_plots_b_against_a_with_the_diagonal_and_the_dataset_rows():
    data = _data()
    fig = paired_scatter(data, "score")
    diagonal, points = fig.data
    assert diagonal.mode == "lines" and list(diagonal.x) == list(diagonal.y)
    assert points.mode == "markers" and len(points.x) == ROWS - 1  # row 4 has no A score
    a, b = (row_values(v) for v in data.scores["score"])
    rows_shown = [int(c[0]) for c in points.customdata]
    assert 104 not in rows_shown and sorted(rows_shown) == [r for r in data.rows if r != 104]
    for x, y, (row, _count) in zip(points.x, points.y, points.customdata, strict=True):
        i = data.rows.index(int(row))
        assert (x, y) == pytest.approx((a[i], b[i]))
    assert min(diagonal.x) <= min(points.x) and max(diagonal.x) >= max(points.y)
    assert "dataset row" in points.hovertemplate
    assert "1 row(s) without a score on both sides" in _annotations(fig)


def test_rows_with_the_same_pair_of_values_share_one_marker_that_lists_them():
    fig = paired_scatter(_data(), "passes")
    points = fig.data[1]
    assert sorted(zip(points.x, points.y, strict=True)) == [(0.0, 1.0), (1.0, 1.0)]
    counts = {(x, y): c for x, y, (_, c) in zip(points.x, points.y, points.customdata, strict=True)}
    assert counts == {(1.0, 1.0): 5, (0.0, 1.0): 5}
    listed = {(x, y): rows for x, y, (rows, _) in zip(points.x, points.y, points.customdata, strict=True)}
    assert listed[(1.0, 1.0)] == "100, 102, 104, 106, 108"


def test_paired_scatter_without_paired_scores_shows_a_note_instead():
    data = _data()
    for metric in ("nothing", "a_only", "not a metric"):
        fig = paired_scatter(data, metric)
        assert len(fig.data) == 0 and fig.layout.annotations


# -- differences ----------------------------------------------------------------------------


def test_differences_draw_each_comparable_metric_on_its_own_axis_with_its_interval():
    data = _data()
    stats = _stats(data)
    fig = differences(stats)
    shown = [m for m in stats.metrics if m.comparable]
    assert [t.name for t in fig.data] == [m.name for m in shown] == ["score", "passes"]
    for i, (trace, m) in enumerate(zip(fig.data, shown, strict=True), start=1):
        scale = 100 if m.kind == "binary" else 1
        assert trace.x[0] == pytest.approx(m.difference.value * scale)
        assert trace.error_x.array[0] == pytest.approx((m.difference.high - m.difference.value) * scale)
        assert trace.error_x.arrayminus[0] == pytest.approx((m.difference.value - m.difference.low) * scale)
        assert trace.marker.color == DIRECTION_COLOURS.get(m.direction, NEUTRAL)
        axis = fig.layout["xaxis" if i == 1 else f"xaxis{i}"]
        low, high = axis.range
        assert low < min(0, m.difference.low * scale) and high > max(0, m.difference.high * scale)  # zero in view
    passes = fig.data[1]
    assert passes.y[0] == "passes (guard)" and passes.marker.symbol == "diamond"
    assert stats.metric("score").direction == "better" and fig.data[0].marker.color == DIRECTION_COLOURS["better"]
    assert stats.metric("passes").direction == "no significant difference" and passes.marker.color == NEUTRAL
    assert fig.layout.xaxis2.ticksuffix == " pp"
    zero_lines = [s for s in fig.layout.shapes if s.x0 == 0 and s.x1 == 0]
    assert len(zero_lines) == 2
    assert "own units" in fig.layout.xaxis2.title.text
    assert "Not comparable (not shown): nothing, a_only." in _annotations(fig)


def test_a_worse_metric_is_red_and_a_metric_without_an_interval_is_a_point():
    a = np.linspace(0, 1, 30)
    stats = compare([PairedMetric("drops", a, a - 0.2 - 0.01 * np.sin(a * 9))], resamples=0)
    trace = differences(stats).data[0]
    assert stats.metrics[0].direction == "worse" and trace.marker.color == DIRECTION_COLOURS["worse"]
    assert trace.error_x.array[0] == trace.error_x.arrayminus[0] == 0


def test_differences_with_nothing_comparable_show_a_note():
    nan = np.full(5, np.nan)
    fig = differences(compare([PairedMetric("x", nan, nan)]))
    assert len(fig.data) == 0 and "No metric could be compared (x)." in _annotations(fig)
    assert len(differences(compare([])).data) == 0


# -- win rates ------------------------------------------------------------------------------


def test_win_rates_show_b_and_a_wins_with_wilson_intervals_and_the_50_percent_line():
    data = _data()
    stats = _stats(data)
    fig = win_rates(stats)
    b_wins, a_wins = fig.data
    assert b_wins.name.startswith("B wins") and a_wins.name.startswith("A wins")
    shown = [m for m in stats.metrics if m.win_rate.rate is not None]
    assert list(b_wins.y) == ["score", "passes (guard)"] == [m.name + (" (guard)" if m.guard else "") for m in shown]
    for k, m in enumerate(shown):
        w = m.win_rate
        assert b_wins.x[k] == pytest.approx(100 * w.rate)
        assert b_wins.x[k] + b_wins.error_x.array[k] == pytest.approx(100 * w.high)
        assert b_wins.x[k] - b_wins.error_x.arrayminus[k] == pytest.approx(100 * w.low)
        n = w.wins + w.losses + w.ties
        _, high = wilson_interval(w.losses, n)
        assert a_wins.x[k] == pytest.approx(100 * w.losses / n)
        assert a_wins.x[k] + a_wins.error_x.array[k] == pytest.approx(100 * high)
    assert stats.metric("passes").win_rate.rate == 0.5 and b_wins.x[1] == 50  # ties: half the rows
    assert [s.x0 for s in fig.layout.shapes] == [50] and tuple(fig.layout.xaxis.range) == (-3, 103)
    assert "Not comparable (not shown): nothing, a_only." in _annotations(fig)


def test_win_rates_with_nothing_to_count_show_a_note():
    nan = np.full(5, np.nan)
    fig = win_rates(compare([PairedMetric("x", nan, nan), PairedMetric("y", nan, np.ones(5))]))
    assert len(fig.data) == 0 and "(x, y)" in _annotations(fig)


def test_every_figure_serialises_for_the_browser():
    data = _data()
    stats = _stats(data)
    figures = [differences(stats), win_rates(stats)]
    figures += [f(data, m) for m in data.scores for f in (distributions, paired_scatter)]
    for fig in figures:
        assert isinstance(fig, go.Figure) and "NaN" not in fig.to_json()


# -- on a real comparison -------------------------------------------------------------------


@pytest.mark.slow
def test_the_charts_of_a_real_comparison(real_comparison):
    comparisons, comparison_id = real_comparison
    data = comparisons.paired(comparison_id)
    stats = comparisons.statistics(comparison_id)
    assert data.rows == list(range(12))
    for metric in data.scores:
        assert [t.type for t in distributions(data, metric).data] == ["histogram", "histogram"]
        points = paired_scatter(data, metric).data[1]
        assert sum(c for _, c in points.customdata) == 12
    diff = differences(stats)
    assert [t.name for t in diff.data] == ["latency_s", "total_tokens", "no_refund"]
    refund = diff.data[2]
    assert refund.x[0] == pytest.approx(-100) and refund.marker.color == DIRECTION_COLOURS["worse"]
    assert refund.marker.symbol == "diamond"
    rates = win_rates(stats)
    assert list(rates.data[0].y) == ["latency_s", "total_tokens", "no_refund (guard)"]
    assert rates.data[0].x[2] == 0 and math.isclose(rates.data[1].x[2], 100)
