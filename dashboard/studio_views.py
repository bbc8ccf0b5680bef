"""The Prompt Studio's views: list and search, editor, history and diff, labels and approvals,
test run. Each reads widgets and calls the registry (``prompts.registry``) or the label
workflow (``prompts.label_moves``); no SQL, no parsing here."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from config.errors import ConflictError, PromptForgeError
from dashboard import services
from dashboard.links import link
from dashboard.trace import render_trace
from dashboard.widgets import show_error, variable_inputs
from prompts.diff import DIFF_CSS, render_html, spec_diff
from prompts.registry import PRODUCTION, LintFailed
from prompts.spec import ROLES, VARIABLE_TYPES, Message, ModelDefaults, PromptSpec, VariableSpec
from security.identity import Permission
from storage.prompts import FRAGMENT_PREFIX

SEVERITY_ICON = {"error": ":material/error:", "warning": ":material/warning:", "info": ":material/info:"}
NEW = "__new__"


# -- list and search -----------------------------------------------------------------


def prompt_list(who) -> str | None:
    """Search box and the table of prompts; returns the selected slug (or ``NEW``)."""
    query = st.text_input("Search", key="ps_query", placeholder="slug, description, tag or words in the text")
    semantic = st.toggle("Search by meaning", key="ps_semantic", help="Ranks prompts by similarity of meaning (all-MiniLM-L6-v2).")
    fragments = st.toggle("Show fragments", key="ps_fragments", help="Reusable pieces included with {% include \"fragment:NAME@LABEL\" %}.")
    registry = services.prompts(who)
    if semantic and query.strip():
        with st.spinner("Ranking by meaning…"):
            found = registry.semantic_search(query, limit=50, fragments=None if fragments else False)
        rows, scores = [p for p, _ in found], [round(s, 2) for _, s in found]
    else:
        rows = registry.list_prompts(query, fragments=None if fragments else False)
        scores = None
    if who.can(Permission.AUTHOR_PROMPTS) and st.button("New prompt", icon=":material/add:", key="ps_new", width="stretch"):
        st.session_state["ps_selected"] = NEW
    if not rows:
        st.info("No prompts match." if query else "No prompts yet.", icon=":material/info:")
        return st.session_state.get("ps_selected")
    table = pd.DataFrame({
        "prompt": [p.slug for p in rows],
        "versions": [p.versions for p in rows],
        "labels": [", ".join(f"{k}→v{v}" for k, v in sorted(p.labels.items()) if k != "latest") for p in rows],
        **({"match": scores} if scores else {}),
    })
    picked = st.dataframe(
        table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="ps_table",
        height=min(38 + 35 * len(rows), 560),
    )
    selection = picked.selection.rows if picked and picked.selection else []
    if selection:
        st.session_state["ps_selected"] = rows[selection[0]].slug
    selected = st.session_state.get("ps_selected") or st.query_params.get("prompt")
    return selected


# -- editor ----------------------------------------------------------------------------


def editor(who, slug: str | None) -> None:
    """Create a prompt (``slug`` None) or write a new version of ``slug``."""
    registry = services.prompts(who)
    latest = registry.resolve(slug) if slug else None
    spec = PromptSpec.from_dict(latest.spec) if latest else PromptSpec(template="")
    key = f"ps_ed_{slug or NEW}"
    base_key = f"{key}_base"
    st.session_state.setdefault(base_key, latest.version if latest else 0)

    if latest is None:
        name_col, kind_col = st.columns([3, 2])
        new_slug = name_col.text_input("Slug", key=f"{key}_slug", placeholder="complaint-reply or fragment:disclaimer")
        kind = kind_col.segmented_control("Kind", ["Template", "Chat messages"], default="Template", key=f"{key}_kind")
        description = st.text_input("Description", key=f"{key}_desc")
        tags = st.text_input("Tags (comma separated)", key=f"{key}_tags")
    else:
        kind = "Chat messages" if spec.kind == "chat" else "Template"
        st.caption(f"Editing on top of **v{st.session_state[base_key]}** · {latest.kind} prompt")

    if kind == "Chat messages":
        messages = _messages_editor(key, spec)
        draft = {"messages": [{"role": m.role, "content": m.content} for m in messages]}
    else:
        text = st.text_area(
            "Template (Jinja2)", spec.template, height=260, key=f"{key}_template",
            help='Variables: {{ name }}. Conditions, loops and filters work; include fragments with '
                 '{% include "fragment:NAME@production" %}.',
        )
        draft = {"template": text}

    with st.expander("Variables, model defaults and response format", expanded=latest is None):
        variables = _variables_editor(key, registry, draft, spec)
        defaults = _defaults_editor(key, spec.defaults)
        response_format = _response_format_editor(key, spec.response_format)

    try:
        candidate = PromptSpec.from_dict({
            **draft, "variables": [v.to_dict() for v in variables], "defaults": defaults.to_dict(),
            "response_format": response_format,
        })
        compiled = services.prompts(who, scrubbing=True).check(candidate, slug=slug)
    except PromptForgeError as exc:
        show_error(exc)
        return
    _lint_panel(compiled.lint)
    _estimate_panel(candidate)

    if not who.can(Permission.AUTHOR_PROMPTS):
        return
    conflict = st.session_state.get(f"{key}_conflict")
    if conflict and slug:
        _conflict_panel(registry.get(slug, conflict), candidate, base_key, f"{key}_conflict")
    note = st.text_input("Change note", key=f"{key}_note", placeholder="What changed, and why")
    if st.button("Save version" if latest else "Create prompt", type="primary", key=f"{key}_save", icon=":material/save:"):
        try:
            if latest is None:
                result = registry.create_prompt(
                    new_slug.strip(), candidate, description=description, tags=tags.split(","),
                    note=note.strip() or "initial version",
                )
            else:
                result = registry.save(slug, candidate, note, base_version=st.session_state[base_key])
        except ConflictError as exc:
            if exc.current is not None:
                st.session_state[f"{key}_conflict"] = exc.current.version
            st.rerun()
        except LintFailed as exc:
            show_error(exc)
            return
        except PromptForgeError as exc:
            show_error(exc)
            return
        if not result.created:
            st.info(f"Nothing changed: this is v{result.version.version} already.", icon=":material/info:")
            return
        st.session_state[base_key] = result.version.version
        st.session_state["ps_selected"] = result.version.slug
        st.session_state["ps_flash"] = f"Saved {result.version.ref}."
        st.rerun()


def _messages_editor(key: str, spec: PromptSpec) -> list[Message]:
    count_key = f"{key}_n"
    st.session_state.setdefault(count_key, max(len(spec.messages), 2))
    messages = []
    for i in range(st.session_state[count_key]):
        default = spec.messages[i] if i < len(spec.messages) else Message("system" if i == 0 else "user", "")
        role_col, text_col = st.columns([1, 5])
        role = role_col.selectbox("Role", ROLES, index=ROLES.index(default.role), key=f"{key}_role_{i}")
        content = text_col.text_area(f"Message {i + 1}", default.content, height=110, key=f"{key}_msg_{i}")
        if content.strip():
            messages.append(Message(role, content))
    if st.button("Add message", icon=":material/add:", key=f"{key}_add"):
        st.session_state[count_key] += 1
        st.rerun()
    return messages


def _variables_editor(key: str, registry, draft: dict, spec: PromptSpec) -> list[VariableSpec]:
    """A row per variable the draft reads (detected live), typed by the author."""
    try:
        detected = registry.check(PromptSpec.from_dict(draft), lint=False).variables
    except PromptForgeError:
        detected = [v.name for v in spec.variables]
    if not detected:
        st.caption("No variables yet: write `{{ name }}` in the text.")
        return []
    untrusted = services.settings().injection.is_untrusted
    rows = []
    for name in detected:
        known = spec.variable(name)
        default_type = known.type if known else ("untrusted" if untrusted(name) else "short_text")
        rows.append({
            "variable": name, "type": VARIABLE_TYPES[default_type],
            "description": known.description if known else "",
            "choices": ", ".join(known.choices) if known else "",
            "max chars": known.max_chars if known else None,
        })
    edited = st.data_editor(
        pd.DataFrame(rows), hide_index=True, width="stretch", key=f"{key}_vars", disabled=["variable"],
        column_config={
            "type": st.column_config.SelectboxColumn("type", options=list(VARIABLE_TYPES.values()), required=True),
            "max chars": st.column_config.NumberColumn("max chars", min_value=1, step=1),
        },
    )
    by_label = {label: name for name, label in VARIABLE_TYPES.items()}
    out = []
    for row in edited.to_dict("records"):
        max_chars = row.get("max chars")
        out.append(VariableSpec(
            name=row["variable"], type=by_label.get(row["type"], "short_text"), description=row.get("description") or "",
            choices=tuple(c.strip() for c in str(row.get("choices") or "").split(",") if c.strip()),
            max_chars=int(max_chars) if max_chars and not pd.isna(max_chars) else None,
        ))
    st.caption("**Untrusted content** is screened as data: instructions hidden in it are flagged (indirect injection).")
    return out


def _defaults_editor(key: str, defaults: ModelDefaults) -> ModelDefaults:
    provider_col, temp_col, tokens_col = st.columns([3, 1, 1])
    options = ["(workspace default)", *services.provider_options()]
    current = defaults.provider if defaults.provider in options else options[0]
    provider = provider_col.selectbox("Model (provider spec)", options, index=options.index(current), key=f"{key}_prov")
    temperature = temp_col.number_input(
        "Temperature", 0.0, 2.0, value=defaults.temperature, step=0.1, key=f"{key}_temp", placeholder="default"
    )
    max_tokens = tokens_col.number_input(
        "Max tokens", 1, 1_000_000, value=defaults.max_tokens, step=64, key=f"{key}_maxtok", placeholder="default"
    )
    return ModelDefaults(
        provider=None if provider == options[0] else provider, temperature=temperature,
        max_tokens=int(max_tokens) if max_tokens else None,
    )


def _response_format_editor(key: str, current: dict | None) -> dict | None:
    text = st.text_area(
        "Response format (JSON Schema, optional)", json.dumps(current, indent=2) if current else "", height=100,
        key=f"{key}_schema", placeholder='{"type": "object", "properties": {"summary": {"type": "string"}}}',
    )
    if not text.strip():
        return None
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        st.error(f"The response format is not valid JSON (line {exc.lineno}): {exc.msg}.", icon=":material/error:")
        return None
    return schema if isinstance(schema, dict) else None


def _lint_panel(report) -> None:
    if report is None:
        return
    if not report.findings:
        st.success("Lint: no findings.", icon=":material/check_circle:")
    for f in report.findings:
        where = f"{f.where}" + (f":{f.line}" if f.line else "")
        text = f"**{f.rule}** · {where} · {f.message}  \n{f.hint}"
        (st.error if f.severity == "error" else st.warning)(text, icon=SEVERITY_ICON.get(f.severity))
    if report.skipped:
        st.caption("Not checked: " + "; ".join(f"{rule} ({why})" for rule, why in report.skipped.items()))


def _estimate_panel(spec: PromptSpec) -> None:
    with st.expander("Token and cost estimate"):
        st.caption("Tokens of the prompt text as written (variables not filled in), per model offered here.")
        st.dataframe(pd.DataFrame(services.cost_estimate(spec.text)), hide_index=True, width="stretch")


def _conflict_panel(current, mine: PromptSpec, base_key: str, conflict_key: str) -> None:
    """Someone saved since this editor opened: show what they saved against the editor's text."""
    st.error(
        f"**The prompt moved on:** v{current.version} was saved by {current.created_by} after you started "
        f"from v{st.session_state[base_key]}. Your text is kept below; compare, then save on top of v{current.version}.",
        icon=":material/sync_problem:",
    )
    diff_columns(spec_diff(current.spec, mine.to_dict()), f"v{current.version} (saved meanwhile)", "your text")
    if st.button(f"Continue on top of v{current.version}", key=f"{base_key}_rebase", icon=":material/merge:"):
        st.session_state[base_key] = current.version
        st.session_state.pop(conflict_key, None)
        st.rerun()


