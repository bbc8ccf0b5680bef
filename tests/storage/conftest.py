"""Storage fixtures: a store on SQLite, realistic runs (both backends: ``settings``/``store`` in tests/conftest.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

from storage.records import MetricValue, RunRecord, StageTiming

STAGES = ("render", "scrub_input", "injection", "model", "scrub_output", "metrics")


@pytest.fixture
def make_run() -> Callable[..., RunRecord]:
    """Build a realistic, scrubbed run; keyword arguments override fields."""

    def build(i: int = 0, **overrides) -> RunRecord:
        start = time.time_ns() - 10_000_000_000 + i * 1_000_000
        stages, t = [], start
        for name in STAGES:
            duration = 2_000_000 if name == "model" else 500_000
            attributes = {"span_type": "generation"} if name == "model" else {"ok": True}
            stages.append(StageTiming(name, t, t + duration, attributes))
            t += duration
        fields = {
            "run_id": uuid.uuid4().hex,
            "app_name": "loan-summary",
            "app_version": "v1",
            "input_text": f"Summarise the loan of <PERSON_1> (row {i}).",
            "output_text": f"<PERSON_1> asked for a loan (row {i}).",
            "status": "ok",
            "error": None,
            "provider": "offline",
            "model": "echo-1",
            "simulated": True,
            "latency_s": (t - start) / 1e9,
            "input_tokens": 12,
            "output_tokens": 8,
            "cost_usd": 0.002,
            "started_at_ns": start,
            "ended_at_ns": t,
            "stages": stages,
            "metrics": [
                MetricValue("toxicity", 0.1 + (i % 2) * 0.2, higher_is_better=False, explanation="low"),
                MetricValue("similarity", 0.9, higher_is_better=True),
                MetricValue("detoxify", None, higher_is_better=False, status="unavailable"),
            ],
            "decisions": {
                "pii_in": {"PERSON": 1},
                "pii_out": {},
                "injection": {"action": "allow", "score": 0.05},
            },
            "variables": {"customer": "<PERSON_1>"},
            "actor": "analyst",
            "batch_id": None,
            "dataset_row": None,
        }
        fields.update(overrides)
        return RunRecord(**fields)

    return build
