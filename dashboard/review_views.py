"""The Review page's views: annotate the next item of a queue with the keyboard, read a queue's
progress and agreement, adjudicate disagreements, create queues, edit rubrics."""

from __future__ import annotations

from datetime import datetime, time

import pandas as pd
import streamlit as st

from config.errors import PromptForgeError
from dashboard import services
from dashboard.links import copy_link, from_link, keep_in_link
from dashboard.trace import record_texts, render_record
from dashboard.widgets import show_error
from review.queues import INJECTION_ACTIONS, MetricBound, QueueFilter
from review.rubrics import Rubric
from security.identity import Permission

YES_NO = ["No", "Yes"]


def pick_queue(key: str) -> str | None:
    queues = services.review_queues_list()
    if not queues:
        st.info("No review queues yet." + (" Create one under **New queue**." if key else ""), icon=":material/inbox:")
        return None
    names = [q.name for q in queues]
    wanted = from_link("queue", key)  # a link: /review?queue=…
    if wanted is not None:
        if wanted in names:
            st.session_state[key] = wanted
        else:
            st.warning(f"The link names a review queue that does not exist ({wanted[:40]}). Pick one below.",
                       icon=":material/link_off:")
    name = st.selectbox("Queue", names, key=key)
    keep_in_link("queue", name, key)
    copy_link("review", "Link to this queue", queue=name)
    return name


# -- annotate ---------------------------------------------------------------------------


def annotate_view(who) -> None:
    name = pick_queue("rv_queue")
    if name is None:
        return
    annotations = services.annotations(who)
    queue = annotations.queues.get(name)
    _progress(annotations.queues.progress(queue), who.actor, queue)
    mine = [a for a in annotations.queue_annotations(name, current=True) if a.reviewer == who.actor and a.kind == "review"]
    back = st.session_state.get("rv_back", 0)
    nav = st.columns([1, 1, 4])
    if nav[0].button("Previous", key="rv_prev", shortcut="Ctrl+Shift+ArrowLeft", icon=":material/chevron_left:",
                     disabled=back >= len(mine), width="stretch"):
        st.session_state["rv_back"] = back + 1
        st.rerun()
    if nav[1].button("Next", key="rv_next", shortcut="Ctrl+Shift+ArrowUp", icon=":material/chevron_right:",
                     disabled=back == 0, width="stretch"):
        st.session_state["rv_back"] = back - 1
        st.rerun()
    if back:
        nav[2].caption(f"Your annotation {back} back · Ctrl+Shift+← older · Ctrl+Shift+↑ newer")
        _correction_view(queue, mine[-back], annotations)
        return
    try:
        item = annotations.next_item(name)
    except PromptForgeError as exc:
        show_error(exc)
        return
    if item is None:
        st.success("Nothing left for you in this queue. Thank you.", icon=":material/task_alt:")
        return
    run = item.run
    st.markdown(
        f"**{run['app_name']}@{run['app_version']}** via `{run['provider']}` · record `{item.record_id[:12]}` · "
        f"claimed until {item.claim.expires_at:%H:%M} UTC"
    )
    right = record_texts(run)
    with right:
        scored = [m for m in run.get("metrics", []) if m["status"] == "ok"]
        if scored:
            st.caption(" · ".join(f"{m['name']} {m['value']:.3g}" for m in scored[:8]))
    with st.expander("Full trace"):
        render_record(run)
    _rubric_form(queue.rubric, f"rv_{item.token}", item, name, annotations)


def _correction_view(queue, annotation, annotations) -> None:
    """One of your earlier annotations: the item, its history, and a correction that supersedes it."""
    run = services.store().get_run(annotation.record_id)
    st.markdown(f"**{run['app_name']}@{run['app_version']}** · record `{annotation.record_id[:12]}`")
    record_texts(run)
    history = annotations.history(annotation.record_id)
    st.markdown("**History of your judgement of this item**")
    st.dataframe(
        [{"when": a.created_at, "reviewer": a.reviewer, "kind": a.kind, "rubric": f"{a.rubric} v{a.rubric_version}",
          "status": "superseded" if a.superseded_by else "current",
          **{k: str(v) for k, v in a.scores.items()}} for a in history if a.reviewer == annotation.reviewer or a.kind == "adjudication"],
        hide_index=True, width="stretch",
    )
    key = f"rv_fix_{annotation.id}"
    scores, comments = _rubric_widgets(queue.rubric, key, given=annotation.scores)
    if st.button("Save correction", type="primary", key=f"{key}_save", shortcut="Ctrl+Enter", icon=":material/edit:"):
        try:
            annotations.correct(annotation.id, scores, comments)
        except PromptForgeError as exc:
            show_error(exc)
            return
        st.session_state["rv_flash"] = "Correction saved; the earlier annotation stays in the history."
        st.rerun()


