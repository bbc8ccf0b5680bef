"""The Overview's sections: headline figures, charts over time, the leaderboard, flagged runs."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboard import overview_charts as oc
from dashboard import run_scope
from dashboard.links import link
from storage.overview import Overview



def demo_notice(demo: dict) -> None:
    if demo.get("state") == "seeding":
        st.info("The demo workspace is being prepared (loading Presidio and recording demo runs)…", icon=":material/hourglass_top:")
    elif demo.get("state") == "failed":
        st.warning(f"The demo workspace could not be created: {demo.get('error')}")
    elif demo.get("state") == "ready":
        st.info(
            "This is a **demo workspace**: prompts marked [demo] and runs over synthetic, fake customer data. "
            "Start your own in the Playground.",
            icon=":material/explore:",
        )


def _number(value: float | None) -> float:
    """A figure for a numeric column: NaN (an empty cell) where there is none, never ``None``."""
    return float("nan") if value is None else float(value)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:,.0f} ms" if value < 1 else f"{value:,.2f} s"


def headline(totals: dict, read_at: datetime) -> None:
    cols = st.columns(7)
    cols[0].metric("Runs", f"{totals['runs']:,}")
    cols[1].metric("Flag rate", _pct(totals["flag_rate"]), help="Runs the injection screen flagged")
    cols[2].metric("Block rate", _pct(totals["block_rate"]), help="Runs blocked by the injection or output screen")
    cols[3].metric("PII scrubbed", f"{totals['pii_entities']:,}", help="Entities scrubbed from prompts, before any model saw them")
    percentiles = "Model latency of completed runs (nearest-rank percentile, to within 2 %)"
    cols[4].metric("Latency p50", _ms(totals.get("p50_latency_s")), help=percentiles)
    cols[5].metric("Latency p95", _ms(totals.get("p95_latency_s")), help=percentiles)
    cost = totals["cost_usd"]
    cols[6].metric("Model cost", "n/a" if cost is None else f"${cost:,.2f}",
                   help=None if totals["cost_per_1k"] is None else f"${totals['cost_per_1k']:.4f} per 1,000 runs")
    st.caption(
        f"{totals['errors']:,} failed model calls · {totals['annotations']:,} reviewer annotations · "
        f"{totals['tokens'] or 0:,} tokens · figures as of {read_at:%H:%M:%S} UTC",
        help="Read once for every session: again after a run is recorded by this server, and at least every "
        f"{run_scope.FRESH_S} s for runs recorded elsewhere.",
    )


def charts(figures: Overview) -> None:
    """Four tabs of charts over time. Only the open tab is drawn (switching reruns the page from
    the figures already read), so a first render sends two charts, not eight."""
    tabs = st.tabs(["Activity", "Safety", "Quality", "Latency & cost"], key="ov_tab", on_change="rerun")
    for tab, draw in zip(tabs, (_activity, _safety, _quality, _speed), strict=True):
        if tab.open:
            with tab:
                draw(figures)


def _chart(option: dict, height: int = oc.HEIGHT) -> None:
    st.echarts_chart(option, height=height, width="stretch")


def _side_by_side(left: dict, right: dict) -> None:
    columns = st.columns(2)
    for column, option in zip(columns, (left, right), strict=True):
        with column:
            _chart(option)


def _activity(figures: Overview) -> None:
    _side_by_side(oc.runs_over_time(figures.over_time, figures.bucket), oc.rates_over_time(figures.over_time, figures.bucket))


def _safety(figures: Overview) -> None:
    left, right = st.columns(2)
    if figures.pii_by_type:
        with left:
            _chart(oc.pii_by_type(figures.pii_by_type), oc.pii_height(figures.pii_by_type))
    else:
        left.caption("No PII was scrubbed in this period.")
    with right:
        _chart(oc.verdicts(figures.verdicts))


def _quality(figures: Overview) -> None:
    bucket = figures.bucket
    automatic = [m for m in figures.metric_means if not m["human"]]
    human = [m for m in figures.metric_means if m["human"]]
    left, right = st.columns(2)
    with left:
        st.markdown("**Metric means**")
        st.dataframe(
            [{"metric": m["name"], "mean": m["mean"], "runs": m["runs"], "better": "higher" if m["higher_is_better"] else "lower"}
             for m in automatic],
            hide_index=True, width="stretch", column_config={"mean": st.column_config.NumberColumn(format="%.4g")},
        )
    with right:
        st.markdown("**Human scores** (reviewers)")
        if human:
            st.dataframe(
                [{"score": m["name"].removeprefix("human_"), "mean": m["mean"], "runs": m["runs"]} for m in human],
                hide_index=True, width="stretch", column_config={"mean": st.column_config.NumberColumn(format="%.3g")},
            )
        else:
            st.caption("No reviewer has scored runs in this period.")
    names = [m["name"] for m in automatic]
    chosen = st.multiselect("Metrics over time", names, default=[n for n in names if "toxic" in n or "similar" in n][:3] or names[:2],
                            key="ov_metrics")
    if chosen:
        _chart(oc.metric_means_over_time(figures.metric_over_time, chosen, bucket, f"Mean per {bucket}"))
    if human:
        _chart(oc.metric_means_over_time(figures.metric_over_time, [m["name"] for m in human], bucket, f"Human scores per {bucket}"))


def _speed(figures: Overview) -> None:
    _side_by_side(oc.latency_over_time(figures.over_time, figures.bucket), oc.cost_over_time(figures.over_time, figures.bucket))


def leaderboard(board: list[dict]) -> None:
    st.subheader("Leaderboard by prompt version")
    metric_names = sorted({name for entry in board for name in entry["metrics"] if not name.endswith("_simulated")})
    shown = [n for n in metric_names if n not in ("latency_s", "cost_usd", "total_tokens")][:6]
    st.dataframe(
        pd.DataFrame([
            {
                "prompt": f"{e['app_name']}@{e['app_version']}",
                "runs": e["runs"],
                "flag rate": _number(e["flag_rate"]),
                "block rate": _number(e["block_rate"]),
                "error rate": _number(e["error_rate"]),
                "latency ms": _number(e["mean_latency_s"]) * 1000,
                "$ per 1k runs": _number(e["cost_per_1k"]),
                **{name: _number(e["metrics"].get(name)) for name in shown},
                "last active": e["last_day"],
            }
            for e in board
        ]),
        hide_index=True,
        width="stretch",
        placeholder="–",  # a figure a version has none of (a metric it was never scored on)
        column_config={
            "flag rate": st.column_config.NumberColumn(format="percent"),
            "block rate": st.column_config.NumberColumn(format="percent"),
            "error rate": st.column_config.NumberColumn(format="percent"),
            "latency ms": st.column_config.NumberColumn(format="%.0f"),
            "$ per 1k runs": st.column_config.NumberColumn(format="%.4f"),
            **{name: st.column_config.NumberColumn(format="%.3g") for name in shown},
            "last active": st.column_config.DateColumn(format="YYYY-MM-DD"),
        },
    )


def flagged(rows: list[dict]) -> None:
    st.subheader("Newest flagged runs")
    if not rows:
        st.caption("Nothing was flagged, blocked or failed in this period.")
        return
    st.dataframe(
        [
            {
                "time (UTC)": r["started_at"],
                "prompt": f"{r['app_name']}@{r['app_version']}",
                "why": "injection " + r["injection_action"] if r["injection_action"] in ("flag", "block") else r["status"],
                "provider": r["provider"],
                "open": link("records", id=r["record_id"]),
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "time (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "open": st.column_config.LinkColumn("record", display_text="open record"),
        },
    )
