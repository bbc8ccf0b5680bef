"""Assertions: (output, options, passes?, explanation fragment) tables for each one."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from evaluation.assertions import (
    MAX_REGEX_CHARS,
    AssertContains,
    AssertFieldRange,
    AssertJSONSchema,
    AssertLength,
    AssertNotContains,
    AssertNotRegex,
    AssertRegex,
    parse_field_path,
)
from evaluation.metric_sets import MetricSet
from evaluation.registry import MetricContext, MetricInput, registered_metrics

ALL = [AssertRegex, AssertNotRegex, AssertContains, AssertNotContains, AssertJSONSchema, AssertLength, AssertFieldRange]

# the smallest valid options of each assertion
MINIMAL = {
    AssertRegex: {"pattern": "x"},
    AssertNotRegex: {"pattern": "x"},
    AssertContains: {"text": "x"},
    AssertNotContains: {"text": "x"},
    AssertJSONSchema: {"schema": {"type": "object"}},
    AssertLength: {"max": 10},
    AssertFieldRange: {"field": "a", "max": 1},
}

SCHEMA = {
    "type": "object",
    "required": ["rate", "term_months"],
    "properties": {
        "rate": {"type": "number", "minimum": 0},
        "term_months": {"type": "integer"},
        "offer": {
            "type": "object",
            "properties": {"start": {"type": "string", "format": "date"}},
        },
        "items": {"type": "array", "items": {"type": "object", "required": ["amount"]}},
    },
    "additionalProperties": False,
}


def short(value):
    """Readable test ids: long outputs are cut."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check(cls, output, options):
    metric = cls(MetricContext(), **options)
    return metric.score(MetricInput(input="prompt", output=output))


def assert_outcome(result, passes, fragment):
    assert result.status == "ok", result.explanation
    assert result.value == (1.0 if passes else 0.0), result.explanation
    assert result.flagged is (not passes), "a failed assertion raises a flag, a pass does not"
    assert fragment in result.explanation, result.explanation


# -- regex ------------------------------------------------------------------------------------

REGEX_CASES = [
    # (output, options, passes, fragment)
    ("Dear Ms Smith, your loan", {"pattern": r"^Dear "}, True, "matches at character 0 (line 1, column 1): 'Dear '"),
    ("Hello Ms Smith", {"pattern": r"^Dear "}, False, "The pattern /^Dear / does not match the output"),
    ("dear Ms Smith", {"pattern": r"^Dear "}, False, "does not match"),
    ("dear Ms Smith", {"pattern": r"^Dear ", "ignore_case": True}, True, "'dear '"),
    ("Intro\nDear Ms Smith", {"pattern": r"^Dear"}, False, "does not match"),
    ("Intro\nDear Ms Smith", {"pattern": r"^Dear", "multiline": True}, True, "line 2, column 1"),
    ("Zinssatz: 4,5 % für Kunden", {"pattern": r"für\s+Kunden"}, True, "'für Kunden'"),
    ("ÉPARGNE garantie", {"pattern": r"épargne", "ignore_case": True}, True, "'ÉPARGNE'"),
    ("", {"pattern": r"^$"}, True, "matches at character 0"),
    ("x" * (MAX_REGEX_CHARS + 10) + "END", {"pattern": "END"}, False, "only the first 100,000 of 100,013 characters"),
]

NOT_REGEX_CASES = [
    ("Your SSN is 123-45-6789.", {"pattern": r"\d{3}-\d{2}-\d{4}"}, False,
     "matches at character 12 (line 1, column 13): '123-45-6789'"),
    ("Your SSN is <US_SSN>.", {"pattern": r"\d{3}-\d{2}-\d{4}"}, True, "does not match the output"),
    ("We GUARANTEE returns", {"pattern": r"guarantee", "ignore_case": True}, False, "'GUARANTEE'"),
    ("We guarantee returns", {"pattern": r"GUARANTEE"}, True, "does not match"),
    ("line one\nguaranteed", {"pattern": r"^guaranteed$", "multiline": "true"}, False, "line 2, column 1"),
]


@pytest.mark.parametrize(("output", "options", "passes", "fragment"), REGEX_CASES, ids=short)
def test_assert_regex(output, options, passes, fragment):
    assert_outcome(check(AssertRegex, output, options), passes, fragment)


