"""A small governed workspace for the export tests: runs in and out of a period, metric results
and human scores, annotations, label moves and a production request, comparisons and
preferences, account changes and the audit events all of it left."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from security.identity import Principal, Role
from storage import MetricValue, RunRecord, StageTiming, schema

AUTHOR = Principal("ann", frozenset({Role.ANALYST}), "user")
APPROVER = Principal("pat", frozenset({Role.APPROVER}), "user")
AUDITOR = Principal("aud", frozenset({Role.AUDITOR}), "user")
IN_PERIOD = 12
DAY_NS = 86_400 * 10**9


def make_run(i: int, *, started_ns: int, app: tuple[str, str] = ("loan-summary", "v1"), **overrides) -> RunRecord:
    """A scrubbed run as the pipeline records it (placeholders for the personal data)."""
    stages = [StageTiming(name, started_ns + k * 10**6, started_ns + (k + 1) * 10**6, {}) for k, name in
              enumerate(("render", "scrub_input", "screen", "model", "scrub_output"))]
    fields = {
        "run_id": uuid.uuid4().hex, "app_name": app[0], "app_version": app[1],
        "input_text": f"Summarise the loan request of <PERSON_1> (customer {i}); call <PHONE_NUMBER_1>.",
        "output_text": f"<PERSON_1> asks for a loan of {1000 + i} EUR over 24 months.",
        "status": "ok", "error": None, "provider": "offline", "model": "echo-1", "simulated": True,
        "latency_s": 0.005, "input_tokens": 20, "output_tokens": 12, "cost_usd": None,
        "started_at_ns": started_ns, "ended_at_ns": started_ns + 5 * 10**6, "stages": stages,
        "metrics": [MetricValue("toxicity", 0.01 * i, False), MetricValue("total_tokens", 32.0, False)],
        "decisions": {
            "pii_in": {"PERSON": 1, "PHONE_NUMBER": 1}, "pii_out": {},
            "injection": {"action": "allow", "score": 0.0, "reasons": []},
        },
        "variables": {"customer": "<PERSON_1>", "note": f"customer {i}"}, "actor": "user:ann",
        "batch_id": None, "dataset_row": i,
    }
    fields.update(overrides)
    return RunRecord(**fields)


@dataclass
class Workspace:
    settings: object
    store: object
    audit: object
    runs: list[RunRecord] = field(default_factory=list)  # in the period
    outside: list[RunRecord] = field(default_factory=list)

    @property
    def engine(self) -> sa.Engine:
        return self.store.engine

    @property
    def period(self) -> tuple[date, date]:
        today = schema.utcnow().date()
        return today - timedelta(days=2), today

    def count(self, table: sa.Table, *where) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())

    def exporter(self, principal: Principal = AUDITOR, **kwargs):
        from reports.export import ComplianceExport

        return ComplianceExport(self.settings, principal, engine=self.engine, audit=self.audit, **kwargs)


def build_workspace(settings, store, suffix: str = "") -> Workspace:
    """The workspace; ``suffix`` makes prompt slugs and comparison ids unique (a shared database)."""
    from prompts.label_moves import LabelMoves
    from prompts.registry import PromptRegistry
    from storage.audit import audit_log
    from storage.comparisons import ComparisonTable

    audit = audit_log(settings, store.engine)
    ws = Workspace(settings, store, audit)
    now = time.time_ns() - 10 * 60 * 10**9
    for i in range(IN_PERIOD):
        app = (f"card-faq{suffix}", "v1") if i % 4 == 3 else (f"loan-summary{suffix}", "v2" if i % 2 else "v1")
        overrides = {}
        if i == 1:  # a spreadsheet would run these as formulas
            overrides = {"output_text": "=HYPERLINK(\"http://x\") -5 EUR for <PERSON_1>", "input_text": "+ Summarise @once"}
        if i == 2:
            overrides = {"status": "blocked", "output_text": None, "error": "Blocked by the injection policy: instruction_override",
                         "decisions": {"pii_in": {}, "pii_out": {}, "injection": {"action": "block", "score": 0.97,
                                                                                  "reasons": ["instruction_override: 'ignore previous'"]}}}
        ws.runs.append(make_run(i, started_ns=now - i * 60 * 10**9, app=app, **overrides))
    ws.outside = [make_run(100 + i, started_ns=now - 40 * DAY_NS - i * 10**9, app=(f"loan-summary{suffix}", "v1"))
                  for i in range(2)]
    store.record_runs(ws.runs + ws.outside)
    store.flush()
    store.add_metric_result(ws.runs[0].run_id, MetricValue("human_accuracy", 1.0, True, explanation="reviewer score"))
    audit.append_many([("user:ann", "run", f"run:{r.run_id}", {"app": r.app_name}) for r in ws.runs])

    author = PromptRegistry(store, AUTHOR, audit)
    loans, cards = f"loan-summary{suffix}", f"card-faq{suffix}"
    author.create(loans, "Summarise the loan request of {{ customer }}.")
    author.add_version(loans, "Summarise briefly the loan request of {{ customer }}.")
    author.set_label(loans, 1, "staging")
    author.create(cards, "Answer: {{ question }}")
    moves = LabelMoves(author, audit)
    request = moves.request(loans, 2, "Ready: the evaluation passed, ask Jane Doe on jane.doe@example.com")
    LabelMoves(PromptRegistry(store, APPROVER, audit), audit).approve(request.id, "Fine for me.")

    with store.engine.begin() as conn:
        conn.execute(sa.insert(schema.annotations), [
            {"id": uuid.uuid4().hex, "queue_id": "q1", "record_id": ws.runs[k].run_id, "reviewer": "user:rita",
             "kind": "review", "rubric": "compliance", "rubric_version": 1,
             "scores": {"accurate": True, "tone": 4}, "comments": {"tone": "Polite to <PERSON_1>."},
             "created_at": schema.utcnow(), "supersedes": None, "superseded_by": None}
            for k in (0, 1, 3)
        ])
    comparisons = ComparisonTable(store.engine)
    for slug, cid in ((loans, ("c" * 32 + suffix)[-32:]), (cards, ("d" * 32 + suffix)[-32:])):
        comparisons.create(
            id=cid, title=f"{slug}: v1 vs v2", slug=slug, side_a={"ref": f"{slug}@v1"}, side_b={"ref": f"{slug}@v2"},
            dataset="questions", dataset_id="ds1", total_rows=3, metrics=[{"metric": "total_tokens"}], guards=[],
            repeats=1, run_ids={"a": ["e" * 32], "b": ["f" * 32]}, reused=[], status="done", error=None,
            statistics={"verdict": "B is shorter"}, decision={"action": "keep_a", "reason": "No clear gain for <PERSON_1>."},
            decided_by="user:pat", decided_at=schema.utcnow(), created_by="user:pat",
        )
        comparisons.set_preference(cid, 0, "user:pat", "b", "B reads better")
    audit.append("user:admin", "user_created", "user:bob", {"roles": ["reviewer"]})
    audit.append("user:admin", "roles_changed", "user:bob", {"from": ["reviewer"], "to": ["auditor", "reviewer"]})
    return ws


@pytest.fixture
def workspace(tmp_settings, sqlite_store) -> Workspace:
    return build_workspace(tmp_settings, sqlite_store)
