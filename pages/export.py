"""Export: everything that happened in a period, as files an auditor can check are complete
and unchanged (CSV, JSON Lines, the PDF report, a manifest of their hashes)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from config.errors import InputError, PromptForgeError
from dashboard import auth, services
from dashboard.widgets import show_error
from reports.export import PDF_NAME, zip_export
from security.identity import Permission
from storage.run_filter import FLAGS, RunFilter
from storage.schema import utcnow

who = auth.require(Permission.EXPORT)
exporter = services.compliance_export(who)
st.title("Export")
st.caption(
    "Runs with their scrubbed input and output, metric results and human scores, annotations, label moves "
    "and approvals, comparisons and decisions, account changes and audit events of a period: one file per "
    "dataset, checked for personal data before it is written, with a manifest of their SHA-256 hashes."
)

try:
    options = exporter.scope_options()
except PromptForgeError as exc:
    show_error(exc)
    st.stop()

queue_names = dict(options["queues"])
today = utcnow().date()
with st.container(border=True):
    left, right = st.columns(2)
    period = left.date_input("Period (UTC days, both included)", (today - timedelta(days=30), today), key="exp_period")
    prompts = right.multiselect("Prompts", options["prompts"], key="exp_prompts", placeholder="every prompt")
    version_refs = {f"{name}@{version}": (name, version) for name, version in options["versions"]}
    versions = left.multiselect("Versions", list(version_refs), key="exp_versions", placeholder="every version")
    queues = right.multiselect(
        "Review queues", list(queue_names), format_func=queue_names.get, key="exp_queues", placeholder="any queue"
    )
    reviewers = left.multiselect("Reviewers", options["reviewers"], key="exp_reviewers", placeholder="anyone")
    flags = right.multiselect("Flags", FLAGS, key="exp_flags", placeholder="any run")
    st.caption(
        "Runs match every filter. Annotations, label moves and requests, comparisons, account changes and audit "
        "events are those of the period (of the chosen prompts, queues and reviewers where they name one)."
    )
    c1, c2, c3, c4 = st.columns(4)
    want_csv = c1.checkbox("CSV", value=True, key="exp_csv")
    want_jsonl = c2.checkbox("JSON Lines", value=True, key="exp_jsonl")
    want_pdf = c3.checkbox("PDF report", key="exp_pdf")
    appendix = c4.checkbox("PDF: a block per run", key="exp_appendix", disabled=not want_pdf)
    go = st.button("Export", type="primary", icon=":material/download:", key="exp_go")

if go:
    formats = [f for f, wanted in (("csv", want_csv), ("jsonl", want_jsonl), ("pdf", want_pdf)) if wanted]
    bar = st.progress(0.0, text="Counting the rows in scope…")

    def progress(done: int, total: int, what: str) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{what}: {done:,} of {total:,}")

    try:
        if not (isinstance(period, tuple) and len(period) == 2):
            raise InputError("Choose the first and the last day of the period.", "Click two days in the calendar.")
        scope = RunFilter.for_days(
            period[0], period[1], prompts=tuple(prompts),
            versions=tuple(version_refs[v] for v in versions), queues=tuple(queues),
            reviewers=tuple(reviewers), flags=tuple(flags),
        )
        st.session_state["exp_result"] = exporter.run(
            scope, exporter.default_folder(), formats, pdf_appendix=appendix and want_pdf, progress=progress
        )
    except PromptForgeError as exc:
        st.session_state.pop("exp_result", None)
        show_error(exc)
    finally:
        bar.empty()

result = st.session_state.get("exp_result")
if result is not None:
    manifest = result.manifest
    rows = sum(result.rows.values())
    signed = f"signed ({manifest['signature']['key']})" if result.signed else "not signed (no key configured)"
    if result.empty:
        st.info("The scope matched nothing: the export is empty (every dataset has 0 rows).", icon=":material/info:")
    st.success(
        f"Exported {rows:,} rows in {len(result.files)} files to `{result.folder}` in {result.seconds:.1f} s; "
        f"the manifest is {signed}.",
        icon=":material/task_alt:",
    )
    counts, files = st.columns([1, 2], gap="medium")
    counts.dataframe(
        pd.DataFrame([{"dataset": name, "rows": n} for name, n in result.rows.items()]),
        hide_index=True, width="stretch",
    )
    files.dataframe(
        pd.DataFrame(
            [{"file": f["name"], "rows": f["rows"], "bytes": f["bytes"], "sha256": f["sha256"]} for f in result.files]
        ),
        hide_index=True, width="stretch",
    )
    st.caption(
        f"Audit chain: {manifest['audit_chain']['verdict']}. Check the folder later with "
        f"`python launch.py verify-export {result.folder}`."
    )
    zipped, pdf = st.columns(2)
    zipped.download_button(
        "Download the export (.zip)", lambda: zip_export(result.folder), file_name=f"{result.folder.name}.zip",
        mime="application/zip", icon=":material/folder_zip:", key="exp_zip", width="stretch",
        on_click="ignore",
    )
    report = result.folder / PDF_NAME
    if report.is_file():
        pdf.download_button(
            "Download the PDF report", report.read_bytes, file_name=f"{result.folder.name}-{PDF_NAME}",
            mime="application/pdf", icon=":material/picture_as_pdf:", key="exp_pdf_file", width="stretch",
            on_click="ignore",
        )
