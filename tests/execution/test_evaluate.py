"""Evaluation runs: prompt version × dataset × provider × metric set, on a real
database, through the real pipeline (Presidio, screening, offline or a local
OpenAI-protocol server), with resume after a killed run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from config.errors import ConfigError, InputError
from evaluation import MetricSet
from execution.evaluate import Evaluator, record_id
from prompts.registry import PromptRegistry
from storage import schema
from storage.datasets import DatasetStore
from tests.conftest import ANALYST

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "Answer the customer in one sentence. Question: {{ question }}"
METRICS = [
    {"metric": "latency_s"},
    {"metric": "pii_leaked_output"},
    {"metric": "assert_contains", "name": "mentions_task", "options": {"text": "Task:"}, "min_pass_rate": 0.9},
    {"metric": "assert_length", "name": "short", "options": {"max": 20, "unit": "chars"}},
    {"metric": "total_tokens", "min_mean": 1.0},
]


def _rows(n: int) -> list[dict[str, str]]:
    return [{"question": f"What is the fee for transfer number {i}?", "_expected": "The fee is 2 EUR."} for i in range(n)]


@pytest.fixture
def world(make_pipeline):
    pipeline = make_pipeline()
    PromptRegistry(pipeline.store, ANALYST).create("faq", TEMPLATE, description="FAQ answers")
    datasets = DatasetStore(pipeline.store)
    return pipeline, Evaluator(pipeline), datasets


def _records(pipeline, run_id: str) -> list[tuple]:
    pipeline.store.flush()
    r = schema.runs.c
    with pipeline.store.engine.connect() as conn:
        return list(conn.execute(sa.select(r.record_id, r.dataset_row, r.status, r.error).where(r.batch_id == run_id)))


def test_a_run_scores_every_row_records_failures_and_checks_its_gates(world):
    pipeline, evaluator, datasets = world
    rows = _rows(5)
    rows.insert(2, {"_expected": "x"})  # no value for the template's variable: cannot render
    rows[2]["other"] = "y"
    datasets.save_dataset("faq-set", rows)
    run = evaluator.create("faq@latest", "faq-set", metric_set=MetricSet.from_list(METRICS))
    assert run.status == "queued" and run.total_rows == 6 and run.prompt_ref == "faq@v1"
    progress = []
    report = evaluator.execute(run.id, progress=lambda done, total: progress.append((done, total)))

    assert report.run.status == "done"
    assert report.counts == {"ok": 5, "blocked": 0, "error": 1}
    assert progress[-1] == (6, 6)
    records = _records(pipeline, run.id)
    assert sorted(r.dataset_row for r in records) == list(range(6))
    failed = [r for r in records if r.status == "error"]
    assert [r.dataset_row for r in failed] == [2] and "question" in failed[0].error
    assert all(r.record_id == record_id(run.id, r.dataset_row) for r in records)

    by_name = {m.name: m for m in report.metrics}
    assert by_name["mentions_task"].n == 5 and by_name["mentions_task"].pass_rate == 1.0
    assert by_name["short"].pass_rate == 0.0 and by_name["short"].flagged == 5  # offline replies are long
    assert by_name["total_tokens"].mean > 1 and by_name["total_tokens"].ci_low is not None
    assert {(g.metric, g.passed) for g in report.gates} == {("mentions_task", True), ("total_tokens", True)}
    assert report.passed
    stored = evaluator.get(run.id)
    assert stored.gates and stored.done_rows == 6 and stored.failed_rows == 1


def test_results_filter_by_flag_status_and_score_and_carry_texts(world):
    pipeline, evaluator, datasets = world
    datasets.save_dataset("faq-set", _rows(4))
    run = evaluator.create("faq", "faq-set", metric_set=MetricSet.from_list(METRICS))
    evaluator.execute(run.id)
    rows, total = evaluator.results(run.id)
    assert total == 4 and [r["dataset_row"] for r in rows] == [0, 1, 2, 3]
    assert rows[0]["output"].startswith("[offline simulation]") and "transfer number 0" in rows[0]["input"]
    assert "short" in rows[0]["flags"] and "mentions_task" not in rows[0]["flags"]
    assert evaluator.results(run.id, flagged="short")[1] == 4
    assert evaluator.results(run.id, flagged="mentions_task")[1] == 0
    assert evaluator.results(run.id, status="error")[1] == 0
    tokens = sorted(r["metrics"]["total_tokens"]["value"] for r in rows)
    assert evaluator.results(run.id, metric_range=("total_tokens", tokens[-1], None))[1] >= 1
    assert evaluator.results(run.id, metric_range=("total_tokens", tokens[-1] + 1, None))[1] == 0
    page, total = evaluator.results(run.id, limit=2, offset=2)
    assert [r["dataset_row"] for r in page] == [2, 3] and total == 4


def test_a_template_variable_named_context_reads_the_datasets_context_column(world):
    """An uploaded 'context' column is stored as the metadata column '_context'; a prompt
    that puts {{ context }} in its text still gets it (and the context metrics too)."""
    pipeline, evaluator, datasets = world
    PromptRegistry(pipeline.store, ANALYST).create(
        "grounded", "Answer from this policy only: {{ context }}\nQuestion: {{ question }}", description="RAG"
    )
    datasets.save_dataset(
        "policy-set", [{"question": "Can I skip a payment?", "_context": "Payment holidays last 3 months."}]
    )
    run = evaluator.create("grounded", "policy-set", metrics=["latency_s"])
    report = evaluator.execute(run.id)
    assert report.counts["ok"] == 1
    [row], _ = evaluator.results(run.id)
    assert "Payment holidays last 3 months." in row["input"] and "Can I skip a payment?" in row["input"]


def test_trulens_leaderboard_shows_the_same_metric_means(world):
    pipeline, evaluator, datasets = world
    datasets.save_dataset("faq-set", _rows(6))
    run = evaluator.create("faq", "faq-set", metric_set=MetricSet.from_list(METRICS))
    report = evaluator.execute(run.id)
    board = pipeline.store.leaderboard().reset_index()
    row = board[(board["app_name"] == "faq") & (board["app_version"] == "v1")].iloc[0]
    for m in report.metrics:
        if m.n:
            assert row[m.name] == pytest.approx(m.mean), m.name


def test_cancel_then_resume_finishes_without_repeating_a_row(world, llm_server, tmp_settings):
    pipeline, evaluator, datasets = world
    datasets.save_dataset("faq-set", _rows(150))
    provider = f"compat:m@{llm_server.openai_base_url}"
    run = evaluator.create("faq", "faq-set", provider=provider, metrics=["latency_s"])
    cancel = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        if done >= 64:
            cancel.set()  # stop after the first chunk

    report = evaluator.execute(run.id, progress=progress, cancel=cancel)
    assert report.run.status == "cancelled" and report.run.resumable
    first = _records(pipeline, run.id)
    assert 0 < len(first) < 150
    report = evaluator.execute(run.id)
    assert report.run.status == "done"
    records = _records(pipeline, run.id)
    assert sorted(r.dataset_row for r in records) == list(range(150))
    assert len({r.record_id for r in records}) == 150
    assert len(llm_server.requests_to("openai")) == 150  # no row was sent twice


def test_a_request_to_cancel_from_elsewhere_stops_the_runner(world, llm_server):
    pipeline, evaluator, datasets = world
    datasets.save_dataset("faq-set", _rows(200))
    provider = f"compat:m@{llm_server.openai_base_url}"
    run = evaluator.create("faq", "faq-set", provider=provider, metrics=["latency_s"])

    def progress(done, total):
        if done >= 64:
            Evaluator(pipeline).cancel(run.id)  # as another process would: through the run's row

    report = evaluator.execute(run.id, progress=progress)
    assert report.run.status == "cancelled" and report.recorded < 200


def test_a_second_runner_cannot_take_a_running_run(world):
    pipeline, evaluator, datasets = world
    datasets.save_dataset("faq-set", _rows(2))
    run = evaluator.create("faq", "faq-set", metrics=["latency_s"])
    assert evaluator.table.claim(run.id)
    with pytest.raises(InputError, match="another runner"):
        evaluator.execute(run.id)


@pytest.mark.parametrize(
    ("prompt", "dataset", "kwargs", "error", "message"),
    [
        ("nope", "faq-set", {}, Exception, "No prompt named 'nope'"),
        ("faq", "missing", {}, Exception, "missing"),
        ("faq", "wrong-columns", {}, InputError, "no column for the template variable 'question'"),
        ("faq", "faq-set", {"metrics": ["no_such_metric"]}, ConfigError, "Unknown metric"),
        ("faq", "faq-set", {"provider": "nonsense:x"}, Exception, "nonsense"),
        (
            "faq", "faq-set",
            {"metric_set": MetricSet.from_list([{"metric": "assert_regex", "options": {"pattern": "("}}])},
            ConfigError, "pattern",
        ),
    ],
)
def test_bad_requests_fail_before_anything_runs(world, prompt, dataset, kwargs, error, message):
    pipeline, evaluator, datasets = world
    datasets.save_dataset("faq-set", _rows(2))
    datasets.save_dataset("wrong-columns", [{"q": "x"}])
    with pytest.raises(error, match=message):
        evaluator.create(prompt, dataset, **kwargs)
    assert evaluator.list_runs() == []


@pytest.mark.slow
def test_a_killed_cli_run_resumes_from_the_last_recorded_row(world, llm_server, tmp_settings):
    """kill -9 in the middle of ``launch.py eval``; the resumed run records every row once."""
    pipeline, evaluator, datasets = world
    datasets.save_dataset("faq-set", _rows(300))
    for _ in range(300):
        llm_server.enqueue(text="Task: answered.", delay_s=0.02)
    pipeline.store.flush()
    env = {
        **os.environ,
        "PROMPTFORGE_DATABASE_URL": tmp_settings.resolved_database_url,
        "PROMPTFORGE_DATA_DIR": str(tmp_settings.data_dir),
        "PROMPTFORGE_PII_WORKERS": "0",
        "PROMPTFORGE_BATCH_CONCURRENCY": "2",
    }
    provider = f"compat:m@{llm_server.openai_base_url}"
    cmd = [sys.executable, str(ROOT / "launch.py"), "eval", "--prompt", "faq", "--dataset", "faq-set",
           "--provider", provider, "--metrics", "latency_s", "total_tokens"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if len(_records(pipeline, _only_run(evaluator).id if evaluator.list_runs() else "-")) >= 64:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    run = _only_run(evaluator)
    before = _records(pipeline, run.id)
    assert 64 <= len(before) < 300
    assert evaluator.get(run.id).status == "running"  # nobody told the database: the heartbeat goes stale
    with evaluator.table.engine.begin() as conn:  # age the heartbeat instead of waiting 45 s
        conn.execute(sa.update(schema.eval_runs).values(heartbeat_at=schema.utcnow().replace(year=2000)))
    assert evaluator.get(run.id).interrupted
    report = evaluator.execute(run.id)
    records = _records(pipeline, run.id)
    assert report.run.status == "done" and report.counts["ok"] == 300
    assert sorted(r.dataset_row for r in records) == list(range(300))
    assert {r.record_id for r in before} <= {r.record_id for r in records}


def _only_run(evaluator):
    [run] = evaluator.list_runs()
    return run


def test_a_judged_metric_records_its_score_and_the_judge_cost(world, llm_server):
    from tests.fakes.deepeval_judge import DeepEvalResponder

    pipeline, evaluator, datasets = world
    llm_server.default_text = DeepEvalResponder()
    datasets.save_dataset("faq-set", _rows(3))
    judge = f"compat:judge-model@{llm_server.openai_base_url}"
    run = evaluator.create("faq", "faq-set", judge=judge, metrics=["answer_relevancy", "latency_s"])
    report = evaluator.execute(run.id)
    by_name = {m.name: m for m in report.metrics}
    assert by_name["answer_relevancy"].n == 3 and 0.0 <= by_name["answer_relevancy"].mean <= 1.0
    assert by_name["judge_latency_s"].n == 3 and by_name["judge_latency_s"].mean > 0
    assert by_name["judge_cost_usd"].unavailable == 3  # no known price for "judge-model": never guessed
    assert llm_server.requests_to("openai"), "the judge was called over the OpenAI protocol"


def test_an_offline_judge_is_stored_as_simulated_and_never_gated(world):
    pipeline, evaluator, datasets = world
    datasets.save_dataset("faq-set", _rows(2))
    metric_set = MetricSet.from_list([{"metric": "bias", "min_mean": 0.9}])
    run = evaluator.create("faq", "faq-set", judge="offline", metric_set=metric_set)
    report = evaluator.execute(run.id)
    names = {m.name for m in report.metrics}
    assert "bias [simulated]" in names and "bias" not in names
    [gate] = report.gates
    assert gate.passed is None and "simulated" in gate.note
    rows, _ = evaluator.results(run.id)
    assert rows[0]["metrics"]["bias [simulated]"]["explanation"].startswith("Simulated (offline judge)")


@pytest.mark.parametrize(("gate", "code"), [(0.0, 0), (1e9, 1)])
def test_cli_eval_imports_a_file_prints_a_summary_and_gates(world, tmp_settings, tmp_path, monkeypatch, capsys, gate, code):
    import json

    import launch
    from config.settings import get_settings
    from execution.metric_sets import MetricSets

    pipeline, evaluator, datasets = world
    MetricSets(pipeline.store, ANALYST).save(
        "faq", 0, MetricSet.from_list([{"metric": "total_tokens", "min_mean": gate}, {"metric": "latency_s"}])
    )
    data = tmp_path / "questions.csv"
    data.write_text("question,expected_output\nWhat does a transfer cost? Ask Maria Gonzalez.,Free\nIs it fast?,Yes\n")
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", tmp_settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(tmp_settings.data_dir))
    get_settings.cache_clear()
    try:
        assert launch.main(["eval", "--prompt", "faq@latest", "--dataset", str(data), "--json"]) == code
        out = json.loads(capsys.readouterr().out)
        assert out["rows"] == 2 and out["ok"] == 2 and out["passed"] is (code == 0)
        assert [g["metric"] for g in out["gates"]] == ["total_tokens"]
        [stored] = [d for d in datasets.list_datasets() if d["name"].startswith("questions-")]
        assert "Maria Gonzalez" not in json.dumps(datasets.load_dataset(stored["id"]))  # scrubbed before storage
        assert launch.main(["eval", "--prompt", "faq", "--dataset", str(data)]) == code  # same file: reused
        text = capsys.readouterr().out
        assert "total_tokens" in text and ("PASSED" if code == 0 else "FAILED") in text
        assert len([d for d in datasets.list_datasets() if d["name"].startswith("questions-")]) == 1
    finally:
        get_settings.cache_clear()


def test_find_takes_a_unique_id_prefix_and_counts_match_the_rows(world):
    from config.errors import NotFoundError

    pipeline, evaluator, datasets = world
    datasets.save_dataset("faq-set", _rows(3))
    run = evaluator.create("faq", "faq-set", metrics=["total_tokens"])
    other = evaluator.create("faq", "faq-set", metrics=["total_tokens"])
    assert evaluator.find(run.id[:12]).id == run.id
    for prefix in ("", "%", "_", "zz"):  # ambiguous, or LIKE wildcards taken literally, or unknown
        with pytest.raises(NotFoundError, match="No single evaluation run"):
            evaluator.find(prefix)
    evaluator.execute(run.id)
    assert evaluator.count_results(run.id) == 3 == evaluator.results(run.id)[1]
    assert evaluator.count_results(run.id, status="error") == 0
    assert evaluator.count_results(other.id) == 0


def test_a_chat_version_runs_on_its_default_provider_with_its_settings(world, llm_server):
    from prompts.spec import Message, ModelDefaults, PromptSpec, VariableSpec

    pipeline, evaluator, datasets = world
    provider = f"compat:house-model@{llm_server.openai_base_url}"
    spec = PromptSpec(
        messages=(Message("system", "Answer in one sentence."), Message("user", "Question: {{ question }}")),
        variables=(VariableSpec("question"),),
        defaults=ModelDefaults(provider=provider, temperature=0.1, max_tokens=40),
    )
    PromptRegistry(pipeline.store, ANALYST).create_prompt("faq-chat", spec, lint=False)
    datasets.save_dataset("chat-questions", _rows(3))
    run = evaluator.create("faq-chat@latest", "chat-questions", metrics=["latency_s"])
    assert run.provider == provider
    report = evaluator.execute(run.id)
    assert report.run.status == "done" and len(llm_server.requests) == 3
    for request in llm_server.requests:
        assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
        assert request.body["temperature"] == 0.1 and request.body["model"] == "house-model"


def test_cli_eval_fails_when_a_judged_metric_errored_on_its_rows(world, llm_server, tmp_settings, monkeypatch, capsys):
    """A judge that answers in prose leaves every judged row in error: that is never a pass."""
    import json

    import launch
    from config.settings import get_settings

    pipeline, evaluator, datasets = world
    llm_server.default_text = "Honestly, I found the answer quite relevant and helpful overall."
    datasets.save_dataset("faq-set", _rows(3))
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", tmp_settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(tmp_settings.data_dir))
    get_settings.cache_clear()
    judge = f"compat:judge-model@{llm_server.openai_base_url}"
    argv = ["eval", "--prompt", "faq", "--dataset", "faq-set", "--judge", judge, "--metrics", "answer_relevancy", "latency_s"]
    try:
        assert launch.main(argv) == 1
        text = capsys.readouterr().out
        assert "(no scores: 3 errors)" in text and "unavailable" not in text.split("answer_relevancy")[1].split("\n")[0]
        assert "ERROR  answer_relevancy: 3 of 3 rows errored; first: The judge" in text and "with JSON" in text
        assert "PASSED" not in text and "FAILED (a metric errored" in text
        assert launch.main([*argv, "--json"]) == 1
        out = json.loads(capsys.readouterr().out)
        assert out["metric_errors"] == ["answer_relevancy"] and out["metrics"]["answer_relevancy"]["errors"] == 3
        assert "did not answer" in out["metrics"]["answer_relevancy"]["first_error"]
        assert launch.main([*argv, "--allow-metric-errors"]) == 0  # the errors are still shown
        text = capsys.readouterr().out
        assert "allowed by --allow-metric-errors" in text and "ERROR  answer_relevancy" in text and "PASSED" in text
    finally:
        get_settings.cache_clear()
