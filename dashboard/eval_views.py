"""The parts of the Evaluations page: each renders one view from service results."""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from config.errors import PromptForgeError
from dashboard import services
from dashboard.charts import metric_distribution
from dashboard.trace import render_record
from dashboard.widgets import show_error
from execution import eval_jobs
from execution.evaluate import thresholds
from security.identity import Permission
from evaluation import MetricSet
from storage.metric_sets import ALL_VERSIONS

PAGE_SIZE = 25
NO_JUDGE = "(no judge)"


# -- Results ------------------------------------------------------------------------


def progress_panel(who, run_id: str) -> None:
    """Live progress of a running run (polled), or what to do with a stopped one."""
    evaluator = services.evaluator(who)
    run = evaluator.get(run_id)
    if run.status in ("queued", "running", "cancelling") and not run.interrupted:
        _live_progress(who, run_id)
    elif run.resumable and run.status != "done":
        why = {"cancelled": "was cancelled", "failed": f"failed: {run.error}", "queued": "has not started"}.get(
            run.status, "was interrupted (its runner stopped)"
        )
        st.warning(
            f"This run {why}. {run.done_rows} of {run.total_rows} rows are recorded; resuming runs the rest "
            "and never repeats a recorded row.",
            icon=":material/pause_circle:",
        )
        if st.button("Resume evaluation", type="primary", key="ev_resume"):
            eval_jobs.start(evaluator, run_id)
            st.rerun()


@st.fragment(run_every=1.5)
def _live_progress(who, run_id: str) -> None:
    evaluator = services.evaluator(who)
    run = evaluator.get(run_id)
    if run.status not in ("queued", "running", "cancelling") or run.interrupted:
        st.rerun()  # finished: redraw the whole page with its results
    done, total = run.done_rows, max(run.total_rows, 1)
    label = "Stopping after the current chunk…" if run.status == "cancelling" else "Evaluating"
    st.progress(min(done / total, 1.0), text=f"{label}: {done} of {run.total_rows} rows ({run.failed_rows} failed)")
    if run.status != "cancelling" and who.can(Permission.EVALUATE):
        if st.button("Cancel", key="ev_cancel", icon=":material/stop_circle:"):
            eval_jobs.cancel(evaluator, run_id)


def summary_panel(who, report) -> None:
    run, counts = report.run, report.counts
    data = report.to_dict()
    cols = st.columns(5)
    cols[0].metric("Rows recorded", f"{report.recorded} / {run.total_rows}")
    cols[1].metric("Completed", counts["ok"])
    cols[2].metric("Blocked", counts["blocked"])
    cols[3].metric("Failed", counts["error"])
    cost = data["model_cost_usd"]
    judge_cost = data["judge_cost_usd"]
    cols[4].metric(
        "Cost",
        "unknown" if cost is None else f"${cost:.4f}",
        help="Model calls; judge calls are added below when a judge was used.",
    )
    st.caption(
        f"Provider `{run.provider}`" + (f" · judge `{run.judge}`" if run.judge else " · no judge")
        + f" · started by {run.created_by} · metric set of {len(run.metrics)} metrics"
        + (f" · judge cost ${judge_cost:.4f}" if judge_cost is not None else "")
    )
    if report.gates:
        failed = [g for g in report.gates if g.passed is False]
        lines = [
            f"- {':material/check_circle:' if g.passed else ':material/cancel:' if g.passed is False else ':material/remove:'}"
            f" **{g.metric}**: {_gate_text(g)}{' (' + g.note + ')' if g.note else ''}"
            for g in report.gates
        ]
        box = st.error if failed else st.success
        if run.status == "done" or failed:
            box(("Gates failed" if failed else "All gates passed") + "\n" + "\n".join(lines))

    if not report.metrics:
        return
    st.subheader("Summary")
    st.dataframe(
        [
            {
                "metric": m.name,
                "scored": m.n,
                "mean": m.mean,
                "95% CI": "" if m.ci_low is None else f"{m.ci_low:.3g} – {m.ci_high:.3g}",
                "pass rate": m.pass_rate,
                "flagged": m.flagged,
                "unavailable": m.unavailable,
                "errors": m.errors,
                "better": "higher" if m.higher_is_better else "lower",
            }
            for m in report.metrics
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "mean": st.column_config.NumberColumn(format="%.4g"),
            "pass rate": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
        },
    )
    unavailable = [m for m in report.metrics if m.n == 0 and m.unavailable]
    if unavailable:
        reasons = services.evaluator(who).results(run.id, limit=1)[0]
        first = reasons[0]["metrics"] if reasons else {}
        for m in unavailable:
            why = (first.get(m.name) or {}).get("explanation") or "no reason recorded"
            st.caption(f":material/block: **{m.name}** is unavailable: {why}")

    charted = [m for m in report.metrics if m.n > 0 and m.max is not None and m.min != m.max]
    if charted:
        st.subheader("Distributions")
        limits = thresholds(MetricSet.from_list(run.metrics))
        grid = st.columns(2)
        for i, m in enumerate(charted):
            values = services.evaluator(who).metric_values(run.id, m.name)
            grid[i % 2].plotly_chart(
                metric_distribution(m.name, values, m.mean, limits.get(m.name)),
                width="stretch",
                config={"displayModeBar": False},
                key=f"ev_hist_{m.name}",
            )