# -- history and diff ---------------------------------------------------------------------


def diff_columns(diffs: list, left: str, right: str) -> None:
    """Side-by-side, word-level diff of every part of two specs."""
    st.html(f"<style>{DIFF_CSS}</style>")
    for d in diffs:
        if not d.changed:
            st.caption(f"{d.label}: unchanged")
            continue
        st.markdown(f"**{d.label}**")
        a, b = st.columns(2)
        a.caption(left)
        a.html(render_html(d.ops, "a"))
        b.caption(right)
        b.html(render_html(d.ops, "b"))


def history_view(who, slug: str) -> None:
    registry = services.prompts(who)
    versions = registry.versions(slug)
    st.dataframe(
        pd.DataFrame([{
            "version": f"v{v.version}", "note": v.change_note, "author": v.created_by,
            "saved": v.created_at.strftime("%Y-%m-%d %H:%M") if v.created_at else "", "sha256": v.digest[:12],
            "fragments": ", ".join(f"{k}→v{n}" for k, n in (v.spec.get("fragments") or {}).items()),
        } for v in reversed(versions)]),
        hide_index=True, width="stretch",
    )
    if len(versions) < 2:
        st.caption("Save a second version to compare versions.")
        return
    numbers = [v.version for v in reversed(versions)]
    a_col, b_col = st.columns(2)
    a = a_col.selectbox("Compare", numbers, index=1, format_func=lambda n: f"v{n}", key=f"ps_hist_a_{slug}")
    b = b_col.selectbox("with", numbers, index=0, format_func=lambda n: f"v{n}", key=f"ps_hist_b_{slug}")
    old, new = versions[a - 1], versions[b - 1]
    diff_columns(spec_diff(old.spec, new.spec), f"v{a}", f"v{b}")
    if who.can(Permission.AUTHOR_PROMPTS) and a != versions[-1].version:
        if st.button(f"Restore v{a} as a new version", key=f"ps_restore_{slug}", icon=":material/history:"):
            try:
                result = registry.restore(slug, a, base_version=versions[-1].version)
                st.session_state["ps_flash"] = f"Restored v{a} as v{result.version.version}."
                st.rerun()
            except PromptForgeError as exc:
                show_error(exc)


