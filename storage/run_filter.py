"""Which recorded runs a page, an export or a benchmark asks for, as SQL over ``pf_runs``.

One filter serves the records explorer, the overview, the compliance export and the
review queues' scope: every field narrows the set (an empty field does not filter), and
``conditions()`` turns it into SQLAlchemy conditions on ``pf_runs`` that the indexes of
``storage.schema`` serve. Times are naive UTC like every ``pf_`` table; ``end`` is
exclusive, so a day range is ``[first day 00:00, day after the last 00:00)``.

A filter is checked when it is made: a range that ends before it starts, an unknown flag
or a metric range whose low end is above its high end raise ``InputError`` saying what to
fix, so a bad scope never reaches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from config.errors import InputError
from storage import schema

# what a run can be flagged for: the injection screen flagged it, the policy blocked it, the
# model call failed, or the scrubber found PII in its prompt (``pii``) or its answer (``pii_out``)
FLAGS = ("flagged", "blocked", "error", "pii", "pii_out")
MAX_TEXT = 200  # characters of a free-text query


@dataclass(frozen=True)
class MetricRange:
    """Runs whose result for ``name`` lies in [low, high] (an open end does not bound)."""

    name: str
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise InputError("A metric range needs a metric name.", "Pick the metric to filter on.")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise InputError(
                f"The range for {self.name} runs from {self.low} down to {self.high}.",
                "Put the lower bound first.",
            )


@dataclass(frozen=True)
class RunFilter:
    start: datetime | None = None  # naive UTC, inclusive
    end: datetime | None = None  # naive UTC, exclusive
    prompts: tuple[str, ...] = ()  # app names (prompt slugs; "adhoc" for ad-hoc templates)
    versions: tuple[tuple[str, str], ...] = ()  # (app name, app version such as "v3")
    providers: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # ok | blocked | error
    flags: tuple[str, ...] = ()  # any of FLAGS: a run matches when it has at least one
    metrics: tuple[MetricRange, ...] = ()
    annotated: bool | None = None  # True: some reviewer annotated it; False: none did
    queues: tuple[str, ...] = ()  # review queue ids: runs that are items of one of them
    reviewers: tuple[str, ...] = ()  # runs annotated by one of these reviewers (actor names)
    text: str = ""  # words in the scrubbed input or output (case-insensitive, all must occur)
    batch_id: str | None = None
    actors: tuple[str, ...] = field(default=())  # who ran them

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InputError(
                f"The date range ends ({self.end:%Y-%m-%d %H:%M}) before it starts ({self.start:%Y-%m-%d %H:%M}).",
                "Choose an end date on or after the start date.",
            )
        unknown = [f for f in self.flags if f not in FLAGS]
        if unknown:
            raise InputError(f"Unknown flag {unknown[0]!r}.", f"Use one of: {', '.join(FLAGS)}.")
        if len(self.text) > MAX_TEXT:
            raise InputError(
                f"The search text is {len(self.text)} characters long.", f"Search for at most {MAX_TEXT} characters."
            )

    @classmethod
    def for_days(cls, first: date | None, last: date | None, **fields) -> RunFilter:
        """A filter over whole days, ``first`` and ``last`` included (UTC)."""
        start = datetime.combine(first, time.min) if first else None
        end = datetime.combine(last, time.min) + timedelta(days=1) if last else None
        if start is not None and end is not None and end <= start:
            raise InputError(
                f"The date range ends ({last}) before it starts ({first}).", "Choose an end date on or after the start date."
            )
        return cls(start=start, end=end, **fields)

    @property
    def words(self) -> list[str]:
        return [w for w in self.text.lower().split() if w]

    def conditions(self, dialect: str | None = None) -> list[sa.ColumnElement]:
        """SQL conditions on ``pf_runs`` (joined to nothing: the others are subqueries). With the
        ``dialect`` (``conn.dialect.name``) a free-text search uses that database's trigram index."""
        r = schema.runs.c
        out: list[sa.ColumnElement] = []
        if self.start is not None:
            out.append(r.started_at >= self.start)
        if self.end is not None:
            out.append(r.started_at < self.end)
        if self.prompts:
            out.append(r.app_name.in_(self.prompts))
        if self.versions:
            out.append(sa.or_(*(sa.and_(r.app_name == a, r.app_version == v) for a, v in self.versions)))
        if self.providers:
            out.append(r.provider.in_(self.providers))
        if self.statuses:
            out.append(r.status.in_(self.statuses))
        if self.batch_id is not None:
            out.append(r.batch_id == self.batch_id)
        if self.actors:
            out.append(r.actor.in_(self.actors))
        if self.flags:
            out.append(sa.or_(*(self._flag(f) for f in self.flags)))
        for bound in self.metrics:
            out.append(self._metric(bound))
        # conditions on other tables are "record_id IN (subquery)": the database computes the set
        # once (from an index) and probes it, instead of a lookup per run
        if self.annotated is not None:
            annotated = sa.select(schema.annotations.c.record_id)
            out.append(r.record_id.in_(annotated) if self.annotated else r.record_id.not_in(annotated))
        if self.queues:
            i = schema.review_items.c
            out.append(r.record_id.in_(sa.select(i.record_id).where(i.queue_id.in_(self.queues))))
        if self.reviewers:
            a = schema.annotations.c
            out.append(r.record_id.in_(sa.select(a.record_id).where(a.reviewer.in_(self.reviewers))))
        if self.words:
            out.append(self._text(dialect))
        return out

    def _text(self, dialect: str | None) -> sa.ColumnElement:
        """Every word in the run's scrubbed text: the set of matching runs comes from the trigram
        index (migration 0012) and is then joined by key; without a dialect, a scan."""
        r, t = schema.runs.c, schema.run_text.c
        if dialect == "sqlite" and not any(c in w for w in self.words for c in "%_\\"):
            # FTS5's trigram index answers LIKE itself (its patterns take no ESCAPE clause)
            fts = sa.table("pf_fts_run_text", sa.column("rowid"), sa.column("text"))
            rows = sa.select(fts.c.rowid).where(*(fts.c.text.like(f"%{w}%") for w in self.words))
            return r.record_id.in_(sa.select(t.record_id).where(sa.literal_column("pf_run_text.rowid").in_(rows)))
        if dialect == "postgresql":
            return r.record_id.in_(sa.select(t.record_id).where(*(t.text.contains(w, autoescape=True) for w in self.words)))
        return sa.exists().where(t.record_id == r.record_id, *(t.text.contains(w, autoescape=True) for w in self.words))

    @staticmethod
    def _flag(flag: str) -> sa.ColumnElement:
        r = schema.runs.c
        if flag == "flagged":
            return r.injection_action == "flag"
        if flag in ("blocked", "error"):
            return r.status == flag
        return (r.pii_in_entities if flag == "pii" else r.pii_out_entities) > 0

    @staticmethod
    def _metric(bound: MetricRange) -> sa.ColumnElement:
        m = schema.run_metrics.c
        where = [m.name == bound.name, m.value.is_not(None)]  # ix_pf_run_metrics_name_value serves the range
        if bound.low is not None:
            where.append(m.value >= bound.low)
        if bound.high is not None:
            where.append(m.value <= bound.high)
        return schema.runs.c.record_id.in_(sa.select(m.record_id).where(*where))

    def describe(self) -> dict[str, object]:
        """The filter as plain values (for a manifest, an audit event or a page caption)."""
        out: dict[str, object] = {}
        if self.start is not None:
            out["from"] = self.start.isoformat()
        if self.end is not None:
            out["to_exclusive"] = self.end.isoformat()
        for name in ("prompts", "providers", "statuses", "flags", "queues", "reviewers", "actors"):
            value = getattr(self, name)
            if value:
                out[name] = list(value)
        if self.versions:
            out["versions"] = [f"{a}@{v}" for a, v in self.versions]
        if self.metrics:
            out["metrics"] = [{"name": b.name, "low": b.low, "high": b.high} for b in self.metrics]
        if self.annotated is not None:
            out["annotated"] = self.annotated
        if self.text:
            out["text_search"] = len(self.words)  # how many words; the query itself may hold what a user typed
        if self.batch_id:
            out["batch_id"] = self.batch_id
        return out
