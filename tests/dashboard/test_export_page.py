"""The Export page alone (AppTest): pick a period and formats, export, read the summary, get the .zip."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow  # loads the Presidio analyzers
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "export.py")


def _record_runs(n: int = 5) -> None:
    from config.settings import get_settings
    from storage import MetricValue, RunRecord, open_store

    store = open_store(get_settings())
    now = time.time_ns() - 60 * 10**9
    store.record_runs(
        RunRecord(
            run_id=f"{i:032x}", app_name="loan-summary", app_version="v1",
            input_text=f"Summarise the loan of <PERSON_1> (row {i}).", output_text="<PERSON_1> asked for a loan.",
            status="ok", error=None, provider="offline", model="echo-1", simulated=True, latency_s=0.01,
            input_tokens=10, output_tokens=8, cost_usd=None, started_at_ns=now + i * 10**6,
            ended_at_ns=now + i * 10**6 + 5 * 10**6, stages=[], metrics=[MetricValue("toxicity", 0.1, False)],
            decisions={"pii_in": {"PERSON": 1}, "pii_out": {}}, variables={"customer": "<PERSON_1>"}, actor="user:ann",
        )
        for i in range(n)
    )
    store.flush()


def test_export_a_period_and_download_it(app_env):
    _record_runs()
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Export"
    assert at.multiselect(key="exp_prompts").options == ["loan-summary"]
    at.checkbox(key="exp_jsonl").uncheck()
    at.button(key="exp_go").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("Exported" in s.value and "not signed" in s.value for s in at.success)
    counts = at.dataframe[0].value
    assert dict(zip(counts["dataset"], counts["rows"], strict=True))["runs"] == 5
    files = at.dataframe[1].value
    assert "runs.csv" in set(files["file"]) and not any(name.endswith(".jsonl") for name in files["file"])

    result = at.session_state["exp_result"]
    assert result.folder.parent == Path(app_env) / "exports"  # settings' data folder
    assert (result.folder / "manifest.json").is_file()
    from reports.export import zip_export

    with zipfile.ZipFile(io.BytesIO(zip_export(result.folder))) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read(f"{result.folder.name}/manifest.json"))
    assert f"{result.folder.name}/runs.csv" in names
    assert manifest["datasets"]["runs"] == 5
    assert any(b.label == "Download the export (.zip)" for b in at.get("download_button"))
    assert not any(b.label == "Download the PDF report" for b in at.get("download_button"))  # none was asked for

    at.checkbox(key="exp_pdf").check()
    at.checkbox(key="exp_csv").uncheck()
    at.button(key="exp_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "report.pdf" in set(at.dataframe[1].value["file"])
    assert any(b.label == "Download the PDF report" for b in at.get("download_button"))


def test_an_empty_period_says_so(app_env):
    from datetime import date

    at = AppTest.from_file(PAGE, default_timeout=240).run()
    at.date_input(key="exp_period").set_value((date(2099, 1, 1), date(2099, 1, 2))).run()
    at.button(key="exp_go").click().run()
    assert not at.exception, at.exception
    assert any("matched nothing" in i.value for i in at.info)
    assert at.session_state["exp_result"].empty


def test_no_format_is_an_error_the_user_can_act_on(app_env):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.checkbox(key="exp_csv").uncheck()
    at.checkbox(key="exp_jsonl").uncheck()
    at.button(key="exp_go").click().run()
    assert not at.exception, at.exception
    assert any("No export format" in e.value for e in at.error)
