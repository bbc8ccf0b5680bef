"""The Compare page's views: start a comparison, watch it, read the verdict and figures,
judge rows side by side with the keyboard, decide, download."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import services
from dashboard.links import copy_link, keep_in_link, linked_choice
from dashboard.widgets import show_error
from execution import eval_jobs
from execution.compare import Side
from storage.comparisons import DECISIONS, PREFERENCE_NAMES
from prompts.diff import DIFF_CSS, render_html, word_diff
from security.identity import Permission

SAME_AS_A = "(same as A)"
DIRECTION_ICON = {"better": "▲", "worse": "▼"}  # plain characters: table cells show no icons
# keyboard shortcuts of the preference control (Streamlit binds them to the buttons)
PREFERENCE_KEYS = {"a": "1", "b": "2", "tie": "3", "both_bad": "4"}


# -- list and new -----------------------------------------------------------------------


def pick_comparison(who) -> str | None:
    """The saved comparisons, newest first; returns the chosen id (None when there are none)."""
    comparisons = services.comparisons(who)
    rows = comparisons.list(limit=100)
    if not rows:
        st.info("No comparisons yet. Start one under **New comparison**.", icon=":material/info:")
        return None
    by_id = {r.id: r for r in rows}
    # a link: /compare?id=… (older links said ?comparison=…)
    linked_choice("cmp_id", "id", by_id, comparisons.get, "a comparison", aliases=("comparison",))
    chosen = st.selectbox(
        "Comparison", list(by_id), key="cmp_id",
        format_func=lambda i: f"{by_id[i].created_at:%Y-%m-%d %H:%M} · {by_id[i].title} · {_status(by_id[i])}",
    )
    st.query_params.pop("comparison", None)
    keep_in_link("id", chosen, "cmp_id")
    return chosen


def _status(row) -> str:
    if row.decision:
        return f"decided: {DECISIONS[row.decision['action']].lower()}"
    return {"done": "done, awaiting a decision"}.get(row.status, row.status)


def new_comparison_view(who) -> None:
    registry = services.prompts(who)
    prompts = [p for p in registry.list_prompts() if not p.slug.startswith("fragment:")]
    datasets = services.list_datasets()
    if not prompts or not datasets:
        st.info("A comparison needs a registered prompt and a dataset (upload one on the Evaluations page).")
        return
    by_slug = {p.slug: p for p in prompts}
    slug = st.selectbox("Prompt", list(by_slug), key="cmp_new_prompt")
    summary = by_slug[slug]
    choices = [*sorted(summary.labels), *[f"v{n}" for n in range(summary.versions, 0, -1)]]
    providers = [SAME_AS_A, *services.provider_options()]
    a_col, b_col = st.columns(2, gap="large")
    with a_col:
        st.markdown("**A** · the baseline")
        a_sel = st.selectbox("Version or label", choices, key="cmp_new_a", index=_index(choices, "production"))
        a_provider = st.selectbox("Provider", services.provider_options(), key="cmp_new_a_provider",
                                  help="The version's own default provider comes first when it has one.")
    with b_col:
        st.markdown("**B** · the candidate")
        b_sel = st.selectbox("Version or label", choices, key="cmp_new_b", index=_index(choices, "latest"))
        b_provider = st.selectbox("Provider", providers, key="cmp_new_b_provider",
                                  help="Another provider with the same version is a model migration.")
    version_a = registry.resolve(f"{slug}@{a_sel}")
    metric_set, source = services.metric_sets(who).effective(version_a.slug, version_a.version)
    names = [s.result_name for s in metric_set.specs]
    with st.form("cmp_new_form"):
        dataset = st.selectbox(
            "Dataset", [d["name"] for d in datasets], key="cmp_new_dataset",
            format_func=lambda n: f"{n} ({next(d['rows'] for d in datasets if d['name'] == n)} rows)",
        )
        chosen = st.multiselect("Metrics", names, default=names, key="cmp_new_metrics", help=f"Metric set: {source}.")
        g_col, r_col = st.columns([3, 1])
        guards = g_col.multiselect(
            "Guard metrics", names, key="cmp_new_guards",
            help="Metrics B must not be worse on: a significant regression (after correction) is called out.",
        )
        repeats = r_col.number_input("Repeats per row", 1, 10, 1, key="cmp_new_repeats",
                                     help="More than 1 for models that are not deterministic.")
        reuse = st.checkbox("Reuse finished runs of the same version, provider, dataset and metrics",
                            value=True, key="cmp_new_reuse")
        title = st.text_input("Title (optional)", key="cmp_new_title", placeholder="e.g. shorter replies, pilot")
        start = st.form_submit_button("Start comparison", type="primary", width="stretch")
    if start:
        try:
            comparisons = services.comparisons(who)
            row = comparisons.create(
                f"{slug}@{a_sel}", dataset, prompt_b=f"{slug}@{b_sel}", provider_a=a_provider,
                provider_b=None if b_provider == SAME_AS_A else b_provider,
                metric_set=metric_set.only(chosen) if chosen else metric_set, guards=guards,
                repeats=int(repeats), reuse=reuse, title=title,
            )
            eval_jobs.start_comparison(comparisons, row.id)
        except PromptForgeError as exc:
            show_error(exc)
            return
        st.session_state["cmp_pending"] = row.id
        st.rerun()


def _index(choices: list[str], wanted: str) -> int:
    return choices.index(wanted) if wanted in choices else 0


# -- one comparison ---------------------------------------------------------------------


def header(who, row) -> None:
    a, b = Side.from_dict(row.side_a), Side.from_dict(row.side_b)
    cols = st.columns(2)
    cols[0].markdown(f"**A** · {a.ref} {('(' + a.label + ')') if a.label else ''}  \n`{a.provider}`")
    cols[1].markdown(f"**B** · {b.ref} {('(' + b.label + ')') if b.label else ''}  \n`{b.provider}`")
    st.caption(
        f"Dataset **{row.dataset}** · {row.total_rows} rows × {row.repeats} repeat{'s' if row.repeats > 1 else ''}"
        f" · {len(row.metrics)} metrics" + (f" · guards: {', '.join(row.guards)}" if row.guards else "")
        + f" · started by {row.created_by} on {row.created_at:%Y-%m-%d %H:%M} UTC"
        + (f" · {len(row.reused)} finished run(s) reused" if row.reused else "")
    )
    copy_link("compare", "Link to this comparison", id=row.id)


def progress_panel(who, row) -> bool:
    """Progress of a comparison still running, or how to resume it. True when it is done."""
    if row.status == "done":
        return True
    comparisons = services.comparisons(who)
    if eval_jobs.running(f"comparison:{row.id}"):
        _live_progress(who, row.id)
        return False
    done, total = comparisons.progress(row.id)
    why = {"failed": f"failed: {row.error}", "cancelled": "was cancelled", "queued": "has not started"}.get(
        row.status, "was interrupted"
    )
    st.warning(
        f"This comparison {why}. {done} of {total} rows are recorded; resuming runs the rest and never "
        "repeats a recorded row.",
        icon=":material/pause_circle:",
    )
    if who.can(Permission.EVALUATE) and st.button("Resume comparison", type="primary", key="cmp_resume"):
        eval_jobs.start_comparison(comparisons, row.id)
        st.rerun()
    return False


@st.fragment(run_every=1.5)
def _live_progress(who, comparison_id: str) -> None:
    comparisons = services.comparisons(who)
    if not eval_jobs.running(f"comparison:{comparison_id}"):
        st.rerun()  # finished: redraw the page with the verdict
    done, total = comparisons.progress(comparison_id)
    st.progress(min(done / max(total, 1), 1.0), text=f"Running both sides: {done} of {total} rows")
    if who.can(Permission.EVALUATE) and st.button("Cancel", key="cmp_cancel", icon=":material/stop_circle:"):
        eval_jobs.cancel_comparison(comparisons, comparison_id)


def verdict_box(stats, row) -> None:
    text = stats.verdict()
    directions = {m.direction for m in stats.metrics}
    if stats.guard_regressions:
        st.error(text, icon=":material/gpp_bad:")
    elif "worse" in directions:  # better on some metrics, worse on others: a trade-off to weigh
        st.warning(text, icon=":material/balance:")
    elif "better" in directions:
        st.success(text, icon=":material/verified:")
    else:
        st.info(text, icon=":material/balance:")
    if row.decision:
        d = row.decision
        request = f" · label request `{d['request_id'][:8]}`" if d.get("request_id") else ""
        st.caption(
            f":material/gavel: **{DECISIONS[d['action']]}**, decided by {row.decided_by} on "
            f"{row.decided_at:%Y-%m-%d %H:%M} UTC: {d['reason']}{request}"
        )


def statistics_view(stats, data) -> None:
    """The figures per metric, with what each means, and the charts."""
    from dashboard import compare_charts

    table = []
    for m in stats.metrics:
        d = m.difference
        table.append({
            "metric": m.name + (" (guard)" if m.guard else ""),
            "verdict": (DIRECTION_ICON.get(m.direction, "") + " " + m.direction).strip(),
            "A": m.mean_a.value,
            "B": m.mean_b.value,
            "B − A": d.value,
            "95% interval": "" if d.low is None else f"[{d.low:.3g}, {d.high:.3g}]",
            "p (Holm)": m.test.p_holm,
            "test": m.test.name or "—",
            "effect size": m.effect_size,
            "B wins": m.win_rate.rate,
            "pairs": m.n_pairs,
        })
    st.dataframe(
        table, hide_index=True, width="stretch",
        column_config={
            "A": st.column_config.NumberColumn(format="%.4g"),
            "B": st.column_config.NumberColumn(format="%.4g"),
            "B − A": st.column_config.NumberColumn(format="%.3g"),
            "effect size": st.column_config.NumberColumn(format="%.2f", help="Cohen's d_z, or the difference in pass rates"),
            "p (Holm)": st.column_config.NumberColumn(format="%.4f", help="The paired test's p-value after Holm's correction"),
            "B wins": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent",
                                                      help="Share of rows where B scored better than A"),
        },
    )
    left, right = st.columns(2)
    left.plotly_chart(compare_charts.differences(stats), width="stretch", config={"displayModeBar": False}, key="cmp_diff")
    right.plotly_chart(compare_charts.win_rates(stats), width="stretch", config={"displayModeBar": False}, key="cmp_wins")
    names = [m.name for m in stats.metrics]
    metric = st.selectbox("Metric", names, key="cmp_chart_metric")
    left, right = st.columns(2)
    left.plotly_chart(compare_charts.distributions(data, metric), width="stretch", config={"displayModeBar": False},
                      key="cmp_dist")
    right.plotly_chart(compare_charts.paired_scatter(data, metric), width="stretch", config={"displayModeBar": False},
                       key="cmp_scatter")
    with st.expander("Notes, power and stability"):
        for m in stats.metrics:
            lines = [m.power.note] if m.power and m.power.note else []
            for side, stab in (("A", m.stability_a), ("B", m.stability_b)):
                if stab and stab.share is not None:
                    lines.append(f"Repeats agree on {stab.share:.0%} of rows for {side}.")
            lines += list(m.notes)
            if lines:
                st.markdown(f"**{m.name}**: " + " ".join(lines))
        if stats.costs is not None:
            per_1k = stats.costs.cost_per_1k
            lat = stats.costs.latency_mean
            st.markdown(
                f"**Cost per 1,000 requests**: A {_usd(per_1k.a)}, B {_usd(per_1k.b)}. "
                f"**Mean latency**: A {_secs(lat.a)}, B {_secs(lat.b)}."
            )


def _usd(value) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def _secs(value) -> str:
    return "unknown" if value is None else f"{value:.3f} s"


def side_by_side_view(who, row, data) -> None:
    """One row at a time: both outputs with a word diff, both sides' scores, and the
    preference control (keys 1–4; j / k move between rows)."""
    comparisons = services.comparisons(who)
    f1, f2 = st.columns([2, 2])
    order = f1.segmented_control(
        "Order", ["Dataset order", "Most disagreement"], default="Dataset order", key="cmp_order"
    )
    only_guards = f2.toggle("Only rows where a guard metric regressed", key="cmp_only_guards", disabled=not row.guards)
    order_key = "disagreement" if order == "Most disagreement" else "row"
    position = st.session_state.setdefault("cmp_pos", 0)
    page, total = comparisons.rows(
        row.id, order=order_key, only_guard_regressions=bool(only_guards), offset=position, limit=1, data=data
    )
    if total == 0:
        st.info("No rows match.", icon=":material/filter_alt_off:")
        return
    if not page:
        st.session_state["cmp_pos"] = 0
        st.rerun()
    item = page[0]
    nav = st.columns([1, 1, 4])
    if nav[0].button("Previous", key="cmp_prev", shortcut="k", disabled=position == 0, icon=":material/chevron_left:"):
        st.session_state["cmp_pos"] = max(0, position - 1)
        st.rerun()
    if nav[1].button("Next", key="cmp_next", shortcut="j", disabled=position + 1 >= total, icon=":material/chevron_right:"):
        st.session_state["cmp_pos"] = position + 1
        st.rerun()
    nav[2].caption(f"Row {item['dataset_row'] + 1} · {position + 1} of {total} · keys: 1 A better, 2 B better, 3 tie, 4 both bad, j/k next/previous")

    ops = word_diff(item["output_a"] or "", item["output_b"] or "")
    st.html(f"<style>{DIFF_CSS}</style>")
    a_col, b_col = st.columns(2, gap="medium")
    with a_col:
        st.markdown("**A**" + ("" if item["status_a"] == "ok" else f" · {item['status_a']}"))
        st.html(render_html(ops, "a"))
    with b_col:
        st.markdown("**B**" + ("" if item["status_b"] == "ok" else f" · {item['status_b']}"))
        st.html(render_html(ops, "b"))
    st.dataframe(
        [{"metric": name + (" (guard)" if name in row.guards else ""), "A": a, "B": b}
         for name, (a, b) in item["metrics"].items()],
        hide_index=True, width="stretch",
    )
    with st.expander("Prompts as sent (scrubbed)"):
        a_col, b_col = st.columns(2)
        a_col.code(item["input_a"] or "", language=None, wrap_lines=True)
        b_col.code(item["input_b"] or "", language=None, wrap_lines=True)
    mine = next((p for p in item["preferences"] if p["actor"] == who.actor), None)
    others = [p for p in item["preferences"] if p["actor"] != who.actor]
    if others:
        st.caption("Others: " + "; ".join(f"{p['actor']}: {PREFERENCE_NAMES[p['preference']]}" for p in others))
    if not who.can(Permission.COMPARE):
        if mine is None:
            st.caption("Your role reads comparisons; preferences are recorded by product teams.")
        return
    comment = st.text_input("Comment (optional)", key=f"cmp_comment_{row.id}_{item['dataset_row']}",
                            placeholder="Why? (scrubbed before it is stored)")
    buttons = st.columns(4)
    for col, (label, key) in zip(buttons, PREFERENCE_KEYS.items()):
        chosen = mine is not None and mine["preference"] == label
        if col.button(
            f"{PREFERENCE_NAMES[label]}  [{key}]", key=f"cmp_pref_{label}", shortcut=key, width="stretch",
            type="primary" if chosen else "secondary",
        ):
            try:
                comparisons.record_preference(row.id, item["dataset_row"], label, comment)
            except PromptForgeError as exc:
                show_error(exc)
                return
            st.session_state["cmp_flash"] = f"Recorded: {PREFERENCE_NAMES[label]} for row {item['dataset_row'] + 1}."
            st.session_state["cmp_pos"] = min(position + 1, total - 1)
            st.rerun()
    if mine is not None:
        st.caption(f"Your judgement: **{PREFERENCE_NAMES[mine['preference']]}**" + (f" · {mine['comment']}" if mine["comment"] else ""))


def decision_view(who, row, stats) -> None:
    if row.decision:
        st.success(
            f"**{DECISIONS[row.decision['action']]}** · by {row.decided_by} on {row.decided_at:%Y-%m-%d %H:%M} UTC  \n"
            f"{row.decision['reason']}",
            icon=":material/gavel:",
        )
        return
    if not who.can(Permission.COMPARE):
        st.info("Decisions are recorded by product teams.", icon=":material/info:")
        return
    a, b = Side.from_dict(row.side_a), Side.from_dict(row.side_b)
    actions = ["adopt_b", "keep_a"] if a.version == b.version else ["request_production", "promote_staging", "keep_a"]
    with st.form("cmp_decide"):
        action = st.radio(
            "Decision", actions, format_func=lambda k: DECISIONS[k], key="cmp_action", horizontal=True,
            help="Requesting production opens the four-eyes flow: an approver sees this comparison before deciding.",
        )
        reason = st.text_area("Reason", key="cmp_reason", placeholder="What the figures and the rows you read tell you")
        submitted = st.form_submit_button("Record decision", type="primary")
    if stats.guard_regressions:
        st.warning("A guard metric regressed: " + ", ".join(stats.guard_regressions) + ".", icon=":material/gpp_bad:")
    if submitted:
        try:
            services.comparisons(who).decide(row.id, action, reason)
        except PromptForgeError as exc:
            show_error(exc)
            return
        st.session_state["cmp_flash"] = f"Decision recorded: {DECISIONS[action]}."
        st.rerun()


def downloads_view(who, row, stats, data) -> None:
    """The files are built when a button is clicked, not on every rerun of the page."""
    from reports.comparison import rows_csv, statistics_csv, summary_pdf

    comparisons = services.comparisons(who)
    names = [m.name for m in stats.metrics]
    stem = f"comparison-{row.id[:8]}"

    def rows_file() -> str:
        rows, _ = comparisons.rows(row.id, limit=row.total_rows or 1, data=data)
        return rows_csv(rows, names)

    cols = st.columns(3)
    cols[0].download_button("Rows (CSV)", rows_file, f"{stem}-rows.csv", "text/csv", key="cmp_dl_rows",
                            icon=":material/table:", on_click="ignore")
    cols[1].download_button("Statistics (CSV)", lambda: statistics_csv(row, stats), f"{stem}-statistics.csv",
                            "text/csv", key="cmp_dl_stats", icon=":material/functions:",
                            on_click="ignore")
    cols[2].download_button("Summary (PDF)", lambda: summary_pdf(row, stats, comparisons.sides(row)), f"{stem}.pdf",
                            "application/pdf", key="cmp_dl_pdf", icon=":material/picture_as_pdf:",
                            on_click="ignore")