def _gate_text(gate) -> str:
    """``mean ≤ 0, was 0`` / ``pass rate ≥ 95%, was 100%``."""
    if gate.gate == "min_pass_rate":
        actual = "-" if gate.actual is None else f"{gate.actual:.0%}"
        return f"pass rate ≥ {gate.limit:.0%}, was {actual}"
    sign = "≥" if gate.gate == "min_mean" else "≤"
    return f"mean {sign} {gate.limit:g}, was {'-' if gate.actual is None else f'{gate.actual:.3g}'}"


def results_table(who, report) -> None:
    run = report.run
    evaluator = services.evaluator(who)
    st.subheader("Rows")
    names = [m.name for m in report.metrics]
    limits = thresholds(MetricSet.from_list(run.metrics))
    f1, f2, f3, f4 = st.columns([1, 1, 1, 1.4])
    status = f1.selectbox("Status", ["any", "ok", "blocked", "error"], key="ev_f_status")
    flagged = f2.selectbox("Flagged by", ["anything or nothing", "any threshold", *limits], key="ev_f_flag")
    by = f3.selectbox("Score of", ["(no score filter)", *names], key="ev_f_metric")
    metric_range = None
    if by in names:
        summary = next(m for m in report.metrics if m.name == by)
        if summary.min is not None and summary.max is not None and summary.max > summary.min:
            low, high = f4.slider(
                "between", float(summary.min), float(summary.max), (float(summary.min), float(summary.max)),
                key=f"ev_f_range_{by}",
            )
            metric_range = (by, low, high)
    filters = {
        "status": None if status == "any" else status,
        "flagged": None if flagged == "anything or nothing" else ("any" if flagged == "any threshold" else flagged),
        "metric_range": metric_range,
    }
    total = evaluator.count_results(run.id, **filters)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = st.number_input(f"Page (of {pages}; {total} rows match)", 1, pages, 1, key="ev_page") if pages > 1 else 1
    rows, _ = evaluator.results(run.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters)
    if not rows:
        st.info("No rows match these filters.")
        return
    table = [
        {
            "row": r["dataset_row"],
            "status": r["status"],
            "flags": ", ".join(r["flags"]),
            "output": (r["output"] or r["error"] or "")[:160],
            **{n: (r["metrics"].get(n) or {}).get("value") for n in names},
        }
        for r in rows
    ]
    picked = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="ev_rows",
        column_config={n: st.column_config.NumberColumn(format="%.3g") for n in names},
    )
    selected = picked.selection.rows if picked is not None else []
    if not selected:
        st.caption("Select a row to open its full trace.")
        return
    record = services.store().get_run(rows[selected[0]]["record_id"])
    with st.container(border=True):
        render_record(record)


