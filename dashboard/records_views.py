"""The records explorer: the filter bar, the table of runs with its pager, and one run's detail."""

from __future__ import annotations

import json
from datetime import date, timedelta

import streamlit as st

from config.errors import InputError, PromptForgeError
from dashboard import run_scope, services
from dashboard.links import copy_link, link
from dashboard.trace import STATUS_BADGE, record_texts
from dashboard.widgets import show_error
from storage.records_query import PAGE_SIZES, SORTS, RecordsPage, RunDetail
from storage.run_filter import FLAGS, MetricRange, RunFilter

FLAG_NAMES = {
    "flagged": "Injection flagged",
    "blocked": "Blocked",
    "error": "Model error",
    "pii": "PII in prompt",
    "pii_out": "PII in answer",
}
ANNOTATED = {"Any": None, "Annotated": True, "Not annotated": False}
PAGE_KEY = "records_page"


def filter_bar(who) -> tuple[RunFilter, dict] | None:
    """The filters (their state lives in the widgets' keys) as a ``RunFilter`` and the table
    options; ``None`` after showing what is wrong with them."""
    choices = run_scope.choices()
    today = date.today()
    top = st.columns([3, 2, 2, 2, 2])
    days = top[0].date_input(
        "Dates (UTC)", value=(today - timedelta(days=29), today), max_value=today + timedelta(days=1), key="rec_days"
    )
    prompts = top[1].multiselect("Prompt", choices["prompts"], key="rec_prompts", placeholder="All prompts")
    versions = top[2].multiselect("Version", choices["versions"], key="rec_versions", placeholder="All versions")
    label = top[3].selectbox("Label", ["Any", *run_scope.labels(who)], key="rec_label", help="Runs of the version a label points at now")
    providers = top[4].multiselect("Provider", choices["providers"], key="rec_providers", placeholder="All providers")
    second = st.columns([3, 2, 3, 2, 2, 2])
    text = second[0].text_input(
        "Search the scrubbed text", key="rec_text", placeholder="words in the prompt or answer", max_chars=200
    )
    statuses = second[1].multiselect("Status", ["ok", "blocked", "error"], key="rec_status", placeholder="Any status")
    flags = second[2].multiselect(
        "Flags", list(FLAGS), format_func=FLAG_NAMES.get, key="rec_flags", placeholder="Any (a run matches one of them)"
    )
    annotated = second[3].selectbox("Reviewed", list(ANNOTATED), key="rec_annotated")
    sort = second[4].selectbox("Sort", list(SORTS), key="rec_sort", format_func=str.capitalize)
    with second[5].popover("Metric range", icon=":material/tune:", width="stretch"):
        metric = st.selectbox("Metric", ["None", *choices["metrics"]], key="rec_metric")
        low = st.number_input("At least", value=None, key="rec_metric_low", format="%.4g")
        high = st.number_input("At most", value=None, key="rec_metric_high", format="%.4g")
    first, last = (days[0], days[-1]) if isinstance(days, tuple) and days else (None, None)
    try:
        run_filter = RunFilter.for_days(
            first,
            last,
            prompts=tuple(prompts),
            versions=_versions(versions, run_scope.label_versions(who, label)),
            providers=tuple(providers),
            statuses=tuple(statuses),
            flags=tuple(flags),
            metrics=(MetricRange(metric, low, high),) if metric != "None" and (low is not None or high is not None) else (),
            annotated=ANNOTATED[annotated],
            text=text,
        )
    except PromptForgeError as exc:
        show_error(exc)
        return None
    return run_filter, {"sort": sort}


