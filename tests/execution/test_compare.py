"""A/B comparisons on a real database through the real pipeline (Presidio, screening, the
offline model or a local OpenAI-protocol server), with TruLens's own compare_runs as anchor."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import sqlalchemy as sa

from config.errors import InputError, PermissionDenied
from evaluation import MetricSet
from execution.compare import PREFERENCE_METRIC, Comparisons
from prompts.label_moves import LabelMoves
from prompts.registry import PromptRegistry
from security.identity import Principal, Role
from storage import schema
from storage.datasets import DatasetStore
from tests.conftest import ANALYST

pytestmark = pytest.mark.slow

PRODUCT = Principal("pat", frozenset({Role.PRODUCT}), "local")
AUDITOR = Principal("aud", frozenset({Role.AUDITOR}), "local")
ADMIN = Principal("root", frozenset({Role.ADMIN}), "local")
APPROVER = Principal("ada", frozenset({Role.APPROVER}), "local")
METRICS = MetricSet.from_list([
    {"metric": "total_tokens"},
    {"metric": "latency_s"},
    {"metric": "assert_not_contains", "name": "no_refund", "options": {"text": "refund"}},
])


def _rows(n: int) -> list[dict[str, str]]:
    return [{"question": f"What is the fee for transfer number {i}?"} for i in range(n)]


@pytest.fixture
def world(make_pipeline):
    pipeline = make_pipeline()
    registry = PromptRegistry(pipeline.store, ANALYST)
    registry.create("faq", "Answer the customer in one sentence. Question: {{ question }}")
    registry.add_version("faq", "Promise a refund, then answer. Question: {{ question }}")
    DatasetStore(pipeline.store).save_dataset("questions", _rows(12))
    return pipeline, registry


def _batch_rows(pipeline, run_id: str) -> list[int]:
    pipeline.store.flush()
    r = schema.runs.c
    with pipeline.store.engine.connect() as conn:
        return sorted(row[0] for row in conn.execute(sa.select(r.dataset_row).where(r.batch_id == run_id)))


def test_both_sides_run_paired_row_by_row_and_a_guard_regression_is_found(world):
    pipeline, _ = world
    comparisons = Comparisons(pipeline.acting_as(PRODUCT))
    row = comparisons.create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS, guards=["no_refund"])
    assert row.status == "queued" and len(row.run_ids["a"]) == len(row.run_ids["b"]) == 1
    seen = []
    done = comparisons.execute(row.id, progress=lambda d, n: seen.append((d, n)))
    assert done.status == "done" and seen[-1] == (24, 24) and seen == sorted(seen)

    data = comparisons.paired(row.id)
    assert data.rows == list(range(12))
    a, b = data.scores["no_refund"]
    assert a.shape == (12, 1) and (a == 1).all() and (b == 0).all()  # B's answers restate its promise of a refund

    stats = comparisons.statistics(row.id)
    assert stats.guard_regressions == ("no_refund",)
    refund = stats.metric("no_refund")
    assert refund.kind == "binary" and refund.test.name.lower().startswith("mcnemar") and refund.direction == "worse"
    assert "no_refund" in stats.verdict() and done.statistics["guard_regressions"] == ["no_refund"]

    rows, total = comparisons.rows(row.id, only_guard_regressions=True, limit=5)
    assert total == 12 and len(rows) == 5 and all(r["guard_regressed"] for r in rows)
    assert "Promise a refund" in rows[0]["input_b"] and "Promise a refund" not in rows[0]["input_a"]
    assert rows[0]["output_a"].startswith("[offline simulation]") and rows[0]["metrics"]["no_refund"] == (1.0, 0.0)
    events = [e.action for e in pipeline.audit.list(limit=200)]
    assert "comparison_created" in events and "comparison_done" in events


def test_the_mean_differences_agree_with_trulens_compare_runs(world):
    from trulens.core.run import compare_runs

    pipeline, _ = world
    comparisons = Comparisons(pipeline.acting_as(PRODUCT))
    row = comparisons.create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS)
    comparisons.execute(row.id)
    ours = comparisons.statistics(row.id)
    run_a, run_b = comparisons.trulens_runs(row.id)
    theirs = compare_runs(run_a, run_b, metric_directions={"total_tokens": False, "latency_s": False, "no_refund": True})
    assert set(theirs.metrics) == {"total_tokens", "latency_s", "no_refund"}
    for name, diff in theirs.metrics.items():
        mine = ours.metric(name).difference
        assert diff.n_items == 12  # paired by input: every dataset row on both sides
        assert diff.mean_delta == pytest.approx(mine.value, abs=1e-9)
        width = max(diff.ci_upper - diff.ci_lower, 1e-12)
        # two percentile bootstraps of the same differences: the bounds agree within resampling error
        assert abs(diff.ci_lower - mine.low) <= 0.35 * width + 1e-9
        assert abs(diff.ci_upper - mine.high) <= 0.35 * width + 1e-9


def test_repeats_and_reuse_of_finished_runs(world):
    from execution.evaluate import Evaluator

    pipeline, _ = world
    evaluator = Evaluator(pipeline)
    earlier = evaluator.create("faq@v1", "questions", provider="offline", metric_set=METRICS)
    evaluator.execute(earlier.id)

    comparisons = Comparisons(pipeline)
    row = comparisons.create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS, repeats=2)
    assert row.run_ids["a"][0] == earlier.id and row.reused == [earlier.id]
    assert len(row.run_ids["a"]) == len(row.run_ids["b"]) == 2 and len(set(row.all_runs)) == 4
    comparisons.execute(row.id)
    assert _batch_rows(pipeline, earlier.id) == list(range(12))  # the reused run was not run again

    stats = comparisons.statistics(row.id)
    tokens = stats.metric("total_tokens")
    assert tokens.stability_a.share == 1.0 and tokens.stability_a.repeats == 2  # the offline model is deterministic
    fresh = comparisons.create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS, reuse=False)
    assert not fresh.reused and earlier.id not in fresh.all_runs


def test_a_cancelled_comparison_resumes_without_repeating_a_row(world):
    pipeline, _ = world
    DatasetStore(pipeline.store).save_dataset("many", _rows(150))
    comparisons = Comparisons(pipeline)
    row = comparisons.create("faq@v1", "many", prompt_b="faq@v2", metrics=["total_tokens"], metric_set=METRICS)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 64:
            cancel.set()

    stopped = comparisons.execute(row.id, progress=progress, cancel=cancel)
    assert stopped.status == "cancelled"
    first = _batch_rows(pipeline, row.run_ids["a"][0])
    assert 0 < len(first) < 150
    assert comparisons.execute(row.id).status == "done"
    for run_id in row.all_runs:
        assert _batch_rows(pipeline, run_id) == list(range(150))


def test_preferences_land_on_both_trulens_records_and_in_the_audit_trail(world):
    pipeline, _ = world
    comparisons = Comparisons(pipeline.acting_as(PRODUCT))
    row = comparisons.create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS)
    comparisons.execute(row.id)
    comparisons.record_preference(row.id, 3, "a", "B promised Maria Gonzalez a refund")
    comparisons.record_preference(row.id, 3, "tie")  # the same reviewer changes their mind: replaced
    comparisons.record_preference(row.id, 4, "b")

    prefs = comparisons.table.preferences(row.id)
    assert [(p.dataset_row, p.preference) for p in prefs] == [(3, "tie"), (4, "b")]
    [page], _ = comparisons.rows(row.id, offset=3, limit=1)
    assert page["preferences"][0]["preference"] == "tie"

    data = comparisons.paired(row.id)
    record_a, record_b = data.records[0][4], data.records[1][4]
    records, feedback = pipeline.store.session.get_records_and_feedback()  # TruLens's own reading
    assert PREFERENCE_METRIC in feedback
    by_id = records.set_index("record_id")[PREFERENCE_METRIC]
    assert by_id[record_a] == 0.0 and by_id[record_b] == 1.0

    stats = comparisons.statistics(row.id)
    assert stats.preferences.counts["b"] == 1 and stats.preferences.counts["tie"] == 1
    events = [e for e in pipeline.audit.list(action="comparison_preference")]
    assert len(events) == 3 and "Maria" not in json.dumps([e.details for e in events])

    with pytest.raises(InputError, match="Unknown preference"):
        comparisons.record_preference(row.id, 1, "A")
    with pytest.raises(PermissionDenied):
        Comparisons(pipeline.acting_as(AUDITOR)).record_preference(row.id, 1, "a")
    with pytest.raises(PermissionDenied):
        Comparisons(pipeline.acting_as(AUDITOR)).decide(row.id, "keep_a", "no")
    assert Comparisons(pipeline.acting_as(AUDITOR)).statistics(row.id).metric("no_refund")  # auditors read


def test_comments_are_scrubbed_before_they_are_stored(world):
    pipeline, _ = world
    comparisons = Comparisons(pipeline.acting_as(PRODUCT))
    row = comparisons.create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS)
    comparisons.execute(row.id)
    comparisons.record_preference(row.id, 0, "a", "Call Maria Gonzalez on (212) 555-0143")
    [pref] = comparisons.table.preferences(row.id)
    assert "Maria" not in pref.comment and "555-0143" not in pref.comment
    record = pipeline.store.get_run(comparisons.paired(row.id).records[0][0])
    assert "Maria" not in json.dumps(record, default=str)


def test_a_typed_title_is_scrubbed_and_an_over_long_one_refused_before_anything_runs(world):
    pipeline, _ = world
    comparisons = Comparisons(pipeline.acting_as(PRODUCT))
    with pytest.raises(InputError, match="256 characters"):
        comparisons.create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS, title="t" * 256)
    assert comparisons.list() == []
    row = comparisons.create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS,
                             title="Shorter replies, as Maria Gonzalez asked")
    assert "Maria" not in comparisons.table.get(row.id).title and "<PERSON_1>" in row.title


def test_a_decision_requests_production_with_the_comparison_attached(world):
    pipeline, registry = world
    product = Comparisons(pipeline.acting_as(PRODUCT))
    row = product.create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS)
    with pytest.raises(InputError, match="has not finished"):
        product.decide(row.id, "keep_a", "too early")
    product.execute(row.id)
    with pytest.raises(InputError, match="Say why"):
        product.decide(row.id, "request_production", " ")
    decided = product.decide(row.id, "request_production", "B answers as well and is shorter")
    assert decided.decision["action"] == "request_production" and decided.decided_by == PRODUCT.actor
    moves = LabelMoves(PromptRegistry(pipeline.store, APPROVER), pipeline.audit)
    [request] = moves.pending("faq")
    assert request.comparison_id == row.id and request.version == 2 and request.id == decided.decision["request_id"]
    attached = moves.review(request.id).comparison  # what the approver reads before deciding
    assert attached["id"] == row.id and attached["verdict"] == product.statistics(row.id).verdict()
    moves.approve(request.id)
    assert registry.resolve("faq@production").version == 2
    with pytest.raises(InputError, match="already decided"):
        product.decide(row.id, "keep_a", "changed my mind")
    [event] = pipeline.audit.list(action="comparison_decided")
    assert event.details["action"] == "request_production" and event.details["comparison"] == row.id


def test_promote_to_staging_and_a_model_migration(world, llm_server):
    pipeline, registry = world
    product = Comparisons(pipeline.acting_as(PRODUCT))
    row = product.create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS)
    product.execute(row.id)
    product.decide(row.id, "promote_staging", "B is ready for the pilot")
    assert registry.resolve("faq@staging").version == 2

    cheaper = f"compat:small-model@{llm_server.openai_base_url}"
    migration = product.create("faq@v1", "questions", provider_b=cheaper, metric_set=METRICS)
    assert migration.side_b["version"] == 1 and migration.side_b["provider"] == cheaper
    product.execute(migration.id)
    assert len(llm_server.requests) == 12  # only B ran on the server
    with pytest.raises(InputError, match="no version to promote"):
        product.decide(migration.id, "promote_staging", "cheaper")
    assert product.decide(migration.id, "adopt_b", "quality holds").decision["action"] == "adopt_b"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"prompt_b": "faq@v1"}, "A and B are identical"),
        ({"prompt_b": "other@v1"}, "a comparison is of one prompt"),
        ({"prompt_b": "faq@v2", "guards": ["toxicity"]}, "not in the comparison's metric set"),
        ({"prompt_b": "faq@v2", "repeats": 0}, "Repeats must be between"),
        ({"prompt_b": "faq@v9"}, "v9"),
    ],
)
def test_bad_requests_fail_before_anything_runs(world, kwargs, error):
    pipeline, registry = world
    registry.create("other", "Hello {{ question }}")
    comparisons = Comparisons(pipeline)
    with pytest.raises(Exception, match=error):
        comparisons.create("faq@v1", "questions", metric_set=METRICS, **kwargs)
    assert comparisons.list() == []


def test_runs_over_different_datasets_or_metrics_are_refused(world):
    from execution.evaluate import Evaluator

    pipeline, _ = world
    DatasetStore(pipeline.store).save_dataset("other-questions", _rows(3))
    evaluator = Evaluator(pipeline)
    a = evaluator.create("faq@v1", "questions", provider="offline", metric_set=METRICS)
    b = evaluator.create("faq@v2", "other-questions", provider="offline", metric_set=METRICS)
    c = evaluator.create("faq@v2", "questions", provider="offline", metrics=["latency_s"], metric_set=METRICS)
    comparisons = Comparisons(pipeline)
    with pytest.raises(InputError, match="different datasets"):
        comparisons.from_runs(a.id, b.id)
    with pytest.raises(InputError, match="scored on one side only: no_refund, total_tokens"):
        comparisons.from_runs(a.id, c.id)


def test_a_user_who_may_not_read_the_prompt_cannot_compare_it(world):
    pipeline, _ = world
    with pytest.raises(PermissionDenied):
        Comparisons(pipeline.acting_as(ADMIN)).create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS)
    with pytest.raises(PermissionDenied):
        Comparisons(pipeline.acting_as(AUDITOR)).create("faq@v1", "questions", prompt_b="faq@v2", metric_set=METRICS)


@pytest.mark.parametrize(("guard", "code"), [("total_tokens", 0), ("no_refund", 1)])
def test_cli_prints_the_verdict_and_exits_1_on_a_guard_regression(world, tmp_settings, monkeypatch, capsys, guard, code):
    import launch
    from config.settings import get_settings
    from execution.metric_sets import MetricSets

    pipeline, _ = world
    MetricSets(pipeline.store, ANALYST).save("faq", 0, METRICS)
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", tmp_settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(tmp_settings.data_dir))
    get_settings.cache_clear()
    try:
        argv = ["compare", "--a", "faq@v1", "--b", "faq@v2", "--dataset", "questions", "--guard", guard]
        assert launch.main(argv) == code
        text = capsys.readouterr().out
        assert "no_refund" in text and "B − A" in text and ("GUARD REGRESSED" in text) is (code == 1)
        assert launch.main([*argv, "--json"]) == code  # the runs of the first call are reused
        out = json.loads(capsys.readouterr().out)
        assert out["guard_regressions"] == (["no_refund"] if code else [])
        assert {m["name"] for m in out["metrics"]} == {"total_tokens", "latency_s", "no_refund"}
        assert launch.main(["compare", "--a", "faq@v1", "--b", "faq@v1", "--dataset", "questions"]) == 2
        assert "identical" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_edge_cases_give_explanations_not_nan(world):
    pipeline, _ = world
    DatasetStore(pipeline.store).save_dataset("one", _rows(1))
    comparisons = Comparisons(pipeline)
    row = comparisons.create("faq@v1", "one", prompt_b="faq@v2", metric_set=METRICS)
    comparisons.execute(row.id)
    data = comparisons.statistics(row.id).to_dict()
    text = json.dumps(data)
    assert "NaN" not in text and "Infinity" not in text
    tokens = next(m for m in data["metrics"] if m["name"] == "total_tokens")
    assert tokens["notes"] and tokens["test"]["p_value"] is None
    assert np.isfinite(tokens["difference"]["value"])


def test_cli_fails_when_a_metric_errored_on_either_side(world, tmp_settings, monkeypatch, capsys):
    import launch
    from config.settings import get_settings
    from evaluation.registry import metric_function, unregister_metric
    from execution.metric_sets import MetricSets

    @metric_function("fussy", description="fails on answers that mention a refund")
    def fussy(item):
        if "refund" in (item.output or "").lower():
            raise ValueError("cannot score a refund promise")
        return 1.0

    pipeline, _ = world
    MetricSets(pipeline.store, ANALYST).save("faq", 0, MetricSet.from_list([{"metric": "total_tokens"}, {"metric": "fussy"}]))
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", tmp_settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(tmp_settings.data_dir))
    get_settings.cache_clear()
    try:
        argv = ["compare", "--a", "faq@v1", "--b", "faq@v2", "--dataset", "questions"]
        assert launch.main(argv) == 1
        text = capsys.readouterr().out
        assert "GUARD REGRESSED" not in text
        assert "ERROR  B (run " in text and "fussy: 12 of 12 rows errored; first: ValueError: cannot score a refund" in text
        assert "ERROR  A (run" not in text and "FAILED (a metric errored" in text
        assert launch.main([*argv, "--json"]) == 1
        [found] = json.loads(capsys.readouterr().out)["metric_errors"]
        assert found["metric"] == "fussy" and found["errors"] == 12 and found["side"].startswith("B")
        assert launch.main([*argv, "--allow-metric-errors"]) == 0
    finally:
        unregister_metric("fussy")
        get_settings.cache_clear()
