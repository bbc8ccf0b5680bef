"""An export of 20,000 runs streams: its memory does not grow with the runs.

Two fresh interpreters: the first records 20,000 runs through ``TruLensStore.record_runs``
(spread over ten days, each with its own input text) plus 20,000 audit events; the second
loads the analyzers, then exports the first days (about 5,000 runs, three pages) and then
all ten days, measuring Python's own allocations (``tracemalloc``, peak per export) and the
process's peak resident memory (``ru_maxrss``) before and after. The libraries (torch and
transformers come with spaCy and Presidio) and the models hold about 650 MB before any row
is read; what the export adds is asserted here and printed with its speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
RUNS = 20_000
DAYS = 10

RECORD = r"""
import random, sys, uuid
from datetime import datetime, timezone
from config.offline import apply_offline_env
apply_offline_env()
from config.settings import Settings
from storage import MetricValue, RunRecord, open_store
from storage.audit import audit_log

folder, n, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder}/pf.db")
store = open_store(settings)
rng = random.Random(7)
answers = [f"Your card {k} is blocked until <PERSON_1> confirms the payment by phone; no fee applies." * 2 for k in range(300)]
# the runs end an hour before today's midnight (UTC), so the first days hold the same runs at any
# time of day the test runs
today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
end = int(today.timestamp()) * 10**9 - 3_600 * 10**9
day = 86_400 * 10**9
start = end - days * day
runs = []
for i in range(n):
    t = start + (i * days * day) // n
    question = f"Customer <PERSON_1> (case {i}, branch {rng.randrange(900)}) asks why card payment {rng.randrange(10**6)} failed."
    runs.append(RunRecord(
        run_id=uuid.uuid4().hex, app_name=("card-faq", "loan-summary")[i % 2], app_version="v1",
        input_text="Answer the customer briefly: " + question, output_text=rng.choice(answers), status="ok",
        error=None, provider="offline", model="echo-1", simulated=True, latency_s=0.2, input_tokens=60,
        output_tokens=40, cost_usd=None, started_at_ns=t, ended_at_ns=t + 2 * 10**8, stages=[],
        metrics=[MetricValue("toxicity", rng.random() / 10, False), MetricValue("total_tokens", 100.0, False)],
        decisions={"pii_in": {"PERSON": 1}, "pii_out": {}, "injection": {"action": "allow", "score": 0.0}},
        variables={"question": question}, actor="user:ann", batch_id=None, dataset_row=i,
    ))
    if len(runs) == 2_000:
        store.record_runs(runs)
        runs = []
store.record_runs(runs)
store.flush()
audit = audit_log(settings, store.engine)
for k in range(0, n, 2_000):
    audit.append_many([("user:ann", "run", f"run:{k + j}", {"n": k + j}) for j in range(2_000)])
store.close()
"""

EXPORT = r"""
import json, resource, sys, time, tracemalloc
from datetime import timedelta
from config.offline import apply_offline_env
apply_offline_env()
from config.settings import Settings
from reports.export import ComplianceExport, NOT_CHECKED
from security.identity import Principal, Role
from security.pii.scan import get_scanner
from storage.run_filter import RunFilter
from storage.schema import utcnow

folder, days = sys.argv[1], int(sys.argv[2])
settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder}/pf.db")
scanner = get_scanner(settings, ignore=NOT_CHECKED)
scanner.scan(["Ana Lima, ana@example.com"]), scanner.scan(["Ana Lima"], "full")  # models loaded
export = ComplianceExport(settings, Principal("aud", frozenset({Role.AUDITOR})))
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
today = utcnow().date()
out = {"rss_before": rss()}
tracemalloc.start()
first = today - timedelta(days=days + 1)
for name, last in (("two_days", first + timedelta(days=2)), ("all", today)):
    tracemalloc.reset_peak()
    cpu, wall = time.process_time(), time.perf_counter()
    result = export.run(RunFilter.for_days(first, last), f"{folder}/{name}", ["csv", "jsonl"])
    out[name] = {
        "rows": result.rows, "peak_traced": tracemalloc.get_traced_memory()[1], "seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu, "bytes": sum(f["bytes"] for f in result.files),
        "texts_checked": result.manifest["pii_check"]["texts_checked"],
    }
out["rss_after"] = rss()
print(json.dumps(out))
"""


def _python(script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("PROMPTFORGE_")}
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=3_000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_memory_stays_flat_while_exporting_20000_runs(tmp_path):
    _python(RECORD, str(tmp_path), str(RUNS), str(DAYS))
    figures = json.loads(_python(EXPORT, str(tmp_path), str(DAYS)).strip().splitlines()[-1])
    some, full = figures["two_days"], figures["all"]
    assert full["rows"]["runs"] == RUNS and full["rows"]["metric_results"] == 2 * RUNS
    assert full["rows"]["audit_events"] >= RUNS
    assert 2_500 < some["rows"]["runs"] < 6_000  # two pages of runs or more
    mb = 1024 * 1024
    added_rss = (figures["rss_after"] - figures["rss_before"]) / mb
    print(
        f"\nexport of {RUNS:,} runs ({sum(full['rows'].values()):,} rows, {full['bytes'] / mb:.0f} MB of CSV and JSON Lines): "
        f"{full['seconds']:.0f} s ({full['cpu_seconds']:.0f} CPU s, {RUNS / full['seconds']:.0f} runs/s); "
        f"texts checked {full['texts_checked']}; Python allocations peak {full['peak_traced'] / mb:.0f} MB "
        f"(two days, {some['rows']['runs']:,} runs: {some['peak_traced'] / mb:.0f} MB); resident memory "
        f"{figures['rss_before'] / mb:.0f} MB with the models loaded, +{added_rss:.0f} MB by the exports"
    )
    # bounded: four times the runs take the memory of a page, as the first 5,000 did
    assert full["peak_traced"] < 1.3 * some["peak_traced"] + 10 * mb
    assert full["peak_traced"] < 150 * mb
    assert added_rss < 300
