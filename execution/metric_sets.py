"""Metric sets as a principal uses them: which metrics and thresholds apply to a
prompt (all its versions, or one), checked against the registry, audited on change,
exported and imported as YAML. ``storage.metric_sets`` does the storing."""

from __future__ import annotations

from typing import Any

from evaluation import MetricSet
from evaluation.builtins import DEFAULT_EVAL_METRICS
from security.identity import Permission, Principal
from storage.metric_sets import ALL_VERSIONS, MetricSetTable


class MetricSets:
    def __init__(self, store: Any, principal: Principal, audit: Any | None = None) -> None:
        self.table = MetricSetTable(store.engine)
        self.settings = store.settings
        self.principal = principal
        self._audit = audit

    def effective(self, slug: str, version: int) -> tuple[MetricSet, str]:
        """The set that applies to ``slug`` v``version`` and where it comes from."""
        self.principal.require(Permission.READ_RUNS, "read metric sets")
        stored = self.table.effective(slug, version)
        if stored is None:
            return default_metric_set(), "built-in default"
        where = f"v{version}" if stored.version == version else "all versions"
        return MetricSet.from_list(stored.metrics), f"{slug} ({where}), by {stored.updated_by}"

    def stored(self, slug: str, version: int) -> MetricSet | None:
        """The set stored for exactly this version (``ALL_VERSIONS``: the prompt default)."""
        self.principal.require(Permission.READ_RUNS, "read metric sets")
        stored = self.table.get(slug, version)
        return None if stored is None else MetricSet.from_list(stored.metrics)

    def save(self, slug: str, version: int, metric_set: MetricSet) -> None:
        """Store the set after checking every metric exists and builds with its options."""
        self.principal.require(Permission.EVALUATE, "edit metric sets")
        from evaluation import MetricContext

        metric_set.build(MetricContext(self.settings))  # unknown metrics and bad options fail here, not mid-run
        self.table.save(slug, version, metric_set.to_list(), self.principal.actor)
        self._event("metric_set_saved", slug, {"version": version or "all", "metrics": [s.result_name for s in metric_set.specs]})

    def reset(self, slug: str, version: int) -> bool:
        self.principal.require(Permission.EVALUATE, "edit metric sets")
        removed = self.table.delete(slug, version)
        if removed:
            self._event("metric_set_removed", slug, {"version": version or "all"})
        return removed

    def export_yaml(self, slug: str, version: int) -> str:
        metric_set, source = self.effective(slug, version)
        return metric_set.to_yaml({"prompt": f"{slug}@v{version}", "source": source})

    def import_yaml(self, slug: str, version: int, text: str) -> MetricSet:
        metric_set = MetricSet.from_yaml(text)
        self.save(slug, version, metric_set)
        return metric_set

    def _event(self, action: str, slug: str, details: dict) -> None:
        if self._audit is not None:
            self._audit.append(self.principal.actor, action, f"prompt:{slug}", details)


def default_metric_set() -> MetricSet:
    return MetricSet.from_list([{"metric": name} for name in DEFAULT_EVAL_METRICS])


__all__ = ["ALL_VERSIONS", "MetricSets", "default_metric_set"]
