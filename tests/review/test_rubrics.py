"""Rubrics: validation of the definition (each bad input names its item and says what to do),
checking one annotation, pass/fail, numeric values for agreement and TruLens, and the YAML form."""

from __future__ import annotations

import json

import pytest

from config.errors import InputError
from review.rubrics import DEFAULT_RUBRIC, SCHEMA, Rubric, RubricItem

GOOD = {
    "policy_breach": False,
    "personal_data_exposure": False,
    "unsuitable_advice": False,
    "tone": "good",
    "factual_error": False,
    "overall": 4,
}


def rubric_dict(*items: dict, **top) -> dict:
    return {"schema": SCHEMA, "name": "custom", "title": "Custom", "description": "", "items": list(items), **top}


def numeric(**fields) -> dict:
    return {"name": "score", "kind": "numeric", "title": "Score", "min": 1, "max": 5, **fields}


def categorical(**fields) -> dict:
    return {"name": "tone", "kind": "categorical", "title": "Tone", "labels": ["bad", "ok", "good"], **fields}


def boolean(**fields) -> dict:
    return {"name": "leak", "kind": "boolean", "title": "Leak?", "fail_when": True, **fields}


def error_of(call, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    assert info.value.hint or info.value.message  # something the user can act on
    return info.value


# ----------------------------------------------------------------------------- the shipped rubric


def test_default_rubric_has_the_compliance_items():
    r = DEFAULT_RUBRIC
    assert r.name == "compliance" and r.version == 1
    assert [(i.name, i.kind) for i in r.items] == [
        ("policy_breach", "boolean"),
        ("personal_data_exposure", "boolean"),
        ("unsuitable_advice", "boolean"),
        ("tone", "categorical"),
        ("factual_error", "boolean"),
        ("overall", "numeric"),
        ("notes", "comment"),
    ]
    assert [i.name for i in r.scored_items] == list(GOOD)
    for item in r.items:
        assert item.title and len(item.description) > 40, item.name  # real help text for reviewers
    for name in ("policy_breach", "personal_data_exposure", "unsuitable_advice", "factual_error"):
        item = r.item(name)
        assert item.fail_when is True and item.comment_required_on_fail
    tone = r.item("tone")
    assert tone.labels == ("unacceptable", "poor", "acceptable", "good") and tone.ordered
    assert tone.failing == ("unacceptable",) and tone.comment_required_on_fail
    overall = r.item("overall")
    assert (overall.min, overall.max, overall.step, overall.pass_at) == (1, 5, 1, 3)


def test_levels_of_measurement():
    r = DEFAULT_RUBRIC
    assert r.level_of_measurement("overall") == "interval"
    assert r.level_of_measurement("tone") == "ordinal"
    assert r.level_of_measurement("policy_breach") == "nominal"
    unordered = RubricItem("topic", "categorical", "Topic", labels=("cards", "loans"))
    assert unordered.level_of_measurement == "nominal"
    err = error_of(r.level_of_measurement, "notes")
    assert "notes" in str(err) and "comment" in str(err)
    err = error_of(r.level_of_measurement, "tonne")
    assert "'tone'" in str(err)  # did you mean


def test_numeric_values():
    r = DEFAULT_RUBRIC
    assert r.numeric_value("overall", 4) == 4.0
    assert r.numeric_value("policy_breach", False) == 1.0  # the passing answer
    assert r.numeric_value("policy_breach", True) == 0.0
    assert [r.numeric_value("tone", label) for label in r.item("tone").labels] == [0.0, 1 / 3, 2 / 3, 1.0]
    unordered = RubricItem("topic", "categorical", "Topic", labels=("ok", "spam", "other"), failing=("spam",))
    assert [unordered.numeric_value(v) for v in ("ok", "spam", "other")] == [1.0, 0.0, 1.0]
    passes = RubricItem("disclaimer", "boolean", "Disclaimer shown?", fail_when=False)
    assert (passes.numeric_value(True), passes.numeric_value(False)) == (1.0, 0.0)
    assert r.numeric_value(r.item("overall"), 2) == 2.0  # an item object works too
    assert "not one of its labels" in str(error_of(r.numeric_value, "tone", "great"))


def test_fails():
    r = DEFAULT_RUBRIC
    assert r.fails(GOOD) == []
    bad = {**GOOD, "policy_breach": True, "tone": "unacceptable", "overall": 2}
    assert r.fails(bad) == ["policy_breach", "tone", "overall"]
    assert r.fails({"overall": 3}) == []  # pass_at passes; unanswered items are skipped
    lower = RubricItem("risk", "numeric", "Risk", min=0, max=10, pass_at=7, higher_is_better=False)
    assert (lower.fails(7), lower.fails(8), lower.fails(0)) == (False, True, False)
    with pytest.raises(InputError):
        r.fails({"overall": 9})


# ----------------------------------------------------------------------------- validating a rubric


@pytest.mark.parametrize(
    "items, expected",
    [
        ([numeric(min=5, max=5)], ["'score'", "contradictory ranges", "min"]),
        ([numeric(min=5, max=1)], ["'score'", "contradictory ranges"]),
        ([numeric(min=1, max=5, step=3)], ["'score'", "contradictory ranges", "step 3 does not divide"]),
        ([numeric(step=0)], ["'score'", "step must be positive"]),
        ([numeric(pass_at=6)], ["'score'", "pass_at 6 is outside the range 1–5"]),
        ([numeric(pass_at=1)], ["'score'", "no score could ever fail"]),
        ([numeric(pass_at=5, higher_is_better=False)], ["'score'", "no score could ever fail"]),
        ([numeric(min="one")], ["'score'", "min must be a number"]),
        ([{"name": "score", "kind": "numeric", "title": "S", "max": 5}], ["'score'", "no min"]),
        ([numeric(labels=["a", "b"])], ["'score'", "'labels'", "only applies to categorical"]),
        ([categorical(labels=["only"])], ["'tone'", "1 label", "at least 2"]),
        ([categorical(labels=["a", "b", "a"])], ["'tone'", "'a' more than once"]),
        ([categorical(failing=["terrible"])], ["'tone'", "'terrible' is not among its labels"]),
        ([categorical(failing=["bad", "ok", "good"])], ["'tone'", "every label is failing"]),
        ([categorical(labels=[1, 2])], ["'tone'", "non-empty text", "Quote labels"]),
        ([categorical(labels="bad, good")], ["'tone'", "must be a list"]),
        ([categorical(lables=["a", "b"])], ["'tone'", "'lables'", "Did you mean 'labels'"]),
        ([boolean(fail_when=None)], ["'leak'", "fail_when"]),
        ([boolean(fail_when="sometimes")], ["'leak'", "fail_when"]),
        ([{"name": "leak", "kind": "yesno", "title": "Leak?"}], ["'leak'", "unknown kind 'yesno'"]),
        ([{"name": "leak", "title": "Leak?"}], ["'leak'", "no kind"]),
        ([{"kind": "boolean", "title": "Leak?", "fail_when": True}], ["item #1", "no name"]),
        ([boolean(name="2leak")], ["'2leak'", "not a valid identifier"]),
        ([boolean(name="leak-check")], ["'leak-check'", "not a valid identifier"]),
        ([boolean(title="  ")], ["'leak'", "no title"]),
        ([numeric(comment_required_on_fail=True)], ["'score'", "no answer can fail", "pass_at"]),
        ([categorical(comment_required_on_fail=True)], ["'tone'", "no answer can fail", "failing labels"]),
        ([{"name": "n", "kind": "comment", "title": "N", "fail_when": True}], ["'n'", "'fail_when'"]),
        ([boolean(), boolean(title="Again")], ["more than one item named 'leak'"]),
        ([], ["no items"]),
    ],
)
def test_invalid_rubrics_name_the_item_and_say_what_to_do(items, expected):
    err = error_of(Rubric.from_dict, rubric_dict(*items))
    for fragment in expected:
        assert fragment in str(err), (fragment, str(err))
    assert err.hint  # every one says what to do next


def test_constructing_items_directly_is_validated_too():
    assert "contradictory ranges" in str(error_of(RubricItem, "x", "numeric", "X", min=3, max=2))
    assert "'x'" in str(error_of(RubricItem, "x", "boolean", "X", fail_when=True, labels=("a", "b")))
    item = RubricItem("x", "categorical", "X", labels=["a", "b"], failing=["a"])  # lists become tuples
    assert item.labels == ("a", "b") and item.failing == ("a",)
    assert RubricItem("s", "numeric", "S", min=0.0, max=1.0, step=0.25).to_dict()["max"] == 1
    with pytest.raises(InputError, match="no items"):
        Rubric("r", "R", "", ())
    with pytest.raises(InputError, match="version"):
        Rubric("r", "R", "", DEFAULT_RUBRIC.items, version=0)


def test_rubric_level_fields_are_checked():
    assert "'tilte'" in str(error_of(Rubric.from_dict, rubric_dict(boolean(), tilte="x")))
    assert "no title" in str(error_of(Rubric.from_dict, {**rubric_dict(boolean()), "title": None}))
    assert "must be a list" in str(error_of(Rubric.from_dict, rubric_dict() | {"items": {"a": 1}}))
    assert "not a valid identifier" in str(error_of(Rubric.from_dict, rubric_dict(boolean(), name="my rubric")))


# ----------------------------------------------------------------------------- checking an annotation


def test_check_accepts_a_valid_annotation_and_normalises():
    out = DEFAULT_RUBRIC.check(GOOD)
    assert out == {**GOOD, "overall": 4.0}
    assert isinstance(out["overall"], float) and list(out) == list(GOOD)
    # a failing item with a comment: per item, or one comment for the whole annotation
    bad = {**GOOD, "policy_breach": True, "tone": "unacceptable"}
    comments = {"policy_breach": "Promises a refund.", "tone": "Blames the customer.", "notes": ""}
    assert DEFAULT_RUBRIC.check(bad, comments)["tone"] == "unacceptable"
    assert DEFAULT_RUBRIC.check(bad, "Promises a refund and blames the customer.")["policy_breach"] is True
    # overall fails (2 < 3) but asks for no comment
    assert DEFAULT_RUBRIC.check({**GOOD, "overall": 2})["overall"] == 2.0
    step = RubricItem("s", "numeric", "S", min=0, max=1, step=0.1)
    assert step.normalise(0.3) == 0.3 and step.normalise(0.7000000000000001) == pytest.approx(0.7)


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"overall": 6}, ["Overall quality (overall)", "score 6 is outside the range 1–5"]),
        ({"overall": 0}, ["(overall)", "outside the range"]),
        ({"overall": 2.5}, ["(overall)", "not on the scale", "e.g. 2 or 3"]),
        ({"overall": "4"}, ["(overall)", "must be a number"]),
        ({"overall": True}, ["(overall)", "must be a number"]),
        ({"overall": float("nan")}, ["(overall)", "must be a number"]),
        ({"tone": "Good"}, ["Tone (tone)", "'Good' is not one of its labels", "Did you mean 'good'"]),
        ({"tone": "great"}, ["(tone)", "not one of its labels (unacceptable, poor, acceptable, good)"]),
        ({"policy_breach": 1}, ["(policy_breach)", "yes or no"]),
        ({"policy_breach": "no"}, ["(policy_breach)", "yes or no"]),
        ({"policy_breach": True}, ["(policy_breach) fails and needs a comment"]),
        ({"tone": "unacceptable"}, ["Tone (tone) fails and needs a comment"]),
        ({"polcy_breach": False}, ["no item 'polcy_breach'", "Did you mean 'policy_breach'"]),
        ({"notes": "text"}, ["(notes) is a comment item", "comments"]),
    ],
)
def test_check_rejects_a_bad_annotation_naming_the_item(change, expected):
    err = error_of(DEFAULT_RUBRIC.check, {**GOOD, **change})
    for fragment in expected:
        assert fragment in str(err), (fragment, str(err))