@pytest.mark.parametrize(("output", "options", "passes", "fragment"), NOT_REGEX_CASES)
def test_assert_not_regex(output, options, passes, fragment):
    assert_outcome(check(AssertNotRegex, output, options), passes, fragment)


@pytest.mark.parametrize(
    ("metric", "options"),
    [(AssertRegex, {"pattern": "(a|aa)+$"}), (AssertFieldRange, {"pattern": "(?:a|aa)+(\\d)$", "max": 10})],
)
def test_a_pattern_that_backtracks_without_end_fails_its_row_not_the_run(monkeypatch, metric, options):
    from evaluation import options as option_checks

    monkeypatch.setattr(option_checks, "REGEX_TIMEOUT_S", 0.2)
    assertion = metric(MetricContext(), **options)
    pathological, ordinary = "a" * 40 + "!", "aaaa"
    slow, fine = assertion.score_many([MetricInput("p", pathological), MetricInput("p", ordinary)])
    assert slow.status == "error" and slow.value is None
    assert "RegexTimeout" in slow.explanation and "more than 0.2 s" in slow.explanation
    assert "simplify the pattern" in slow.explanation and options["pattern"] in slow.explanation
    assert fine.status == "ok"


def test_a_regex_sees_only_the_bounded_text():
    """A user regex runs on the first MAX_REGEX_CHARS characters only."""
    output = "a" * MAX_REGEX_CHARS + "SECRET"
    assert_outcome(check(AssertNotRegex, output, {"pattern": "SECRET"}), True, "only the first 100,000 of 100,006")
    assert_outcome(check(AssertNotRegex, output[-50:], {"pattern": "SECRET"}), False, "matches at character 44")


# -- contains ---------------------------------------------------------------------------------

CONTAINS_CASES = [
    ("The APR is 4.5%. Terms apply.", {"text": "apr"}, True, "contains 'apr', ignoring case"),
    ("The APR is 4.5%. Terms apply.", {"text": "apr", "case_sensitive": True}, False, "lacks 'apr'"),
    ("The APR is 4.5%. Terms apply.", {"text": ["APR", "terms apply"]}, True, "'APR', 'terms apply'"),
    ("The APR is 4.5%.", {"text": ["APR", "terms apply", "fee"]}, False, "lacks 'terms apply', 'fee'"),
    ("Die STRASSE der Bank", {"text": "straße"}, True, "contains 'straße'"),  # Unicode case folding
    ("Cafe\u0301 credit", {"text": "Café"}, True, "contains 'Café'"),  # decomposed é matches composed é
    ("Kredit: 1 000 €", {"text": "€"}, True, "'€'"),
    ("", {"text": "APR"}, False, "lacks 'APR'"),
]

NOT_CONTAINS_CASES = [
    ("We guarantee returns.", {"text": ["GUARANTEE", "risk-free"]}, False,
     "contains 'GUARANTEE' at character 3 (line 1, column 4), ignoring case"),
    ("Returns may vary.", {"text": ["guarantee", "risk-free"]}, True, "contains none of 'guarantee', 'risk-free'"),
    ("We guarantee returns.", {"text": "GUARANTEE", "case_sensitive": True}, True, "none of 'GUARANTEE'"),
    ("Zins\nGebühr: 5 €", {"text": "GEBÜHR"}, False, "'GEBÜHR' at character 5 (line 2, column 1)"),
    ("risk-free and guaranteed", {"text": ["guaranteed", "risk-free"]}, False, "'guaranteed' at character 14"),
]


@pytest.mark.parametrize(("output", "options", "passes", "fragment"), CONTAINS_CASES)
def test_assert_contains(output, options, passes, fragment):
    assert_outcome(check(AssertContains, output, options), passes, fragment)


@pytest.mark.parametrize(("output", "options", "passes", "fragment"), NOT_CONTAINS_CASES)
def test_assert_not_contains(output, options, passes, fragment):
    assert_outcome(check(AssertNotContains, output, options), passes, fragment)


# -- JSON schema ------------------------------------------------------------------------------

