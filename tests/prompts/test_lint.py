"""Prompt lint: every rule with positive and negative cases, the report, the registry and plugins."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.errors import InputError
from config.settings import Settings
from execution.providers.context_windows import BUILTIN_CONTEXT_WINDOWS, context_window_for
from execution.providers.pricing import BUILTIN_PRICES, model_keys, price_for
from prompts.lint import (
    ERROR,
    WARNING,
    Finding,
    LintContext,
    LintReport,
    LintRule,
    lint,
    lint_plugin_errors,
    lint_rules,
    register_rule,
    unregister_rule,
)
from prompts.lint.registry import reset_plugins_for_tests
from prompts.lint.rules.unfenced_untrusted import is_fenced
from prompts.spec import Message, ModelDefaults, PromptSpec, VariableSpec

SETTINGS = Settings(lint_plugins_dir=None)
SIG = "fragment:signature@production"


def var(name: str, type: str = "short_text", **kwargs) -> VariableSpec:
    return VariableSpec(name, type, **kwargs)


def spec(
    template: str = "",
    *variables: VariableSpec,
    messages: tuple[tuple[str, str], ...] = (),
    response_format: dict | None = None,
    max_tokens: int | None = None,
) -> PromptSpec:
    return PromptSpec(
        template=template,
        messages=tuple(Message(role, content) for role, content in messages),
        variables=variables,
        defaults=ModelDefaults(provider="openai:gpt-4o-mini", max_tokens=max_tokens),
        response_format=response_format,
    )


def run(prompt: PromptSpec, rule: str | None = None, **kwargs) -> LintReport:
    kwargs.setdefault("settings", SETTINGS)
    return lint(prompt, only=[rule] if rule else None, **kwargs)


def found(prompt: PromptSpec, rule: str, **kwargs) -> list[Finding]:
    report = run(prompt, rule, **kwargs)
    assert rule not in report.skipped, report.skipped
    return [f for f in report.findings if f.rule == rule]


# -- the shared context -----------------------------------------------------------------------


def test_literal_text_drops_constructs_and_keeps_lines():
    ctx = LintContext(spec("a {{ x }} b\n{% if y %}\nc{# a comment\n over two lines #}d{% endif %}\ne"))
    [part] = ctx.parts
    assert part.literal == "a  b\n\nc\nd\ne"
    assert part.line_at(part.literal.index("d")) == 4 and part.line_at(part.literal.index("e")) == 5
    assert [(o.line, part.literal[: o.offset]) for o in part.outputs] == [(1, "a ")]
    assert ctx.variables_used == {"x", "y"}


def test_the_context_follows_fragments_and_notes_unresolved_ones():
    ctx = LintContext(
        spec('Hi {{ name }}\n{% include "' + SIG + '" %}{% include "fragment:missing@production" %}'),
        includes={SIG: "Regards, {{ agent }}\n{% include \"" + SIG + "\" %}"},
    )
    assert [p.where for p in ctx.parts] == ["template", SIG]
    assert ctx.unresolved_includes == ["fragment:missing@production"]
    assert ctx.variable_uses == {"name": ("template", 1), "agent": (SIG, 1)}
    assert "Regards, " in ctx.literal_text and set(ctx.trees) == {"template", SIG}


# -- PF000: does not compile -------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt, where, line",
    [
        (spec("Hello {{ name"), "template", 1),
        (spec("Line one\nline two\n{% if x %}never closed"), "template", 3),
        (spec("", messages=(("system", "Be brief."), ("user", "Hi {% for %}"))), "user #2", 1),
    ],
)
def test_a_template_that_does_not_compile_is_one_pf000_error(prompt, where, line):
    report = run(prompt)
    assert [(f.rule, f.severity, f.where, f.line) for f in report.findings] == [("PF000", ERROR, where, line)]
    assert not report.ok and set(report.skipped) == set(lint_rules(SETTINGS))


def test_a_fragment_that_does_not_compile_is_pf000_on_the_fragment():
    report = run(spec('{% include "' + SIG + '" %}'), includes={SIG: "Regards\n{{ agent }"})
    [finding] = report.findings
    assert (finding.rule, finding.where, finding.line) == ("PF000", SIG, 2)


def test_fragments_that_include_each_other_are_pf000():
    a, b = "fragment:a@production", "fragment:b@production"
    includes = {a: "A {% include '" + b + "' %}", b: "B {% include '" + a + "' %}"}
    [finding] = run(spec("{% include '" + a + "' %}"), includes=includes).findings
    assert finding.rule == "PF000" and f"{a} → {b} → {a}" in finding.message
    includes[b] = "B"  # a diamond or a chain is not a cycle
    assert run(spec("{% include '" + a + "' %}{% include '" + b + "' %}"), includes=includes).ok


def test_a_template_that_compiles_has_no_pf000():
    report = run(spec("Hello {{ name }}", var("name")))
    assert report.ok and not any(f.rule == "PF000" for f in report.findings)


# -- PF001 undefined_variable / PF002 unused_variable -------------------------------------------

INCLUDE_SIG = "{{ name }}{% include '" + SIG + "' %}"
TWO_USER_MESSAGES = (("user", "{{ x }}"), ("user", "\n{{ y }}"))


@pytest.mark.parametrize(
    "prompt, includes, expected",
    [
        (spec("Hi {{ name }}, {{ extra }}", var("name")), None, [("extra", "template", 1)]),
        (spec("Hi {{ name }}\n\n{{ a.b }}", var("name")), None, [("a", "template", 3)]),
        (spec(INCLUDE_SIG, var("name")), {SIG: "{{ agent }}"}, [("agent", SIG, 1)]),
        (spec("", var("x"), messages=TWO_USER_MESSAGES), None, [("y", "user #2", 2)]),
        # negatives
        (spec("Hi {{ name }}", var("name")), None, []),
        (spec("Hi {{ name }} {{ extra }}"), None, []),  # no variables declared: not typed yet
        (spec("{% for item in items %}{{ item }}{{ loop.index }}{% endfor %}", var("items")), None, []),
        (spec("{% set greeting = 'Hi' %}{{ greeting }} {{ name }}", var("name")), None, []),
        (spec('{{ name }}{% include "' + SIG + '" %}', var("name"), var("agent")), {SIG: "{{ agent }}"}, []),
    ],
)
def test_pf001_undefined_variable(prompt, includes, expected):
    report = run(prompt, "PF001", includes=includes)
    assert ("PF001" in report.skipped) is (not prompt.variables)
    findings = report.findings
    assert [(f.message.split("'")[1], f.where, f.line) for f in findings] == expected
    assert all(f.severity == ERROR for f in findings)


def test_pf001_says_it_skipped_a_spec_without_variables():
    assert "PF001" in run(spec("Hi {{ name }}"), "PF001").skipped


@pytest.mark.parametrize(
    "prompt, includes, expected",
    [
        (spec("Hi {{ name }}", var("name"), var("unused")), None, ["unused"]),
        (spec("Hi", var("a"), var("b")), None, ["a", "b"]),
        (spec("{% if flag %}yes{% endif %}", var("flag"), var("tone")), None, ["tone"]),
        # negatives
        (spec("Hi {{ name }}", var("name")), None, []),
        (spec("{{ name }}{% include '" + SIG + "' %}", var("name"), var("agent")), {SIG: "{{ agent }}"}, []),
        (spec("", var("q"), messages=(("system", "Be brief."), ("user", "{{ q }}"))), None, []),
    ],
)
def test_pf002_unused_variable(prompt, includes, expected):
    findings = found(prompt, "PF002", includes=includes)
    assert [f.message.split("'")[1] for f in findings] == expected
    assert all(f.severity == WARNING and f.where == "variables" for f in findings)


def test_pf002_is_skipped_when_a_fragment_is_not_resolved():
    report = run(spec("{{ name }}{% include '" + SIG + "' %}", var("name"), var("agent")), "PF002")
    assert report.findings == [] and SIG in report.skipped["PF002"]


# -- PF003 unfenced_untrusted ------------------------------------------------------------------

FENCED = [
    "<email>{{ email }}</email>",
    "Read this:\n<email>\n{{ email }}\n</email>\nThen answer.",
    '<document source="web" id=1>{{ email }}</document>',
    "<email>\nFrom: {{ sender }}\n{{ email }}\n</email>",
    "<outer><email>{{ email }}</email></outer>",
    '"""\n{{ email }}\n"""',
    "'''{{ email }}'''",
    "```\n{{ email }}\n```",
    "```text\n{{ email }}\n```",
    "---\n{{ email }}\n---",
    "===\n{{ email }}\n===",
    "### EMAIL ###\n{{ email }}\n### END ###",
    "[[ {{ email }} ]]",
    "{% if email %}<email>{{ email | trim }}</email>{% endif %}",
    "The email has {{ email | length }} characters.",  # prints a number, not the content
]
UNFENCED = [
    "Email: {{ email }}",
    "{{ email }}",
    "<email>{{ email }}",
    "{{ email }}</email>",
    "<a>{{ email }}</b>",
    "<email></email>\n{{ email }}",
    '"""{{ sender }}"""\n{{ email }}',
    "---\n{{ email }}",
    "--- {{ email }} ---",
    "```{{ email }}",
    "[[ {{ email }}",
    "Summary of {{ email | upper }}",
    "<email>{{ sender }}</email> {{ email }}",
]


@pytest.mark.parametrize("template", FENCED)
def test_pf003_fenced_untrusted_content_passes(template):
    assert found(spec(template, var("email", "untrusted"), var("sender")), "PF003") == []


@pytest.mark.parametrize("template", UNFENCED)
def test_pf003_unfenced_untrusted_content_is_a_warning(template):
    [finding] = found(spec(template, var("email", "untrusted"), var("sender")), "PF003")
    assert finding.severity == WARNING and "'email'" in finding.message and finding.where == "template"


def test_pf003_names_the_line_and_the_chat_part():
    messages = (("system", "Be brief."), ("user", "Hi\n\n{{ body }}"))
    prompt = spec("", var("body", "untrusted"), messages=messages)
    [finding] = found(prompt, "PF003")
    assert (finding.where, finding.line) == ("user #2", 3)


@pytest.mark.parametrize(
    "variable, is_untrusted, flagged",
    [
        (var("document", "long_text"), None, True),  # the injection policy's names: document*
        (var("page_text"), None, True),
        (var("question"), None, False),
        (var("document", "long_text"), lambda name: False, False),
        (var("body", "untrusted"), lambda name: False, True),  # the declared type always counts
        (var("question"), lambda name: name == "question", True),
    ],
)
def test_pf003_untrusted_by_type_or_by_name(variable, is_untrusted, flagged):
    prompt = spec(f"Use this: {{{{ {variable.name} }}}}", variable)
    assert bool(found(prompt, "PF003", is_untrusted=is_untrusted)) is flagged


def test_pf003_looks_into_fragments():
    prompt = spec('{% include "' + SIG + '" %}', var("email", "untrusted"))
    [finding] = found(prompt, "PF003", includes={SIG: "Quoted: {{ email }}"})
    assert finding.where == SIG
    assert found(prompt, "PF003", includes={SIG: "<quote>{{ email }}</quote>"}) == []


@pytest.mark.parametrize(
    "before, after, fenced",
    [("<a>", "</a>", True), ("<a/>", "</a>", False), ("<br />", "", False), ("x\n###\n", "\n###", True)],
)
def test_is_fenced(before, after, fenced):
    assert is_fenced(before, after) is fenced


# -- PF004 pii_literal -------------------------------------------------------------------------


@dataclass
class FakeEntity:
    type: str
    start: int
    end: int
    score: float = 0.9


class FakeScrubber:
    """Reports every occurrence of the given words as the given entity types."""

    def __init__(self, **words: str) -> None:
        self.words = words
        self.seen: list[str] = []

    def detect(self, text: str) -> list[FakeEntity]:
        self.seen.append(text)
        out = []
        for word, entity_type in self.words.items():
            start = text.find(word)
            while start >= 0:
                out.append(FakeEntity(entity_type, start, start + len(word)))
                start = text.find(word, start + 1)
        return out


def test_pf004_reads_the_literal_text_and_ignores_types_not_personal_alone():
    scrubber = FakeScrubber(Alice="PERSON", Friday="DATE_TIME", Paris="LOCATION", Tomas="PERSON")
    prompt = spec("Hi {{ name }}\nAlice and {# Tomas #} Alice met on Friday in Paris.", var("name"))
    [finding] = found(prompt, "PF004", scrubber=scrubber)
    assert (finding.severity, finding.line, finding.where) == (ERROR, 2, "template")
    assert "PERSON" in finding.message and "Alice" not in finding.message
    assert scrubber.seen == ["Hi \nAlice and  Alice met on Friday in Paris."]


def test_pf004_is_skipped_without_a_scrubber():
    report = run(spec("Call Alice on 212-555-0143."), "PF004")
    assert report.findings == [] and "scrubber" in report.skipped["PF004"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "template, entity_type, line",
    [
        ("Call John Smith at 212-555-0143 about the loan.", "PHONE_NUMBER", 1),
        ("Hello\n\nWrite to jane.doe@example.com with the answer.", "EMAIL_ADDRESS", 3),
        ("The customer's SSN is 536-22-1234.", "US_SSN", 1),
        ("Card 4111 1111 1111 1111 was declined for {{ name }}.", "CREDIT_CARD", 1),
        ("Pay into IBAN DE89 3704 0044 0532 0130 00 today.", "IBAN_CODE", 1),
    ],
)
def test_pf004_real_scrubber_finds_literal_pii(scrubber, template, entity_type, line):
    findings = found(spec(template), "PF004", scrubber=scrubber)
    assert (entity_type, line) in {(f.message.split("literal ")[1].split(" ")[0], f.line) for f in findings}
    for finding in findings:
        assert finding.severity == ERROR and "variable" in finding.hint
        assert not any(value in finding.message for value in ("555", "jane", "536", "4111", "DE89", "John"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "template",
    [
        "Summarise {{ document }} for {{ customer_name }} in three sentences.",
        "Reply before Friday, 3 March, from the Paris office.",
        "Translate the email into French and keep the tone polite.",
        "You are a careful assistant for a bank. Answer with a JSON object.",
        "Dear {{ customer_name }}, your card ending {{ last_digits }} was declined.",
    ],
)
def test_pf004_real_scrubber_passes_prompts_without_literal_pii(scrubber, template):
    assert found(spec(template), "PF004", scrubber=scrubber) == []


@pytest.mark.slow
def test_pf004_real_scrubber_looks_into_fragments(scrubber):
    prompt = spec('{% include "' + SIG + '" %}')
    [finding] = found(prompt, "PF004", scrubber=scrubber, includes={SIG: "Questions? jane.doe@example.com"})
    assert finding.where == SIG and "EMAIL_ADDRESS" in finding.message


# -- PF005 format_contradiction / PF006 json_not_requested ------------------------------------

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}}


@pytest.mark.parametrize(
    "text, response_format, expected",
    [
        ("Answer in JSON, in plain text.", SCHEMA, ["plain text"]),
        ("Return JSON. List the fees as bullet points.", SCHEMA, ["bullet points"]),
        ("Return JSON formatted in Markdown.", SCHEMA, ["markdown"]),
        ("Return JSON and put the rates in a table.", SCHEMA, ["a table"]),
        ("Return the rows as CSV.", SCHEMA, ["CSV"]),
        ("Reply in YAML.", SCHEMA, ["YAML"]),
        ("Return XML.", SCHEMA, ["XML"]),
        ("Answer with one word.", SCHEMA, ["a one-word answer"]),
        ("Summarise it in a single sentence as JSON.", SCHEMA, ["a one-sentence answer"]),
        ("Answer in JSON.\nAlso give a numbered list.", None, ["a numbered list"]),
        ("Reply with a json object and bullet points.", None, ["bullet points"]),
        ("Return JSON. Don't be verbose, use a table.", SCHEMA, ["a table"]),
        # negatives
        ("Answer with a JSON object.", SCHEMA, []),
        ("Answer in JSON. Do not use markdown.", SCHEMA, []),
        ("Answer in JSON, not markdown.", None, []),
        ("Answer in JSON, without bullet points or a table.", SCHEMA, []),
        ("Answer in JSON with no markdown fences.", SCHEMA, []),
        ("Answer yes or no in JSON.", SCHEMA, []),
        ("Put the email between XML tags and return JSON.", SCHEMA, []),
        ("Answer as bullet points in markdown.", None, []),  # no JSON demanded at all
        ("Return JSON only.", None, []),
        ("The tablet app shows markdowns.", SCHEMA, []),  # word boundaries
    ],
)
def test_pf005_format_contradiction(text, response_format, expected):
    findings = found(spec(text, response_format=response_format), "PF005")
    assert [f.message.split(" asks for ")[1].split(" on line")[0] for f in findings] == expected
    assert all(f.severity == WARNING for f in findings)


def test_pf005_names_the_line_and_part():
    prompt = spec("", messages=(("system", "Reply in JSON."), ("user", "Hi\nUse a table.")))
    [finding] = found(prompt, "PF005")
    assert (finding.where, finding.line) == ("user #2", 2) and "system #1" in finding.message


@pytest.mark.parametrize(
    "prompt, includes, flagged",
    [
        (spec("Classify the ticket.", response_format=SCHEMA), None, True),
        (spec("Classify the ticket {{ a }}. {# json #}", response_format=SCHEMA), None, True),
        (spec("Classify the ticket. Answer with a JSON object.", response_format=SCHEMA), None, False),
        (spec("Return valid json.", response_format=SCHEMA), None, False),
        (spec("Classify the ticket."), None, False),
        (spec(f"Classify.{{% include '{SIG}' %}}", response_format=SCHEMA), {SIG: "Reply in JSON."}, False),
    ],
)
def test_pf006_json_not_requested(prompt, includes, flagged):
    findings = found(prompt, "PF006", includes=includes)
    assert bool(findings) is flagged
    assert all(f.severity == WARNING and f.where == "response_format" for f in findings)


# -- PF007 context_window ----------------------------------------------------------------------


def test_pf007_counts_text_variable_sizes_and_answer():
    prompt = spec("Summarise {{ doc }}.", var("doc", "long_text"), max_tokens=500)  # 4000 chars: 1000 tokens
    [finding] = found(prompt, "PF007", context_window=1400)
    assert finding.severity == ERROR
    assert "1,000 for 1 variable" in finding.message and "500 for the answer" in finding.message
    assert "1,400" in finding.message
    assert found(prompt, "PF007", context_window=2000) == []


@pytest.mark.parametrize(
    "template, variables, window, flagged",
    [
        ("Read {{ doc }}", (var("doc", "long_text", max_chars=400),), 120, False),  # 100 tokens + "Read "
        ("Read {{ doc }}", (var("doc", "long_text", max_chars=400),), 100, True),
        ("{{ doc }}", (var("doc", "untrusted"),), 2000, False),  # 8000 characters: 2000 tokens
        ("{{ doc }}", (var("doc", "untrusted"),), 1999, True),
        ("{{ doc }}{{ doc }}", (var("doc", "number"),), 8, False),  # a variable counts once: 32 chars
        ("{{ q }}", (), 50, False),  # undeclared: the short-text size, 200 characters
        ("{{ q }}", (), 49, True),
    ],
)
def test_pf007_uses_declared_sizes(template, variables, window, flagged):
    assert bool(found(spec(template, *variables), "PF007", context_window=window)) is flagged


def test_pf007_is_skipped_when_the_window_is_unknown():
    report = run(spec("Summarise {{ doc }}.", var("doc", "long_text")), "PF007")
    assert report.findings == [] and "context window" in report.skipped["PF007"]


@pytest.mark.parametrize(
    "provider, window",
    [
        ("openai:gpt-4o-mini", 128_000),
        ("openai:gpt-4o-mini-2024-07-18", 128_000),
        ("openai:gpt-4.1-nano", 1_047_576),
        ("openai:gpt-5-mini", 400_000),
        ("openai:o3-mini", 200_000),
        ("openai:gpt-3.5-turbo", 16_385),
        ("anthropic:claude-3-5-haiku-latest", 200_000),
        ("anthropic:claude-3-5-sonnet-20241022", 200_000),
        ("offline", 8_192),
        ("compat:llama3@http://localhost:8000/v1", None),
        ("openai:unknown-model", None),
        ("", None),
        (None, None),
    ],
)
def test_context_window_for_builtin_models(provider, window):
    assert context_window_for(provider) == window


def test_context_window_overrides_by_model_or_spec():
    assert context_window_for("compat:llama3@http://localhost:8000/v1", {"llama3": 8192}) == 8192
    assert context_window_for("openai:gpt-4o", {"openai:gpt-4o": 1000}) == 1000
    assert context_window_for("openai:gpt-4o-2024-08-06", {"gpt-4o": 64_000}) == 64_000
    assert Settings(context_windows={"llama3": 4096}).context_windows == {"llama3": 4096}


def test_every_priced_model_has_a_context_window_and_prices_still_resolve_snapshots():
    assert set(BUILTIN_PRICES) <= set(BUILTIN_CONTEXT_WINDOWS)
    assert model_keys("gpt-4o-mini-2024-07-18") == ("gpt-4o-mini-2024-07-18", "gpt-4o-mini")
    assert model_keys("gpt-4o") == ("gpt-4o",)
    assert price_for("claude-3-5-haiku-latest") == BUILTIN_PRICES["claude-3-5-haiku"]


# -- PF008 sandbox_unsafe ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{ x.__class__ }}", "'.__class__'"),
        ("{{ x._secret }}", "'._secret'"),
        ("{{ x['__globals__'] }}", "'__globals__'"),
        ("{{ x|attr('y') }}", "'attr' filter"),
        ("{{ '{}'.format(x) }}", "'.format'"),
        ("{{ x.format_map(y) }}", "'.format_map'"),
        ("{{ x.mro() }}", "'.mro'"),
        ("{{ self }}", "'self'"),
        ("{% set ns = namespace(a=1) %}{{ ns.a }}", "'namespace'"),
        ("{{ cycler(1, 2).next() }}", "'cycler'"),
        ("{% set j = joiner() %}{{ j() }}", "'joiner'"),
        ("{{ lipsum() }}", "'lipsum'"),
        ("{% for i in range(20000) %}{% endfor %}", "over 10,000"),
        ("{% for i in range(1, 10001) %}x{% endfor %}", "over 10,000"),
        ("{% import 'fragment:macros' as m %}", "import"),
        ("{% from 'fragment:macros' import m %}", "import"),
        ("{% extends 'base.txt' %}", "extends"),
        ("{% include 'other.txt' %}", "not a fragment"),
        ("{% include name %}", "computed"),
        ("{{ items|map(attribute='__class__')|list }}", "'__class__'"),
    ],
)
def test_pf008_unsafe_constructs_are_errors(template, expected):
    findings = found(spec("Start\n" + template), "PF008")
    assert findings, template
    assert all(f.severity == ERROR and f.line == 2 for f in findings)
    assert any(expected in f.message for f in findings), [f.message for f in findings]


@pytest.mark.parametrize(
    "template",
    [
        "{{ customer.name }}",
        "{{ x|upper }} {{ '%s items'|format(n) }}",
        "{% for i in range(100) %}{{ i }}{% endfor %}",
        "{% for i in range(0, 10000) %}{% endfor %}",
        "{% include '" + SIG + "' %}",
        "{{ items|map(attribute='name')|join(', ') }}",
        "{% for row in rows %}{{ loop.index }}: {{ row['amount'] }}{% endfor %}",
    ],
)
def test_pf008_safe_constructs_pass(template):
    assert found(spec(template), "PF008", includes={SIG: "Regards"}) == []


def test_pf008_looks_into_fragments():
    [finding] = found(spec("{% include '" + SIG + "' %}"), "PF008", includes={SIG: "{{ x.__class__ }}"})
    assert finding.where == SIG


# -- the report ----------------------------------------------------------------------------------


def test_report_ok_errors_and_warnings():
    clean = run(spec("Summarise <doc>{{ document }}</doc>.", var("document", "untrusted")))
    assert clean.ok and clean.findings == [] and clean.errors == [] and clean.warnings == []
    assert set(clean.skipped) == {"PF004", "PF007"}

    warned = run(spec("Summarise {{ document }}.", var("document", "untrusted"), var("spare")))
    assert warned.ok and {f.rule for f in warned.warnings} == {"PF002", "PF003"} and warned.errors == []

    failed = run(spec("Hi {{ name }} {{ x.__class__ }}", var("name")), context_window=10_000)
    assert not failed.ok and {f.rule for f in failed.errors} == {"PF001", "PF008"}
    assert "PF007" not in failed.skipped
    as_dict = failed.to_dict()
    assert as_dict["ok"] is False and {"rule", "severity", "message", "hint", "where", "line"} == set(
        as_dict["findings"][0]
    )


def test_only_runs_the_named_rules_and_refuses_unknown_ids():
    report = run(spec("Hi {{ extra }}", var("unused")), "PF002")
    assert {f.rule for f in report.findings} == {"PF002"}
    with pytest.raises(InputError, match="PF999"):
        lint(spec("Hi"), only=["PF999"], settings=SETTINGS)


def test_builtin_rules_are_registered_with_fixed_ids():
    rules = lint_rules(SETTINGS)
    expected = {
        "PF001": ("undefined_variable", ERROR), "PF002": ("unused_variable", WARNING),
        "PF003": ("unfenced_untrusted", WARNING), "PF004": ("pii_literal", ERROR),
        "PF005": ("format_contradiction", WARNING), "PF006": ("json_not_requested", WARNING),
        "PF007": ("context_window", ERROR), "PF008": ("sandbox_unsafe", ERROR),
    }
    assert {rule_id: (rules[rule_id].title, rules[rule_id].severity) for rule_id in expected} == expected
    assert all(rules[rule_id].hint for rule_id in expected)


# -- the registry and plugins ---------------------------------------------------------------------


@pytest.fixture
def temp_rules() -> Iterator[list[str]]:
    """Rule ids a test registers; unregistered afterwards."""
    ids: list[str] = []
    yield ids
    for rule_id in ids:
        unregister_rule(rule_id)


def test_a_rule_that_raises_is_an_error_finding_not_a_crash(temp_rules):
    @register_rule
    class Exploding(LintRule):
        id, severity, title, hint = "TEST901", WARNING, "exploding", "n/a"

        def check(self, ctx):
            raise RuntimeError("jane.doe@example.com leaked")

    temp_rules.append("TEST901")
    report = run(spec("Hi {{ name }}", var("name")))
    [finding] = [f for f in report.findings if f.rule == "TEST901"]
    assert finding.severity == ERROR and "exploding" in finding.message and "RuntimeError" in finding.message
    assert "jane" not in finding.message and not report.ok


def test_a_duplicate_id_is_refused(temp_rules):
    with pytest.raises(ValueError, match="PF001.*taken"):

        @register_rule
        class Impostor(LintRule):
            id, severity, title, hint = "PF001", ERROR, "impostor", "n/a"

            def check(self, ctx):
                return []

    rules = lint_rules(SETTINGS)
    assert rules["PF001"].title == "undefined_variable"
    register_rule(rules["PF001"])  # the same class again (a module imported twice) is fine


@pytest.mark.parametrize(
    "attrs, message",
    [
        ({"id": "PF000"}, "reserved"),
        ({"id": "lower1"}, "capitals"),
        ({"severity": "info"}, "severity"),
        ({"hint": ""}, "hint"),
    ],
)
def test_invalid_rules_are_refused(attrs, message):
    body = {"id": "TEST902", "severity": WARNING, "title": "t", "hint": "h", "check": lambda self, ctx: []}
    cls = type("Invalid", (LintRule,), {**body, **attrs})
    with pytest.raises(ValueError, match=message):
        register_rule(cls)


README_EXAMPLE = Path(__file__).resolve().parents[2] / "plugins" / "lint" / "README.md"


@pytest.fixture
def plugin_dir(tmp_path, temp_rules) -> Iterator[Path]:
    folder = tmp_path / "lint"
    folder.mkdir()
    reset_plugins_for_tests()
    temp_rules += ["ACME001", "ACME002"]
    yield folder
    reset_plugins_for_tests()


def test_a_plugin_rule_from_the_folder_runs_and_a_broken_one_is_reported(plugin_dir):
    example = README_EXAMPLE.read_text().split("```python\n")[1].split("```")[0]
    (plugin_dir / "shouting.py").write_text(example)
    (plugin_dir / "broken.py").write_text("import nonexistent_module_xyz\n")
    (plugin_dir / "_private.py").write_text("raise RuntimeError('never imported')\n")
    settings = Settings(lint_plugins_dir=plugin_dir)

    report = lint(spec("Hi {{ name }}.\nIMPORTANT: be brief.", var("name")), settings=settings)
    [finding] = [f for f in report.findings if f.rule == "ACME001"]
    assert (finding.severity, finding.line) == (WARNING, 2) and report.ok
    assert "ACME001" in lint_rules(settings)
    errors = lint_plugin_errors()
    assert any(k.endswith("broken.py") and "nonexistent_module_xyz" in v for k, v in errors.items())
    assert not any(k.endswith("_private.py") for k in errors)
    assert lint(spec("Hi {{ name }}.", var("name")), settings=settings).findings == []


def test_a_plugin_that_reuses_a_builtin_id_is_reported(plugin_dir):
    (plugin_dir / "clash.py").write_text(textwrap.dedent('''
        from prompts.lint import ERROR, LintRule, register_rule

        @register_rule
        class Clash(LintRule):
            id, severity, title, hint = "PF002", ERROR, "clash", "n/a"

            def check(self, ctx):
                return []
    '''))
    rules = lint_rules(Settings(lint_plugins_dir=plugin_dir))
    assert rules["PF002"].title == "unused_variable"
    assert any(k.endswith("clash.py") and "taken" in v for k, v in lint_plugin_errors().items())


def test_entry_point_lint_rules_are_loaded(plugin_dir, tmp_path, monkeypatch):
    site = tmp_path / "site"
    package = site / "pf_lint_ep"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent('''
        from prompts.lint import WARNING, LintRule

        class Ep(LintRule):
            id, severity, title, hint = "ACME002", WARNING, "ep_rule", "n/a"

            def check(self, ctx):
                yield self.finding("from an entry point")
    '''))
    dist = site / "pf_lint_ep-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pf-lint-ep\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[promptforge.lint_rules]\nep = pf_lint_ep:Ep\n")
    monkeypatch.syspath_prepend(str(site))
    try:
        report = lint(spec("Hi"), settings=Settings(lint_plugins_dir=plugin_dir))
        assert [f.message for f in report.findings if f.rule == "ACME002"] == ["from an entry point"]
    finally:
        sys.modules.pop("pf_lint_ep", None)