def test_check_requires_every_scored_item_and_real_comments():
    scores = {k: v for k, v in GOOD.items() if k not in ("tone", "overall")}
    err = error_of(DEFAULT_RUBRIC.check, scores)
    assert "Tone (tone)" in str(err) and "Overall quality (overall)" in str(err)
    bad = {**GOOD, "factual_error": True, "personal_data_exposure": True}
    err = error_of(DEFAULT_RUBRIC.check, bad, {"factual_error": "   ", "personal_data_exposure": None})
    assert "(personal_data_exposure)" in str(err) and "(factual_error)" in str(err) and "need a comment" in str(err)
    assert DEFAULT_RUBRIC.check(bad, {"factual_error": "Wrong fee.", "personal_data_exposure": "an IBAN"})
    err = error_of(DEFAULT_RUBRIC.check, GOOD, {"tonne": "x"})
    assert "'tonne'" in str(err) and "Did you mean 'tone'" in str(err)
    assert "must be text" in str(error_of(DEFAULT_RUBRIC.check, GOOD, {"tone": 3}))
    assert "mapping" in str(error_of(DEFAULT_RUBRIC.check, [("tone", "good")]))


def test_error_messages_never_repeat_comment_text():
    secret = "customer John Smith, card 4111 1111 1111 1111"
    err = error_of(DEFAULT_RUBRIC.check, {**GOOD, "overall": 9}, {"notes": secret})
    assert "John" not in str(err) and "4111" not in str(err)


