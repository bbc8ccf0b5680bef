"""Exports of an A/B comparison: the figures and the paired rows as CSV, the one-page PDF."""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import datetime

import numpy as np
import pytest

from evaluation.paired_stats import CostSamples, PairedMetric, compare
from execution.compare import Side
from reports.comparison import STATISTICS_COLUMNS, latin1, rows_csv, statistics_csv, summary_pdf
from storage.comparisons import ComparisonRow

WHEN = datetime(2026, 3, 4, 5, 6, 7)
NON_NUMBERS = {"nan", "-nan", "inf", "-inf", "infinity", "none", "null"}


# -- helpers --------------------------------------------------------------------------------


def _stats(n_metrics: int = 4, rows: int = 30, *, preferences=("a", "b", "b", "tie", "both_bad", "b"), costs=True):
    """``n_metrics`` metrics (continuous, binary, lower-is-better, a guard) plus one with no score."""
    rng = np.random.default_rng(7)
    metrics = []
    for i in range(n_metrics):
        if i % 3 == 2:
            a = (rng.random((rows, 2)) < 0.5).astype(float)
            b = (rng.random((rows, 2)) < 0.85).astype(float)
            metrics.append(PairedMetric(f"passes_{i}", a, b, kind="binary", guard=i == 2))
        else:
            a = rng.normal(5 * i + 1, 1, (rows, 2))
            b = a + rng.normal(0.9 if i % 2 else -0.6, 0.5, (rows, 2))
            metrics.append(PairedMetric(f"score_{i}", a, b, higher_is_better=bool(i % 4), guard=i == 1))
    metrics.append(PairedMetric("unscored", np.full((rows, 2), np.nan), np.full((rows, 2), np.nan)))
    cost = None
    if costs:
        cost = CostSamples(np.full(rows, 0.0012), np.full(rows, 0.0009), rng.random(rows), rng.random(rows))
    return compare(metrics, preferences=list(preferences) if preferences else None, costs=cost, resamples=500)


def _row(stats, *, title="faq: v1 (production) on offline vs v2 on offline", decision=None, guards=("score_1",)):
    return ComparisonRow(
        id="5ca1ab1e" * 4, title=title, slug="faq",
        side_a={"slug": "faq", "version": 1, "provider": "offline", "label": "production"},
        side_b={"slug": "faq", "version": 2, "provider": "offline", "label": None},
        dataset="questions", dataset_id="d1", total_rows=30, metrics=[], guards=list(guards), repeats=2,
        run_ids={"a": ["r1", "r2"], "b": ["r3", "r4"]}, reused=[], status="done", error=None,
        statistics=stats.to_dict(), decision=decision, decided_by="local:pat" if decision else None,
        decided_at=WHEN if decision else None, created_by="local:pat", created_at=WHEN,
    )


def _sides(row) -> tuple[Side, Side]:
    return Side.from_dict(row.side_a), Side.from_dict(row.side_b)


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _no_non_numbers(table: list[list[str]]) -> None:
    cells = [c.strip().lower() for line in table for c in line]
    assert not NON_NUMBERS & set(cells), sorted(NON_NUMBERS & set(cells))
    assert not any(re.search(r"\bnan\b", c) for c in cells)


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def _pdf_text(pdf: bytes) -> str:
    """The text shown on an uncompressed fpdf2 page (its ``(...) Tj`` operators), one space between."""
    shown = re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", pdf)
    text = " ".join(re.sub(rb"\\(.)", rb"\1", s).decode("latin-1") for s in shown)
    return " ".join(text.split())


def _flat(text: str) -> str:
    return " ".join(latin1(text).split())


def _close(cell: str, value) -> bool:
    if value is None:
        return cell == ""
    return math.isclose(float(cell), float(value), rel_tol=1e-12, abs_tol=1e-15)


# -- statistics CSV -------------------------------------------------------------------------