# -- New evaluation ---------------------------------------------------------------------


def new_run_view(who) -> None:
    prompts = services.prompts(who).list_prompts()
    datasets = services.list_datasets()
    if not prompts:
        st.info("No registered prompts yet: evaluations run registered prompt versions.")
        return
    if not datasets:
        st.info("No datasets yet. Upload one under **Datasets** first.", icon=":material/upload_file:")
        return
    by_slug = {p.slug: p for p in prompts}
    c1, c2 = st.columns([3, 2])
    slug = c1.selectbox("Prompt", list(by_slug), key="ev_new_prompt")
    summary = by_slug[slug]
    selector = c2.selectbox(
        "Version or label", [*sorted(summary.labels), *[f"v{n}" for n in range(summary.versions, 0, -1)]],
        key="ev_new_version",
    )
    version = services.prompts(who).resolve(f"{slug}@{selector}")
    metric_set, source = services.metric_sets(who).effective(version.slug, version.version)
    st.caption(f"Variables: {', '.join(version.variables) or 'none'} · metric set: {source}")
    with st.form("ev_new_form"):
        dataset = st.selectbox(
            "Dataset", [d["name"] for d in datasets], key="ev_new_dataset",
            format_func=lambda n: f"{n} ({next(d['rows'] for d in datasets if d['name'] == n)} rows)",
        )
        p1, p2 = st.columns(2)
        providers = services.provider_options()
        provider = p1.selectbox("Provider", providers, key="ev_new_provider")
        judge = p2.selectbox(
            "Judge (for DeepEval's judged metrics)", [NO_JUDGE, *providers], key="ev_new_judge",
            help="The offline judge gives simulated scores, marked as such.",
        )
        names = [s.result_name for s in metric_set.specs]
        others = [m["name"] for m in services.metric_catalogue()[0] if m["name"] not in names]
        chosen = st.multiselect(
            "Metrics", [*names, *others], default=names, key="ev_new_metrics",
            help="The prompt's metric set is preselected; any other registered metric can be added for this run.",
        )
        start = st.form_submit_button("Start evaluation", type="primary", width="stretch")
    if start:
        try:
            evaluator = services.evaluator(who)
            run = evaluator.create(
                f"{version.slug}@v{version.version}", dataset, provider=provider,
                judge=None if judge == NO_JUDGE else judge, metric_set=metric_set.only(chosen) if chosen else None,
            )
            eval_jobs.start(evaluator, run.id)
        except PromptForgeError as exc:
            show_error(exc)
            return
        st.session_state["ev_pending_view"] = ("Results", run.id)
        st.rerun()


# -- Datasets ---------------------------------------------------------------------------


