"""What every PromptForge PDF shares: Latin-1 text for the core Helvetica font, fitting and
wrapping text to a width, numbers and times as the reports print them, page-aware tables,
and simple charts drawn with fpdf2's own lines and rectangles (no plotting library, nothing
rendered outside the process).

Every text that reaches a page goes through ``latin1`` first (``fit``, ``wrap`` and the
table and chart helpers do it themselves), so a PDF never fails on model output or names.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

GREEN, RED, GREY, DARK, LIGHT = (46, 125, 50), (198, 40, 40), (117, 117, 117), (33, 33, 33), (236, 239, 241)
BLUE, AMBER, RULE = (38, 94, 160), (230, 145, 30), (200, 200, 200)

_REPLACEMENTS = {
    "\u2212": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2026": "...", "\u2265": ">=", "\u2264": "<=", "\u2260": "!=", "\u2248": "~", "\u00a0": " ",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2022": "*", "\u2192": "->", "\u2190": "<-", "\u2191": "^", "\u2193": "v",
    "\u2009": " ", "\u200b": "", "\u2032": "'", "\u2033": '"', "\u20ac": "EUR", "\u2122": "TM",
    "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0152": "OE", "\u0153": "oe", "\u0131": "i",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# ----------------------------------------------------------------------------- text


def latin1(text: Any) -> str:
    """``text`` made printable with a core PDF font: common Unicode punctuation spelled in
    Latin-1, accents kept where Latin-1 has them, anything else ``?``; control characters
    (but newlines) become spaces."""
    text = "" if text is None else str(text)
    text = "".join(_REPLACEMENTS.get(ch, ch) for ch in text)
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\t", " "))
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


def fit(pdf: FPDF, text: Any, width: float) -> str:
    """``text`` on one line, cut with "..." to fit ``width`` mm in the current font."""
    text = latin1(text).replace("\n", " ")
    room = width - 1.0
    if pdf.get_string_width(text) <= room:
        return text
    low, high = 0, min(len(text), int(width * 4))  # no core-font glyph is narrower than 0.25 mm at 4.5 pt
    while low < high:  # the longest cut that fits with its "..."
        middle = (low + high + 1) // 2
        if pdf.get_string_width(text[:middle].rstrip() + "...") <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "..."


def lines(pdf: FPDF, text: str, width: float) -> list[str]:
    """How ``multi_cell`` would break ``text`` at ``width`` mm in the current font."""
    return pdf.multi_cell(width, 4.0, text, dry_run=True, output=MethodReturnValue.LINES)


def wrap(pdf: FPDF, text: Any, width: float, *, max_lines: int) -> list[str]:
    """``text`` as printed lines ``width`` mm wide in the current font (with the cell margins
    ``multi_cell`` leaves), at most ``max_lines`` (the last then ends in "..."). Greedy breaks
    at spaces, a word wider than a line is cut; each word is measured once, so long texts wrap
    in linear time."""
    text = latin1(text).replace("\n", " ").strip()
    room = width - 2 * pdf.c_margin
    measure = _measure(pdf)
    space = measure(" ")
    found: list[str] = []
    current, used = "", 0.0
    words = text.split(" ")
    for k, word in enumerate(words):
        if not word:
            continue
        size = measure(word)
        if current and used + space + size <= room:
            current, used = current + " " + word, used + space + size
            continue
        if current:
            found.append(current)
            if len(found) == max_lines:
                found[-1] = fit(pdf, found[-1] + " " + " ".join(words[k:]), room + 1.0)
                return found
        while size > room:  # a word longer than a line: as much as fits, then the rest
            cut = _longest_prefix(measure, word, room)
            found.append(word[:cut])
            if len(found) == max_lines:
                found[-1] = fit(pdf, word, room + 1.0)
                return found
            word = word[cut:]
            size = measure(word)
        current, used = word, size
    if current:
        found.append(current)
    return found or [""]


def _measure(pdf: FPDF) -> Callable[[str], float]:
    """The width in mm of a Latin-1 text in the current font: from a core font's glyph widths
    directly (``get_string_width`` also runs bidirectional text analysis, 20 times slower),
    else through fpdf2."""
    font = pdf.current_font
    widths = getattr(font, "cw", None)
    if not isinstance(widths, dict) or getattr(font, "type", "") != "core":
        return pdf.get_string_width
    scale = pdf.font_size / 1000.0
    default = widths.get("?", 556)

    def measure(text: str) -> float:
        return sum(widths.get(ch, default) for ch in text) * scale

    return measure


def _longest_prefix(measure: Callable[[str], float], word: str, room: float) -> int:
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(word[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return low


def when(value: datetime | None) -> str:
    """A time as the reports print it: ``2026-03-04 05:06 UTC`` (naive times are UTC)."""
    if value is None:
        return "an unknown time"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def decimals(values: Iterable[float]) -> int:
    """Decimals giving the largest of ``values`` three significant digits (0 to 6)."""
    largest = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    if largest == 0:
        return 2
    return int(min(6, max(0, 2 - math.floor(math.log10(largest)))))


def number(value: float | None, digits: int | None = None) -> str:
    """A figure for a table: ``-`` for none, thousands separated, three significant digits
    unless ``digits`` says how many decimals."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, int) or (digits is None and float(value).is_integer()):
        return f"{int(value):,}"
    places = decimals([value]) if digits is None else digits
    return f"{value:,.{places}f}"


