"""Exports of an A/B comparison: the figures and the paired rows as CSV, and a one-page PDF
summary a product manager can file with the decision.

Pure functions of what ``execution.compare.Comparisons`` returns (the stored row, the
``evaluation.paired_stats.Comparison`` figures, the sides and a page of paired rows); no
I/O and no permission checks here: the caller has already read the comparison through the
service, which checked them.

* CSV cells never say "nan": a figure that cannot be computed is an empty cell.
* Text cells (model output, comments, notes, names) that a spreadsheet would read as a
  formula (starting with ``= + - @``, a tab or a carriage return) get a leading apostrophe.
* The PDF uses the core Helvetica font only, so every text is first made Latin-1
  (``−`` becomes ``-``, ``…`` becomes ``...``, ``≥`` becomes ``>=``, anything else
  unencodable ``?``); it never fails on model text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from evaluation.paired_stats import BETTER, WORSE, Comparison, Estimate, MetricComparison
from reports.csv_cells import cell as _cell
from reports.csv_cells import text_cell as _text_cell
from reports.pdf_common import DARK as _DARK
from reports.pdf_common import GREEN as _GREEN
from reports.pdf_common import GREY as _GREY
from reports.pdf_common import LIGHT as _LIGHT
from reports.pdf_common import RED as _RED
from reports.pdf_common import decimals as _decimals
from reports.pdf_common import fit as _fit
from reports.pdf_common import latin1
from reports.pdf_common import lines as _lines
from reports.pdf_common import when as _when
from reports.pdf_common import wrap as _wrap
from storage.comparisons import DECISIONS, PREFERENCE_NAMES

if TYPE_CHECKING:
    from storage.comparisons import ComparisonRow

STATISTICS_COLUMNS = (
    "metric", "kind", "guard", "higher_is_better", "n_pairs",
    "mean_a", "mean_a_low", "mean_a_high",
    "mean_b", "mean_b_low", "mean_b_high",
    "difference", "difference_low", "difference_high",
    "effect_size", "test", "statistic", "p_value", "p_holm",
    "win_rate", "win_rate_low", "win_rate_high",
    "direction", "stability_a", "stability_b", "min_detectable_difference", "notes",
)


# ----------------------------------------------------------------------------- CSV


def statistics_csv(row: ComparisonRow, stats: Comparison) -> str:
    """One line per metric with every figure of ``stats`` (see ``STATISTICS_COLUMNS``)."""
    guards = set(row.guards or ())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(STATISTICS_COLUMNS)
    for m in stats.metrics:
        writer.writerow([
            _text_cell(m.name),
            _text_cell(m.kind),
            _cell(m.guard or m.name in guards),
            _cell(m.higher_is_better),
            _cell(m.n_pairs),
            *_estimate_cells(m.mean_a),
            *_estimate_cells(m.mean_b),
            *_estimate_cells(m.difference),
            _cell(m.effect_size),
            _text_cell(m.test.name),
            _cell(m.test.statistic),
            _cell(m.test.p_value),
            _cell(m.test.p_holm),
            _cell(m.win_rate.rate),
            _cell(m.win_rate.low),
            _cell(m.win_rate.high),
            _text_cell(m.direction),
            _cell(m.stability_a.share),
            _cell(m.stability_b.share),
            _cell(m.power.min_detectable),
            _text_cell("; ".join(m.notes)),
        ])
    return out.getvalue()


def rows_csv(rows: list[dict[str, Any]], metric_names: list[str]) -> str:
    """One line per paired row (as ``Comparisons.rows`` gives them): records, statuses, both
    outputs, ``<metric>_a`` and ``<metric>_b`` per metric (mean over repeats), the
    preferences (``actor=label; ...``) and the reviewers' comments (``actor: text; ...``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["dataset_row", "record_a", "record_b", "status_a", "status_b", "output_a", "output_b"]
    for name in metric_names:
        header += [f"{name}_a", f"{name}_b"]
    writer.writerow([_text_cell(h) for h in [*header, "preferences", "comments"]])
    for r in rows:
        metrics = r.get("metrics") or {}
        values: list[str] = []
        for name in metric_names:
            a, b = metrics.get(name, (None, None))
            values += [_cell(a), _cell(b)]
        prefs = r.get("preferences") or []
        writer.writerow([
            _cell(r.get("dataset_row")),
            *(_text_cell(r.get(k)) for k in ("record_a", "record_b", "status_a", "status_b", "output_a", "output_b")),
            *values,
            _text_cell("; ".join(f"{p.get('actor')}={p.get('preference')}" for p in prefs)),
            _text_cell("; ".join(f"{p.get('actor')}: {p.get('comment')}" for p in prefs if p.get("comment"))),
        ])
    return out.getvalue()


