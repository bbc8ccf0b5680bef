"""The compliance PDF: what ran in a period, what the guards did, who reviewed and approved
what, and the controls an auditor asks for, in one A4 document.

``write_pdf_report(engine, scope, path, generated_by=..., settings=...)`` writes it. Its parts:

* a cover: the scope (dates, prompts, versions, queues, reviewers, flags, ...), who made the
  report, when (UTC), and the database (its URL without a password);
* Summary: runs by status, flag and block rates, runs per day (or week, or month), runs per
  prompt version;
* PII and injection: entities scrubbed per type from prompts and answers, injection verdicts;
* Metrics: per metric the runs scored, mean, nearest-rank median and 95th percentile, range
  and a histogram; human scores (metrics named ``human_*``) apart;
* Review: per queue the items in scope, reviews, reviewers, adjudications, the answers to
  each rubric item and the agreement between reviewers (``review.agreement``);
* Production labels: label moves from TruLens's label history with requester and approver,
  and the label requests made or decided in the period;
* Controls: account and role changes in the period and the accounts now, the PII and
  injection policy in force, the last stored security benchmark, the audit chain's head and
  the result of verifying it;
* optionally an appendix: one compact block per run in scope (oldest first, at most
  ``APPENDIX_LIMIT``; the report says when it stopped there).

Every figure is an SQL aggregate (``storage.compliance``), so the report reads a few hundred
rows whatever the number of runs; the appendix reads the runs a page at a time. Only what
the database holds is printed, and it holds scrubbed text only; free text people typed
without it being scrubbed (label request reasons and notes, review comments, the text of a
search) is left out. Every text passes through ``reports.pdf_common.latin1``: the PDF never
fails on odd characters.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fpdf import FPDF

from config.errors import InputError, PromptForgeError
from reports.pdf_common import (
    AMBER,
    BLUE,
    DARK,
    GREEN,
    GREY,
    LIGHT,
    RED,
    RULE,
    Column,
    bar_chart,
    column_chart,
    fit,
    latin1,
    number,
    share,
    table,
    when,
    wrap,
)
from storage import compliance
from storage.compliance import NOT_SCREENED, MetricSummary, QueueAnnotations
from storage.engine import storage_errors
from storage.run_filter import RunFilter

TITLE = "PromptForge compliance report"
SECTIONS = ("Summary", "PII and injection", "Metrics", "Review and agreement", "Production labels", "Controls")
APPENDIX = "Appendix: runs"
APPENDIX_LIMIT = 5_000  # runs in the appendix at most (about 600 pages); the report says when it stops there
APPENDIX_PAGE = 250  # runs read per query
TEXT_CHARS = 300  # characters of a run's scrubbed input or output shown in the appendix
AGREEMENT_MAX_REVIEWS = 200_000  # reviews of one queue that agreement reads at most
TABLE_LIMIT = 200  # rows of a listing (label moves, requests, account events, accounts)
VERSIONS_SHOWN = 30
NO_RUNS = "No runs matched this scope."

_MARGIN, _TOP, _BOTTOM = 16.0, 18.0, 16.0
_WIDTH = 210.0 - 2 * _MARGIN
_HALF = (_WIDTH - 6.0) / 2

Progress = Callable[[int, int, str], None]


def write_pdf_report(
    engine: sa.Engine,
    scope: RunFilter,
    path: Path,
    *,
    generated_by: str,
    settings,
    appendix: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the compliance report of the runs ``scope`` selects to ``path`` (replaced whole
    when done; a failure leaves no partial file). ``scope.start`` and ``scope.end`` bound the
    period (naive UTC, end exclusive) for everything else the report shows (label moves,
    account events, audit events). ``progress(done, total, what)`` is called as sections are
    written. Returns ``{"path", "pages", "bytes", "sections", "counts", "appendix"}``."""
    if scope.start is None or scope.end is None:
        raise InputError("The report needs a period: a start and an end date.", "Choose both dates of the period.")
    path = Path(path)
    generated_at = datetime.now(UTC)
    with storage_errors(engine), engine.connect() as conn:
        totals = compliance.run_totals(conn, scope)
    runs = totals["runs"]
    appendix_runs = min(runs, APPENDIX_LIMIT) if appendix else 0
    appendix_steps = math.ceil(appendix_runs / APPENDIX_PAGE) if appendix_runs else (1 if appendix else 0)
    total_steps = 1 + len(SECTIONS) + appendix_steps + 1
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total_steps, what)

    pdf = _Document(scope, generated_by, generated_at)
    counts: dict[str, Any] = {"runs": runs}
    with storage_errors(engine):
        with engine.connect() as conn:
            names = compliance.queue_names(conn, scope.queues)
        _cover(pdf, scope, totals, generated_by, generated_at, settings.display_database_url(), names, appendix)
        step("cover")
        with engine.connect() as conn:
            counts.update(_summary(pdf, conn, scope, totals))
        step("summary")
        with engine.connect() as conn:
            counts.update(_pii_and_injection(pdf, conn, scope, totals))
        step("PII and injection")
        with engine.connect() as conn:
            counts.update(_metrics(pdf, conn, scope, totals))
        step("metrics")
        with engine.connect() as conn:
            counts.update(_review(pdf, conn, scope))
        step("review")
        with engine.connect() as conn:
            counts.update(_labels(pdf, conn, scope))
        step("production labels")
        counts.update(_controls(pdf, engine, scope, settings))
        step("controls")
        shown = capped = 0
        if appendix:
            shown, capped = _appendix(pdf, engine, scope, runs, step)
    sections = [*SECTIONS, *([APPENDIX] if appendix else [])]
    size = _save(pdf, path)
    step("saved")
    return {
        "path": str(path),
        "pages": pdf.pages_count,
        "bytes": size,
        "sections": sections,
        "counts": counts,
        "appendix": {"included": appendix, "runs": shown, "capped": bool(capped), "limit": APPENDIX_LIMIT},
        "generated_at": generated_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


# ----------------------------------------------------------------------------- the document


class _Document(FPDF):
    """A4 portrait with a running header (title and period) and a footer (who, when, page x of y)."""

    def __init__(self, scope: RunFilter, generated_by: str, generated_at: datetime) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.period = _period(scope)
        self.footer_text = f"Generated by {generated_by} on {when(generated_at)}"
        self.section = ""
        self.set_margins(_MARGIN, _TOP, _MARGIN)
        self.set_auto_page_break(True, margin=_BOTTOM)
        self.set_title(TITLE)
        self.set_author(latin1(generated_by))
        self.set_creator("PromptForge")
        self.set_subject(latin1(f"Compliance report, {self.period}"))
        self.set_creation_date(generated_at)

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font("Helvetica", "", 7)
        self.set_text_color(*GREY)
        self.set_xy(_MARGIN, 8.0)
        self.cell(_WIDTH / 2, 4.0, fit(self, f"{TITLE}, {self.period}", _WIDTH / 2))
        self.cell(_WIDTH / 2, 4.0, fit(self, self.section, _WIDTH / 2), align="R")
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.line(_MARGIN, 12.5, _MARGIN + _WIDTH, 12.5)
        self.set_text_color(*DARK)
        self.set_xy(_MARGIN, _TOP)

    def footer(self) -> None:
        self.set_font("Helvetica", "", 7)
        self.set_text_color(*GREY)
        self.set_xy(_MARGIN, 297.0 - 10.0)
        self.cell(_WIDTH * 0.75, 4.0, fit(self, self.footer_text, _WIDTH * 0.75))
        self.cell(_WIDTH * 0.25, 4.0, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(*DARK)

    # -- building blocks

    @property
    def bottom(self) -> float:
        return self.page_break_trigger

    def room(self) -> float:
        return self.bottom - self.get_y()

    def ensure(self, height: float) -> None:
        """A new page unless ``height`` mm fit below the current position."""
        if self.room() < height:
            self.add_page()

    def heading(self, text: str) -> None:
        """A section: always on a new page."""
        self.section = text
        self.add_page()
        self.set_font("Helvetica", "B", 15)
        self.set_text_color(*DARK)
        self.cell(_WIDTH, 8.0, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*BLUE)
        self.set_line_width(0.6)
        self.line(_MARGIN, self.get_y() + 0.5, _MARGIN + 30.0, self.get_y() + 0.5)
        self.set_y(self.get_y() + 4.0)

    def subheading(self, text: str, need: float = 30.0) -> None:
        """A part of a section, kept with at least ``need`` mm of what follows."""
        self.ensure(need + 9.0)
        self.set_y(self.get_y() + 2.5)
        self.set_x(_MARGIN)
        self.set_font("Helvetica", "B", 10.5)
        self.set_text_color(*DARK)
        self.cell(_WIDTH, 6.0, fit(self, text, _WIDTH), new_x="LMARGIN", new_y="NEXT")
        self.set_y(self.get_y() + 0.8)

    def para(self, text: str, *, size: float = 8.5, colour=DARK, style: str = "", max_lines: int = 12) -> None:
        """A paragraph over the full width."""
        self.set_x(_MARGIN)
        self.set_font("Helvetica", style, size)
        self.set_text_color(*colour)
        for line in wrap(self, text, _WIDTH, max_lines=max_lines):
            if self.get_y() + size * 0.5 > self.bottom:
                self.add_page()
            self.set_x(_MARGIN)
            self.cell(_WIDTH, size * 0.5, line, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*DARK)

    def note(self, text: str, max_lines: int = 6) -> None:
        self.para(text, size=7, colour=GREY, max_lines=max_lines)

    def gap(self, mm: float = 3.0) -> None:
        self.set_xy(_MARGIN, self.get_y() + mm)

    def facts(self, rows: list[tuple[str, str]], *, key_width: float = 46.0, size: float = 8.5, max_lines: int = 4) -> None:
        """Key: value lines; long values wrap under themselves."""
        line_h = size * 0.52
        for key, value in rows:
            self.set_font("Helvetica", "", size)
            wrapped = wrap(self, value, _WIDTH - key_width, max_lines=max_lines)
            self.ensure(line_h * len(wrapped) + 1.0)
            y = self.get_y()
            self.set_xy(_MARGIN, y)
            self.set_font("Helvetica", "B", size)
            self.set_text_color(*GREY)
            self.cell(key_width, line_h, fit(self, key, key_width))
            self.set_font("Helvetica", "", size)
            self.set_text_color(*DARK)
            for k, line in enumerate(wrapped):
                self.set_xy(_MARGIN + key_width, y + k * line_h)
                self.cell(_WIDTH - key_width, line_h, line)
            self.set_xy(_MARGIN, y + line_h * len(wrapped) + 0.6)

    def tiles(self, items: list[tuple[str, str, str]]) -> None:
        """Key figures in boxes, four to a row: (figure, label, detail)."""
        per_row, h = 4, 17.0
        w = (_WIDTH - (per_row - 1) * 3.0) / per_row
        for start in range(0, len(items), per_row):
            self.ensure(h + 3.0)
            y = self.get_y()
            for k, (figure, label, detail) in enumerate(items[start : start + per_row]):
                x = _MARGIN + k * (w + 3.0)
                self.set_fill_color(*LIGHT)
                self.rect(x, y, w, h, style="F")
                self.set_xy(x + 2.5, y + 2.0)
                self.set_font("Helvetica", "B", 13)
                self.set_text_color(*DARK)
                self.cell(w - 5.0, 6.0, fit(self, figure, w - 5.0))
                self.set_xy(x + 2.5, y + 8.5)
                self.set_font("Helvetica", "", 7.5)
                self.cell(w - 5.0, 3.6, fit(self, label, w - 5.0))
                self.set_xy(x + 2.5, y + 12.2)
                self.set_font("Helvetica", "", 6.5)
                self.set_text_color(*GREY)
                self.cell(w - 5.0, 3.2, fit(self, detail, w - 5.0))
            self.set_text_color(*DARK)
            self.set_xy(_MARGIN, y + h + 3.0)

    def side_by_side(self, left: Callable[[float, float], float], right: Callable[[float, float], float], need: float) -> None:
        """Two blocks drawn from the same top, ``left`` at the margin and ``right`` beside it;
        each is called with (x, width) and returns its height."""
        self.ensure(need)
        top = self.get_y()
        self.set_xy(_MARGIN, top)
        h1 = left(_MARGIN, _HALF)
        self.set_xy(_MARGIN + _HALF + 6.0, top)
        h2 = right(_MARGIN + _HALF + 6.0, _HALF)
        self.set_xy(_MARGIN, top + max(h1, h2) + 2.0)


def _period(scope: RunFilter) -> str:
    """``2026-03-01 to 2026-03-31`` for whole days, times otherwise (the end is exclusive)."""
    start, end = scope.start, scope.end
    if start.time() == end.time() == datetime.min.time():
        last = (end - timedelta(days=1)).date()
        return f"{start.date()} to {last}" if last != start.date() else f"{start.date()}"
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC (end excluded)"


def _save(pdf: FPDF, path: Path) -> int:
    """Write the document next to ``path``, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        pdf.output(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.stat().st_size


# ----------------------------------------------------------------------------- cover


def scope_lines(scope: RunFilter, queue_names: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The scope as (what, value) lines for the cover; filters not set read "all"."""
    names = queue_names or {}
    lines = [("Period (UTC)", _period(scope))]
    lines.append(("Prompts", ", ".join(scope.prompts) or "all"))
    lines.append(("Versions", ", ".join(f"{a}@{v}" for a, v in scope.versions) or "all"))
    if scope.providers:
        lines.append(("Providers", ", ".join(scope.providers)))
    if scope.statuses:
        lines.append(("Statuses", ", ".join(scope.statuses)))
    lines.append(("Flags", ", ".join(scope.flags) or "any (not filtered)"))
    lines.append(("Review queues", ", ".join(names.get(q, q) for q in scope.queues) or "all"))
    lines.append(("Reviewers", ", ".join(scope.reviewers) or "all"))
    if scope.metrics:
        bounds = []
        for b in scope.metrics:
            low = "-inf" if b.low is None else f"{b.low:g}"
            high = "inf" if b.high is None else f"{b.high:g}"
            bounds.append(f"{b.name} in [{low}, {high}]")
        lines.append(("Metric ranges", "; ".join(bounds)))
    if scope.annotated is not None:
        lines.append(("Annotated", "only annotated runs" if scope.annotated else "only runs nobody annotated"))
    if scope.actors:
        lines.append(("Run by", ", ".join(scope.actors)))
    if scope.batch_id:
        lines.append(("Batch", scope.batch_id))
    if scope.text:
        n = len(scope.words)
        lines.append(("Text search", f"{n} word{'s' if n != 1 else ''} (the words are not printed)"))
    return lines


def _cover(
    pdf: _Document, scope: RunFilter, totals: dict[str, Any], generated_by: str, generated_at: datetime,
    database: str, names: dict[str, str], appendix: bool,
) -> None:
    pdf.add_page()
    pdf.set_fill_color(*BLUE)
    pdf.rect(0, 0, 210, 8, style="F")
    pdf.set_xy(_MARGIN, 42)
    pdf.set_font("Helvetica", "", 11)
    pdf.set_text_color(*GREY)
    pdf.cell(_WIDTH, 6, "PromptForge", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 24)
    pdf.set_text_color(*DARK)
    pdf.cell(_WIDTH, 12, "Compliance report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 13)
    pdf.cell(_WIDTH, 7, latin1(pdf.period), new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(0.8)
    pdf.line(_MARGIN, pdf.get_y() + 3, _MARGIN + 40, pdf.get_y() + 3)
    pdf.set_y(pdf.get_y() + 10)

    pdf.set_font("Helvetica", "B", 10.5)
    pdf.cell(_WIDTH, 6, "Scope", new_x="LMARGIN", new_y="NEXT")
    pdf.facts(scope_lines(scope, names))
    pdf.gap(2)
    runs = totals["runs"]
    matched = NO_RUNS if runs == 0 else f"{runs:,} run{'s' if runs != 1 else ''}"
    if runs:
        matched += f", {_span(totals)}"
    pdf.facts([("Runs in scope", matched)])
    pdf.gap(4)
    pdf.set_font("Helvetica", "B", 10.5)
    pdf.cell(_WIDTH, 6, "This report", new_x="LMARGIN", new_y="NEXT")
    pdf.facts([
        ("Generated by", generated_by),
        ("Generated at", generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("Database", database),
        ("Contents", ", ".join([*SECTIONS, *([APPENDIX] if appendix else [])])),
    ])
    pdf.gap(6)
    pdf.note(
        "Every figure is computed by the database over the runs in scope. Texts are printed as stored: "
        "scrubbed of personal data by the pipeline before they were recorded. Free text people typed that "
        "was not scrubbed (reasons for label moves, review comments) is left out. Times are UTC."
    )


def _span(totals: dict[str, Any]) -> str:
    first, last = totals.get("first"), totals.get("last")
    if first is None or last is None:
        return ""
    return f"the first at {first:%Y-%m-%d %H:%M}, the last at {last:%Y-%m-%d %H:%M}"


# ----------------------------------------------------------------------------- summary


def _summary(pdf: _Document, conn: sa.Connection, scope: RunFilter, totals: dict[str, Any]) -> dict[str, Any]:
    pdf.heading("Summary")
    runs = totals["runs"]
    if runs == 0:
        pdf.para(NO_RUNS + " The sections that follow show the controls of the period; run figures are empty.")
        return {"statuses": {}, "flagged": 0, "blocked": 0}
    pii = compliance.runs_with_pii(conn, scope)
    cost = totals.get("cost_usd")
    pdf.tiles([
        (f"{runs:,}", "runs", f"{totals['prompts']:,} prompts, {totals['actors']:,} people or services"),
        (share(totals["ok"], runs), "answered", f"{_runs(totals['ok'])} with status ok"),
        (share(totals["blocked"], runs), "blocked", f"{_runs(totals['blocked'])} stopped by a policy"),
        (share(totals["errors"], runs), "failed", f"{_runs(totals['errors'])} with an error"),
        (share(totals["flagged"], runs), "flagged (injection)", f"{_runs(totals['flagged'])} went ahead, marked"),
        (share(pii["in"], runs), "PII in the prompt", f"{_runs(pii['in'])} with entities scrubbed"),
        (share(pii["out"], runs), "PII in the answer", f"{_runs(pii['out'])} with entities scrubbed"),
        (
            f"{totals['mean_latency_s']:.2f} s" if totals.get("mean_latency_s") is not None else "-",
            "mean latency",
            f"{totals['tokens']:,} tokens" + (f", ${cost:,.2f}" if cost else ""),
        ),
    ])
    days = compliance.runs_per_day(conn, scope)
    bars, unit = _time_buckets(days, scope)
    pdf.subheading(f"Runs per {unit}", need=48)
    pdf.set_x(_MARGIN)
    column_chart(pdf, bars, width=_WIDTH, height=46, colour=BLUE, y_label="runs", x_label=f"{unit} (UTC)")
    pdf.gap(2)

    statuses = compliance.runs_by_status(conn, scope)
    pdf.subheading("Runs by status", need=8 + 5 * len(statuses))
    colours = {"ok": GREEN, "blocked": AMBER, "error": RED}

    def status_table(x: float, w: float) -> float:
        top = pdf.get_y()
        pdf.set_left_margin(x)
        table(pdf, [Column("Status", w * 0.45), Column("Runs", w * 0.3, "R"), Column("Share", w * 0.25, "R")],
              [(s, f"{n:,}", share(n, runs)) for s, n in statuses])
        pdf.set_left_margin(_MARGIN)
        return pdf.get_y() - top

    def status_chart(x: float, w: float) -> float:
        return bar_chart(pdf, statuses, width=w, label_width=22, colours=[colours.get(s, GREY) for s, _ in statuses])

    pdf.side_by_side(status_table, status_chart, need=10 + 5 * len(statuses))
    versions, total_versions = compliance.runs_by_version(conn, scope, VERSIONS_SHOWN)
    pdf.subheading("Runs per prompt version", need=20)
    table(
        pdf,
        [Column("Prompt version", 62), Column("Runs", 20, "R"), Column("OK", 20, "R"), Column("Blocked", 20, "R"),
         Column("Errors", 18, "R"), Column("Flagged", 18, "R"), Column("Mean latency", 20, "R")],
        [
            (f"{v['app_name']}@{v['app_version']}", f"{v['runs']:,}", f"{int(v['ok'] or 0):,}", f"{int(v['blocked'] or 0):,}",
             f"{int(v['errors'] or 0):,}", f"{int(v['flagged'] or 0):,}",
             f"{v['mean_latency_s']:.2f} s" if v["mean_latency_s"] is not None else "-")
            for v in versions
        ],
    )
    if total_versions > len(versions):
        pdf.note(f"The {len(versions)} versions with the most runs of {total_versions:,}.")
    return {
        "statuses": dict(statuses), "flagged": totals["flagged"], "blocked": totals["blocked"],
        "errors": totals["errors"], "runs_with_pii": pii, "versions": total_versions,
    }


def _runs(n: int) -> str:
    return f"{n:,} run{'s' if n != 1 else ''}"


def _time_buckets(days: list[tuple[date, int, int, int]], scope: RunFilter) -> tuple[list[tuple[str, float]], str]:
    """Runs per day over the period (every day shown, zero or not); per week (Mondays) above
    62 days, per month above 62 weeks."""
    first = scope.start.date()
    last = (scope.end - timedelta(microseconds=1)).date()
    span = (last - first).days + 1
    counts = {d: n for d, n, _, _ in days}
    if span <= 62:
        out = []
        for k in range(span):
            d = first + timedelta(days=k)
            out.append((f"{d:%m-%d}", float(counts.get(d, 0))))
        return out, "day"
    if span <= 62 * 7:
        start = first - timedelta(days=first.weekday())
        weeks: dict[date, int] = {}
        for d, n in counts.items():
            monday = d - timedelta(days=d.weekday())
            weeks[monday] = weeks.get(monday, 0) + n
        out, monday = [], start
        while monday <= last:
            out.append((f"{monday:%m-%d}", float(weeks.get(monday, 0))))
            monday += timedelta(days=7)
        return out, "week (from Monday)"
    months: dict[tuple[int, int], int] = {}
    for d, n in counts.items():
        months[(d.year, d.month)] = months.get((d.year, d.month), 0) + n
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append((f"{y}-{m:02d}", float(months.get((y, m), 0))))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out, "month"


# ----------------------------------------------------------------------------- PII and injection


def _pii_and_injection(pdf: _Document, conn: sa.Connection, scope: RunFilter, totals: dict[str, Any]) -> dict[str, Any]:
    pdf.heading("PII and injection")
    runs = totals["runs"]
    types = compliance.pii_by_type(conn, scope) if runs else []
    pdf.subheading("PII scrubbed by entity type", need=20)
    if not runs:
        pdf.para(NO_RUNS)
    elif not types:
        pdf.para("No personal data was scrubbed from the runs in scope.")
    else:
        pdf.note(
            "Entities the scrubber replaced, by type: in prompts (before the model saw them) and in answers "
            "(before they were shown or stored); 'runs' counts runs with at least one."
        )
        table(
            pdf,
            [Column("Entity type", 52), Column("Prompt entities", 26, "R"), Column("Prompt runs", 24, "R"),
             Column("Answer entities", 26, "R"), Column("Answer runs", 24, "R"), Column("Total", 26, "R")],
            [
                (t["entity_type"], f"{t['in']:,}", f"{t['in_runs']:,}", f"{t['out']:,}", f"{t['out_runs']:,}",
                 f"{t['in'] + t['out']:,}")
                for t in types
            ],
            bold_first=True,
        )
        pdf.gap(3)
        pdf.ensure(12 + 4.2 * min(len(types), 25))
        pdf.set_x(_MARGIN)
        bar_chart(pdf, [(t["entity_type"], t["in"] + t["out"]) for t in types[:25]], width=_WIDTH,
                  title="Entities scrubbed per type (prompts and answers)", label_width=52)
        if len(types) > 25:
            pdf.note(f"The chart shows the 25 most frequent of {len(types)} types; the table shows all.")

    verdicts = compliance.injection_verdicts(conn, scope) if runs else []
    pdf.subheading("Injection screening verdicts", need=30)
    if not runs:
        pdf.para(NO_RUNS)
    else:
        pdf.note(
            "allow: the screen found nothing; flag: the run went ahead, marked for review; block: the policy "
            f"stopped the run before the model call. '{NOT_SCREENED}': no verdict was recorded (the run failed "
            "before screening)."
        )
        colours = {"allow": GREEN, "flag": AMBER, "block": RED}

        def verdict_table(x: float, w: float) -> float:
            top = pdf.get_y()
            pdf.set_left_margin(x)
            table(pdf, [Column("Verdict", w * 0.45), Column("Runs", w * 0.3, "R"), Column("Share", w * 0.25, "R")],
                  [(v, f"{n:,}", share(n, runs)) for v, n in verdicts])
            pdf.set_left_margin(_MARGIN)
            return pdf.get_y() - top

        def verdict_chart(x: float, w: float) -> float:
            return bar_chart(pdf, verdicts, width=w, label_width=24, colours=[colours.get(v, GREY) for v, _ in verdicts])

        pdf.side_by_side(verdict_table, verdict_chart, need=10 + 5 * len(verdicts))
    return {
        "pii_by_type": {t["entity_type"]: {"in": t["in"], "out": t["out"]} for t in types},
        "injection": dict(verdicts),
    }


# ----------------------------------------------------------------------------- metrics


def _metrics(pdf: _Document, conn: sa.Connection, scope: RunFilter, totals: dict[str, Any]) -> dict[str, Any]:
    pdf.heading("Metrics")
    summaries = compliance.metric_summaries(conn, scope) if totals["runs"] else []
    if not summaries:
        pdf.para(NO_RUNS if not totals["runs"] else "No metric was recorded for the runs in scope.")
        return {"metrics": {}}
    pdf.note(
        "Per metric: runs with a score, runs where it could not be computed, the mean, the median (p50) and 95th "
        "percentile (nearest rank), and the range. Lower is better where marked *. Human scores are the reviewers' "
        "answers stored as metrics (human_*)."
    )
    automated = [s for s in summaries if not s.human]
    human = [s for s in summaries if s.human]
    for title, group in (("Automated metrics", automated), ("Human scores", human)):
        if not group:
            continue
        pdf.subheading(title, need=20)
        table(
            pdf,
            [Column("Metric", 46), Column("Scored", 17, "R"), Column("Not computed", 19, "R"), Column("Mean", 18, "R"),
             Column("p50", 18, "R"), Column("p95", 18, "R"), Column("Min", 21, "R"), Column("Max", 21, "R")],
            [
                (s.name + ("" if s.higher_is_better else " *"), f"{s.n:,}", f"{s.unavailable + s.errors:,}",
                 number(s.mean), number(s.p50), number(s.p95), number(s.minimum), number(s.maximum))
                for s in group
            ],
            bold_first=True,
        )
        pdf.gap(2)
        charts = [s for s in group if s.n]
        histograms = compliance.metric_histograms(conn, scope, charts)
        for k in range(0, len(charts), 2):
            pair = charts[k : k + 2]
            blocks = [_histogram_block(pdf, s, histograms.get(s.name, [])) for s in pair]
            if len(blocks) == 1:
                blocks.append(lambda x, w: 0.0)
            pdf.side_by_side(blocks[0], blocks[1], need=50)
    return {"metrics": {s.name: {"n": s.n, "mean": s.mean, "p50": s.p50} for s in summaries}}


def _histogram_block(pdf: _Document, summary: MetricSummary, bars: list[tuple[str, int]]):
    per_value = summary.distinct <= compliance.DISTINCT_LIMIT

    def draw(x: float, w: float) -> float:
        pdf.set_x(x)
        return column_chart(
            pdf, [(label, float(n)) for label, n in bars], width=w, height=46,
            title=f"{summary.name} ({summary.n:,} runs)", colour=BLUE if not summary.human else GREEN,
            y_label="runs", x_label="value" if per_value else "bin from (equal width)",
        )

    return draw


# ----------------------------------------------------------------------------- review


def _review(pdf: _Document, conn: sa.Connection, scope: RunFilter) -> dict[str, Any]:
    pdf.heading("Review and agreement")
    queues = compliance.annotation_queues(conn, scope)
    if not queues:
        pdf.para("No run in scope is queued for review or annotated.")
        return {"queues": {}}
    pdf.note(
        "Per review queue: its runs in scope, how many have every review they want, the reviewers' current "
        "annotations (corrections replace what they correct), and the lead reviewers' adjudications."
    )
    table(
        pdf,
        [Column("Queue", 40), Column("Rubric", 32), Column("Runs", 16, "R"), Column("Complete", 18, "R"),
         Column("Reviews", 18, "R"), Column("Reviewers", 18, "R"), Column("Adjudicated", 18, "R"),
         Column("Corrected", 18, "R")],
        [
            (q.name, q.rubric, f"{q.items:,}", f"{q.complete:,}", f"{q.reviews:,}", f"{q.reviewers:,}",
             f"{q.adjudications:,}", f"{q.corrected:,}")
            for q in queues
        ],
        bold_first=True,
    )
    out: dict[str, Any] = {}
    for queue in queues:
        out[queue.name] = _queue(pdf, conn, scope, queue)
    return {"queues": out}


def _queue(pdf: _Document, conn: sa.Connection, scope: RunFilter, queue: QueueAnnotations) -> dict[str, Any]:
    from review.rubrics import Rubric

    pdf.subheading(f"Queue {queue.name} (rubric {queue.rubric})", need=30)
    stored = compliance.newest_rubric(conn, queue.rubric)
    if stored is None:
        pdf.para(f"The rubric {queue.rubric!r} is not stored; answers cannot be read item by item.")
        return {"reviews": queue.reviews}
    try:
        rubric = Rubric.from_dict(stored[0])
    except PromptForgeError as exc:
        pdf.para(f"The stored rubric {queue.rubric!r} cannot be read ({exc.message}).")
        return {"reviews": queue.reviews}
    answers_rows = []
    for item in rubric.scored_items:
        counts = compliance.answer_counts(conn, scope, queue.queue_id, item.name, boolean=item.kind == "boolean")
        if counts is None:
            stats = compliance.answer_stats(conn, scope, queue.queue_id, item.name)
            text = f"{stats['n']:,} answers: mean {number(stats['mean'])}, from {number(stats['min'])} to {number(stats['max'])}"
        else:
            if item.kind == "numeric":
                counts = sorted(counts, key=lambda c: _as_float(c[0]))
            text = ", ".join(f"{_answer_label(item, a)}: {n:,}" for a, n in counts) or "no answers"
        answers_rows.append((item.title or item.name, text))
    agreement, note = _agreement(conn, scope, queue, rubric)
    pdf.para("Answers (current reviews)", size=8, style="B")
    table(pdf, [Column("Rubric item", 58), Column("Answers: count per answer", _WIDTH - 58)], answers_rows)
    pdf.gap(2)
    pdf.ensure(20)
    pdf.para("Agreement between reviewers", size=8, style="B")
    if note:
        pdf.note(note)
    if agreement:
        table(
            pdf,
            [Column("Rubric item", 52), Column("Level", 18), Column("Reviewers", 18, "R"), Column("Runs", 18, "R"),
             Column("% agree", 18, "R"), Column("Cohen's kappa", 22, "R"), Column("Krippendorff's alpha", 32, "R")],
            [
                (a.item, a.level, f"{a.reviewers}", f"{a.units:,}", _percent(a.percent_agreement),
                 _figure(a.cohen_kappa), _figure(a.krippendorff_alpha))
                for a in agreement
            ],
        )
        notes = list(dict.fromkeys(n for a in agreement for n in a.notes if "kappa needs exactly 2" not in n))
        if notes:
            pdf.note(
                "Runs: runs with two or more reviews. '-': not defined for these reviews. "
                + " ".join(n[0].upper() + n[1:] + ("" if n.endswith(".") else ".") for n in notes[:6]),
                max_lines=6,
            )
    return {
        "reviews": queue.reviews,
        "agreement": {a.item: a.krippendorff_alpha for a in agreement},
    }


def _agreement(conn: sa.Connection, scope: RunFilter, queue: QueueAnnotations, rubric) -> tuple[list, str]:
    """Agreement per scored item over the queue's current reviews of runs in scope (each
    reviewer's one current review per run), or a note saying why there is none."""
    from review.agreement import queue_agreement

    n = compliance.count_current_reviews(conn, scope, queue.queue_id)
    if n == 0:
        return [], "No reviews yet."
    if n > AGREEMENT_MAX_REVIEWS:
        return [], (
            f"Not computed: {n:,} reviews are more than the report reads for one queue "
            f"({AGREEMENT_MAX_REVIEWS:,}); narrow the period or read agreement on the Review page."
        )
    names = [item.name for item in rubric.scored_items]
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for record_id, reviewer, scores in compliance.current_reviews(conn, scope, queue.queue_id):
        latest[(record_id, reviewer)] = scores
    by_item: dict[str, list] = {name: [] for name in names}
    for (record_id, reviewer), scores in latest.items():
        for name in names:
            value = scores.get(name)
            if value is not None:
                by_item[name].append((record_id, reviewer, value))
    del latest
    try:
        return queue_agreement(rubric, by_item), ""
    except PromptForgeError as exc:
        return [], f"Not computed: {exc.message} (reviews made under an older version of the rubric?)"


def _answer_label(item, answer: str) -> str:
    if item.kind == "boolean":
        return {"true": "yes", "false": "no"}.get(answer, answer)
    if item.kind == "numeric":
        value = _as_float(answer)
        return number(value) if math.isfinite(value) else answer
    return answer


def _as_float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.inf


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# ----------------------------------------------------------------------------- production labels


def _labels(pdf: _Document, conn: sa.Connection, scope: RunFilter) -> dict[str, Any]:
    pdf.heading("Production labels")
    moves, total_moves = compliance.label_moves(conn, scope.start, scope.end, scope.prompts, TABLE_LIMIT)
    requests, by_status = compliance.label_requests(conn, scope.start, scope.end, scope.prompts, TABLE_LIMIT)
    pdf.note(
        "Label moves in the period from TruLens's label history, each with the request that led to it: who asked "
        "and who approved (two people for production; an emergency move by an admin is confirmed afterwards by an "
        "approver). The label 'latest', which follows every new version by itself, is left out. Reasons and notes "
        "are free text that is not scrubbed, so they are not printed here."
    )
    pdf.subheading("Label moves", need=20)
    if not moves:
        pdf.para("No label moved in the period.")
    else:
        table(
            pdf,
            [Column("Time (UTC)", 28), Column("Prompt", 36), Column("Label", 20), Column("From", 11, "R"),
             Column("To", 11, "R"), Column("Moved by", 25), Column("Requested by", 25), Column("Approved by", 22)],
            [
                (f"{m.at:%Y-%m-%d %H:%M}", m.slug, m.label + (" (emergency)" if m.emergency else ""),
                 f"v{m.from_version}" if m.from_version else "-", f"v{m.to_version}" if m.to_version else "-",
                 m.moved_by or "-", m.requested_by or "-", m.approved_by or "-")
                for m in moves
            ],
        )
        if total_moves > len(moves):
            pdf.note(f"The {len(moves)} most recent of {total_moves:,} moves.")
        per_prompt: dict[str, int] = {}
        for m in moves:
            per_prompt[m.slug] = per_prompt.get(m.slug, 0) + 1
        bars = sorted(per_prompt.items(), key=lambda x: (-x[1], x[0]))[:20]
        pdf.gap(3)
        pdf.ensure(10 + 4.2 * len(bars))
        pdf.set_x(_MARGIN)
        bar_chart(pdf, bars, width=_WIDTH, title="Label moves per prompt", label_width=52)
    pdf.subheading("Label requests made or decided in the period", need=20)
    if not requests:
        pdf.para("No label request was made or decided in the period.")
    else:
        pdf.para(", ".join(f"{status} {n:,}" for status, n in sorted(by_status.items())) + ".", size=8)
        pdf.gap(1)
        table(
            pdf,
            [Column("Requested (UTC)", 28), Column("Prompt version", 40), Column("Label", 20), Column("Status", 18),
             Column("Requested by", 26), Column("Decided by", 24), Column("Decided (UTC)", 22)],
            [
                (f"{_dt(r['requested_at']):%Y-%m-%d %H:%M}", f"{r['slug']}@v{r['version']}", r["label"], r["status"],
                 r["requested_by"], r["decided_by"] or "-",
                 f"{_dt(r['decided_at']):%m-%d %H:%M}" if r["decided_at"] else "-")
                for r in requests
            ],
        )
        if sum(by_status.values()) > len(requests):
            pdf.note(f"The first {len(requests)} of {sum(by_status.values()):,} requests.")
    return {"label_moves": total_moves, "label_requests": dict(by_status)}


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# ----------------------------------------------------------------------------- controls


def _controls(pdf: _Document, engine: sa.Engine, scope: RunFilter, settings) -> dict[str, Any]:
    pdf.heading("Controls")
    with engine.connect() as conn:
        events, total_events = compliance.account_events(conn, scope.start, scope.end, TABLE_LIMIT)
        users, total_users = compliance.accounts(conn, TABLE_LIMIT)
        actions = compliance.audit_action_counts(conn, scope.start, scope.end)

    pdf.subheading("Accounts and role changes in the period", need=20)
    if not events:
        pdf.para("No account was created, changed, disabled, locked or unlocked in the period.")
    else:
        table(
            pdf,
            [Column("Time (UTC)", 28), Column("Event", 28), Column("Account", 34), Column("By", 30),
             Column("Change", _WIDTH - 120)],
            [
                (f"{e['ts']:%Y-%m-%d %H:%M}", e["action"].replace("_", " "), e["target"].removeprefix("user:"),
                 e["actor"], _change(e["action"], e["details"]))
                for e in events
            ],
        )
        if total_events > len(events):
            pdf.note(f"The first {len(events)} of {total_events:,} account events.")
    logins = {a: n for a, n in actions if a in compliance.LOGIN_ACTIONS}
    if logins:
        pdf.gap(1)
        pdf.para(
            "Sign-ins in the period: " + ", ".join(f"{a.replace('_', ' ')} {n:,}" for a, n in sorted(logins.items())) + ".",
            size=8,
        )
    pdf.subheading("Accounts now", need=20)
    if not users:
        pdf.para("No local account exists (single-user mode, or single sign-on only).")
    else:
        table(
            pdf,
            [Column("Account", 38), Column("Roles", 52), Column("State", 22), Column("Created (UTC)", 24),
             Column("Created by", 20), Column("Last sign-in", _WIDTH - 156)],
            [
                (u["username"], ", ".join(u["roles"]) or "-", _state(u), f"{_dt(u['created_at']):%Y-%m-%d}",
                 u["created_by"], f"{_dt(u['last_login_at']):%Y-%m-%d}" if u["last_login_at"] else "never")
                for u in users
            ],
        )
        if total_users > len(users):
            pdf.note(f"The first {len(users)} of {total_users:,} accounts, by name.")

    _policy(pdf, settings)
    benchmark = _benchmark(pdf, settings)
    chain = _audit_chain(pdf, engine, settings, actions)
    return {
        "account_events": total_events, "accounts": total_users, "benchmark_stored": benchmark,
        "audit_chain": chain,
    }


def _change(action: str, details: dict[str, Any]) -> str:
    if action == "roles_changed":
        return f"roles {', '.join(details.get('from') or []) or '-'} -> {', '.join(details.get('to') or []) or '-'}"
    if action == "user_created":
        return f"roles {', '.join(details.get('roles') or []) or '-'}"
    if action == "account_locked" and details.get("minutes"):
        return f"locked for {details['minutes']} minutes"
    return ""


def _state(user: dict[str, Any]) -> str:
    if user.get("disabled"):
        return "disabled"
    locked = user.get("locked_until")
    if locked is not None and _dt(locked) > datetime.now(UTC).replace(tzinfo=None):
        return "locked"
    return "active"


def _policy(pdf: _Document, settings) -> None:
    pii, inj = settings.pii, settings.injection
    pdf.subheading("PII policy in force", need=40)
    scrubbed = ", ".join(pii.entities) if pii.entities else (
        "every type the recognizers know, except " + (", ".join(pii.not_personal_alone) or "none")
    )
    pdf.facts([
        ("Entity types scrubbed", scrubbed),
        ("Replacement", f"{pii.default_action} by default"
         + ("; " + ", ".join(f"{k}: {v}" for k, v in sorted(pii.actions.items())) if pii.actions else "")),
        ("Minimum detector score", f"{pii.score_threshold:g}"
         + ("; " + ", ".join(f"{k}: {v:g}" for k, v in sorted(pii.thresholds.items())) if pii.thresholds else "")),
        ("Not personal on their own", ", ".join(pii.not_personal_alone) or "none"),
        ("Names the model labels as", "organisations or places read as names" if pii.names_from_organisations else "as labelled"),
        ("Never scrubbed", f"{len(pii.allow_list)} allow-listed terms"
         + (", plus the built-in prompt vocabulary" if pii.builtin_allow_list else "")),
        ("Mask character", pii.mask_char),
    ], size=8)
    pdf.subheading("Injection policy in force", need=40)
    pdf.facts([
        ("Flag at score", f"{inj.flag_threshold:g}"),
        ("From score", f"{inj.block_threshold:g}: {inj.on_block_threshold}"),
        ("Variable values screened", "yes" if inj.screen_variables else "no"),
        ("Semantic screening", f"on (threshold {inj.semantic_threshold:g}, strong at {inj.semantic_strong:g})"
         if inj.semantic else "off"),
        ("Untrusted variables", (", ".join(inj.untrusted_variables) or "none")
         + f"; indirect screen at {inj.indirect_threshold:g}"),
        ("Own example library", "yes" if inj.library_dir else "no (built-in libraries only)"),
        ("Answer leaks", f"system prompt repeated or canary found: {inj.on_output_leak}; "
         f"{len(inj.canaries)} canar{'y' if len(inj.canaries) == 1 else 'ies'} configured (not printed)"),
    ], size=8)


def _benchmark(pdf: _Document, settings) -> bool:
    from security.report import last_benchmark, report_path

    pdf.subheading("Security benchmark (latest stored)", need=30)
    last = last_benchmark(settings)
    if not last:
        pdf.para(
            f"No stored benchmark result: no figures were found at {report_path(settings)}. Produce them with "
            "`python launch.py bench security` (it needs the shared eval-data folder) and write the report again."
        )
        return False
    floors = last.get("floors") or []
    met = sum(1 for f in floors if f.get("ok"))
    pdf.para(f"Measured {str(last.get('at', '?')).replace('T', ' ')[:16]} UTC: {met} of {len(floors)} floors met.", size=8.5)
    speed = last.get("speed") or {}
    if speed.get("ours_texts_per_s") is not None:
        pdf.para(
            f"Scrubbing and screening: {speed['ours_texts_per_s']:.0f} texts/s "
            f"(bare Presidio analyze + anonymize: {speed.get('bare_texts_per_s', 0):.0f} texts/s).", size=8,
        )
    if floors:
        pdf.gap(1)
        table(pdf, [Column("Floor", _WIDTH - 22), Column("Met", 22, "C")],
              [(f.get("floor", ""), "yes" if f.get("ok") else "MISSED") for f in floors])
    surviving = last.get("pii_surviving") or {}
    if surviving:
        pdf.gap(2)
        pdf.para("Share of PII values that survive scrubbing (lower is better)", size=8, style="B")
        table(
            pdf,
            [Column("Entity type", 60), Column("Values", 24, "R"), Column("Bare Presidio", 30, "R"),
             Column("PromptForge", 30, "R")],
            [(k, f"{int(v.get('n', 0)):,}", _percent(v.get("bare")), _percent(v.get("ours")))
             for k, v in sorted(surviving.items())],
        )
    for key, title in (("injection_recall", "Injection recall (direct attacks)"),
                       ("injection_false_positives", "Injection false positives (benign prompts)"),
                       ("indirect_recall", "Indirect injection recall"),
                       ("indirect_false_positives", "Indirect injection false positives")):
        figures = last.get(key) or {}
        if figures:
            pdf.gap(1)
            pdf.para(title + ": " + "; ".join(
                f"{name} {_percent(v.get('rate'))} (n={int(v.get('n', 0)):,})" for name, v in figures.items()
            ), size=7.5, max_lines=4)
    return True


def _audit_chain(pdf: _Document, engine: sa.Engine, settings, actions: list[tuple[str, int]]) -> dict[str, Any]:
    from storage.audit import audit_log

    pdf.subheading("Audit chain", need=30)
    try:
        log = audit_log(settings, engine)
        result = log.verify()
    except PromptForgeError as exc:
        line = f"Audit chain verification could not run: {exc}"
        pdf.para(line, style="B", colour=RED)
        return {"ok": None, "line": line}
    if result.ok:
        head = log.head(result)
        if result.checked:
            line = (
                f"Audit chain verified: {result.checked:,} events intact, from event 1 to event {head['seq']:,} "
                f"({head['alg']})."
            )
        else:
            line = "Audit chain verified: the chain is empty."
        pdf.para(line, style="B", colour=GREEN)
        pdf.facts([("Head event", f"{head['seq']:,}"), ("Head hash", head["hash"]), ("Algorithm", str(head["alg"] or "-"))],
                  size=8)
        pdf.note(
            "Keep the head (number and hash) outside the database: `python launch.py verify-audit --check-head FILE` "
            "later proves no event was removed from the end or rewritten since."
        )
    else:
        line = f"Audit chain verification FAILED at event {result.first_bad_seq}: {result.reason}."
        pdf.para(line, style="B", colour=RED)
        head = None
    if actions:
        pdf.gap(2)
        pdf.para("Audit events in the period, per action", size=8, style="B")
        shown = actions[:40]
        table(pdf, [Column("Action", 80), Column("Events", 30, "R")], [(a.replace("_", " "), f"{n:,}") for a, n in shown])
        if len(actions) > len(shown):
            pdf.note(f"The 40 most frequent of {len(actions)} actions.")
    return {"ok": result.ok, "line": line, "checked": result.checked, "head": head}


# ----------------------------------------------------------------------------- appendix


def _appendix(pdf: _Document, engine: sa.Engine, scope: RunFilter, runs: int, step: Callable[[str], None]) -> tuple[int, int]:
    """One block per run, oldest first, at most ``APPENDIX_LIMIT``; (runs shown, runs left out)."""
    pdf.heading(APPENDIX)
    shown = 0
    if runs == 0:
        pdf.para(NO_RUNS)
        step("appendix")
        return 0, 0
    left_out = max(runs - APPENDIX_LIMIT, 0)
    if left_out:
        pdf.para(
            f"This appendix stops at {APPENDIX_LIMIT:,} runs: it shows the oldest {APPENDIX_LIMIT:,} of the "
            f"{runs:,} runs in scope and leaves out {left_out:,}. Narrow the scope, or export the runs as CSV or "
            "JSON Lines, for the rest.",
            style="B", colour=RED,
        )
        pdf.gap(2)
    pdf.note(
        f"One block per run, oldest first: time, prompt version, status, provider and model, the injection verdict, "
        f"PII scrubbed per type, metrics, and the first {TEXT_CHARS} characters of the scrubbed prompt and answer."
    )
    pdf.gap(1)
    for page in compliance.run_pages(engine.connect, scope, page=APPENDIX_PAGE, limit=APPENDIX_LIMIT):
        for run in page:
            _run_block(pdf, run)
            shown += 1
        step("appendix")
    return shown, left_out


def _run_block(pdf: _Document, run: dict[str, Any]) -> None:
    pdf.set_font("Helvetica", "", 7)
    width = _WIDTH - 16.0
    facts = [
        f"injection {run['injection_action'] or NOT_SCREENED}",
        f"PII in prompt: {_pii(run['pii_in'])}",
        f"in answer: {_pii(run['pii_out'])}",
        f"latency {run['latency_s']:.2f} s",
        f"by {run['actor']}",
    ]
    metrics = ", ".join(
        f"{name} {number(value) if isinstance(value, (int, float)) else value}"
        for name, value in sorted((run.get("metrics") or {}).items())
    ) or "none"
    rows = [
        ("Checks", wrap(pdf, "; ".join(facts), width, max_lines=2)),
        ("Metrics", wrap(pdf, metrics, width, max_lines=2)),
        ("Prompt", wrap(pdf, _clip(run.get("input")), width, max_lines=3)),
        ("Answer", wrap(pdf, _clip(run.get("output")) if run.get("output") is not None else
                        f"(none: {run['error'] or run['status']})", width, max_lines=3)),
    ]
    line_h = 3.3
    height = 4.6 + line_h * sum(len(lines) for _, lines in rows) + 2.4
    pdf.ensure(height)
    y = pdf.get_y()
    pdf.set_fill_color(*LIGHT)
    pdf.rect(_MARGIN, y, _WIDTH, 4.4, style="F")
    pdf.set_xy(_MARGIN + 1.0, y + 0.2)
    pdf.set_font("Helvetica", "B", 7.5)
    status = run["status"]
    pdf.set_text_color(*(GREEN if status == "ok" else AMBER if status == "blocked" else RED))
    pdf.cell(14, 4.0, latin1(status))
    pdf.set_text_color(*DARK)
    title = (
        f"{run['started_at']:%Y-%m-%d %H:%M:%S}   {run['app_name']}@{run['app_version']}   "
        f"{run['provider']}{'/' + run['model'] if run['model'] else ''}"
    )
    pdf.cell(_WIDTH - 60, 4.0, fit(pdf, title, _WIDTH - 60))
    pdf.set_font("Helvetica", "", 6.5)
    pdf.set_text_color(*GREY)
    pdf.cell(44, 4.0, f"run {run['record_id'][:16]}", align="R")
    y += 4.8
    for label, lines in rows:  # plain text operators: a run's block is drawn 5,000 times
        pdf.set_font("Helvetica", "B", 6.8)
        pdf.set_text_color(*GREY)
        if label:
            pdf.text(_MARGIN + 2.0, _baseline(pdf, y, line_h), label)
        pdf.set_font("Helvetica", "", 7)
        pdf.set_text_color(*DARK)
        for line in lines:
            pdf.text(_MARGIN + 16.0, _baseline(pdf, y, line_h), line)
            y += line_h
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.15)
    pdf.line(_MARGIN, y + 1.0, _MARGIN + _WIDTH, y + 1.0)
    pdf.set_xy(_MARGIN, y + 2.2)


def _baseline(pdf: FPDF, top: float, height: float) -> float:
    """Where ``cell`` would put the baseline of a line ``height`` mm tall from ``top``."""
    return top + 0.5 * height + 0.3 * pdf.font_size


def _pii(found: Any) -> str:
    if isinstance(found, str):
        import json

        try:
            found = json.loads(found)
        except ValueError:
            return "?"
    if not found:
        return "none"
    return ", ".join(f"{kind} {count}" for kind, count in sorted(found.items()))


def _clip(text: Any) -> str:
    if text is None:
        return "(none)"
    text = " ".join(str(text).split())
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS].rstrip() + " ..."


__all__ = ["APPENDIX_LIMIT", "SECTIONS", "scope_lines", "write_pdf_report"]
