"""The governed trace of one run, as the Playground (and later the record viewer) shows it."""

from __future__ import annotations

import streamlit as st

from dashboard.charts import stage_chart
from dashboard.widgets import highlight_entities, verdict_box
from security.pii.pseudonyms import placeholder_spans

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
    counts = result["pii_in"]
    st.caption("Scrubbed: " + (", ".join(f"{n} × {t}" for t, n in counts.items()) if counts else "no PII found"))

    st.markdown("**2 · Injection screen**")
    verdict_box(result["injection"])

    st.markdown("**3 · Model output** (scrubbed before storage)")
    if result.get("output") is not None:
        st.html(highlight_entities(result["output"], result["output_entities"]))
    else:
        st.error(result.get("error") or "No output.")
    screen = result.get("output_screen") or {}
    if screen.get("action") == "flag":
        st.warning("Output screen: " + "; ".join(screen.get("reasons") or []), icon=":material/flag:")

    st.markdown("**4 · Metrics**")
    metrics = result["metrics"]
    top = st.columns(3)
    top[0].metric("Latency", _fmt(metrics.get("latency_s"), lambda v: f"{v * 1000:.0f} ms"))
    top[1].metric("Tokens", _fmt(metrics.get("total_tokens"), lambda v: f"{v:.0f}"))
    top[2].metric("Cost", _fmt(metrics.get("cost_usd"), lambda v: f"${v:.4f}" if v else "$0"))
    bottom = st.columns(3)
    bottom[0].metric("PII in output", _fmt(metrics.get("pii_leaked_output"), lambda v: f"{v:.0f}"))
    bottom[1].metric("PII scrubbed", _fmt(metrics.get("pii_in_input"), lambda v: f"{v:.0f}"))
    bottom[2].metric("Injection score", _fmt(metrics.get("injection_score"), lambda v: f"{v:.2f}"))
    _stage_chart(result.get("stages_ms", {}))
    st.caption("Record id (TruLens)")
    st.code(result["record_id"], language=None)


def _stage_chart(stages: dict[str, float]) -> None:
    if stages:
        st.plotly_chart(stage_chart(stages), width="stretch", config={"displayModeBar": False})


def _fmt(value, render) -> str:
    return "n/a" if value is None else render(value)


def render_record(run: dict) -> None:
    """A recorded run as storage returns it (``TruLensStore.get_run``): the same stages,
    read back from the TruLens database."""
    label, colour = STATUS_BADGE.get(run["status"], (run["status"], "gray"))
    badges = f":{colour}-badge[{label}]"
    if run.get("simulated"):
        badges += " :gray-badge[Offline simulation: not a real model]"
    st.markdown(
        f"{badges}  \n`{run['app_name']}@{run['app_version']}` via `{run['provider']}` · row {run.get('dataset_row')}"
        f" · record `{run['record_id']}`"
    )
    right = record_texts(run)
    with right:
        st.markdown("**Metrics**")
        st.dataframe(
            [
                {"metric": m["name"], "value": m["value"], "status": m["status"], "explanation": m["explanation"]}
                for m in run.get("metrics", [])
            ],
            hide_index=True,
            width="stretch",
            column_config={"value": st.column_config.NumberColumn(format="%.4g")},
        )
    _stage_chart({s["name"]: s["duration_ms"] for s in run.get("stages", [])})


def record_texts(run: dict):
    """Two columns: the scrubbed input with its placeholders marked, what was scrubbed and the
    injection verdict, and the scrubbed output (or the run's error). Returns the right column,
    for more below the output."""
    left, right = st.columns(2, gap="medium")
    with left:
        st.markdown("**Input** (scrubbed)")
        st.html(highlight_entities(run.get("input") or "", placeholder_spans(run.get("input") or "")))
        st.caption("Scrubbed from the prompt: " + _scrubbed(run.get("pii_in")))
        injection = (run.get("decisions") or {}).get("injection")
        if injection:
            verdict_box(injection)
    with right:
        st.markdown("**Output** (scrubbed)")
        if run.get("output") is not None:
            st.html(highlight_entities(run["output"], placeholder_spans(run["output"])))
            st.caption("Scrubbed from the answer: " + _scrubbed(run.get("pii_out")))
        else:
            st.error(run.get("error") or "No output.")
    return right


def _scrubbed(counts: dict | None) -> str:
    return ", ".join(f"{n} × {t}" for t, n in counts.items()) if counts else "nothing"
