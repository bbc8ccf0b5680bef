"""Playground: run one prompt through the governed pipeline and read its trace."""

from __future__ import annotations

import streamlit as st

from config.errors import PromptForgeError
from dashboard import auth, services
from dashboard.trace import render_trace
from dashboard.widgets import show_error, variable_inputs
from execution.prompt_ref import PromptRef
from prompts.spec import PromptSpec
from security.identity import Permission

EXAMPLE_TEMPLATE = (
    "Summarise this customer message for a relationship manager in two sentences, "
    "then suggest one next step.\nCustomer: {{ customer }}\nMessage: {{ message }}"
)
EXAMPLE_VALUES = {
    "customer": "Maria Gonzalez",
    "message": "Please call me on (212) 555-0143 about the double charge on card 4111 1111 1111 1111.",
}
CUSTOM = "Other (type a provider spec)…"

who = auth.require(Permission.RUN_PROMPTS)
st.title("Playground")
st.caption(
    "Run one prompt through the governed pipeline: render → scrub PII → screen for injection → "
    "model → scrub output → metrics → record."
)

left, right = st.columns([2, 3], gap="large")

with left:
    source = st.segmented_control(
        "Template", ["Paste a template", "Registered prompt"], default="Paste a template", key="pg_source"
    )
    prompt_ref = spec = None
    try:
        if source == "Registered prompt":
            catalogue = services.prompts(who).list_prompts()
            if not catalogue:
                st.info("No registered prompts yet. Paste a template instead.")
                st.stop()
            by_slug = {p.slug: p for p in catalogue}
            pick, ver = st.columns([3, 2])
            slug = pick.selectbox("Prompt", list(by_slug), key="pg_prompt")
            summary = by_slug[slug]
            choices = [*sorted(summary.labels), *[f"v{n}" for n in range(summary.versions, 0, -1)]]
            selector = ver.selectbox("Version or label", choices, key="pg_version")
            registry = services.prompts(who)
            version = registry.resolve(f"{slug}@{selector}")
            st.caption(
                (summary.description or slug)
                + f" · v{version.version}"
                + (f" · label **{version.label}**" if version.label else "")
                + (" · chat messages" if version.kind == "chat" else "")
            )
            st.code(version.template, language="jinja2", wrap_lines=True)
            template = registry.template(version)  # its fragments, defaults and variable types
            spec = PromptSpec.from_dict(version.spec)
            prompt_ref = PromptRef.registered(version.slug, version.version, version.label)
        else:
            template_source = st.text_area("Template (Jinja2)", EXAMPLE_TEMPLATE, height=140, key="pg_template")
            template = services.template(template_source)
    except PromptForgeError as exc:
        show_error(exc)
        st.stop()

    options = services.provider_options(template.run.provider)
    choice = st.selectbox(
        "Provider",
        [*options, CUSTOM],
        key=f"pg_provider_{template.run.provider or ''}",  # a version's own default is preselected
        help="A registered version's default provider comes first; its temperature and token limit apply.",
    )
    provider = st.text_input("Provider spec", placeholder="compat:llama3.1@http://localhost:11434/v1", key="pg_provider_spec") if choice == CUSTOM else choice
    if provider == "offline":
        st.caption(":material/power_off: **offline** is a built-in simulation: deterministic, no network. Its answers are labelled as such.")

    with st.form("pg_form", border=True):
        st.markdown("**Variables**" if template.variables else "This template has no variables.")
        values = variable_inputs(
            template.variables, "pg_var", spec=spec, defaults=EXAMPLE_VALUES,
            is_untrusted=services.settings().injection.is_untrusted,
        )
        submitted = st.form_submit_button("Run governed prompt", type="primary", width="stretch")

    if submitted:
        with st.spinner("Scrubbing, screening and calling the model…"):
            try:
                result = services.pipeline(who).run(template, values, prompt=prompt_ref, provider=provider or None)
                st.session_state["pg_result"] = result.to_dict()
            except PromptForgeError as exc:
                st.session_state.pop("pg_result", None)
                show_error(exc)

with right:
    result = st.session_state.get("pg_result")
    if result:
        render_trace(result)
    else:
        st.subheader("Governed trace")
        st.write("Fill in the variables and press **Run governed prompt**. The trace shows what each stage did.")