def _progress(progress: dict, actor: str, queue) -> None:
    items, complete = progress["items"], progress["complete"]
    mine = progress["reviewers"].get(actor, {"done": 0, "claimed": 0, "skipped": 0})
    cols = st.columns(4)
    cols[0].metric("Items", items)
    cols[1].metric("Complete", complete, help=f"Items with all {queue.row.overlap} review(s) they want")
    cols[2].metric("Done by you", mine["done"])
    cols[3].metric("Skipped by you", mine["skipped"])
    st.progress(complete / items if items else 0.0, text=f"{complete} of {items} items complete")


def _rubric_widgets(rubric: Rubric, key: str, given: dict | None = None) -> tuple[dict, dict]:
    """One widget per rubric item (``given``: answers to start from, e.g. for a correction), the
    comment, and the number-key answer bar; returns (scores, comments)."""
    if given is not None and f"{key}_seeded" not in st.session_state:
        st.session_state[f"{key}_seeded"] = True
        for name, value in given.items():
            st.session_state[f"{key}_{name}"] = ("Yes" if value else "No") if isinstance(value, bool) else value
    scores: dict[str, object] = {}
    comments: dict[str, str] = {}
    st.markdown(f"**{rubric.title}**")
    yes_no = [entry for entry in rubric.items if entry.kind == "boolean"]
    scales = [entry for entry in rubric.items if entry.kind in ("categorical", "numeric")]
    cells = [(st.columns(3), yes_no), (st.columns(2), scales)]  # the whole rubric fits on one screen
    for grid, entries in cells:
        for i, entry in enumerate(entries):
            label = entry.title or entry.name
            with grid[i % len(grid)]:
                if entry.kind == "boolean":
                    answer = st.segmented_control(label, YES_NO, key=f"{key}_{entry.name}", help=entry.description or None)
                    scores[entry.name] = None if answer is None else answer == "Yes"
                elif entry.kind == "categorical":
                    scores[entry.name] = st.segmented_control(label, list(entry.labels), key=f"{key}_{entry.name}",
                                                              help=entry.description or None)
                else:
                    step = entry.step or (entry.max - entry.min) / 10
                    scores[entry.name] = st.number_input(
                        label, min_value=float(entry.min), max_value=float(entry.max), value=None, step=float(step),
                        key=f"{key}_{entry.name}", help=entry.description or None,
                    )
    for entry in rubric.items:
        if entry.kind == "comment":
            comments[entry.name] = st.text_area(entry.title or entry.name, key=f"{key}_{entry.name}", height=68,
                                                help=entry.description or None)
    comments["comment"] = st.text_input("Comment (required when an item fails)", key=f"{key}_comment",
                                        placeholder="What is wrong, and where (scrubbed before it is stored)")
    _answer_bar(rubric, key, scores)
    return scores, comments


