"""The Playground page alone (AppTest): run a prompt with PII, see the scrubbed trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "playground.py")


def _html(at: AppTest) -> str:
    return "\n".join(el.proto.body for el in at.get("html"))


def test_playground_form_is_generated_from_the_template_variables(app_env):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Playground"
    assert {ta.key for ta in at.text_area} >= {"pg_template", "pg_var_customer", "pg_var_message"}
    at.text_area(key="pg_template").set_value("Translate {{ sentence }} into {{ language }}").run()
    assert {ta.key for ta in at.text_area} >= {"pg_var_sentence", "pg_var_language"}
    at.text_area(key="pg_template").set_value("Summarise {{ email }} for {{ audience }}").run()
    labels = {ta.key: ta.label for ta in at.text_area}
    assert labels["pg_var_email"] == "email · untrusted content" and labels["pg_var_audience"] == "audience"


def test_playground_run_shows_scrubbed_trace_and_record(app_env):
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.text_area(key="pg_var_message").set_value("Call me on (212) 555-0143, card 4111 1111 1111 1111.")
    at.button[0].click().run()
    assert not at.exception
    result = at.session_state["pg_result"]
    assert result["status"] == "ok" and result["simulated"]
    html = _html(at)
    assert "pf-scrubbed" in html and "(212) 555-0143" not in html and "4111 1111 1111 1111" not in html
    assert 'data-type="PHONE_NUMBER"' in html and 'data-type="CREDIT_CARD"' in html
    assert any(result["record_id"] in c.value for c in at.code)
    assert any("Offline simulation" in m.value for m in at.markdown)


def test_playground_shows_a_template_error_instead_of_crashing(app_env):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.text_area(key="pg_template").set_value("Hello {{ name ").run()
    assert not at.exception
    assert any("syntax error" in e.value.lower() for e in at.error)