JSON_CASES = [
    ('{"rate": 4.5, "term_months": 36}', True, "valid against the schema"),
    ('```json\n{"rate": 4.5, "term_months": 36}\n```', True, "valid against the schema"),
    ('  ```JSON\r\n{"rate": 4.5, "term_months": 36}\r\n```\n', True, "valid against the schema"),
    ('```\n{"rate": 4.5, "term_months": 36}\n```', True, "valid against the schema"),
    ('{"rate": "4.5", "term_months": 36}', False, "at rate: '4.5' is not of type 'number' (rule properties/rate/type)"),
    ('{"rate": 4.5}', False, "at (root): 'term_months' is a required property (rule required)"),
    ('{"rate": -1, "term_months": 36}', False, "at rate: -1 is less than the minimum of 0"),
    ('{"rate": 1, "term_months": 36, "offer": {"start": "31/12/2025"}}', False, "at offer.start: '31/12/2025' is not a 'date'"),
    ('{"rate": 1, "term_months": 36, "items": [{"amount": 1}, {}]}', False, "at items[1]: 'amount' is a required"),
    ('{"rate": 1, "term_months": 36, "note": "x"}', False, "Additional properties are not allowed ('note'"),
    ('{"rate": 1, "term_months": 36, "offer": {"start": "2025-12-31"}, "items": [{"amount": 1}]}', True, "valid"),
    ('{"rate": 1, "term_months": 36.5}', False, "at term_months: 36.5 is not of type 'integer'"),
    ('{"rate": "x", "term_months": "y", "offer": 1, "items": 2}', False, "; and 1 more"),
    ('{"rate": 4.5, "term_months": 36', False, "The output is not valid JSON: Expecting ',' delimiter at line 1, column 32"),
    ('```json\n{"rate": 4.5,}\n```', False, "not valid JSON inside the ```json fence"),
    ('Here you are:\n```json\n{"rate": 4.5, "term_months": 36}\n```', False, "accepted only when it wraps the whole output"),
    ('{"rate": NaN, "term_months": 36}', False, "NaN is not valid JSON"),
    ("", False, "The output is empty, not JSON"),
    ("Sure! The rate is 4.5%.", False, "not valid JSON: Expecting value at line 1, column 1"),
]


@pytest.mark.parametrize(("output", "passes", "fragment"), JSON_CASES)
def test_assert_json_schema(output, passes, fragment):
    assert_outcome(check(AssertJSONSchema, output, {"schema": SCHEMA}), passes, fragment)


def test_json_schema_given_as_a_json_string_and_unicode():
    options = {"schema": '{"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}}'}
    assert_outcome(check(AssertJSONSchema, '{"name": "Zoë"}', options), True, "valid")
    assert_outcome(check(AssertJSONSchema, '{"name": "Zoë Müller"}', options), False, "at name: 'Zoë Müller' is too long")


def test_json_schema_draft_comes_from_the_schema():
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "number", "maximum": 5, "exclusiveMaximum": True}
    assert_outcome(check(AssertJSONSchema, "5", {"schema": draft4}), False, "greater than or equal to the maximum of 5")
    assert_outcome(check(AssertJSONSchema, "4", {"schema": draft4}), True, "valid")


# -- length -----------------------------------------------------------------------------------

LENGTH_CASES = [
    ("Hello", {"max": 5}, True, "5 characters, within at most 5"),
    ("Hello!", {"max": 5}, False, "6 characters, over the maximum of 5"),
    ("Hi", {"min": 3}, False, "2 characters, under the minimum of 3"),
    ("Hi there", {"min": 3, "max": 10}, True, "8 characters, within 3 to 10"),
    ("Grüße", {"max": 5}, True, "5 characters"),
    ("Gru\u0308\u00dfe", {"max": 5}, True, "5 characters"),  # decomposed ü counts as one character
    ("日本語のテキスト", {"min": 8, "max": 8}, True, "8 characters"),
    ("one two  three\nfour", {"max": 3, "unit": "words"}, False, "4 words, over the maximum of 3"),
    ("one two three", {"min": 3, "max": 3, "unit": "words"}, True, "3 words, within 3 to 3"),
    ("", {"min": 1}, False, "0 characters, under the minimum of 1"),
    ("", {"max": 0, "unit": "words"}, True, "0 words"),
    ("x" * 12345, {"max": 10000}, False, "12,345 characters, over the maximum of 10000"),
]