def _rubric_form(rubric: Rubric, key: str, item, queue_name: str, annotations) -> None:
    """The rubric for a claimed item; Ctrl+Enter submits, a skip needs a reason."""
    scores, comments = _rubric_widgets(rubric, key)
    submit, skip_col, reason_col = st.columns([1, 1, 3])
    reason = reason_col.text_input("Skip reason", key=f"{key}_skip_reason", label_visibility="collapsed",
                                   placeholder="Reason to skip (e.g. needs a loans specialist)")
    if submit.button("Submit", type="primary", key=f"{key}_submit", shortcut="Ctrl+Enter", width="stretch",
                     icon=":material/check:"):
        missing = [name for name, value in scores.items() if value is None]
        if missing:
            st.error("Answer every item first: " + ", ".join(missing) + ".", icon=":material/error:")
            return
        try:
            annotations.submit(queue_name, item.token, {k: v for k, v in scores.items()}, comments)
        except PromptForgeError as exc:
            show_error(exc)  # the answers stay in the widgets: nothing typed is lost
            return
        st.session_state["rv_flash"] = "Submitted. Here is the next item."
        st.rerun()
    if skip_col.button("Skip", key=f"{key}_skip", shortcut="Ctrl+Shift+ArrowRight", width="stretch",
                       icon=":material/skip_next:"):
        try:
            annotations.skip(queue_name, item.token, reason)
        except PromptForgeError as exc:
            show_error(exc)
            return
        st.session_state["rv_flash"] = "Skipped."
        st.rerun()
    st.caption("Keys: 1–9 answer the highlighted question · Ctrl+Enter submits · Ctrl+Shift+→ skips "
               "(with the reason typed beside it)")


def _choices(entry) -> list[tuple[str, object]] | None:
    """(button label, widget value) of each answer a number key can give, or None (a wide range)."""
    if entry.kind == "boolean":
        return [(v, v) for v in YES_NO]
    if entry.kind == "categorical":
        return [(label, label) for label in entry.labels]
    if entry.step and (entry.max - entry.min) / entry.step < 9:
        count = round((entry.max - entry.min) / entry.step) + 1
        return [(f"{entry.min + i * entry.step:g}", float(entry.min + i * entry.step)) for i in range(count)]
    return None


def _answer_bar(rubric: Rubric, key: str, scores: dict[str, object]) -> None:
    """The first unanswered question with its answers on the number keys: a whole rubric
    is answered from the keyboard, question after question."""
    pending = next((e for e in rubric.items if e.kind != "comment" and scores.get(e.name) is None), None)
    if pending is None:
        st.caption(":material/keyboard: Every question is answered: Ctrl+Enter submits.")
        return
    choices = _choices(pending)
    if not choices:
        return
    with st.container(border=True):
        st.markdown(f":material/keyboard: **{pending.title or pending.name}**")
        for col, (n, (label, value)) in zip(st.columns(len(choices)), enumerate(choices, start=1)):
            col.button(
                f"{label}  [{n}]", key=f"{key}_key_{pending.name}_{n}", shortcut=str(n), width="stretch",
                on_click=_answer, args=(f"{key}_{pending.name}", value),
            )


def _answer(widget_key: str, value: object) -> None:
    st.session_state[widget_key] = value  # in a callback: before the widget is drawn again


# -- queues: progress, agreement, adjudication -----------------------------------------


def queues_view(who) -> None:
    name = pick_queue("rv_q_queue")
    if name is None:
        return
    queues = services.review_queues(who)
    queue = queues.get(name)
    st.markdown(f"**Filter**: {queue.filter.describe()}  \n**Rubric**: {queue.rubric.title} (v{queue.rubric_version}) · "
                f"**overlap** {queue.row.overlap} · claims last {queue.row.claim_minutes} min")
    progress = queues.progress(queue)
    if progress["items"] == 0:
        st.info("No recorded run matches this queue's filter yet. Runs recorded later that match will enter it.",
                icon=":material/filter_alt_off:")
        return
    st.progress(progress["complete"] / progress["items"], text=f"{progress['complete']} of {progress['items']} items complete")
    if progress["reviewers"]:
        table = pd.DataFrame([{"reviewer": r, **v} for r, v in sorted(progress["reviewers"].items())])
        st.dataframe(table, hide_index=True, width="stretch")
    adjudication = services.adjudication(who)
    st.subheader("Agreement")
    rows = [a.to_dict() for a in adjudication.agreement(name)]
    st.dataframe(
        [{"item": r["item"], "level": r["level"], "reviewers": r["reviewers"], "items with 2+ reviews": r["units"],
          "agreement": r["percent_agreement"], "Cohen's kappa": r["cohen_kappa"], "Krippendorff's alpha": r["krippendorff_alpha"],
          "notes": "; ".join(r["notes"])} for r in rows],
        hide_index=True, width="stretch",
        column_config={"agreement": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
                       "Cohen's kappa": st.column_config.NumberColumn(format="%.2f"),
                       "Krippendorff's alpha": st.column_config.NumberColumn(format="%.2f")},
    )
    disputed = adjudication.disputed(name)
    st.subheader(f"Disagreements ({len(disputed)})")
    if not disputed:
        st.caption("No item waits for adjudication.")
        return
    if not who.can(Permission.ADJUDICATE):
        st.caption("A lead reviewer adjudicates these items.")
        return
    record_id = st.selectbox("Item", disputed, key="rv_adj_item", format_func=lambda r: f"record {r[:12]}")
    reviews = adjudication.reviews_of(name, record_id)
    st.dataframe(
        [{"reviewer": a.reviewer, **{k: str(v) for k, v in a.scores.items()}, "comments": "; ".join(a.comments.values())}
         for a in reviews],
        hide_index=True, width="stretch",
    )
    run = services.store().get_run(record_id)
    with st.expander("The item (scrubbed input and output)"):
        render_record(run)
    _adjudication_form(queue, record_id, adjudication)