def share(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage with one decimal (``-`` when ``whole`` is 0)."""
    return "-" if not whole else f"{100.0 * part / whole:.1f}%"


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # mm
    align: str = "L"  # L | R | C


def table(
    pdf: FPDF,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    row_height: float = 4.6,
    font_size: float = 7.5,
    bottom: float | None = None,
    bold_first: bool = False,
) -> int:
    """Rows under a shaded heading, each cell cut to its column; a row that would cross
    ``bottom`` (default: the page's break line) starts a new page and repeats the heading.
    Returns the number of rows drawn."""
    bottom = pdf.page_break_trigger if bottom is None else bottom
    left = pdf.l_margin

    def heading() -> None:
        pdf.set_font("Helvetica", "B", font_size)
        pdf.set_fill_color(*LIGHT)
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.15)
        pdf.set_text_color(*DARK)
        pdf.set_x(left)
        for c in columns:
            pdf.cell(c.width, row_height + 0.6, fit(pdf, c.title, c.width), border="B", fill=True, align=c.align)
        pdf.ln(row_height + 0.6)

    if pdf.get_y() + 2 * row_height + 0.6 > bottom:
        pdf.add_page()
    heading()
    drawn = 0
    for row in rows:
        if pdf.get_y() + row_height > bottom:
            pdf.add_page()
            heading()
        pdf.set_x(left)
        for k, (c, value) in enumerate(zip(columns, row, strict=True)):
            pdf.set_font("Helvetica", "B" if bold_first and k == 0 else "", font_size)
            pdf.cell(c.width, row_height, fit(pdf, value, c.width), border="B", align=c.align)
        pdf.ln(row_height)
        drawn += 1
    return drawn


# ----------------------------------------------------------------------------- charts


def bar_chart(
    pdf: FPDF,
    items: Sequence[tuple[str, float]],
    *,
    width: float,
    title: str = "",
    colour: tuple[int, int, int] = BLUE,
    colours: Sequence[tuple[int, int, int]] | None = None,
    label_width: float = 48.0,
    bar_height: float = 4.2,
    value_text: Sequence[str] | None = None,
) -> float:
    """Horizontal bars, one per (label, value), the value printed at the bar's end; starts at
    the current position and leaves it under the chart; returns the height drawn. Values below
    zero draw as zero."""
    x0, y = pdf.get_x(), pdf.get_y()
    top = y
    if title:
        pdf.set_font("Helvetica", "B", 8)
        pdf.set_text_color(*DARK)
        pdf.set_xy(x0, y)
        pdf.cell(width, 4.5, fit(pdf, title, width))
        y += 5.0
    if not items:
        pdf.set_font("Helvetica", "I", 7.5)
        pdf.set_text_color(*GREY)
        pdf.set_xy(x0, y)
        pdf.cell(width, 4.0, "Nothing to show.")
        pdf.set_text_color(*DARK)
        return y + 4.5 - top
    largest = max((max(v, 0.0) for _, v in items), default=0.0) or 1.0
    value_w = 20.0
    track = max(width - label_width - value_w, 10.0)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    pdf.line(x0 + label_width, y, x0 + label_width, y + bar_height * len(items))
    for k, (label, value) in enumerate(items):
        pdf.set_font("Helvetica", "", 7)
        pdf.set_text_color(*DARK)
        pdf.set_xy(x0, y)
        pdf.cell(label_width - 1.5, bar_height, fit(pdf, label, label_width - 1.5), align="R")
        length = track * max(value, 0.0) / largest
        pdf.set_fill_color(*(colours[k % len(colours)] if colours else colour))
        if length > 0:
            pdf.rect(x0 + label_width, y + bar_height * 0.15, max(length, 0.4), bar_height * 0.7, style="F")
        pdf.set_font("Helvetica", "", 6.5)
        pdf.set_text_color(*GREY)
        pdf.set_xy(x0 + label_width + length + 1.0, y)
        text = value_text[k] if value_text is not None else number(value)
        pdf.cell(value_w, bar_height, fit(pdf, text, value_w))
        y += bar_height
    pdf.set_text_color(*DARK)
    pdf.set_xy(x0, y + 1.5)
    return y - top + 1.5


def column_chart(
    pdf: FPDF,
    items: Sequence[tuple[str, float]],
    *,
    width: float,
    height: float,
    title: str = "",
    colour: tuple[int, int, int] = BLUE,
    x_label: str = "",
    y_label: str = "",
    every: int | None = None,
) -> float:
    """Vertical columns side by side (a histogram, or counts per day): a y axis from 0 to the
    largest value with three ticks, the labels under the columns (every ``every``-th when they
    crowd). Starts at the current position; returns the height drawn."""
    x0, top = pdf.get_x(), pdf.get_y()
    y = top
    if title:
        pdf.set_font("Helvetica", "B", 8)
        pdf.set_text_color(*DARK)
        pdf.set_xy(x0, y)
        pdf.cell(width, 4.5, fit(pdf, title, width))
        y += 7.0  # the title, and room for the top tick's label
    axis_w = 14.0
    plot_x, plot_w = x0 + axis_w, width - axis_w - 2.0
    label_h = 7.5 if x_label else 4.0
    plot_h = max(height - (y - top) - label_h, 10.0)
    base = y + plot_h
    largest = max((max(v, 0.0) for _, v in items), default=0.0)
    scale_top = _nice_ceiling(largest) if largest > 0 else 1.0
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.15)
    pdf.set_font("Helvetica", "", 6)
    pdf.set_text_color(*GREY)
    for tick in (0.0, 0.5, 1.0):
        ty = base - plot_h * tick
        pdf.line(plot_x, ty, plot_x + plot_w, ty)
        pdf.set_xy(x0, ty - 1.8)
        pdf.cell(axis_w - 1.0, 3.6, tick_label(scale_top * tick), align="R")
    if y_label:
        with pdf.rotation(90, x0 + 1.5, base):
            pdf.set_xy(x0 + 1.5, base - 1.5)
            pdf.cell(plot_h, 3.0, fit(pdf, y_label, plot_h))
    n = max(len(items), 1)
    slot = plot_w / n
    gap = max(min(slot * 0.18, 1.2), slot - 14.0)  # a column is at most 14 mm wide, centred in its slot
    pdf.set_fill_color(*colour)
    for k, (_, value) in enumerate(items):
        h = plot_h * max(value, 0.0) / scale_top
        if h > 0:
            pdf.rect(plot_x + k * slot + gap / 2, base - h, max(slot - gap, 0.3), h, style="F")
    pdf.set_draw_color(*DARK)
    pdf.set_line_width(0.25)
    pdf.line(plot_x, base, plot_x + plot_w, base)
    if every is None:
        pdf.set_font("Helvetica", "", 5.8)
        widest = max((pdf.get_string_width(latin1(label)) for label, _ in items), default=1.0) + 1.5
        every = max(1, math.ceil(widest / slot))
    pdf.set_font("Helvetica", "", 5.8)
    pdf.set_text_color(*GREY)
    for k, (label, _) in enumerate(items):
        if k % every:
            continue
        room = slot * every
        pdf.set_xy(plot_x + k * slot + slot / 2 - room / 2, base + 0.5)
        pdf.cell(room, 3.0, fit(pdf, label, room + 1.0), align="C")
    if x_label:
        pdf.set_font("Helvetica", "", 6.5)
        pdf.set_xy(plot_x, base + 3.8)
        pdf.cell(plot_w, 3.2, fit(pdf, x_label, plot_w), align="C")
    pdf.set_text_color(*DARK)
    pdf.set_xy(x0, base + label_h)
    return base + label_h - top


def tick_label(value: float) -> str:
    """An axis value: whole numbers with thousands separators, else three significant digits."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3g}"


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value``."""
    power = 10 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power


def new_line(pdf: FPDF, height: float = 4.0) -> None:
    """Move to the left margin, ``height`` mm down."""
    pdf.set_xy(pdf.l_margin, pdf.get_y() + height)


__all__ = [
    "AMBER", "BLUE", "DARK", "GREEN", "GREY", "LIGHT", "RED", "RULE", "Column",
    "XPos", "YPos", "bar_chart", "column_chart", "decimals", "fit", "latin1", "lines", "new_line",
    "number", "share", "table", "tick_label", "when", "wrap",
]