@pytest.mark.parametrize(("output", "options", "passes", "fragment"), LENGTH_CASES)
def test_assert_length(output, options, passes, fragment):
    assert_outcome(check(AssertLength, output, options), passes, fragment)


# -- a number within bounds -------------------------------------------------------------------

OFFER = '{"offer": {"rate": 4.75, "fee": "1,250.50", "flag": true, "none": null, "note": "n/a"}, ' \
        '"items": [{"amount": 100}, {"amount": 2500}], "a.b": {"c": 7}}'

FIELD_CASES = [
    (OFFER, {"field": "offer.rate", "min": 0, "max": 10}, True, "The field offer.rate = 4.75, within 0 to 10"),
    (OFFER, {"field": "offer.rate", "max": 4.5}, False, "The field offer.rate = 4.75, above the maximum 4.5"),
    (OFFER, {"field": "offer.rate", "min": 5}, False, "below the minimum 5"),
    (OFFER, {"field": "items[1].amount", "max": 2000}, False, "The field items[1].amount = 2500, above the maximum 2000"),
    (OFFER, {"field": "items[0].amount", "min": 100, "max": 100}, True, "= 100, within 100 to 100"),
    (OFFER, {"field": "$.items[0].amount", "max": 100}, True, "items[0].amount = 100"),
    (OFFER, {"field": '["a.b"].c', "max": 7}, True, 'The field ["a.b"].c = 7'),
    (OFFER, {"field": "offer.fee", "max": 2000}, True, "offer.fee = 1250.5"),
    (OFFER, {"field": "items[2].amount", "max": 1}, False, "The field items[2].amount is not found: items has 2 item(s)"),
    (OFFER, {"field": "offer.apr", "max": 1}, False, "offer has no key 'apr' (keys: rate, fee, flag, none, note)"),
    (OFFER, {"field": "offer.rate.value", "max": 1}, False, "offer.rate is not an object"),
    (OFFER, {"field": "offer[0]", "max": 1}, False, "offer is not a list"),
    (OFFER, {"field": "offer.flag", "max": 1}, False, "offer.flag is true (a boolean), not a number"),
    (OFFER, {"field": "offer.none", "max": 1}, False, "offer.none is null, not a number"),
    (OFFER, {"field": "offer.note", "max": 1}, False, "offer.note is the text 'n/a', not a number"),
    (OFFER, {"field": "offer", "max": 1}, False, "The field offer is an object, not a number"),
    (OFFER, {"field": "items", "max": 1}, False, "The field items is a list, not a number"),
    ('```json\n{"offer": {"rate": 3}}\n```', {"field": "offer.rate", "max": 5}, True, "offer.rate = 3"),
    ('{"montant": {"intérêt": 2.5}}', {"field": "montant.intérêt", "max": 3}, True, "montant.intérêt = 2.5"),
    ('[{"amount": 1}]', {"field": "[0].amount", "max": 3}, True, "[0].amount = 1"),
    ("The rate is 4.75%", {"field": "offer.rate", "max": 5}, False, "The output is not valid JSON"),
]

PATTERN_CASES = [
    ("Your APR is 29.9% for 12 months.", {"pattern": r"APR is (\d+(?:\.\d+)?)%", "max": 25}, False,
     "The number captured at character 12 (line 1, column 13) = 29.9, above the maximum 25"),
    ("Your APR is 19.9% for 12 months.", {"pattern": r"APR is (\d+(?:\.\d+)?)%", "max": 25}, True, "= 19.9, within at most 25"),
    ("Fee: €1,250.00\nTotal", {"pattern": r"Fee: €([\d,.]+)", "max": 1000}, False, "= 1250, above the maximum 1000"),
    ("Loan of -5 units", {"pattern": r"of (-?\d+)", "min": 0}, False, "= -5, below the minimum 0"),
    ("No rate given.", {"pattern": r"APR is (\d+)%", "max": 25}, False, "The pattern /APR is (\\d+)%/ does not match the output"),
    ("APR is abc%", {"pattern": r"APR is (\w+)%", "max": 25}, False, "The captured value is the text 'abc', not a number"),
    ("APR: none", {"pattern": r"APR: (\d+)?", "max": 25}, False, "but its group captured nothing"),
    ("Zinssatz ５%", {"pattern": r"Zinssatz (\S+)%", "max": 4}, False, "= 5, above the maximum 4"),  # full-width digit
    ("Rate 4.5 percent", {"pattern": r"Rate (\S+ \S+)", "max": 25}, False, "is the text '4.5 percent', not a number"),
]