def datasets_view(who) -> None:
    st.markdown(
        "Upload **CSV**, **JSON** (a list of objects) or **JSON lines**: one column per template variable, "
        "plus optional `expected_output` and `context`. Every value is scrubbed of PII before it is stored."
    )
    with st.form("ev_upload", clear_on_submit=False):
        upload = st.file_uploader("Dataset file", type=["csv", "json", "jsonl"], key="ev_upload_file")
        name = st.text_input("Name", placeholder="defaults to the file name", key="ev_upload_name")
        replace = st.checkbox("Replace a dataset with this name", key="ev_upload_replace")
        submitted = st.form_submit_button("Scrub and store dataset", type="primary")
    if submitted:
        if upload is None:
            st.error("Choose a file first.")
        else:
            try:
                bar = st.progress(0.0, text="Validating and scrubbing every row…")
                report = services.import_dataset(
                    who, upload.getvalue(), upload.name, name.strip() or Path(upload.name).stem, replace,
                    progress=lambda done, total: bar.progress(
                        min(done / max(total, 1), 1.0), text=f"Scrubbing PII: {done} of {total} rows"
                    ),
                )
                bar.empty()
                scrubbed = sum(report.entities.values())
                st.success(
                    f"Stored **{report.name}**: {report.rows_stored} of {report.rows_total} rows, "
                    + (f"{scrubbed} PII values scrubbed ({', '.join(f'{n} × {t}' for t, n in report.entities.items())})."
                       if scrubbed else "no PII found.")
                )
                if report.ignored_columns:
                    st.caption(f"Columns ignored: {', '.join(report.ignored_columns)}")
                for failure in report.rejected[:20]:
                    st.warning(f"Row {failure.row + 1} not stored: {failure.error}")
            except PromptForgeError as exc:
                show_error(exc)
    stored = services.list_datasets()
    st.subheader("Stored datasets")
    if stored:
        st.dataframe(stored, hide_index=True, width="stretch")
    else:
        st.caption("None yet.")


# -- Metric sets ------------------------------------------------------------------------


def metric_sets_view(who) -> None:
    prompts = services.prompts(who).list_prompts()
    catalogue, errors = services.metric_catalogue()
    if prompts:
        by_slug = {p.slug: p for p in prompts}
        c1, c2 = st.columns([3, 2])
        slug = c1.selectbox("Prompt", list(by_slug), key="ev_ms_prompt")
        scopes = {"All versions": ALL_VERSIONS, **{f"v{n} only": n for n in range(by_slug[slug].versions, 0, -1)}}
        scope = c2.selectbox("Applies to", list(scopes), key="ev_ms_scope")
        version = scopes[scope]
        sets = services.metric_sets(who)
        current = sets.stored(slug, version)
        shown_version = version or (by_slug[slug].latest or 1)
        effective, source = sets.effective(slug, shown_version)
        st.caption(f"Now in force for {slug}@v{shown_version}: {source}")
        text = st.text_area(
            "Metric set (YAML)", (current or effective).to_yaml(), height=360, key=f"ev_ms_yaml_{slug}_{version}",
            help="Each entry: metric, optional name, flag_above / flag_below (row flags), "
            "min_mean / max_mean / min_pass_rate (run gates), options.",
        )
        b1, b2, b3 = st.columns([1, 1, 3])
        if b1.button("Save metric set", type="primary", key="ev_ms_save"):
            try:
                sets.save(slug, version, MetricSet.from_yaml(text))
                st.success("Saved. New evaluation runs of this prompt use it.")
            except PromptForgeError as exc:
                show_error(exc)
        b2.download_button(
            "Download YAML", sets.export_yaml(slug, shown_version), file_name=f"{slug}-metrics.yaml",
            mime="application/yaml", key="ev_ms_download", on_click="ignore",
        )
        if current is not None and b3.button("Reset to default", key="ev_ms_reset"):
            sets.reset(slug, version)
            st.rerun()
    else:
        st.info("No registered prompts yet: metric sets belong to a prompt.")

    st.subheader("Available metrics")
    folder = services.settings().metric_plugins_dir
    st.caption(
        f"Add your own: drop a Python file that registers a metric into `{folder}`, or install a package with a "
        "`promptforge.metrics` entry point. It appears here without a restart."
    )
    st.dataframe(
        [
            {
                "metric": m["name"], "kind": m["kind"], "reads": ", ".join(m["reads"]), "range": m["range"],
                "better": "higher" if m["higher_is_better"] else "lower", "description": m["description"],
                "options": ", ".join(m["options"]),
            }
            for m in catalogue
        ],
        hide_index=True,
        width="stretch",
        height=36 * (len(catalogue) + 1) + 2,  # every metric at once, no inner scrolling
    )
    for source, error in errors.items():
        st.warning(f"Plugin **{source}** did not load: {error}", icon=":material/extension_off:")
