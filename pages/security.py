"""Security: the PII policy, the recognizers and injection rules in force, the last benchmark."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, services
from security import report

auth.require()
settings = services.settings()
st.title("Security")
st.caption(
    "What the governed pipeline scrubs and screens, and how well it did on labelled data the last time "
    "`python launch.py bench security` ran on this data folder."
)

last = report.last_benchmark(settings)
st.subheader("Last benchmark")
if last is None:
    st.info(
        "No benchmark figures yet. Run `python launch.py bench security` (a few minutes; it needs the "
        "shared eval-data folder) and reload this page.",
        icon=":material/speed:",
    )
else:
    floors = last.get("floors", [])
    met = sum(f["ok"] for f in floors)
    st.caption(f"Measured {last.get('at', '?').replace('T', ' ')[:16]} UTC.")
    c1, c2 = st.columns(2)
    c1.metric("Floors met", f"{met} of {len(floors)}")
    speed = last.get("speed", {})
    if speed:
        c2.metric("Scrub + screen", f"{speed['ours_texts_per_s']:.0f} texts/s",
                  f"bare Presidio {speed['bare_texts_per_s']:.0f} texts/s", delta_color="off")
    st.dataframe(
        pd.DataFrame([{"status": "met" if f["ok"] else "MISSED", "floor": f["floor"]} for f in floors]),
        hide_index=True, width="stretch", height=36 * (len(floors) + 1),
    )
    surviving = last.get("pii_surviving", {})
    if surviving:
        frame = pd.DataFrame(
            [{"entity type": k, "bare Presidio": v["bare"], "PromptForge": v["ours"]} for k, v in surviving.items()]
        ).set_index("entity type")
        st.markdown("**Share of PII values that survive scrubbing** (lower is better)")
        kept = ", ".join(settings.pii.not_personal_alone)
        st.caption(f"Presidio's synthetic set. Types kept by policy ({kept}) survive by design; ages are dates to the model.")
        st.bar_chart(frame, horizontal=True, stack=False, height=420, x_label="share surviving")

st.subheader("PII policy")
st.caption(
    f"Default action `{settings.pii.default_action}`; minimum detector score {settings.pii.score_threshold}; "
    f"{len(settings.pii.allow_list)} allow-listed terms"
    + (" plus the built-in prompt vocabulary." if settings.pii.builtin_allow_list else ".")
)
with st.spinner("Loading the recognizers…"):
    st.dataframe(pd.DataFrame(report.policy_rows(settings)), hide_index=True, width="stretch")

recognizers, rules = st.tabs(["Recognizers", "Injection rules"])
with recognizers:
    st.dataframe(pd.DataFrame(report.recognizer_rows()), hide_index=True, width="stretch")
with rules:
    st.caption(
        f"Flag at {settings.injection.flag_threshold}, {settings.injection.on_block_threshold} at "
        f"{settings.injection.block_threshold}; variable values screened: "
        f"{'yes' if settings.injection.screen_variables else 'no'}; untrusted variables (the indirect "
        f"screen): {', '.join(settings.injection.untrusted_variables) or 'none'}. Semantic rules are taught "
        "by the example libraries in security/injection/library and name the closest example in each hit."
    )
    st.dataframe(
        pd.DataFrame(report.rule_rows(settings)),
        hide_index=True,
        width="stretch",
        column_config={"description": st.column_config.TextColumn(width="large")},
    )