@pytest.mark.parametrize(("output", "options", "passes", "fragment"), FIELD_CASES + PATTERN_CASES)
def test_assert_field_range(output, options, passes, fragment):
    assert_outcome(check(AssertFieldRange, output, options), passes, fragment)


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("offer.rate", ["offer", "rate"]),
        ("items[0].amount", ["items", 0, "amount"]),
        ("$.a[10][2]", ["a", 10, 2]),
        ("$[0]", [0]),
        ('["a.b"].c', ["a.b", "c"]),
        ("intérêt", ["intérêt"]),
    ],
)
def test_parse_field_path(path, parts):
    assert parse_field_path(path) == parts


# -- bad options ------------------------------------------------------------------------------

BAD_OPTIONS = [
    (AssertRegex, {}, "the option 'pattern' is required"),
    (AssertRegex, {"pattern": ""}, "must be a non-empty regular expression"),
    (AssertRegex, {"pattern": "(unclosed"}, "is not a valid regular expression: missing ), unterminated subpattern"),
    (AssertRegex, {"pattern": "[a-"}, "unterminated character set at position 0"),
    (AssertRegex, {"pattern": "x", "ignore_case": "maybe"}, "'ignore_case' must be true or false"),
    (AssertRegex, {"pattern": "x", "case_sensitive": True}, "does not take the option(s) case_sensitive"),
    (AssertNotRegex, {"pattern": "*"}, "nothing to repeat"),
    (AssertContains, {}, "the option 'text' is required"),
    (AssertContains, {"text": []}, "a string or a non-empty list of strings"),
    (AssertContains, {"text": ["ok", ""]}, "every entry of 'text' must be a non-empty string"),
    (AssertContains, {"text": ["ok", 5]}, "not 5"),
    (AssertNotContains, {"text": "x", "ignore_case": True}, "does not take the option(s) ignore_case"),
    (AssertJSONSchema, {}, "the option 'schema' is required"),
    (AssertJSONSchema, {"schema": "{type: object}"}, "the schema is not valid JSON"),
    (AssertJSONSchema, {"schema": "[1, 2]"}, "must be a JSON object (a mapping), not list"),
    (AssertJSONSchema, {"schema": {"type": "nope"}}, "not a valid JSON Schema: at type"),
    (AssertJSONSchema, {"schema": {"properties": {"a": {"minimum": "zero"}}}}, "at properties.a.minimum: 'zero' is not of type 'number'"),
    (AssertLength, {}, "set 'min', 'max' or both"),
    (AssertLength, {"min": 10, "max": 5}, "'min' (10) is greater than 'max' (5)"),
    (AssertLength, {"min": -1}, "'min' cannot be negative"),
    (AssertLength, {"max": "ten"}, "'max' must be a number, not 'ten'"),
    (AssertLength, {"max": True}, "'max' must be a number"),
    (AssertLength, {"max": 5, "unit": "tokens"}, "the unit must be chars or words, not 'tokens'"),
    (AssertLength, {"max": 5, "unit": "lines"}, "not 'lines'"),
    (AssertFieldRange, {"max": 1}, "set exactly one of 'field'"),
    (AssertFieldRange, {"field": "a", "pattern": "(x)", "max": 1}, "set exactly one of 'field'"),
    (AssertFieldRange, {"field": "a"}, "set 'min', 'max' or both"),
    (AssertFieldRange, {"field": "a", "min": 2, "max": 1}, "'min' (2) is greater than 'max' (1)"),
    (AssertFieldRange, {"field": "a", "max": float("nan")}, "must be a finite number"),
    (AssertFieldRange, {"field": "a..b", "max": 1}, "the field path 'a..b' is not valid: empty key"),
    (AssertFieldRange, {"field": "items[x]", "max": 1}, "bad brackets at position 5"),
    (AssertFieldRange, {"field": "a.", "max": 1}, "empty key at position 2"),
    (AssertFieldRange, {"field": "", "max": 1}, "must be a non-empty path"),
    (AssertFieldRange, {"pattern": r"rate (\d+)", "field": None, "max": "x"}, "'max' must be a number"),
    (AssertFieldRange, {"pattern": r"rate \d+", "max": 1}, "exactly one capture group, it has 0"),
    (AssertFieldRange, {"pattern": r"(rate) (\d+)", "max": 1}, "exactly one capture group, it has 2"),
    (AssertFieldRange, {"pattern": r"rate (\d+", "max": 1}, "is not a valid regular expression"),
]