# ----------------------------------------------------------------------------- YAML and digests


CUSTOM_YAML = """\
schema: 1
name: marketing_review
title: Marketing copy review
description: |
  For promotional emails.
  Two lines of help.
version: 3
items:
  - name: clarity
    kind: numeric
    title: Clarity
    description: 0 (unreadable) to 10 (crystal clear).
    min: 0
    max: 10
    step: 0.5
    pass_at: 6.5
  - name: risk
    kind: numeric
    title: Risk
    description: Lower is better.
    min: 0.0
    max: 1.0
    pass_at: 0.3
    higher_is_better: false
    comment_required_on_fail: true
  - name: channel
    kind: categorical
    title: Channel fit
    description: ''
    labels: [email, 'yes', '10', "needs: work"]
    failing: ['yes']
  - name: disclaimer
    kind: boolean
    title: Disclaimer shown?
    description: The risk warning is visible.
    fail_when: false
  - name: remarks
    kind: comment
    title: Remarks
"""


def test_yaml_round_trip_of_the_default_rubric_is_exact():
    text = DEFAULT_RUBRIC.to_yaml()
    assert text.startswith("schema: 1\nname: compliance\n")
    again = Rubric.from_yaml(text)
    assert again == DEFAULT_RUBRIC
    assert again.to_yaml() == text
    assert again.digest == DEFAULT_RUBRIC.digest
    assert Rubric.from_dict(json.loads(json.dumps(DEFAULT_RUBRIC.to_dict()))) == DEFAULT_RUBRIC


