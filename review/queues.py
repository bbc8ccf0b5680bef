"""Rubrics and review queues: which recorded runs reviewers judge, and against what.

A queue is a filter over recorded runs plus a rubric. The filter is kept, not its result:
every time the queue is read, runs recorded since it was last read are matched and enter
it, so a queue made today also collects tomorrow's runs. Rubrics are versioned: a change
is a new version; reviewers always score against the newest one and each annotation keeps
the version it used.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from config.errors import InputError, NotFoundError
from review.rubrics import DEFAULT_RUBRIC, Rubric
from security.identity import Permission, Principal
from storage.comparisons import ComparisonTable
from storage.review import QueueRow, ReviewTables, RubricRow, run_conditions
from storage.schema import utcnow

_QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
INJECTION_ACTIONS = ("flag", "block")


@dataclass(frozen=True)
class MetricBound:
    name: str
    below: float | None = None
    above: float | None = None


@dataclass(frozen=True)
class QueueFilter:
    """Which recorded runs enter a queue; every field narrows it, none set means every run."""

    prompt: str | None = None  # a prompt's slug
    version: int | None = None
    provider: str | None = None  # the provider as recorded, e.g. "offline" or "openai"
    since: datetime | None = None
    until: datetime | None = None
    evaluation: str | None = None  # an evaluation run's id
    comparison: str | None = None  # an A/B comparison's id (both sides' runs)
    pii_found: bool = False  # only runs whose input had personal data scrubbed
    injection: tuple[str, ...] = ()  # only runs the injection screen flagged / blocked
    metric: MetricBound | None = None  # only runs whose metric lies below / above a bound
    sample: float | None = None  # a share (0–1] of the matching runs, chosen by record id

    def __post_init__(self) -> None:
        if self.sample is not None and not 0 < self.sample <= 1:
            raise InputError("The sample share must be between 0 and 1.", "Use e.g. 0.1 for one run in ten.")
        unknown = [a for a in self.injection if a not in INJECTION_ACTIONS]
        if unknown:
            raise InputError(f"Unknown injection action {unknown[0]!r}.", "Use flag and/or block.")
        if self.metric is not None and self.metric.below is None and self.metric.above is None:
            raise InputError(f"The metric filter on {self.metric.name!r} has no bound.", "Give below and/or above.")
        if self.since and self.until and self.since >= self.until:
            raise InputError("The date range is empty: 'since' is not before 'until'.", "Swap or widen the dates.")

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in (None, False, (), [])}
        for key in ("since", "until"):
            if key in out:
                out[key] = out[key].isoformat()
        if "injection" in out:
            out["injection"] = list(out["injection"])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> QueueFilter:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"Unknown queue filter field: {', '.join(unknown)}.", "Allowed: " + ", ".join(sorted(known)) + ".")
        for key in ("since", "until"):
            if isinstance(data.get(key), str):
                try:
                    data[key] = datetime.fromisoformat(data[key])
                except ValueError:
                    raise InputError(f"'{key}' is not a date: {data[key]!r}.", "Write YYYY-MM-DD.") from None
        if isinstance(data.get("metric"), dict):
            data["metric"] = MetricBound(**data["metric"])
        data["injection"] = tuple(data.get("injection") or ())
        return cls(**data)

    def describe(self) -> str:
        """The filter in words, for the queue's page."""
        parts = []
        if self.prompt:
            parts.append(f"prompt {self.prompt}" + (f" v{self.version}" if self.version else ""))
        if self.provider:
            parts.append(f"provider {self.provider}")
        if self.since or self.until:
            parts.append("recorded " + (f"from {self.since:%Y-%m-%d} " if self.since else "") + (f"before {self.until:%Y-%m-%d}" if self.until else ""))
        if self.evaluation:
            parts.append(f"evaluation {self.evaluation[:8]}")
        if self.comparison:
            parts.append(f"comparison {self.comparison[:8]}")
        if self.pii_found:
            parts.append("personal data found in the input")
        if self.injection:
            parts.append("injection screen: " + " or ".join(self.injection))
        if self.metric:
            bounds = [f"below {self.metric.below:g}" if self.metric.below is not None else "",
                      f"above {self.metric.above:g}" if self.metric.above is not None else ""]
            parts.append(f"{self.metric.name} " + " and ".join(b for b in bounds if b))
        if self.sample is not None and self.sample < 1:
            parts.append(f"a {self.sample:.0%} sample")
        return "; ".join(p.strip() for p in parts) or "every recorded run"