# -- labels and approvals -------------------------------------------------------------------


def emergency_banner(who, slug: str) -> None:
    moves = services.label_moves(who)
    for move in moves.unconfirmed(slug):
        st.error(
            f"**Emergency move:** production was moved to v{move.version} by {move.requested_by} "
            f"without approval ({move.reason}). An approver must confirm it.",
            icon=":material/emergency:",
        )
        if who.can(Permission.APPROVE_LABEL_MOVE) and st.button("Confirm emergency move", key=f"ps_confirm_{move.id}"):
            try:
                moves.confirm(move.id)
                st.rerun()
            except PromptForgeError as exc:
                show_error(exc)


def labels_view(who, slug: str) -> None:
    registry, moves = services.prompts(who), services.label_moves(who)
    labels = registry.labels(slug)
    numbers = list(range(registry.versions(slug)[-1].version, 0, -1))
    st.markdown(" ".join(f":blue-badge[{label} → v{n}]" for label, n in sorted(labels.items())) or "No labels.")
    if slug.startswith(FRAGMENT_PREFIX):
        users = registry.fragment_users(slug, PRODUCTION)
        st.caption(
            "Moving this fragment's production label affects the next saved version of: "
            + (", ".join(u.slug for u in users) or "no prompt yet")
        )

    if who.can(Permission.AUTHOR_PROMPTS):
        with st.form(f"ps_staging_{slug}", border=True):
            st.markdown("**Move a label** (not production)")
            c1, c2 = st.columns(2)
            label = c1.text_input("Label", "staging", key=f"ps_lab_name_{slug}")
            version = c2.selectbox("Version", numbers, format_func=lambda n: f"v{n}", key=f"ps_lab_ver_{slug}_{numbers[0]}")
            if st.form_submit_button("Move label"):
                _act(lambda: registry.set_label(slug, version, label.strip()), f"Moved {label} to v{version}.")
    if who.can(Permission.REQUEST_LABEL_MOVE):
        with st.form(f"ps_request_{slug}", border=True):
            st.markdown("**Request production** (an approver must approve)")
            version = st.selectbox("Version", numbers, format_func=lambda n: f"v{n}", key=f"ps_req_ver_{slug}_{numbers[0]}")
            reason = st.text_input("Reason", key=f"ps_req_reason_{slug}", placeholder="e.g. passes the golden set")
            if st.form_submit_button("Request production", type="primary"):
                _act(lambda: moves.request(slug, version, reason), f"Requested production for v{version}.")
    for request in moves.pending(slug):
        review_panel(who, request.id, "tab")
    if who.can(Permission.EMERGENCY_LABEL_MOVE):
        with st.expander("Emergency move of production (admins)"):
            version = st.selectbox("Version", numbers, format_func=lambda n: f"v{n}", key=f"ps_em_ver_{slug}_{numbers[0]}")
            reason = st.text_input("Reason (recorded loudly)", key=f"ps_em_reason_{slug}")
            if st.button("Move production now", key=f"ps_em_go_{slug}", icon=":material/emergency:"):
                _act(lambda: moves.emergency_move(slug, version, reason), f"Production moved to v{version} (emergency).")

    st.markdown("**Label history**")
    history = moves.history(slug)
    st.dataframe(
        pd.DataFrame([{
            "when": h.at.strftime("%Y-%m-%d %H:%M:%S"), "label": h.label,
            "from": f"v{h.from_version}" if h.from_version else "", "to": f"v{h.to_version}",
            "moved by": h.moved_by, "requested by": h.requested_by, "approved by": h.approved_by,
            "reason": h.reason, "emergency": "yes" if h.emergency else "",
        } for h in history]),
        hide_index=True, width="stretch",
    )