@pytest.mark.parametrize(("cls", "options", "fragment"), BAD_OPTIONS)
def test_bad_options_are_rejected_at_construction(cls, options, fragment):
    with pytest.raises(ConfigError) as caught:
        cls(MetricContext(), **options)
    assert fragment in str(caught.value)
    assert caught.value.hint, "every error says what to do next"


def test_errors_name_the_result_when_it_is_renamed():
    with pytest.raises(ConfigError, match=r"'assert_regex' \('greets_customer'\): the pattern"):
        AssertRegex(MetricContext(), pattern="(", result_name="greets_customer")


# -- behaviour common to every assertion ------------------------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_a_row_without_output_is_unavailable(cls):
    metric = cls(MetricContext(), **MINIMAL[cls])
    [result] = metric.score_many([MetricInput(input="prompt", output=None)])
    assert result.status == "unavailable"
    assert result.value is None and not result.flagged
    assert "no output" in result.explanation


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_every_assertion_describes_itself(cls):
    info = cls.describe()
    assert info["kind"] == "assertion"
    assert info["higher_is_better"] is True
    assert info["range"] == "0 to 1"
    assert info["reads"] == ["output"]
    assert set(info["options"]) >= set(MINIMAL[cls]), "option_help lists the options"
    assert registered_metrics()[cls.name] is cls


def test_an_unset_threshold_still_flags_a_failure():
    metric = AssertContains(MetricContext(), text="APR", flag_below=None)  # how a spec without flag_below may pass it
    result = metric.score(MetricInput(input="p", output="no rate here"))
    assert result.value == 0.0 and result.flagged


def test_flag_threshold_can_be_turned_off():
    metric = AssertRegex(MetricContext(), pattern="x", flag_below=0.0)
    result = metric.score(MetricInput(input="p", output="no match here"))
    assert result.value == 0.0 and not result.flagged


def test_metric_set_yaml_builds_assertions_with_their_options(tmp_path):
    from config.settings import Settings

    text = """
metrics:
  - metric: assert_regex
    name: greets_customer
    options: {pattern: '^Dear ', ignore_case: true}
  - metric: assert_field_range
    name: apr_cap
    min_pass_rate: 1.0
    options: {pattern: 'APR of (\\d+(?:\\.\\d+)?)%', max: 25}
  - metric: assert_json_schema
    options:
      schema: {type: object, required: [rate]}
"""
    metric_set = MetricSet.from_yaml(text)
    context = MetricContext(Settings(data_dir=tmp_path, metric_plugins_dir=tmp_path))
    greets, apr, schema = metric_set.build(context)
    rows = [
        MetricInput(input="p", output="dear Ann, the APR of 30% applies"),
        MetricInput(input="p", output='{"rate": 3}'),
        MetricInput(input="p", output=None),
    ]
    assert [(r.name, r.value, r.flagged) for r in greets.score_many(rows)] == [
        ("greets_customer", 1.0, False),
        ("greets_customer", 0.0, True),  # spec sets no flag_below: a failure still flags
        ("greets_customer", None, False),
    ]
    assert [r.value for r in apr.score_many(rows)] == [0.0, 0.0, None]
    assert [r.value for r in schema.score_many(rows)] == [0.0, 1.0, None]
    # the set round-trips through YAML unchanged
    assert MetricSet.from_yaml(metric_set.to_yaml()).to_list() == metric_set.to_list()


def test_metric_set_with_a_bad_regex_says_what_to_fix(tmp_path):
    from config.settings import Settings

    metric_set = MetricSet.from_yaml("- metric: assert_not_regex\n  options: {pattern: '(guarantee'}\n")
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        metric_set.build(MetricContext(Settings(data_dir=tmp_path, metric_plugins_dir=tmp_path)))