def _adjudication_form(queue, record_id: str, adjudication) -> None:
    with st.form(f"rv_adj_{record_id}"):
        st.markdown("**Your decision** (it becomes the item's final score)")
        scores: dict[str, object] = {}
        for entry in queue.rubric.scored_items:
            if entry.kind == "boolean":
                answer = st.radio(entry.title or entry.name, YES_NO, horizontal=True, index=None, key=f"rv_adj_{record_id}_{entry.name}")
                scores[entry.name] = None if answer is None else answer == "Yes"
            elif entry.kind == "categorical":
                scores[entry.name] = st.radio(entry.title or entry.name, list(entry.labels), horizontal=True, index=None,
                                              key=f"rv_adj_{record_id}_{entry.name}")
            else:
                scores[entry.name] = st.number_input(entry.title or entry.name, float(entry.min), float(entry.max), value=None,
                                                     step=float(entry.step or 1), key=f"rv_adj_{record_id}_{entry.name}")
        note = st.text_input("Reason", key=f"rv_adj_{record_id}_note")
        decided = st.form_submit_button("Record decision", type="primary")
    if decided:
        try:
            adjudication.adjudicate(queue.name, record_id, scores, note)
        except PromptForgeError as exc:
            show_error(exc)
            return
        st.session_state["rv_flash"] = "Decision recorded: it is the item's final score."
        st.rerun()


# -- new queue and rubrics ----------------------------------------------------------------