def review_panel(who, request_id: str, place: str) -> None:
    """A pending request as its approver sees it: the diff against production and the evaluations."""
    moves = services.label_moves(who)
    review = moves.review(request_id)
    r = review.request
    with st.container(border=True):
        st.markdown(
            f"**{r.slug}: move {r.label} to v{r.version}** · requested by {r.requested_by} "
            f"on {r.requested_at:%Y-%m-%d %H:%M}  \nReason: {r.reason}"
        )
        if review.current is None:
            st.caption(f"Nothing is in {r.label} yet: this is the first version to go there.")
        else:
            diff_columns(review.diff, f"{r.label} now (v{review.current.version})", f"candidate (v{r.version})")
        _evaluation_table(review)
        _attached_comparison(review.comparison)
        if who.can(Permission.APPROVE_LABEL_MOVE):
            note = st.text_input("Note", key=f"ps_note_{place}_{r.id}")
            ok, no = st.columns(2)
            if ok.button("Approve", type="primary", key=f"ps_approve_{place}_{r.id}", icon=":material/check:", width="stretch"):
                _act(lambda: moves.approve(r.id, note), f"Approved: {r.label} → v{r.version}.")
            if no.button("Reject", key=f"ps_reject_{place}_{r.id}", icon=":material/close:", width="stretch"):
                _act(lambda: moves.reject(r.id, note), "Rejected.")


