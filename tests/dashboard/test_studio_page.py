"""The Prompt Studio page alone (AppTest): create a prompt, save a version, a conflict that loses
nothing, the diff, a production request, and the approver's decision."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "studio.py")


def _registry(name: str = "tester", roles=None):
    from config.settings import get_settings
    from prompts.registry import PromptRegistry
    from security.identity import Principal, Role
    from storage import open_store

    who = Principal(name, frozenset(roles or {Role.ANALYST}))
    return PromptRegistry(open_store(get_settings()), who)


def _open(slug: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    if slug:
        at.session_state["ps_selected"] = slug
    return at.run()


def test_an_empty_studio_invites_a_first_prompt(app_env):
    at = _open()
    assert not at.exception, at.exception
    assert at.title[0].value == "Prompt Studio"
    assert any("No prompts yet" in i.value for i in at.info)


def test_create_a_prompt_from_the_editor(app_env):
    at = _open()
    at.button(key="ps_new").click().run()
    at.text_input(key="ps_ed___new___slug").set_value("card-dispute")
    at.text_area(key="ps_ed___new___template").set_value("Reply to {{ customer }} about: {{ email }}")
    at.run()
    assert not at.exception, at.exception
    variables = at.data_editor(key="ps_ed___new___vars").value if hasattr(at, "data_editor") else None
    at.button(key="ps_ed___new___save").click().run()
    assert not at.exception, at.exception
    version = _registry().resolve("card-dispute")
    assert version.version == 1 and version.variables == ["customer", "email"]
    typed = {v["name"]: v["type"] for v in version.spec["variables"]}
    assert typed == {"customer": "short_text", "email": "untrusted"}  # e-mail bodies are untrusted content
    assert variables is None or len(variables) == 2


def test_a_second_save_from_a_stale_base_is_told_and_loses_nothing(app_env):
    registry = _registry()
    registry.create("faq", "Answer {{ question }}")
    at = _open("faq")
    at.text_area(key="ps_ed_faq_template").set_value("Answer briefly: {{ question }}")
    registry.add_version("faq", "Answer kindly: {{ question }}", "someone else")  # another session saves first
    at.text_input(key="ps_ed_faq_note").set_value("shorter")
    at.button(key="ps_ed_faq_save").click().run()
    assert not at.exception, at.exception
    assert any("moved on" in e.value for e in at.error)
    assert any("v2 (saved meanwhile)" in c.value for c in at.caption)  # the diff against the newer version
    assert at.text_area(key="ps_ed_faq_template").value == "Answer briefly: {{ question }}"  # kept
    assert len(registry.versions("faq")) == 2
    at.button(key="ps_ed_faq_base_rebase").click().run()
    at.button(key="ps_ed_faq_save").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert registry.resolve("faq").version == 3
    assert registry.resolve("faq").template == "Answer briefly: {{ question }}"


def test_request_production_then_an_approver_decides(app_env, monkeypatch):
    from prompts.label_moves import LabelMoves
    from security.identity import Role

    registry = _registry("ann")
    registry.create("faq", "Answer {{ question }}")
    registry.add_version("faq", "Answer politely: {{ question }}", "politer")
    LabelMoves(registry, audit=_audit()).request("faq", 2, "passes the golden set")
    at = _open("faq")  # single-user mode: every role, another person than ann
    assert not at.exception, at.exception
    assert any("awaits your decision" in e.label for e in at.expander)
    assert any("passes the golden set" in m.value for m in at.markdown)
    approve = [b for b in at.button if b.key and b.key.startswith("ps_approve_")]
    approve[0].click().run()
    assert not at.exception, at.exception
    assert registry.resolve("faq@production").version == 2
    assert any("Approved" in s.value for s in at.success)


def _audit():
    from config.settings import get_settings
    from storage.audit import audit_log

    return audit_log(get_settings())