def new_queue_view(who) -> None:
    queues = services.review_queues(who)
    prompts = [p.slug for p in services.prompts(who).list_prompts() if not p.slug.startswith("fragment:")]
    evaluations = services.evaluator(who).list_runs(limit=50)
    comparisons = services.comparisons(who).list(limit=50)
    rubrics = [r.name for r in queues.rubrics()]
    with st.form("rv_new_queue"):
        name = st.text_input("Name", key="rv_new_name", placeholder="e.g. complaints-weekly")
        description = st.text_input("Description", key="rv_new_description")
        c1, c2, c3 = st.columns(3)
        prompt = c1.selectbox("Prompt", ["(any)", *prompts], key="rv_new_prompt")
        version = c2.number_input("Version", min_value=0, value=0, key="rv_new_version", help="0: any version")
        provider = c3.text_input("Provider", key="rv_new_provider", placeholder="any (e.g. offline)")
        d1, d2 = st.columns(2)
        since = d1.date_input("Recorded from", value=None, key="rv_new_since")
        until = d2.date_input("Recorded before", value=None, key="rv_new_until")
        e1, e2 = st.columns(2)
        evaluation = e1.selectbox("Evaluation run", ["(any)", *[r.id for r in evaluations]], key="rv_new_eval",
                                  format_func=lambda i: i if i == "(any)" else next(f"{r.prompt_ref} × {r.dataset} ({i[:8]})" for r in evaluations if r.id == i))
        comparison = e2.selectbox("Comparison", ["(any)", *[c.id for c in comparisons]], key="rv_new_cmp",
                                  format_func=lambda i: i if i == "(any)" else next(c.title for c in comparisons if c.id == i))
        s1, s2 = st.columns(2)
        pii_found = s1.checkbox("Only runs where personal data was scrubbed", key="rv_new_pii")
        injection = s2.multiselect("Injection screen", list(INJECTION_ACTIONS), key="rv_new_injection")
        m1, m2, m3 = st.columns(3)
        metric = m1.text_input("Metric", key="rv_new_metric", placeholder="e.g. answer_relevance")
        below = m2.number_input("below", value=None, key="rv_new_below")
        above = m3.number_input("above", value=None, key="rv_new_above")
        sample = st.slider("Sample share", 0.01, 1.0, 1.0, key="rv_new_sample", help="Review a random share of the matching runs")
        r1, r2, r3 = st.columns(3)
        rubric = r1.selectbox("Rubric", rubrics, key="rv_new_rubric")
        overlap = r2.number_input("Reviews per item", 1, 5, 1, key="rv_new_overlap", help="2 or more to measure agreement")
        minutes = r3.number_input("Claim lasts (minutes)", 1, 24 * 60, 30, key="rv_new_minutes")
        create = st.form_submit_button("Create queue", type="primary", width="stretch")
    if not create:
        return
    try:
        queue_filter = QueueFilter(
            prompt=None if prompt == "(any)" else prompt, version=int(version) or None, provider=provider.strip() or None,
            since=datetime.combine(since, time()) if since else None, until=datetime.combine(until, time()) if until else None,
            evaluation=None if evaluation == "(any)" else evaluation, comparison=None if comparison == "(any)" else comparison,
            pii_found=pii_found, injection=tuple(injection),
            metric=MetricBound(metric.strip(), below, above) if metric.strip() else None,
            sample=None if sample >= 1 else float(sample),
        )
        queue = queues.create(name, queue_filter, rubric=rubric, overlap=int(overlap), claim_minutes=int(minutes),
                              description=description)
    except PromptForgeError as exc:
        show_error(exc)
        return
    if queue.matching:
        st.session_state["rv_flash"] = f"Queue {queue.name} created with {queue.matching} items."
    else:
        st.session_state["rv_flash"] = (f"Queue {queue.name} created. No recorded run matches yet; runs recorded later "
                                        "that match will enter it.")
    st.session_state["rv_q_queue"] = queue.name
    st.session_state["rv_view_pending"] = "Queues"
    st.rerun()


def rubrics_view(who) -> None:
    queues = services.review_queues(who)
    rows = queues.rubrics()
    names = [r.name for r in rows]
    chosen = st.selectbox("Rubric", names, key="rv_rubric")
    rubric, version = queues.rubric(chosen)
    st.caption(f"{rubric.title} · version {version} · {len(rubric.items)} items")
    st.dataframe(
        [{"item": i.name, "kind": i.kind, "title": i.title, "comment on fail": i.comment_required_on_fail} for i in rubric.items],
        hide_index=True, width="stretch",
    )
    st.download_button("Download YAML", rubric.to_yaml(), f"{chosen}.yaml", "application/yaml", key="rv_rubric_dl",
                       icon=":material/download:", on_click="ignore")
    if not who.can(Permission.MANAGE_REVIEW):
        return
    upload = st.file_uploader("Import a rubric (YAML)", type=["yaml", "yml"], key="rv_rubric_upload",
                              help="A new rubric, or a new version of one: its name decides which")
    if upload is not None and st.button("Import", key="rv_rubric_import", icon=":material/upload:"):
        try:
            row = queues.save_rubric(Rubric.from_yaml(upload.getvalue()))
        except PromptForgeError as exc:
            show_error(exc)
            return
        st.session_state["rv_flash"] = f"Imported {row.name} version {row.version}."
        st.rerun()
    with st.form("rv_rubric_edit"):
        text = st.text_area("Edit as YAML (saving makes a new version)", rubric.to_yaml(), height=320, key=f"rv_rubric_yaml_{chosen}")
        saved = st.form_submit_button("Save new version", type="primary")
    if saved:
        try:
            row = queues.save_rubric(Rubric.from_yaml(text))
        except PromptForgeError as exc:
            show_error(exc)  # the text stays in the editor
            return
        st.session_state["rv_flash"] = f"Saved {row.name} version {row.version}."
        st.rerun()