def _attached_comparison(comparison: dict | None) -> None:
    if not comparison:
        return
    a, b = comparison["side_a"], comparison["side_b"]
    box = st.error if comparison["guard_regressions"] else st.info
    box(
        f"**Comparison attached**: [{comparison['title']}]({link('compare', id=comparison['id'])}) · "
        f"v{a['version']} on {a['provider']} vs v{b['version']} on {b['provider']} over {comparison['dataset']} "
        f"({comparison['rows']} rows)  \n{comparison['verdict'] or 'No figures yet.'}",
        icon=":material/compare_arrows:",
    )


def _evaluation_table(review) -> None:
    if not review.evaluations:
        st.caption("No finished evaluation run for these versions yet.")
        return
    metrics = sorted({m for e in review.evaluations.values() for m in e["means"]})
    rows = []
    for version, e in sorted(review.evaluations.items(), reverse=True):
        gates = e["gates"]
        passed = sum(1 for g in gates if g.get("passed"))
        rows.append({
            "version": f"v{version}", "dataset": e["dataset"], "rows": e["rows"],
            "gates": f"{passed}/{len(gates)} passed" if gates else "none",
            **{m: round(e["means"][m], 3) if m in e["means"] else None for m in metrics},
        })
    st.markdown("**Latest evaluation results**")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def inbox(who) -> None:
    """Requests awaiting a decision, for approvers, at the top of the page."""
    pending = [r for r in services.label_moves(who).pending() if r.requested_by != who.actor]
    if not pending:
        return
    with st.expander(f"{len(pending)} label request{'s await' if len(pending) > 1 else ' awaits'} your decision", expanded=True, icon=":material/approval:"):
        for request in pending:
            review_panel(who, request.id, "inbox")


def _act(action, done: str) -> None:
    try:
        action()
    except PromptForgeError as exc:
        show_error(exc)
        return
    st.session_state["ps_flash"] = done
    st.rerun()


# -- test run ----------------------------------------------------------------------------------


def test_run_view(who, slug: str) -> None:
    """Run the latest version through the governed pipeline with typed values."""
    registry = services.prompts(who)
    version = registry.resolve(slug)
    spec = PromptSpec.from_dict(version.spec)
    template = registry.template(version)
    with st.form(f"ps_run_{slug}"):
        st.caption(f"Runs {version.ref} through the governed pipeline (scrub, screen, model, scrub, metrics, record).")
        values = variable_inputs(template.variables, f"ps_run_{slug}", spec=spec)
        provider = st.selectbox(
            "Provider", services.provider_options(spec.defaults.provider), key=f"ps_run_{slug}_provider"
        )
        if st.form_submit_button("Run test", type="primary", icon=":material/play_arrow:"):
            from execution.prompt_ref import PromptRef

            with st.spinner("Scrubbing, screening and calling the model…"):
                try:
                    result = services.pipeline(who).run(
                        template, values, prompt=PromptRef.registered(version.slug, version.version), provider=provider
                    )
                    st.session_state[f"ps_run_result_{slug}"] = result.to_dict()
                except PromptForgeError as exc:
                    show_error(exc)
    result = st.session_state.get(f"ps_run_result_{slug}")
    if result:
        render_trace(result)
