"""Who may do what: every role against every service operation, on the real services.

The expected table is written out here, independently of ``security.identity.roles``:
a change to the grants that is not also made here fails this test.
"""

from __future__ import annotations

import itertools
import tempfile
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from config.errors import PermissionDenied
from security.identity import Principal, Role

PASSING = {"policy_breach": False, "personal_data_exposure": False, "unsuitable_advice": False, "tone": "good",
           "factual_error": False, "overall": 4}
A, RV, AP, PR, AU, AD = Role.ANALYST, Role.REVIEWER, Role.APPROVER, Role.PRODUCT, Role.AUDITOR, Role.ADMIN
LR = Role.LEAD_REVIEWER
READERS = {A, RV, LR, AP, PR, AU}

# operation -> roles that may do it
EXPECTED: dict[str, set[Role]] = {
    "run a prompt": {A, PR},
    "run a batch": {A, PR},
    "create a prompt": {A},
    "add a prompt version": {A},
    "move a staging label": {A},
    "move the production label": {AP},
    "request a production label move": {A, PR},
    "approve a label move": {AP},
    "reject a label move": {AP},
    "list label requests": READERS,
    "list prompts": READERS,
    "save a version from a base": {A},
    "restore a version": {A},
    "create a fragment": {A},
    "review a label request": READERS,
    "read label history": READERS,
    "move production in an emergency": {AD},
    "confirm an emergency move": {AP},
    "resolve a prompt": READERS,
    "list accounts": {AD},
    "create a user": {AD},
    "change roles": {AD},
    "disable a user": {AD},
    "unlock a user": {AD},
    "reset a password": {AD},
    "search the audit trail": {AU},
    "verify the audit trail": {AU},
    "export the audit head": {AU},
    "check an audit head": {AU},
    "start a comparison": {A, PR},
    "list comparisons": READERS,
    "read a comparison's statistics": READERS,
    "read a comparison's rows": READERS,
    "record a preference": {PR},
    "decide a comparison": {PR},
    "create a review queue": {LR, AD},
    "save a rubric": {LR, AD},
    "annotate an item": {RV, LR},
    "read a queue's annotations": READERS,
    "read a queue's agreement": READERS,
    "adjudicate an item": {LR},
    "export a period": {AU},
    "list what an export can name": {AU},
    "create an API token": {AD},
    "list API tokens": {AD},
    "revoke an API token": {AD},
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, scrubber):
    """One database with a prompt, a user and the services, shared by every case."""
    from config.settings import Settings
    from execution.pipeline import Pipeline
    from security.identity.bootstrap import account_service
    from security.identity.tokens import token_service
    from storage.audit import audit_log
    from prompts.registry import PromptRegistry
    from storage.trulens_store import open_store

    tmp = tmp_path_factory.mktemp("perm")
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'pf.db'}")
    store = open_store(settings)
    owner = Principal("owner", frozenset(Role), "system")
    PromptRegistry(store, owner).create("greeting", "Hello {{ name }}")
    accounts = account_service(settings)
    accounts.create_user(owner, "target-user", ["analyst"])
    pipeline = Pipeline(settings, scrubber=scrubber, principal=owner)
    PromptRegistry(store, owner).add_version("greeting", "Hello there, {{ name }}")
    from storage.datasets import DatasetStore
    from execution.evaluate import Evaluator

    DatasetStore(store).save_dataset("names", [{"name": "Ann"}, {"name": "Bo"}])
    evaluator = Evaluator(pipeline)
    runs = [evaluator.create(f"greeting@v{v}", "names", provider="offline", metrics=["latency_s"]) for v in (1, 2)]
    for run in runs:
        evaluator.execute(run.id)
    from review.annotations import Annotations
    from review.queues import QueueFilter, Queues

    Queues(store, owner, audit_log(settings)).create("perm-queue", QueueFilter(), overlap=5)
    reviewed = Annotations(Queues(store, owner, audit_log(settings)), scrubber=scrubber)
    first = reviewed.next_item("perm-queue")
    reviewed.submit("perm-queue", first.token, PASSING)
    ws = {
        "reviewed": first.record_id,
        "store": store,
        "pipeline": pipeline,
        "runs": [r.id for r in runs],
        "accounts": accounts,
        "tokens": token_service(settings),
        "audit": audit_log(settings),
    }
    yield ws
    store.close()