@dataclass(frozen=True)
class Queue:
    row: QueueRow
    filter: QueueFilter
    rubric: Rubric
    rubric_version: int
    matching: int | None = None  # runs the filter matched when the queue was made

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def name(self) -> str:
        return self.row.name


@dataclass
class Queues:
    """Rubrics and queues as ``principal`` may use them."""

    store: Any  # storage.trulens_store.TrulensStore (its engine)
    principal: Principal
    audit: Any
    tables: ReviewTables = field(init=False)

    def __post_init__(self) -> None:
        self.tables = ReviewTables(self.store.engine)

    # -- rubrics ------------------------------------------------------------------------

    def save_rubric(self, rubric: Rubric) -> RubricRow:
        """A new version of ``rubric`` (nothing changes when it equals the newest version)."""
        self.principal.require(Permission.MANAGE_REVIEW, "edit rubrics")
        row, created = self.tables.save_rubric(rubric.name, rubric.title, rubric_json(rubric), rubric.digest, self.principal.actor)
        if created:
            self.audit.append(self.principal.actor, "rubric_saved", f"rubric:{rubric.name}", {"version": row.version, "digest": row.digest})
        return row

    def rubric(self, name: str, version: int | None = None) -> tuple[Rubric, int]:
        """The rubric (its newest version unless ``version``) and its version number; the
        shipped compliance rubric is stored the first time it is asked for."""
        self.principal.require(Permission.READ_RUNS, "read rubrics")
        return self._rubric(name, version)

    def _rubric(self, name: str, version: int | None = None) -> tuple[Rubric, int]:
        row = self.tables.rubric(name, version)
        if row is None and name == DEFAULT_RUBRIC.name and version is None:
            row, _ = self.tables.save_rubric(
                DEFAULT_RUBRIC.name, DEFAULT_RUBRIC.title, rubric_json(DEFAULT_RUBRIC), DEFAULT_RUBRIC.digest, "system:promptforge"
            )
        if row is None:
            raise NotFoundError(f"No rubric {name!r}" + (f" version {version}" if version else "") + ".", "Create it first, or pick one from the list.")
        return Rubric.from_dict(_loads(row.spec)), row.version

    def rubrics(self) -> list[RubricRow]:
        self.principal.require(Permission.READ_RUNS, "read rubrics")
        self._rubric(DEFAULT_RUBRIC.name)  # the shipped one is always listed
        return self.tables.rubrics()

    # -- queues -------------------------------------------------------------------------

    def create(
        self, name: str, queue_filter: QueueFilter, *, rubric: str = DEFAULT_RUBRIC.name, overlap: int = 1,
        claim_minutes: int = 30, description: str = "",
    ) -> Queue:
        """A new queue; it is filled at once with the runs that match (said in ``matching``)."""
        self.principal.require(Permission.MANAGE_REVIEW, "create review queues")
        name = (name or "").strip()
        if not _QUEUE_NAME.match(name):
            raise InputError(f"Invalid queue name {name!r}.", "Use lowercase letters, digits, '.', '_' and '-', e.g. compliance-weekly.")
        if self.tables.queue(name) is not None:
            raise InputError(f"A queue named {name!r} exists.", "Pick another name.")
        if not 1 <= int(overlap) <= 5:
            raise InputError("Overlap must be between 1 and 5 reviewers per item.", "Use 2 or 3 to measure agreement.")
        if not 1 <= int(claim_minutes) <= 24 * 60:
            raise InputError("A claim must last between 1 minute and 24 hours.", "30 minutes suits most items.")
        rubric_spec, rubric_version = self._rubric(rubric)  # exists (the shipped one is stored on first use)
        conditions = self._conditions(queue_filter)
        matching = self.tables.count_matching(conditions)
        row = self.tables.create_queue(
            name=name, description=description.strip(), filters=queue_filter.to_dict(), rubric=rubric,
            overlap=int(overlap), claim_minutes=int(claim_minutes), refreshed_until=None, created_by=self.principal.actor,
        )
        self.audit.append(
            self.principal.actor, "review_queue_created", f"queue:{name}",
            {"queue": row.id, "filter": queue_filter.to_dict(), "rubric": rubric, "overlap": row.overlap, "matching": matching},
        )
        self.tables.refresh(row, conditions, utcnow())  # filled at once
        return Queue(self.tables.queue(row.id), queue_filter, rubric_spec, rubric_version, matching)

    def get(self, id_or_name: str, refresh: bool = True) -> Queue:
        """The queue, with the runs recorded since it was last read added to it."""
        self.principal.require(Permission.READ_RUNS, "read review queues")
        row = self.tables.queue(id_or_name)
        if row is None:
            raise NotFoundError(f"No review queue {id_or_name!r}.", "Pick one from the list of queues.")
        queue_filter = QueueFilter.from_dict(row.filters)
        if refresh:
            self.tables.refresh(row, self._conditions(queue_filter), utcnow())
            row = self.tables.queue(row.id)
        rubric, version = self.rubric(row.rubric)
        return Queue(row, queue_filter, rubric, version)

    def backfill(self, id_or_name: str) -> int:
        """Add every matching run that is not an item yet, however long ago it ended (a refresh
        only looks at runs that ended since the last one): for runs recorded with past times,
        e.g. imported or seeded history. Returns how many were added."""
        self.principal.require(Permission.MANAGE_REVIEW, "fill review queues")
        row = self.tables.queue(id_or_name)
        if row is None:
            raise NotFoundError(f"No review queue {id_or_name!r}.", "Pick one from the list of queues.")
        conditions = self._conditions(QueueFilter.from_dict(row.filters))
        return self.tables.refresh(replace(row, refreshed_until=None), conditions, utcnow())

    def list(self) -> list[QueueRow]:
        self.principal.require(Permission.READ_RUNS, "read review queues")
        return self.tables.queues()

    def progress(self, queue: Queue) -> dict[str, Any]:
        """Items in the queue and complete; per reviewer: done, claimed, skipped."""
        self.principal.require(Permission.READ_RUNS, "read review queues")
        return self.tables.progress(queue.id, utcnow())

    def _conditions(self, queue_filter: QueueFilter) -> list:
        spec = queue_filter.to_dict()
        spec.pop("evaluation", None)
        spec.pop("comparison", None)
        if queue_filter.since:
            spec["since"] = queue_filter.since
        if queue_filter.until:
            spec["until"] = queue_filter.until
        if queue_filter.version:
            spec["version"] = f"v{queue_filter.version}"
        batches: list[str] | None = None
        if queue_filter.evaluation:
            batches = [queue_filter.evaluation]
        if queue_filter.comparison:
            comparison = ComparisonTable(self.store.engine).get(queue_filter.comparison)
            if comparison is None:
                raise NotFoundError(f"No comparison {queue_filter.comparison[:12]!r}.", "Pick one from the Compare page.")
            batches = [*(batches or []), *comparison.all_runs]
        if batches is not None:
            spec["batches"] = batches
        return run_conditions(spec)


def rubric_json(rubric: Rubric) -> str:
    import json

    return json.dumps(rubric.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str) -> dict:
    import json

    return json.loads(text)
