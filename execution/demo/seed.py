"""Seeding the demo workspace (idempotent: only into an empty database unless forced)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from config.settings import Settings
from execution.datasets import load_rows
from execution.prompt_ref import PromptRef
from security.identity import Principal, Role

HERE = Path(__file__).resolve().parent
DEMO = Principal("demo", frozenset(Role), "system")  # recorded as system:demo
LOAN_ROWS = [
    {
        "applicant": "Grace Whitfield",
        "notes": "Requests $25,000 over 5 years to consolidate two credit cards. Salary $68,000, "
        "employed 6 years, reachable at grace.whitfield@example.net.",
    },
    {
        "applicant": "Omar Haddad",
        "notes": "Small-business loan of $120,000 for a bakery expansion; 3 years of accounts attached, "
        "phone 415-555-0178.",
    },
]


def _status_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / "demo-status.json"


def demo_status(settings: Settings) -> dict:
    """``{"state": "absent" | "seeding" | "ready" | "failed", ...}`` for the app's banner."""
    try:
        return json.loads(_status_file(settings).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {"state": "absent"}


def _set_status(settings: Settings, **status) -> None:
    path = _status_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**status, "at": time.time()}))


def seed_demo(
    settings: Settings,
    force: bool = False,
    log: Callable[[str], None] = print,
    pipeline=None,
    runs: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Create the demo prompts and record demo runs. Returns what was created.

    ``runs``: then add that many runs of a year's history (``execution.demo.history``), with the
    demo workspace created first when the database has no prompts; the result is the history's
    summary with what the demo seed did under ``demo``."""
    from execution.demo.history import check_count, seed_history
    from execution.pipeline import Pipeline
    from prompts.registry import PromptRegistry

    check_count(runs)
    pipeline = pipeline or Pipeline(settings, principal=DEMO)
    prompts = PromptRegistry(pipeline.store, pipeline.principal, pipeline.audit)
    if prompts.list_prompts() and not force:
        created = {"skipped": "the database already has prompts"}
    else:
        _set_status(settings, state="seeding")
        try:
            created = _seed(pipeline, prompts, log)
        except Exception as exc:
            _set_status(settings, state="failed", error=f"{type(exc).__name__}: {exc}")
            raise
        _set_status(settings, state="ready", **created)
    if not runs:
        return created
    return {**seed_history(pipeline, runs, log=log, progress=progress), "demo": created}


def _seed(pipeline, prompts, log: Callable[[str], None]) -> dict:
    versions = create_prompts(prompts, log)

    def ref(slug: str) -> PromptRef:
        return PromptRef.registered(slug, versions[slug].version)

    rows, _ = load_rows(HERE / "complaints.csv")
    complaint = pipeline.template(versions["complaint-reply"].template)
    batch = pipeline.run_batch(complaint, rows, prompt=ref("complaint-reply"), provider="offline")
    log(f"demo: {len(batch.results)} complaint replies recorded")
    loan = pipeline.template(versions["loan-summary"].template)
    loans = pipeline.run_batch(loan, LOAN_ROWS, prompt=ref("loan-summary"), provider="offline")
    log(f"demo: {len(loans.results)} loan summaries recorded")
    evaluation = _evaluation(pipeline, versions["complaint-reply"], log)
    comparison = _comparison(pipeline, log)
    queue = _review(pipeline, log)
    return {
        "prompts": sorted(versions),
        "runs": len(batch.results) + len(loans.results),
        "dataset_rows": len(rows),
        "evaluation": evaluation,
        "comparison": comparison,
        "review_queue": queue,
    }


def create_prompts(prompts, log: Callable[[str], None]) -> dict:
    """The demo prompts with their versions and labels; slug -> first version."""
    specs = json.loads((HERE / "prompts.json").read_text())
    versions = {}
    for spec in specs:
        if "spec" in spec:  # a full spec: chat messages, typed variables, model defaults
            from prompts.spec import PromptSpec

            full = PromptSpec.from_dict(spec["spec"])
            version = prompts.create_prompt(spec["slug"], full, description=spec["description"]).version
        else:
            version = prompts.create(spec["slug"], spec["template"], description=spec["description"])
        for label in spec["labels"]:
            prompts.set_label(spec["slug"], version.version, label)
        versions[spec["slug"]] = version
        for later in spec.get("next_versions", []):  # a candidate the demo comparison weighs
            prompts.add_version(spec["slug"], later["template"], later["note"])
        log(f"demo: prompt {spec['slug']} v{version.version}")
    return versions


def _comparison(pipeline, log: Callable[[str], None]) -> str:
    """The production reply prompt against its shorter candidate, over the demo complaints
    (the finished evaluation of production is reused)."""
    from execution.compare import Comparisons

    comparisons = Comparisons(pipeline)
    row = comparisons.create(
        "complaint-reply@production", "demo-complaints", prompt_b="complaint-reply@latest",
        provider_a="offline", provider_b="offline", guards=["no_guarantees", "pii_leaked_output"],
        title="Complaint replies: shorter replies with a concrete next step",
    )
    comparisons.execute(row.id)
    log(f"demo: comparison {row.id[:8]} of complaint-reply production vs latest")
    return row.id


DEMO_METRICS = [
    {"metric": "pii_leaked_output", "max_mean": 0},
    {"metric": "answer_relevance", "flag_below": 0.2},
    {"metric": "assert_not_contains", "name": "no_guarantees", "options": {"text": ["guarantee", "promise"]},
     "min_pass_rate": 1.0},
    {"metric": "assert_length", "name": "short_reply", "options": {"max": 120, "unit": "words"}},
    {"metric": "latency_s"},
    {"metric": "total_tokens"},
]


def _evaluation(pipeline, version, log: Callable[[str], None]) -> str:
    """The complaints as a (scrubbed) dataset, a metric set for the reply prompt, one evaluation run."""
    from evaluation import MetricSet
    from execution.dataset_import import import_dataset
    from execution.evaluate import Evaluator
    from execution.metric_sets import MetricSets
    from storage.metric_sets import ALL_VERSIONS

    import_dataset(
        (HERE / "complaints.csv").read_bytes(), "complaints.csv", "demo-complaints", settings=pipeline.settings,
        scrubber=pipeline.scrubber, store=pipeline.store, actor=pipeline.principal,
    )
    MetricSets(pipeline.store, pipeline.principal, pipeline.audit).save(
        version.slug, ALL_VERSIONS, MetricSet.from_list(DEMO_METRICS)
    )
    evaluator = Evaluator(pipeline)
    run = evaluator.create(f"{version.slug}@v{version.version}", "demo-complaints", provider="offline")
    evaluator.execute(run.id)
    log(f"demo: evaluation {run.id[:8]} of {version.slug} over demo-complaints")
    return run.id


# what the two sample reviewers of the demo queue say of its first three replies: they agree on
# two and disagree on the tone of the third, which waits for a lead reviewer's adjudication
_SAMPLE_SCORES = [
    ({"tone": "good", "overall": 4}, {"tone": "good", "overall": 4}),
    ({"tone": "acceptable", "overall": 3}, {"tone": "acceptable", "overall": 3}),
    ({"tone": "good", "overall": 4}, {"tone": "poor", "overall": 3}),
]


def create_queue(pipeline):
    """The demo's compliance review queue over the complaint replies."""
    from review.queues import QueueFilter, Queues

    return Queues(pipeline.store, pipeline.principal, pipeline.audit).create(
        "demo-compliance", QueueFilter(prompt="complaint-reply"), overlap=2,
        description="[demo] Complaint replies, two compliance reviews each",
    )


def _review(pipeline, log: Callable[[str], None]) -> str:
    """A compliance queue over the complaint replies, two reviews per item, three items judged."""
    from review.annotations import Annotations
    from review.queues import Queues

    queue = create_queue(pipeline)
    passing = {"policy_breach": False, "personal_data_exposure": False, "unsuitable_advice": False, "factual_error": False}
    reviewers = [Principal(name, frozenset({Role.REVIEWER}), "demo") for name in ("sample-reviewer-a", "sample-reviewer-b")]
    for scores in _SAMPLE_SCORES:
        for who, given in zip(reviewers, scores):
            annotations = Annotations(Queues(pipeline.store, who, pipeline.audit), scrubber=pipeline.scrubber)
            item = annotations.next_item(queue.name)
            note = "The reply is curt." if given["tone"] == "poor" else None
            annotations.submit(queue.name, item.token, {**passing, **given}, note)
    log(f"demo: review queue {queue.name} with {len(_SAMPLE_SCORES)} items reviewed twice")
    return queue.name