def test_statistics_csv_has_one_line_per_metric_with_the_figures_of_the_comparison():
    stats = _stats()
    table = _parse(statistics_csv(_row(stats), stats))
    header, lines = table[0], table[1:]
    assert tuple(header) == STATISTICS_COLUMNS and len(header) == 27
    assert len(lines) == len(stats.metrics) == 5 and all(len(line) == len(header) for line in lines)
    _no_non_numbers(table)
    for line in lines:
        got = dict(zip(header, line, strict=True))
        m = stats.metric(got["metric"])
        assert got["kind"] == m.kind and int(got["n_pairs"]) == m.n_pairs and got["direction"] == m.direction
        assert got["guard"] == ("true" if m.guard else "false")
        assert got["higher_is_better"] == ("true" if m.higher_is_better else "false")
        for column, value in [
            ("mean_a", m.mean_a.value), ("mean_a_low", m.mean_a.low), ("mean_a_high", m.mean_a.high),
            ("mean_b", m.mean_b.value), ("mean_b_low", m.mean_b.low), ("mean_b_high", m.mean_b.high),
            ("difference", m.difference.value), ("difference_low", m.difference.low),
            ("difference_high", m.difference.high), ("effect_size", m.effect_size),
            ("statistic", m.test.statistic), ("p_value", m.test.p_value), ("p_holm", m.test.p_holm),
            ("win_rate", m.win_rate.rate), ("win_rate_low", m.win_rate.low), ("win_rate_high", m.win_rate.high),
            ("stability_a", m.stability_a.share), ("stability_b", m.stability_b.share),
            ("min_detectable_difference", m.power.min_detectable),
        ]:
            assert _close(got[column], value), (m.name, column, got[column], value)
        assert got["test"] == (m.test.name or "")
        assert got["notes"] == "; ".join(m.notes)
    unscored = dict(zip(header, lines[-1], strict=True))
    assert unscored["metric"] == "unscored" and unscored["direction"] == "not comparable"
    assert unscored["difference"] == unscored["p_holm"] == unscored["win_rate"] == unscored["test"] == ""
    assert unscored["notes"].startswith("Not comparable")


def test_a_metric_named_like_a_formula_is_neutralised_in_the_statistics():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    stats = compare([PairedMetric("=cmd|'/c calc'!A1", a, a + 1), PairedMetric("-drop", a, a - 0.5)], resamples=100)
    lines = _parse(statistics_csv(_row(stats, guards=()), stats))[1:]
    assert [line[0] for line in lines] == ["'=cmd|'/c calc'!A1", "'-drop"]
    assert float(lines[1][STATISTICS_COLUMNS.index("difference")]) == -0.5  # numbers keep their sign


# -- rows CSV -------------------------------------------------------------------------------


def _paired_rows():
    return [
        {
            "dataset_row": 0, "record_a": "ra0", "record_b": "rb0", "status_a": "ok", "status_b": "ok",
            "input_a": "q0", "input_b": "q0",
            "output_a": "Fine, thanks.", "output_b": "=HYPERLINK(\"http://evil\",\"click\")",
            "metrics": {"score": (0.5, -0.25), "passes": (1.0, 0.0)}, "guard_regressed": True,
            "preferences": [
                {"dataset_row": 0, "actor": "system:pat", "preference": "b", "comment": "", "recorded_at": WHEN},
                {"dataset_row": 0, "actor": "system:lee", "preference": "tie", "comment": "=1+1 both fine",
                 "recorded_at": WHEN},
            ],
        },
        {
            "dataset_row": 1, "record_a": "ra1", "record_b": None, "status_a": "ok", "status_b": None,
            "input_a": "q1", "input_b": None, "output_a": "+44 20 7946 0000\nsecond line, \"quoted\"",
            "output_b": None, "metrics": {"score": (float("nan"), None)}, "guard_regressed": False,
            "preferences": [],
        },
        {
            "dataset_row": 2, "record_a": "ra2", "record_b": "rb2", "status_a": "error", "status_b": "ok",
            "input_a": "q2", "input_b": "q2", "output_a": "@SUM(A1:A9)", "output_b": "-5 apples\tand\rmore",
            "metrics": {"score": (None, 1.0), "passes": (None, 1.0)}, "guard_regressed": False,
            "preferences": [{"dataset_row": 2, "actor": "system:pat", "preference": "both_bad", "comment": "meh",
                             "recorded_at": WHEN}],
        },
    ]