def _versions(picked: list[str], labelled: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The versions picked by name and those a label points at: both when both are given."""
    named = tuple(tuple(v.rsplit("@", 1)) for v in picked)
    if named and labelled:
        both = tuple(v for v in named if v in labelled)
        if not both:
            raise InputError("None of the versions picked carries that label.", "Clear the version or the label filter.")
        return both
    return named or labelled


def current_page(run_filter: RunFilter, options: dict) -> int:
    """The page number to show; back to the first page when the filters or sort change."""
    key = json.dumps([run_filter.describe(), run_filter.text, options], sort_keys=True, default=str)
    state = st.session_state.setdefault(PAGE_KEY, {"key": key, "page": 0})
    if state["key"] != key:
        state.update(key=key, page=0)
    return state["page"]


def records_table(page: RecordsPage) -> str | None:
    """The page of runs as a table; returns the record id of a row the user selected."""
    if not page.rows:
        st.info("No recorded run matches these filters. Widen the dates or clear a filter.", icon=":material/search_off:")
        return None
    table = [
        {
            "time (UTC)": row["started_at"],
            "prompt": f"{row['app_name']}@{row['app_version']}",
            "status": row["status"],
            "injection": row.get("injection_action") or "",
            "PII": sum((row.get("pii_in") or {}).values()),
            "provider": row["provider"],
            "latency ms": round(row["latency_s"] * 1000, 1),
            "cost $": float("nan") if row["cost_usd"] is None else row["cost_usd"],
            "reviews": row["annotations"],
            "input (scrubbed)": row["input_preview"],
            "output (scrubbed)": row["output_preview"],
        }
        for row in page.rows
    ]
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        height=min(len(table), 20) * 35 + 40,
        key=f"records_table_{page.page}",
        column_config={
            "time (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "cost $": st.column_config.NumberColumn(format="%.5f"),
            "input (scrubbed)": st.column_config.TextColumn(width="large"),
            "output (scrubbed)": st.column_config.TextColumn(width="large"),
        },
    )
    selected = event.selection.rows if event is not None else []
    return page.rows[selected[0]]["record_id"] if selected else None


def pager(page: RecordsPage) -> None:
    """Previous / next and where we are; moves the page kept in session state."""
    state = st.session_state[PAGE_KEY]
    first = page.page * page.page_size + 1 if page.total else 0
    last = min(page.total, (page.page + 1) * page.page_size)
    left, mid, right, size = st.columns([1, 4, 1, 2], vertical_alignment="center")
    if left.button("Previous", icon=":material/chevron_left:", disabled=page.page == 0, key="rec_prev", width="stretch"):
        state["page"] = page.page - 1
        st.rerun()
    mid.caption(f"Runs {first:,}–{last:,} of {page.total:,} · page {page.page + 1:,} of {page.pages:,}. Select a row to open it.")
    if right.button("Next", icon=":material/chevron_right:", disabled=page.page + 1 >= page.pages, key="rec_next", width="stretch"):
        state["page"] = page.page + 1
        st.rerun()
    size.selectbox("Rows per page", PAGE_SIZES, index=1, key="rec_page_size", label_visibility="collapsed",
                   format_func=lambda n: f"{n} rows per page")


# -- one run --------------------------------------------------------------------------------------


def run_header(detail: RunDetail) -> None:
    run = detail.run
    label, colour = STATUS_BADGE.get(run["status"], (run["status"], "gray"))
    badges = [f":{colour}-badge[{label}]"]
    action = (run.get("injection_action") or "allow")
    if action != "allow":
        badges.append(f":{'red' if action == 'block' else 'orange'}-badge[Injection {action}]")
    if run.get("simulated"):
        badges.append(":gray-badge[Offline simulation]")
    if detail.annotations:
        badges.append(f":blue-badge[{len(detail.annotations)} annotation(s)]")
    model = f" · model `{run['model']}`" if run.get("model") else ""
    st.markdown(" ".join(badges) + f"  \n**`{run['app_name']}@{run['app_version']}`** via `{run['provider']}`{model}")
    cols = st.columns(4)
    cols[0].metric("Model latency", f"{run['latency_s'] * 1000:,.0f} ms")
    total_ms = sum(s["duration_ms"] for s in run.get("stages", []))
    cols[1].metric("Pipeline time", f"{total_ms:,.0f} ms", help="The run's own stages, a batched stage charged by its share")
    cols[2].metric("Tokens", f"{run['input_tokens']:,} in · {run['output_tokens']:,} out")
    cols[3].metric("Cost", "n/a" if run.get("cost_usd") is None else f"${run['cost_usd']:.5f}")
    st.caption(
        f"Started {run['started_at']:%Y-%m-%d %H:%M:%S} UTC by `{run['actor']}` · record `{run['record_id']}`"
        + (f" · dataset row {run['dataset_row']}" if run.get("dataset_row") is not None else "")
    )


def run_trace(run: dict) -> None:
    """Input with its scrubbed entities marked, the injection verdict, the output, the stages."""
    record_texts(run)
    stages = run.get("stages", [])
    if stages:
        st.markdown("**Pipeline stages**")
        longest = max(s["duration_ms"] for s in stages) or 1.0
        st.dataframe(  # a bar per stage in the table itself: no chart library to load for one record
            [
                {
                    "stage": s["name"],
                    "ms": round(s["duration_ms"], 2),
                    "shared by rows": str(s["attributes"].get("batch_rows") or ""),
                    "details": ", ".join(f"{k}={v}" for k, v in s["attributes"].items() if k not in ("batch_rows", "batch_ms")),
                }
                for s in stages
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "ms": st.column_config.ProgressColumn("time (ms)", min_value=0.0, max_value=longest, format="%.2f ms"),
            },
        )


def run_metrics(run: dict) -> None:
    metrics = run.get("metrics", [])
    if not metrics:
        st.caption("No metric results.")
        return
    st.dataframe(
        [
            {
                "metric": m["name"],
                "value": m["value"],
                "status": m["status"],
                "better": "higher" if m["higher_is_better"] else "lower",
                "explanation": m["explanation"],
            }
            for m in metrics
        ],
        hide_index=True,
        width="stretch",
        column_config={"value": st.column_config.NumberColumn(format="%.4g")},
    )


def run_annotations(detail: RunDetail) -> None:
    if not detail.queues:
        st.caption("This run is in no review queue.")
    for queue in detail.queues:
        state = "complete" if queue["complete"] else "open"
        st.markdown(f"Queue **{queue['name']}** ({state}) · [open in Review]({link('review', queue=queue['name'])})")
    if detail.annotations:
        st.dataframe(
            [
                {
                    "when (UTC)": a["created_at"],
                    "queue": a.get("queue"),
                    "reviewer": a["reviewer"],
                    "kind": a["kind"],
                    "scores": ", ".join(f"{k}={v}" for k, v in (a["scores"] or {}).items()),
                    "comments": " | ".join(f"{k}: {v}" for k, v in (a["comments"] or {}).items() if v),
                    "corrected": "yes" if a.get("superseded_by") else "",
                }
                for a in detail.annotations
            ],
            hide_index=True,
            width="stretch",
        )
    elif detail.queues:
        st.caption("No reviewer has annotated it yet.")


def run_context(detail: RunDetail) -> None:
    if detail.evaluation:
        e = detail.evaluation
        st.markdown(
            f"Evaluation run **{e['prompt_ref']}** over *{e['dataset']}* ({e['status']}), started by `{e['created_by']}` "
            f"· [open]({link('evaluations', run=e['id'])})"
        )
    elif detail.run.get("batch_id"):
        st.markdown(f"Batch `{detail.run['batch_id']}` (a batch run outside an evaluation)")
    else:
        st.caption("A single run (Playground or `launch.py run`).")
    for c in detail.comparisons:
        decided = f" · decided: {c['decision'].get('action')}" if c.get("decision") else ""
        st.markdown(f"Side {c['side']} of comparison **{c['title']}** ({c['status']}{decided}) · [open]({link('compare', id=c['id'])})")


def run_audit(detail: RunDetail) -> None:
    """The run's audit events, read when this tab is opened (they are the one part of a run's
    page that reads the audit trail after the run)."""
    try:
        events = services.store().run_audit(detail.run["record_id"], detail.run["started_at"])
    except PromptForgeError as exc:
        show_error(exc)
        return
    if not events:
        st.caption("No audit event names this run.")
        return
    st.dataframe(
        [
            {"seq": e.seq, "time (UTC)": e.ts, "actor": e.actor, "action": e.action, "target": e.target,
             "details": json.dumps(e.details, sort_keys=True)[:300]}
            for e in events
        ],
        hide_index=True,
        width="stretch",
    )


def run_page(record_id: str) -> None:
    """One run: the header, then its trace, metrics, reviews, context and audit events."""
    try:
        detail = services.store().run_detail(record_id, audit=False)
    except PromptForgeError as exc:
        show_error(exc)
        return
    run_header(detail)
    tabs = st.tabs(
        ["Trace", f"Metrics ({len(detail.run.get('metrics', []))})", f"Reviews ({len(detail.annotations)})",
         "Evaluation & comparison", "Audit events"],
        key="rec_tab", on_change="rerun",  # only the open tab is drawn
    )
    shows = (lambda: run_trace(detail.run), lambda: run_metrics(detail.run), lambda: run_annotations(detail),
             lambda: run_context(detail), lambda: run_audit(detail))
    for tab, show in zip(tabs, shows, strict=True):
        if tab.open:
            with tab:
                show()
    copy_link("records", "Link to this record (opens after sign-in)", id=record_id)
