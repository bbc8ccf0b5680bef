"""The demo workspace: prompts, runs, a scrubbed dataset, a metric set and one evaluation run."""

from __future__ import annotations

import json

import pytest

from execution.demo import seed_demo

pytestmark = pytest.mark.slow


def test_seed_creates_an_evaluated_demo_with_scrubbed_data_and_is_idempotent(make_pipeline, tmp_settings):
    from execution.demo.seed import DEMO
    from execution.evaluate import Evaluator
    from storage.datasets import DatasetStore

    pipeline = make_pipeline(principal=DEMO)
    created = seed_demo(tmp_settings, log=lambda m: None, pipeline=pipeline)
    assert created["prompts"] == ["complaint-reply", "kyc-gap-check", "loan-summary", "product-faq-chat"]
    from prompts.registry import PromptRegistry

    registry = PromptRegistry(pipeline.store, DEMO)
    faq = registry.template(registry.resolve("product-faq-chat@staging"))
    assert [role for role, _ in faq.parts] == ["system", "user", "assistant", "user"]
    assert faq.run.call_options() == {"temperature": 0.2, "max_tokens": 300}
    rows = DatasetStore(pipeline.store).load_dataset("demo-complaints")
    assert len(rows) == created["dataset_rows"]
    assert "Maria Gonzalez" not in json.dumps(rows) and "<PERSON" in json.dumps(rows)
    report = Evaluator(pipeline).report(created["evaluation"])
    assert report.run.status == "done" and report.recorded == created["dataset_rows"] and report.counts["ok"] >= 6
    names = {m.name for m in report.metrics}
    assert {"no_guarantees", "short_reply", "answer_relevance", "pii_leaked_output"} <= names
    from execution.compare import Comparisons

    comparison = Comparisons(pipeline).get(created["comparison"])
    assert comparison.status == "done" and comparison.statistics["metrics"]
    assert comparison.side_a["version"] == 1 and comparison.side_b["version"] == 2
    assert created["evaluation"] in comparison.reused  # production's evaluation was not run twice
    from review.adjudication import Adjudication
    from review.annotations import Annotations
    from review.queues import Queues

    adjudication = Adjudication(Annotations(Queues(pipeline.store, DEMO, pipeline.audit), scrubber=pipeline.scrubber))
    assert len(adjudication.disputed(created["review_queue"])) == 1  # one disagreement awaits a lead reviewer
    assert len(adjudication.annotations.queue_annotations(created["review_queue"])) == 6
    assert seed_demo(tmp_settings, log=lambda m: None, pipeline=pipeline) == {
        "skipped": "the database already has prompts"
    }


def test_seed_demo_with_runs_from_the_shell_creates_the_demo_then_a_year(tmp_settings, monkeypatch, capsys, scrubber):
    """``seed-demo --runs N`` on an empty database: the demo workspace, then N runs of history;
    a second call adds N more; the audit chain verifies from the shell."""
    import launch
    from config.settings import get_settings
    from storage.trulens_store import close_all_stores

    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", tmp_settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(tmp_settings.data_dir))
    get_settings.cache_clear()
    try:
        assert launch.main(["seed-demo", "--runs", "300"]) == 0
        captured = capsys.readouterr()
        summary = json.loads(captured.out)
        assert summary["demo"]["prompts"] == ["complaint-reply", "kyc-gap-check", "loan-summary", "product-faq-chat"]
        assert summary["runs"] == 300 and summary["label_moves"] == 5 and summary["annotations"] > 0
        assert summary["audit_events"] > 300 and summary["seconds"] > 0
        assert "300/300 runs" in captured.err
        assert launch.main(["seed-demo", "--runs", "100"]) == 0
        again = json.loads(capsys.readouterr().out)
        assert again["runs"] == 100 and again["label_moves"] == 0 and "skipped" in again["demo"]
        assert launch.main(["verify-audit"]) == 0
        assert capsys.readouterr().out.startswith("audit chain intact")
    finally:
        close_all_stores()
        get_settings.cache_clear()