def test_rows_csv_has_one_line_per_paired_row_and_both_sides_of_each_metric():
    table = _parse(rows_csv(_paired_rows(), ["score", "passes"]))
    header, lines = table[0], table[1:]
    assert header == [
        "dataset_row", "record_a", "record_b", "status_a", "status_b", "output_a", "output_b",
        "score_a", "score_b", "passes_a", "passes_b", "preferences", "comments",
    ]
    assert len(lines) == 3 and all(len(line) == len(header) for line in lines)
    _no_non_numbers(table)
    first, second, third = (dict(zip(header, line, strict=True)) for line in lines)
    assert first["dataset_row"] == "0" and first["record_b"] == "rb0"
    assert (float(first["score_a"]), float(first["score_b"])) == (0.5, -0.25)  # a number is never escaped
    assert (first["passes_a"], first["passes_b"]) == ("1", "0")
    assert first["preferences"] == "system:pat=b; system:lee=tie"
    assert first["comments"] == "system:lee: =1+1 both fine"
    assert second["record_b"] == second["status_b"] == second["output_b"] == ""
    assert second["score_a"] == second["score_b"] == second["passes_a"] == second["passes_b"] == ""
    assert second["preferences"] == second["comments"] == ""
    assert third["score_a"] == "" and third["score_b"] == "1"
    assert third["preferences"] == "system:pat=both_bad" and third["comments"] == "system:pat: meh"


def test_model_output_that_a_spreadsheet_would_run_is_neutralised():
    lines = _parse(rows_csv(_paired_rows(), ["score"]))[1:]
    out_a, out_b = 5, 6
    assert lines[0][out_b] == "'=HYPERLINK(\"http://evil\",\"click\")"
    # newlines and quotes survive the round trip
    assert lines[1][out_a] == "'+44 20 7946 0000\nsecond line, \"quoted\""
    assert lines[2][out_a] == "'@SUM(A1:A9)" and lines[2][out_b] == "'-5 apples\tand\rmore"
    assert lines[0][out_a] == "Fine, thanks."  # ordinary text is untouched
    for line in lines:
        for cell in line:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or re.fullmatch(r"-\d+(\.\d+)?(e-?\d+)?", cell), cell


def test_metric_names_in_the_rows_header_are_neutralised_too():
    rows = [{"dataset_row": 0, "metrics": {"=x": (1.0, 2.0)}, "preferences": []}]
    header, line = _parse(rows_csv(rows, ["=x"]))
    assert header[7:9] == ["'=x_a", "'=x_b"] and line[7:9] == ["1", "2"]


# -- PDF ------------------------------------------------------------------------------------


def test_the_summary_is_one_a4_page_with_the_verdict_table_chart_and_decision():
    stats = _stats(12)
    reason = "B is clearer − fewer refunds promised…"
    decision = {"action": "request_production", "reason": reason, "request_id": "f00d" * 8}
    row = _row(stats, decision=decision)
    pdf = summary_pdf(row, stats, _sides(row), generated_at=WHEN, compress=False)
    assert pdf.startswith(b"%PDF-") and _pages(pdf) == 1
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4 portrait
    text = _pdf_text(pdf)
    assert _flat(stats.verdict()) in text
    assert _flat(row.title) in text
    assert "Created by local:pat on 2026-03-04 05:06 UTC" in text
    assert "v1 (production) on offline" in text and "v2 on offline" in text
    assert "dataset questions, 30 rows (30 paired); 2 repeats per side" in text
    for m in stats.metrics:
        assert m.name in text
    assert "score_1 [guard]" in text and "not comparable" in text and "no data (not comparable)" in text
    assert "Difference B - A with 95% interval" in text
    assert "Reviewer preferences:" in text and "A better 1, B better 3, tie 1, both bad 1." in text
    assert "Cost per 1,000 requests:" in text and "A $1.20, B $0.900" in text
    assert "Request production for B, by local:pat on 2026-03-04 05:06 UTC" in text
    assert "Reason: B is clearer - fewer refunds promised..." in text
    assert f"Generated by PromptForge on 2026-03-04 05:06 UTC; scores from comparison {row.id}" in text


