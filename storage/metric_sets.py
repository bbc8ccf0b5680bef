"""Rows of ``pf_metric_sets``: the metric set of a prompt, or of one of its versions.

Version 0 holds the prompt's default, used by every version that has none of its
own. The metrics are stored as the plain list ``evaluation.MetricSet.to_list()``
gives; storage does not interpret them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage import schema
from storage.engine import storage_errors
from storage.migrate import ensure

ALL_VERSIONS = 0


@dataclass(frozen=True)
class StoredMetricSet:
    slug: str
    version: int  # 0: the prompt's default for every version
    metrics: list[dict[str, Any]]
    updated_by: str
    updated_at: datetime


class MetricSetTable:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with storage_errors(engine):
            ensure(engine)

    def save(self, slug: str, version: int, metrics: list[dict[str, Any]], updated_by: str) -> StoredMetricSet:
        """Insert or replace the set of ``slug`` at ``version`` (0: all versions)."""
        t = schema.metric_sets
        row = StoredMetricSet(slug, version, list(metrics), updated_by, schema.utcnow())
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.delete(t).where(t.c.slug == slug, t.c.version == version))
            conn.execute(sa.insert(t).values(**row.__dict__))
        return row

    def get(self, slug: str, version: int) -> StoredMetricSet | None:
        """The set stored for exactly this version (0: the prompt default)."""
        t = schema.metric_sets
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.slug == slug, t.c.version == version)).first()
        return StoredMetricSet(**row._mapping) if row else None

    def effective(self, slug: str, version: int) -> StoredMetricSet | None:
        """The version's own set, else the prompt's default, else None."""
        return self.get(slug, version) or self.get(slug, ALL_VERSIONS)

    def delete(self, slug: str, version: int) -> bool:
        t = schema.metric_sets
        with storage_errors(self.engine), self.engine.begin() as conn:
            return conn.execute(sa.delete(t).where(t.c.slug == slug, t.c.version == version)).rowcount == 1

    def for_prompt(self, slug: str) -> list[StoredMetricSet]:
        t = schema.metric_sets
        with storage_errors(self.engine), self.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.slug == slug).order_by(t.c.version))
            return [StoredMetricSet(**r._mapping) for r in rows]
