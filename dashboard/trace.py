"""The governed trace of one run, as the Playground (and later the record viewer) shows it."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboard.widgets import highlight_entities, verdict_box

STATUS_BADGE = {"ok": ("Completed", "green"), "blocked": ("Blocked by policy", "red"), "error": ("Model call failed", "orange")}


def render_trace(result: dict) -> None:
    label, colour = STATUS_BADGE.get(result["status"], (result["status"], "gray"))
    st.subheader("Governed trace")
    badges = f":{colour}-badge[{label}]"
    if result.get("simulated"):
        badges += " :gray-badge[Offline simulation: not a real model]"
    st.markdown(f"{badges}  \n`{result['prompt']}` via `{result['provider']}`")

    st.markdown("**1 · Scrubbed input** — what the model received")
    st.html(highlight_entities(result["scrubbed_input"], result["input_entities"]))
    counts = _counts(result["input_entities"])
    st.caption("Scrubbed: " + (", ".join(f"{n} × {t}" for t, n in counts.items()) if counts else "no PII found"))

    st.markdown("**2 · Injection screen**")
    verdict_box(result["injection"])

    st.markdown("**3 · Model output** (scrubbed before storage)")
    if result.get("output") is not None:
        st.html(highlight_entities(result["output"], result["output_entities"]))
    else:
        st.error(result.get("error") or "No output.")

    st.markdown("**4 · Metrics**")
    metrics = result["metrics"]
    cols = st.columns(5)
    cols[0].metric("Latency", _fmt(metrics.get("latency_s"), "{:.3f} s"))
    cols[1].metric("Tokens", _fmt(metrics.get("total_tokens"), "{:.0f}"))
    cols[2].metric("Cost", _fmt(metrics.get("cost_usd"), "${:.5f}"))
    cols[3].metric("PII in output", _fmt(metrics.get("pii_leaked_output"), "{:.0f}"))
    cols[4].metric("Injection score", _fmt(metrics.get("injection_score"), "{:.2f}"))
    _stage_chart(result.get("stages_ms", {}))
    st.caption("Record id (TruLens)")
    st.code(result["record_id"], language=None)


def _stage_chart(stages: dict[str, float]) -> None:
    if not stages:
        return
    fig = go.Figure(go.Bar(x=list(stages.values()), y=list(stages.keys()), orientation="h", marker_color="#0B5CAD"))
    fig.update_layout(
        height=200, margin=dict(l=10, r=10, t=30, b=10), title="Time per stage (ms)",
        yaxis=dict(autorange="reversed"), xaxis_title=None,
    )
    st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})


def _counts(entities: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in entities:
        out[e["type"]] = out.get(e["type"], 0) + 1
    return out


def _fmt(value, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)