def test_yaml_round_trip_of_a_custom_rubric_is_exact():
    r = Rubric.from_yaml(CUSTOM_YAML)
    assert r.version == 3 and r.description == "For promotional emails.\nTwo lines of help.\n"
    assert r.item("channel").labels == ("email", "yes", "10", "needs: work") and not r.item("channel").ordered
    assert r.item("risk").max == 1 and isinstance(r.item("risk").max, int)  # 1.0 is stored as 1
    assert r.item("remarks").description == ""
    text = r.to_yaml()
    assert Rubric.from_yaml(text) == r and Rubric.from_yaml(text).to_yaml() == text
    assert Rubric.from_yaml(text.encode("utf-8")) == r
    assert Rubric.from_dict(r.to_dict()) == r
    assert "description: |\n" in text  # multi-line help stays readable
    assert r.check({"clarity": 7.5, "risk": 0.1, "channel": "yes", "disclaimer": True}, None)["clarity"] == 7.5
    assert r.fails({"clarity": 6, "risk": 0.4, "channel": "yes", "disclaimer": False}) == [
        "clarity", "risk", "channel", "disclaimer",
    ]


def test_digest_covers_content_not_version_or_number_spelling():
    r = Rubric.from_yaml(CUSTOM_YAML)
    assert len(r.digest) == 64
    respelled = Rubric.from_yaml(CUSTOM_YAML.replace("max: 10\n", "max: 10.0\n"))
    assert respelled.digest == r.digest
    bumped = Rubric.from_yaml(CUSTOM_YAML.replace("version: 3", "version: 4"))
    assert bumped.digest == r.digest and bumped != r
    changed = Rubric.from_yaml(CUSTOM_YAML.replace("pass_at: 6.5", "pass_at: 7"))
    assert changed.digest != r.digest


@pytest.mark.parametrize(
    "text, expected",
    [
        ("schema: 1\nname: [unclosed\n", ["not valid YAML at line", "Fix the YAML"]),
        ("schema: 1\n  name: x\n bad", ["not valid YAML"]),
        ("schema: 1\nname: a\nname: b\n", ["given twice"]),
        ("", ["empty"]),
        ("- just\n- a list\n", ["must be a mapping"]),
        ("name: x\ntitle: X\nitems: []\n", ["no schema header", "schema: 1"]),
        ("schema: 2\nname: x\ntitle: X\nitems: []\n", ["schema 2 is not supported", "reads schema 1"]),
        ("schema: '1'\nname: x\ntitle: X\nitems: []\n", ["schema '1' is not supported"]),
        ("schema: 1\nname: x\ntitle: X\n", ["no items"]),
    ],
)
def test_bad_yaml_gives_an_input_error_with_a_hint(text, expected):
    err = error_of(Rubric.from_yaml, text)
    for fragment in expected:
        assert fragment in str(err), (fragment, str(err))
    assert err.hint