def _operation(name: str, ws: dict, who: Principal) -> None:
    from security.audit_trail import AuditTrail
    from storage.audit_search import AuditQuery
    from prompts.label_moves import LabelMoves
    from prompts.registry import PromptRegistry
    from prompts.spec import PromptSpec

    prompts = PromptRegistry(ws["store"], who)
    moves = LabelMoves(prompts, ws["audit"])

    def someone_elses_request() -> str:
        owner = PromptRegistry(ws["store"], Principal("owner", frozenset(Role), "system"))
        return LabelMoves(owner, ws["audit"]).request("greeting", 1, "ready for customers").id

    def emergency() -> str:
        admin = PromptRegistry(ws["store"], Principal("root", frozenset({Role.ADMIN}), "system"))
        return LabelMoves(admin, ws["audit"]).emergency_move("greeting", 1, "rollback").id

    def someone_elses_token() -> str:
        return tokens.create(Principal("root", frozenset({Role.ADMIN}), "system"), "target-user", "theirs", ["read"])[0].id

    pipeline = ws["pipeline"].acting_as(who)
    accounts = ws["accounts"]
    tokens = ws["tokens"]
    trail = AuditTrail(ws["audit"], who)
    template = pipeline.template("Hello {{ name }}")
    fresh = uuid.uuid4().hex[:8]
    from execution.compare import Comparisons

    comparisons = Comparisons(pipeline)

    def done_comparison() -> str:
        owner = ws["pipeline"].acting_as(Principal("owner", frozenset(Role), "system"))
        return Comparisons(owner).from_runs(*ws["runs"]).id

    from review.adjudication import Adjudication
    from review.annotations import Annotations
    from review.queues import QueueFilter, Queues
    from review.rubrics import DEFAULT_RUBRIC

    queues = Queues(ws["store"], who, ws["audit"])
    annotations = Annotations(queues, scrubber=ws["pipeline"].scrubber)
    from reports.export import ComplianceExport
    from storage.run_filter import RunFilter

    exporter = ComplianceExport(ws["store"].settings, who, engine=ws["store"].engine, audit=ws["audit"])

    def annotate() -> None:
        item = annotations.next_item("perm-queue")
        annotations.submit("perm-queue", item.token, PASSING)

    ops = {
        "run a prompt": lambda: pipeline.run(template, {"name": "Ann"}),
        "run a batch": lambda: pipeline.run_batch(template, [{"name": "Ann"}, {"name": "Bo"}]),
        "create a prompt": lambda: prompts.create(f"p-{fresh}", "Hi {{ x }}"),
        "add a prompt version": lambda: prompts.add_version("greeting", f"Hello {{{{ name }}}} {fresh}"),
        "move a staging label": lambda: prompts.set_label("greeting", 1, "staging"),
        "move the production label": lambda: prompts.set_label("greeting", 1, "production"),
        "request a production label move": lambda: moves.request("greeting", 1, "tested on the golden set"),
        "approve a label move": lambda: moves.approve(someone_elses_request()),
        "reject a label move": lambda: moves.reject(someone_elses_request(), "not yet"),
        "list label requests": moves.pending,
        "list prompts": prompts.list_prompts,
        "save a version from a base": lambda: prompts.save(
            "greeting", PromptSpec(template=f"Hi {{{{ name }}}} {fresh}"), "wording", lint=False
        ),
        "restore a version": lambda: prompts.restore("greeting", 1),
        "create a fragment": lambda: prompts.create_prompt(
            f"fragment:f-{fresh}", PromptSpec(template="Capital at risk."), lint=False
        ),
        "review a label request": lambda: moves.review(someone_elses_request()),
        "read label history": lambda: moves.history("greeting"),
        "move production in an emergency": lambda: moves.emergency_move("greeting", 1, "bad answers"),
        "confirm an emergency move": lambda: moves.confirm(emergency()),
        "resolve a prompt": lambda: prompts.resolve("greeting"),
        "list accounts": lambda: accounts.list_accounts(who),
        "create a user": lambda: accounts.create_user(who, f"u-{fresh}", ["reviewer"]),
        "change roles": lambda: accounts.set_roles(who, "target-user", ["analyst", "reviewer"]),
        "disable a user": lambda: accounts.set_disabled(who, "target-user", False),
        "unlock a user": lambda: accounts.unlock(who, "target-user"),
        "reset a password": lambda: accounts.reset_password(who, "target-user"),
        "search the audit trail": lambda: trail.search(AuditQuery()),
        "verify the audit trail": trail.verify,
        "export the audit head": trail.export_head,
        "check an audit head": lambda: trail.check_head(ws["audit"].head()),
        "start a comparison": lambda: comparisons.create("greeting@v1", "names", prompt_b="greeting@v2", metrics=["latency_s"]),
        "list comparisons": comparisons.list,
        "read a comparison's statistics": lambda: comparisons.statistics(done_comparison()),
        "read a comparison's rows": lambda: comparisons.rows(done_comparison()),
        "record a preference": lambda: comparisons.record_preference(done_comparison(), 0, "b", "clearer"),
        "decide a comparison": lambda: comparisons.decide(done_comparison(), "keep_a", "not convinced"),
        "create a review queue": lambda: queues.create(f"q-{fresh}", QueueFilter()),
        "save a rubric": lambda: queues.save_rubric(replace(DEFAULT_RUBRIC, title=f"Compliance {fresh}")),
        "annotate an item": annotate,
        "read a queue's annotations": lambda: annotations.queue_annotations("perm-queue"),
        "read a queue's agreement": lambda: Adjudication(annotations).agreement("perm-queue"),
        "adjudicate an item": lambda: Adjudication(annotations).adjudicate("perm-queue", ws["reviewed"], PASSING),
        "export a period": lambda: exporter.run(
            RunFilter.for_days(date.today(), date.today()), Path(tempfile.mkdtemp()) / "export", ["jsonl"]
        ),
        "list what an export can name": exporter.scope_options,
        "create an API token": lambda: tokens.create(who, "target-user", f"t-{fresh}", ["read"]),
        "list API tokens": lambda: tokens.list(who),
        "revoke an API token": lambda: tokens.revoke(who, someone_elses_token()),
    }
    ops[name]()


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "role"), list(itertools.product(EXPECTED, Role)), ids=lambda v: str(v))
def test_role_against_operation(workspace, operation, role):
    who = Principal(f"someone-{role.value}", frozenset({role}))
    if role in EXPECTED[operation]:
        _operation(operation, workspace, who)
    else:
        with pytest.raises(PermissionDenied) as denied:
            _operation(operation, workspace, who)
        assert "Ask an administrator" in denied.value.hint