def test_the_summary_stays_on_one_page_with_long_texts_and_unicode_everywhere():
    stats = _stats(12)
    long_reason = "Because B is clearer for customers − and cheaper… ≥ 2 reviewers agree 🙂 " * 30
    title = "Migration ≥ v2 “quoted” — 漢字 🚀 " * 6
    row = _row(stats, title=title, decision={"action": "keep_a", "reason": long_reason})
    sides = (Side("faq", 1, "offline", "prod…"), Side("faq", 2, "gpt−4o “mini”"))
    pdf = summary_pdf(row, stats, sides, compress=False)
    assert pdf.startswith(b"%PDF-") and _pages(pdf) == 1
    text = _pdf_text(pdf)
    assert _flat(stats.verdict()) in text and "Keep A, by local:pat" in text
    assert "v2 on gpt-4o \"mini\"" in text and "Migration >= v2 \"quoted\" - ?? ? Migration" in text
    assert text.count("Because B is clearer") < 30  # the reason is cut to a few lines, not spilled over


def test_the_default_pdf_is_compressed_and_one_page():
    stats = _stats(3, preferences=None, costs=False)
    row = _row(stats)
    pdf = summary_pdf(row, stats, _sides(row))
    assert pdf.startswith(b"%PDF-") and _pages(pdf) == 1 and b"/FlateDecode" in pdf
    assert stats.verdict().encode("latin-1", "replace")[:30] not in pdf  # the page content is compressed


def test_a_comparison_without_metrics_preferences_costs_or_decision_still_has_a_summary():
    stats = compare([])
    row = _row(stats, guards=())
    pdf = summary_pdf(row, stats, _sides(row), compress=False)
    text = _pdf_text(pdf)
    assert _pages(pdf) == 1 and _flat(stats.verdict()) in text
    assert "Reviewer preferences" not in text and "Decision:" not in text


def test_latin1_spells_common_unicode_and_replaces_the_rest():
    assert latin1("B − A … ≥ 0 ≤ 1 “x” ‘y’ — café\x00\tend") == "B - A ... >= 0 <= 1 \"x\" 'y' - café  end"
    assert latin1("漢字 🙂 ﬁ Łódź čœ") == "?? ? fi Lódz coe"
    assert latin1(None) == ""


# -- on a real comparison -------------------------------------------------------------------




@pytest.mark.slow
def test_a_real_comparison_exports_its_figures_rows_and_summary(real_comparison):
    comparisons, comparison_id = real_comparison
    row = comparisons.get(comparison_id)
    stats = comparisons.statistics(comparison_id)
    names = list(comparisons.paired(comparison_id).scores)
    assert names == ["latency_s", "total_tokens", "no_refund"]

    figures = _parse(statistics_csv(row, stats))
    assert len(figures) == 1 + 3 and all(len(line) == len(STATISTICS_COLUMNS) for line in figures)
    _no_non_numbers(figures)
    by_name = {line[0]: dict(zip(figures[0], line, strict=True)) for line in figures[1:]}
    refund = by_name["no_refund"]
    assert refund["guard"] == "true" and refund["kind"] == "binary" and refund["direction"] == "worse"
    assert _close(refund["difference"], stats.metric("no_refund").difference.value)
    assert _close(by_name["total_tokens"]["p_holm"], stats.metric("total_tokens").test.p_holm)

    rows, total = comparisons.rows(comparison_id, limit=100)
    table = _parse(rows_csv(rows, names))
    assert total == 12 and len(table) == 1 + 12 and all(len(line) == 7 + 2 * 3 + 2 for line in table)
    _no_non_numbers(table)
    header = table[0]
    first = dict(zip(header, table[1], strict=True))
    assert first["preferences"] == "system:pat=b; system:lee=tie"
    assert first["comments"] == "system:lee: =1+1 reads the same"
    assert first["output_a"].startswith("[offline simulation]")
    assert (float(first["no_refund_a"]), float(first["no_refund_b"])) == (1.0, 0.0)
    assert dict(zip(header, table[4], strict=True))["preferences"] == "system:pat=a"

    pdf = summary_pdf(row, stats, comparisons.sides(row), compress=False)
    text = _pdf_text(pdf)
    assert pdf.startswith(b"%PDF-") and _pages(pdf) == 1
    assert _flat(stats.verdict()) in text and "guard metric no_refund regressed" in text.lower()
    assert "Request production for B, by system:pat" in text and "Reason: B is clearer - we accept" in text
    assert f"scores from comparison {comparison_id}" in text