def _estimate_cells(e: Estimate) -> list[str]:
    return [_cell(e.value), _cell(e.low), _cell(e.high)]


# ----------------------------------------------------------------------------- PDF

_MARGIN, _TOP, _FOOTER_Y = 14.0, 12.0, 287.0
_CHART_HEAD = 8.5  # the chart's title and key
_WIDTH = 210.0 - 2 * _MARGIN
_TABLE = (  # (heading, width in mm): 182 mm in all
    ("Metric", 46), ("A mean", 20), ("B mean", 20), ("Difference B - A [95% interval]", 48),
    ("p (Holm)", 16), ("Direction", 32),
)
def summary_pdf(
    row: ComparisonRow,
    stats: Comparison,
    sides: tuple,
    *,
    generated_at: datetime | None = None,
    compress: bool = True,
) -> bytes:
    """A one-page A4 summary of the comparison (see the module docstring). ``sides`` is
    ``(A, B)`` as ``Comparisons.sides`` gives them (anything with ``display``);
    ``compress=False`` leaves the page content readable (for tests and debugging)."""
    generated_at = generated_at or datetime.now(UTC)
    side_a, side_b = sides
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_compression(compress)
    pdf.set_auto_page_break(False)  # one page, always: every section is measured and capped
    pdf.set_margins(_MARGIN, _TOP, _MARGIN)
    pdf.set_title(latin1(row.title))
    pdf.set_creator("PromptForge")
    pdf.set_subject(latin1(f"A/B comparison {row.id}"))
    pdf.add_page()

    # -- title and facts
    pdf.set_text_color(*_DARK)
    pdf.set_font("Helvetica", "B", 15)
    _paragraph(pdf, row.title, 6.5, max_lines=2)
    pdf.ln(1)
    pdf.set_font("Helvetica", "", 8.5)
    status = f"; status {row.status}" if row.status != "done" else ""
    _paragraph(pdf, f"Created by {row.created_by} on {_when(row.created_at)}{status}.", 4.2, max_lines=1)
    _paragraph(pdf, f"A (baseline): {side_a.display}    B (candidate): {side_b.display}", 4.2, max_lines=2)
    pairs = max((m.n_pairs for m in stats.metrics), default=0)
    repeats = f"{row.repeats} repeat{'s' if row.repeats != 1 else ''} per side"
    _paragraph(
        pdf,
        f"Prompt {row.slug}; dataset {row.dataset}, {row.total_rows} rows ({pairs} paired); {repeats}.",
        4.2, max_lines=2,
    )
    pdf.ln(2)

    # -- verdict
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(_WIDTH, 5.5, "Verdict", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    pdf.set_fill_color(*_LIGHT)
    _paragraph(pdf, stats.verdict(), 4.3, max_lines=14, fill=True)
    pdf.ln(2.5)

    # -- table of metrics
    n = len(stats.metrics)
    table_h = 4.8 if n <= 14 else max(3.4, 67.0 / n)
    _table(pdf, stats.metrics, table_h)

    # -- what follows the chart, measured first so the chart takes the room that is left
    pdf.set_font("Helvetica", "", 8.5)
    tail = _tail(pdf, row, stats)
    tail_h = sum(2.0 + 4.0 * len(lines) for _, lines in tail)
    chart_top = pdf.get_y() + 2.5
    room = _FOOTER_Y - 4.0 - tail_h - 1.0 - chart_top - _CHART_HEAD - 0.8
    _chart(pdf, stats.metrics, chart_top, room)

    # -- preferences, cost and latency, decision
    pdf.set_y(pdf.get_y() + 1.0)
    for heading, lines in tail:
        pdf.ln(2.0)
        for k, line in enumerate(lines):
            if k == 0 and line.startswith(f"{heading}:"):  # the heading in bold, then the text
                label, line = line[: len(heading) + 1] + " ", line[len(heading) + 1 :].lstrip()
                pdf.set_font("Helvetica", "B", 8.5)
                width = pdf.get_string_width(label)
                pdf.cell(width, 4.0, label)
            else:
                width = 0.0
            pdf.set_font("Helvetica", "", 8.5)
            pdf.cell(_WIDTH - width, 4.0, _fit(pdf, line, _WIDTH - width), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # -- footer
    pdf.set_font("Helvetica", "", 7)
    pdf.set_text_color(*_GREY)
    pdf.set_draw_color(*_GREY)
    pdf.set_line_width(0.2)
    pdf.line(_MARGIN, _FOOTER_Y - 1.5, _MARGIN + _WIDTH, _FOOTER_Y - 1.5)
    pdf.set_xy(_MARGIN, _FOOTER_Y)
    footer = f"Generated by PromptForge on {_when(generated_at)}; scores from comparison {row.id}"
    pdf.cell(_WIDTH, 3.5, _fit(pdf, footer, _WIDTH))
    return bytes(pdf.output())


def _paragraph(pdf: FPDF, text: str, height: float, *, max_lines: int, fill: bool = False) -> None:
    """Wrapped text over the full width, cut to ``max_lines`` (the last line ends in "...")."""
    text = latin1(text).strip()
    lines = _lines(pdf, text, _WIDTH)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _fit(pdf, lines[-1] + " ...", _WIDTH)
        text = "\n".join(lines)
    pdf.multi_cell(_WIDTH, height, text, fill=fill, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(pdf: FPDF, metrics: Sequence[MetricComparison], height: float) -> None:
    pdf.set_font("Helvetica", "B", 7.5)
    pdf.set_fill_color(*_LIGHT)
    pdf.set_draw_color(200, 200, 200)
    pdf.set_line_width(0.15)
    for k, (title, width) in enumerate(_TABLE):
        pdf.cell(width, 5.0, title, border="B", fill=True, align="L" if k == 0 else "R")
    pdf.ln(5.0)
    pdf.set_font("Helvetica", "", 7.5)
    for m in metrics:
        name = m.name + ("*" if not m.higher_is_better else "") + (" [guard]" if m.guard else "")
        cells = [name, *_table_figures(m), _p(m.test.p_holm), m.direction]
        for k, (text, (_, width)) in enumerate(zip(cells, _TABLE, strict=True)):
            if k == len(cells) - 1:
                pdf.set_text_color(*_direction_colour(m.direction))
            pdf.set_font("Helvetica", "B" if k == 0 and m.guard else "", 7.5)
            pdf.cell(width, height, _fit(pdf, text, width), border="B", align="L" if k == 0 else "R")
        pdf.set_text_color(*_DARK)
        pdf.ln(height)
    pdf.set_font("Helvetica", "", 6.5)
    pdf.set_text_color(*_GREY)
    pdf.cell(
        _WIDTH, 3.6,
        _fit(pdf, "[guard]: B must not regress on it.  *: lower is better.  Binary metrics: pass rates (%), "
             "differences in percentage points (pp).  Intervals: paired bootstrap.  p: Holm-corrected.", _WIDTH),
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )
    pdf.set_text_color(*_DARK)


def _table_figures(m: MetricComparison) -> list[str]:
    """A mean, B mean and 'difference [low, high]' of one metric, as the table shows them."""
    if not m.comparable or m.difference.value is None:
        return ["-", "-", "not comparable"]
    scale = 100.0 if m.kind == "binary" else 1.0
    means = [v * scale for v in (m.mean_a.value, m.mean_b.value) if v is not None]
    digits = _decimals(means)
    unit = "%" if m.kind == "binary" else ""
    a = f"{m.mean_a.value * scale:.{digits}f}{unit}" if m.mean_a.value is not None else "-"
    b = f"{m.mean_b.value * scale:.{digits}f}{unit}" if m.mean_b.value is not None else "-"
    d = m.difference
    shown = [x * scale for x in (d.value, d.low, d.high) if x is not None]
    dd = _decimals(shown)
    text = f"{d.value * scale:+.{dd}f}"
    if d.low is not None and d.high is not None:
        text += f" [{d.low * scale:.{dd}f}, {d.high * scale:.{dd}f}]"
    return [a, b, text + (" pp" if m.kind == "binary" else "")]


def _chart(pdf: FPDF, metrics: Sequence[MetricComparison], top: float, room: float) -> None:
    """Difference B − A with its interval, one row per metric on its own scale (zero always
    in view), drawn with lines and rectangles."""
    pdf.set_xy(_MARGIN, top)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(_WIDTH, 5.0, "Difference B - A with 95% interval", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 6.5)
    pdf.set_text_color(*_GREY)
    pdf.cell(
        _WIDTH, 3.5,
        "Each row has its own scale (its interval and zero; ends labelled); the dark tick is zero. "
        "Green: B better, red: B worse, grey: no significant difference.",
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )
    pdf.set_text_color(*_DARK)
    n = max(len(metrics), 1)
    step = min(6.0, max(3.0, room / n))
    label_w, end_w = 46.0, 20.0
    x0 = _MARGIN + label_w + end_w
    track = _WIDTH - label_w - 2 * end_w
    y = pdf.get_y() + 0.8
    for m in metrics:
        mid = y + step / 2
        pdf.set_font("Helvetica", "B" if m.guard else "", 7)
        pdf.set_xy(_MARGIN, y)
        pdf.cell(label_w, step, _fit(pdf, m.name + (" [guard]" if m.guard else ""), label_w))
        d = m.difference
        if not m.comparable or d.value is None:
            pdf.set_text_color(*_GREY)
            pdf.set_xy(x0, y)
            pdf.cell(track, step, "no data (not comparable)", align="C")
            pdf.set_text_color(*_DARK)
            y += step
            continue
        low = d.low if d.low is not None else d.value
        high = d.high if d.high is not None else d.value
        lo, hi = min(low, 0.0, d.value), max(high, 0.0, d.value)
        if hi - lo <= 0:
            lo, hi = -1.0, 1.0
        pad = (hi - lo) * 0.08
        lo, hi = lo - pad, hi + pad

        def at(v: float, lo: float = lo, hi: float = hi) -> float:
            return x0 + (v - lo) / (hi - lo) * track

        pdf.set_draw_color(210, 210, 210)
        pdf.set_line_width(0.2)
        pdf.line(x0, mid, x0 + track, mid)
        pdf.set_draw_color(*_DARK)
        pdf.set_line_width(0.35)
        tick = min(step * 0.42, 2.2)
        pdf.line(at(0.0), mid - tick, at(0.0), mid + tick)
        colour = _direction_colour(m.direction)
        pdf.set_fill_color(*colour)
        bar = min(step * 0.28, 1.4)
        pdf.rect(at(low), mid - bar / 2, max(at(high) - at(low), 0.3), bar, style="F")
        dot = min(step * 0.5, 2.2)
        pdf.rect(at(d.value) - dot / 2, mid - dot / 2, dot, dot, style="F")
        scale = 100.0 if m.kind == "binary" else 1.0
        unit = " pp" if m.kind == "binary" else ""
        digits = _decimals([lo * scale, hi * scale])
        pdf.set_font("Helvetica", "", 6)
        pdf.set_text_color(*_GREY)
        pdf.set_xy(_MARGIN + label_w, y)
        pdf.cell(end_w - 1, step, f"{lo * scale:.{digits}f}", align="R")
        pdf.set_xy(x0 + track + 1, y)
        pdf.cell(end_w - 1, step, f"{hi * scale:.{digits}f}{unit}", align="L")
        pdf.set_text_color(*_DARK)
        y += step
    pdf.set_xy(_MARGIN, y)


def _tail(pdf: FPDF, row: ComparisonRow, stats: Comparison) -> list[tuple[str, list[str]]]:
    """The sections under the chart as (heading, printed lines); the first line of each starts
    with "heading:". Measured in the current (regular) font with room for the bold heading."""
    sections: list[tuple[str, list[str]]] = []

    def add(heading: str, paragraphs: list[str], max_lines: int) -> None:
        lines: list[str] = []
        for k, text in enumerate(paragraphs):
            lines += _wrap(pdf, f"{heading}: {text}" if k == 0 else text, _WIDTH - 3.0, max_lines=max_lines)
        sections.append((heading, lines))

    p = stats.preferences
    if p is not None and sum(p.counts.values()):
        text = ", ".join(f"{PREFERENCE_NAMES[k]} {p.counts.get(k, 0)}" for k in PREFERENCE_NAMES) + "."
        if p.b_win_rate.value is not None:
            text += f" B preferred in {p.b_win_rate.value:.0%} of {p.decisive} decisive judgements"
            if p.b_win_rate.low is not None and p.b_win_rate.high is not None:
                text += f" [95% interval {p.b_win_rate.low:.0%} to {p.b_win_rate.high:.0%}]"
            text += f"; sign test {_p_text(p.test.p_value)}."
        else:
            text += " No decisive judgement."
        add("Reviewer preferences", [text], 2)
    c = stats.costs
    if c is not None:
        k = c.cost_per_1k
        cost = f"A {_money(k.a)}, B {_money(k.b)}"
        if k.difference:  # none, or zero: nothing to add
            cost += f" (B - A: {'+' if k.difference >= 0 else '-'}{_money(abs(k.difference))}"
            cost += f", {k.relative_pct:+.0f}%)" if k.relative_pct is not None else ")"
        lat = f"Latency per request: mean A {_seconds(c.latency_mean.a)}, B {_seconds(c.latency_mean.b)}; "
        lat += f"median A {_seconds(c.latency_p50.a)}, B {_seconds(c.latency_p50.b)}."
        add("Cost per 1,000 requests", [cost + ".", lat], 1)
    if row.decision:
        action = row.decision.get("action", "")
        head = f"{DECISIONS.get(action, action)}, by {row.decided_by or 'unknown'} on {_when(row.decided_at)}"
        if row.decision.get("request_id"):
            head += f" (production request {str(row.decision['request_id'])[:12]})"
        reason = row.decision.get("reason") or ""
        add("Decision", [head + ".", f"Reason: {reason}"], 3)
    return sections


def _direction_colour(direction: str) -> tuple[int, int, int]:
    return _GREEN if direction == BETTER else _RED if direction == WORSE else _GREY


def _p_text(p: float | None) -> str:
    return "no p-value" if p is None else f"p {_p(p)}" if p < 0.001 else f"p = {_p(p)}"


def _p(p: float | None) -> str:
    if p is None:
        return "-"
    return "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def _money(x: float | None) -> str:
    if x is None:
        return "unknown"
    if x == 0:
        return "$0"
    return f"${x:,.2f}" if abs(x) >= 1 else f"${x:.{_decimals([x])}f}"


def _seconds(x: float | None) -> str:
    if x is None:
        return "unknown"
    return f"{x:.{_decimals([x])}f} s" if x else "0 s"
