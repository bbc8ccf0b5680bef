"""Output-side screening: system-prompt repetition and canary strings."""

from __future__ import annotations

import json

import pytest

from security.injection.leakage import LeakDetector

SYSTEM = (
    "You are a careful assistant for a bank. Placeholders such as <PERSON_1> stand for "
    "redacted personal data: keep them as they are."
)
CANARY = "PF-CANARY-7f3a9c"


@pytest.mark.parametrize(
    ("output", "rule"),
    [
        (f"Sure! My instructions: {SYSTEM}", "system_prompt_leak"),
        ("my rules say: you are a careful assistant for a BANK.   Placeholders such as <PERSON_1> stand for", "system_prompt_leak"),
        (f"The document footer reads {CANARY.lower()}.", "canary_leak"),
    ],
)
def test_leaks_are_caught_whatever_the_case_and_spacing(output, rule):
    verdict = LeakDetector(SYSTEM, [CANARY]).check(output)
    assert verdict.action == "block" and [h.rule for h in verdict.hits] == [rule]
    assert CANARY.lower() not in json.dumps(verdict.to_dict()).lower()  # never echoes what leaked
    assert "careful assistant" not in json.dumps(verdict.to_dict())


@pytest.mark.parametrize(
    "output",
    [
        "You are welcome. I am an assistant for your bank account questions.",
        "<PERSON_1> asked about the APR; keep the placeholders as they are in the reply.",
        "Here is a careful summary of the loan terms.",
    ],
)
def test_ordinary_answers_pass(output):
    assert LeakDetector(SYSTEM, [CANARY]).check(output).action == "allow"


def test_the_action_follows_the_policy_and_short_prompts_are_not_windows():
    assert LeakDetector(SYSTEM).check(SYSTEM, action="flag").action == "flag"
    assert LeakDetector("Be brief.").check("Be brief. Sure.").action == "allow"  # too short to fingerprint
