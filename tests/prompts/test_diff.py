"""Word-level diffs and prompt-spec diffs (prompts/diff.py): pure functions, no database."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import re

import pytest

from prompts import diff as diff_module
from prompts.diff import (
    DIFF_CSS,
    DiffOp,
    FieldDiff,
    diff_stats,
    render_html,
    spec_diff,
    tokenize,
    unified_text,
    word_diff,
)
from prompts.spec import Message, ModelDefaults, PromptSpec, VariableSpec

JINJA = "{% if x %}{{ name | upper }}{% endif %}"

PAIRS = [
    ("", ""),
    ("", "Hello world"),
    ("Hello world", ""),
    ("same text\n", "same text\n"),
    ("The quick brown fox", "The slow brown fox"),
    ("Grüße, 世界! 🎉 naïve café", "Grüße, Welt! 🎉 naive café"),
    ("cafe\u0301 déjà vu", "café deja vu"),
    (JINJA, "{% if y %}{{ name | lower }}{% endif %}"),
    (JINJA, "{% if x %}\n  {{ name | upper }}\n{% else %}stranger{% endif %}"),
    ("line one\r\nline two\r\n", "line one\nline 2\r\n\n\n"),
    ("tabs\tand  double  spaces ", "tabs and double spaces"),
    ("\n\n\n", "\n"),
    ("Answer in JSON.\nBe brief! Cite sources?", "Answer in YAML.\nBe brief!! Cite sources."),
    ("<b>bold</b> & 'quotes'", '<i>bold</i> & "quotes"'),
]


def _join(ops: list[DiffOp], side: str) -> str:
    return "".join(getattr(op, side) for op in ops)


def _assert_well_formed(ops: list[DiffOp]) -> None:
    for op in ops:
        assert op.op in {"equal", "delete", "insert", "replace"}
        assert op.a or op.b, "no empty ops"
        if op.op == "equal":
            assert op.a == op.b
        elif op.op == "delete":
            assert op.a and not op.b
        elif op.op == "insert":
            assert op.b and not op.a
        else:
            assert op.a and op.b
    for left, right in itertools.pairwise(ops):
        assert (left.op == "equal") != (right.op == "equal"), f"unmerged neighbours {left} {right}"


def _text(rng: random.Random, words: int) -> str:
    """Deterministic prose-like text: lines of ~12 words, sentences, some commas, a few Jinja tags."""
    common = ["the", "a", "of", "to", "and", "in", "is", "that", "for", "it", "with", "as", "on"]
    vocab = [f"w{i}" for i in range(1500)] + common * 30
    out = []
    for i in range(words):
        out.append(rng.choice(vocab))
        if rng.random() < 0.06:
            out.append(".")
        elif rng.random() < 0.04:
            out.append(",")
        elif rng.random() < 0.01:
            out.append(" {{ customer }}")
        out.append("\n" if (i + 1) % 12 == 0 else " ")
    return "".join(out)


def _word_positions(tokens: list[str]) -> list[int]:
    return [i for i, t in enumerate(tokens) if re.fullmatch(r"\w+", t)]


# -- tokens and the round trip ---------------------------------------------------------------------


def test_tokenize_splits_words_spaces_punctuation_and_newlines():
    assert tokenize("Hi,  {{ name }}!\nBye") == ["Hi", ",", "  ", "{{", " ", "name", " ", "}}!", "\n", "Bye"]
    assert tokenize("") == []


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_tokens_and_ops_reproduce_both_texts_exactly(a, b):
    assert "".join(tokenize(a)) == a
    ops = word_diff(a, b)
    assert _join(ops, "a") == a
    assert _join(ops, "b") == b
    _assert_well_formed(ops)


@pytest.mark.parametrize("seed", range(40))
def test_round_trip_on_random_edits(seed):
    rng = random.Random(seed)
    pieces = ["alpha", "beta", "δ", "{{ x }}", "{%", "%}", " ", "  ", "\n", ".", ", ", "!", "\t", "ü"]
    a = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 80)))
    tokens = tokenize(a)
    for _ in range(rng.randint(0, 6)):
        at = rng.randint(0, len(tokens))
        action = rng.choice(["insert", "delete", "replace"])
        if action == "insert" or not tokens[at:]:
            tokens.insert(at, rng.choice(pieces))
        elif action == "delete":
            del tokens[at]
        else:
            tokens[at] = rng.choice(pieces)
    b = "".join(tokens)
    ops = word_diff(a, b)
    assert (_join(ops, "a"), _join(ops, "b")) == (a, b)
    _assert_well_formed(ops)


def test_diff_op_is_frozen():
    op = DiffOp("equal", "x", "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.op = "delete"  # type: ignore[misc]


# -- exact small examples ---------------------------------------------------------------------------


def test_one_word_replaced():
    assert word_diff("The quick brown fox", "The slow brown fox") == [
        DiffOp("equal", "The ", "The "),
        DiffOp("replace", "quick", "slow"),
        DiffOp("equal", " brown fox", " brown fox"),
    ]


def test_word_deleted_and_inserted():
    assert word_diff("Please answer briefly.", "Please answer.") == [
        DiffOp("equal", "Please answer", "Please answer"),
        DiffOp("delete", " briefly", ""),
        DiffOp("equal", ".", "."),
    ]
    assert word_diff("Hello", "Hello world") == [
        DiffOp("equal", "Hello", "Hello"),
        DiffOp("insert", "", " world"),
    ]


def test_identical_and_empty_texts():
    assert word_diff("", "") == []
    assert word_diff("same", "same") == [DiffOp("equal", "same", "same")]
    assert word_diff("", "new") == [DiffOp("insert", "", "new")]
    assert word_diff("old", "") == [DiffOp("delete", "old", "")]


def test_a_lone_space_between_two_changes_is_folded_into_one_replace():
    assert word_diff("quick brown", "slow red") == [DiffOp("replace", "quick brown", "slow red")]


def test_a_short_word_between_two_longer_changes_is_folded_in():
    assert word_diff("alpha x omega", "ALPHA x OMEGA") == [
        DiffOp("replace", "alpha x omega", "ALPHA x OMEGA")
    ]


def test_a_real_unchanged_word_between_changes_is_kept():
    assert word_diff("alpha middle omega", "ALPHA middle OMEGA") == [
        DiffOp("replace", "alpha", "ALPHA"),
        DiffOp("equal", " middle ", " middle "),
        DiffOp("replace", "omega", "OMEGA"),
    ]


def test_jinja_changes_are_word_precise():
    ops = word_diff(JINJA, "{% if x %}{{ name | lower }}{% endif %}")
    assert [op for op in ops if op.op != "equal"] == [DiffOp("replace", "upper", "lower")]


def test_change_on_a_later_line_leaves_earlier_lines_equal():
    ops = word_diff("Line one\nLine two\nLine three\n", "Line one\nLine 2\nLine three\n")
    assert ops == [
        DiffOp("equal", "Line one\nLine ", "Line one\nLine "),
        DiffOp("replace", "two", "2"),
        DiffOp("equal", "\nLine three\n", "\nLine three\n"),
    ]


# -- long texts -------------------------------------------------------------------------------------


def test_one_word_change_in_5000_words_is_exactly_one_replace():
    a = _text(random.Random(7), 5000)
    tokens = tokenize(a)
    at = _word_positions(tokens)[2500]
    old = tokens[at]
    tokens[at] = "ZEBRA"
    b = "".join(tokens)
    prefix, suffix = "".join(tokens[:at]), "".join(tokens[at + 1 :])
    assert word_diff(a, b) == [
        DiffOp("equal", prefix, prefix),
        DiffOp("replace", old, "ZEBRA"),
        DiffOp("equal", suffix, suffix),
    ]


def test_fifty_scattered_edits_give_fifty_one_word_replaces():
    rng = random.Random(11)
    a = _text(rng, 5000)
    tokens = tokenize(a)
    words = _word_positions(tokens)
    edited = [words[k * 100 + rng.randint(0, 50)] for k in range(50)]
    for n, at in enumerate(edited):
        tokens[at] = f"EDIT{n}"
    b = "".join(tokens)
    ops = word_diff(a, b)
    assert (_join(ops, "a"), _join(ops, "b")) == (a, b)
    changes = [op for op in ops if op.op != "equal"]
    assert [op.b for op in changes] == [f"EDIT{n}" for n in range(50)]
    assert all(op.op == "replace" and re.fullmatch(r"\w+", op.a) for op in changes)
    total = len(re.findall(r"\w+", a))  # 5,000 plus the {{ customer }} tags
    assert diff_stats(ops) == {"inserted": 50, "deleted": 50, "unchanged": total - 50}


def test_scattered_edits_are_found_by_anchors_without_a_difflib_search(monkeypatch):
    monkeypatch.setattr(diff_module, "PAIR_BUDGET", 0)
    rng = random.Random(5)
    a = _text(rng, 5000)
    tokens = tokenize(a)
    words = _word_positions(tokens)
    for n in range(20):
        tokens[words[n * 250 + rng.randint(0, 100)]] = f"EDIT{n}"
    ops = word_diff(a, "".join(tokens))
    assert [op.b for op in ops if op.op != "equal"] == [f"EDIT{n}" for n in range(20)]


def test_unrelated_long_texts_still_round_trip():
    a, b = _text(random.Random(1), 5000), _text(random.Random(2), 5000)
    ops = word_diff(a, b)
    assert (_join(ops, "a"), _join(ops, "b")) == (a, b)
    _assert_well_formed(ops)
    stats = diff_stats(ops)
    assert stats["deleted"] + stats["unchanged"] == len(re.findall(r"\w+", a))
    assert stats["inserted"] + stats["unchanged"] == len(re.findall(r"\w+", b))
    assert stats["deleted"] > 4000  # essentially all of it is reported changed


def test_over_budget_gap_is_reported_replaced_as_a_whole(monkeypatch):
    # no word occurs once on each side, so there are no anchors and difflib has to search
    a, b = "x y x y", "y x y x"
    assert any(op.op == "equal" for op in word_diff(a, b))
    monkeypatch.setattr(diff_module, "PAIR_BUDGET", 0)
    assert word_diff(a, b) == [DiffOp("replace", a, b)]


# -- stats and renderings ---------------------------------------------------------------------------


def test_diff_stats_counts_words():
    ops = word_diff("Please answer briefly and politely.", "Please answer kindly and politely, always.")
    assert diff_stats(ops) == {"inserted": 2, "deleted": 1, "unchanged": 4}
    assert diff_stats([]) == {"inserted": 0, "deleted": 0, "unchanged": 0}


def test_unified_text_marks_changes_like_git_word_diff():
    assert (
        unified_text(word_diff("The quick brown fox", "The slow brown fox"))
        == "The [-quick-]{+slow+} brown fox"
    )
    assert unified_text(word_diff("Please answer briefly.", "Please answer.")) == "Please answer[- briefly-]."
    assert unified_text(word_diff("Hello", "Hello world")) == "Hello{+ world+}"


def test_render_html_marks_each_side():
    ops = word_diff("The quick brown fox", "The slow brown fox")
    assert render_html(ops, "a") == (
        '<div class="pf-diff" style="white-space: pre-wrap">The <del class="pf-del">quick</del> brown fox</div>'
    )
    assert render_html(ops, "b") == (
        '<div class="pf-diff" style="white-space: pre-wrap">The <ins class="pf-ins">slow</ins> brown fox</div>'
    )


def test_render_html_shows_only_its_own_side_and_keeps_newlines():
    ops = word_diff("keep\nold line", "keep\nnew line\nadded")
    side_a, side_b = render_html(ops, "a"), render_html(ops, "b")
    assert "new" not in side_a and "added" not in side_a and "<ins" not in side_a
    assert "old" not in side_b and "<del" not in side_b
    assert "keep\n" in side_a and "keep\n" in side_b


def test_render_html_escapes_everything():
    a = "Say hi"
    b = 'Say <script>alert("x")</script> & bye'
    for side in ("a", "b"):
        out = render_html(word_diff(a, b), side)
        assert "<script>" not in out
    out_b = render_html(word_diff(a, b), "b")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; bye" in out_b
    out_a = render_html(word_diff(b, a), "a")  # escaped inside <del> too
    assert '<del class="pf-del">' in out_a and "&lt;script&gt;" in out_a and "<script>" not in out_a


def test_render_html_rejects_unknown_side():
    with pytest.raises(ValueError):
        render_html([], "left")


def test_css_styles_both_marks():
    assert ".pf-del" in DIFF_CSS and "line-through" in DIFF_CSS
    assert ".pf-ins" in DIFF_CSS and "pre-wrap" in DIFF_CSS


# -- spec_diff ----------------------------------------------------------------------------------------


def _template_spec(**changes) -> dict:
    base = {
        "template": "Reply politely to {{ customer }} about {{ topic }}.",
        "variables": (
            VariableSpec("customer", max_chars=200),
            VariableSpec("topic", "choice", choices=("card", "loan")),
        ),
        "defaults": ModelDefaults(provider="offline", temperature=0.2),
        "response_format": {"type": "object", "properties": {"reply": {"type": "string"}}},
        "fragments": {"fragment:tone": 2},
    }
    base.update(changes)
    return PromptSpec(**base).to_dict()


def _chat_spec(*messages: tuple[str, str]) -> dict:
    return PromptSpec(messages=tuple(Message(role, content) for role, content in messages)).to_dict()


def _by_label(diffs: list[FieldDiff]) -> dict[str, FieldDiff]:
    return {d.label: d for d in diffs}


def test_identical_specs_have_every_part_unchanged():
    diffs = spec_diff(_template_spec(), _template_spec())
    assert [d.label for d in diffs] == [
        "Template",
        "Variables",
        "Model defaults",
        "Response format",
        "Fragments",
    ]
    assert [d.field for d in diffs] == ["template", "variables", "defaults", "response_format", "fragments"]
    assert not any(d.changed for d in diffs)
    assert all(all(op.op == "equal" for op in d.ops) for d in diffs)


def test_only_temperature_changed_marks_only_model_defaults():
    diffs = spec_diff(
        _template_spec(), _template_spec(defaults=ModelDefaults(provider="offline", temperature=0.7))
    )
    assert [d.label for d in diffs if d.changed] == ["Model defaults"]
    defaults = _by_label(diffs)["Model defaults"]
    assert _join(defaults.ops, "a") == "provider: offline\ntemperature: 0.2"
    assert [op for op in defaults.ops if op.op != "equal"] == [DiffOp("replace", "2", "7")]


def test_variables_render_one_readable_line_each():
    more = _template_spec(
        variables=(VariableSpec("customer", max_chars=200), VariableSpec("note", "untrusted"))
    )
    variables = _by_label(spec_diff(_template_spec(), more))["Variables"]
    assert variables.changed
    assert (
        _join(variables.ops, "a") == "customer: short text, max 200 chars\ntopic: choice, one of card | loan"
    )
    assert _join(variables.ops, "b") == "customer: short text, max 200 chars\nnote: untrusted content"


def test_response_format_is_pretty_sorted_json():
    new_format = {"type": "object", "properties": {"reply": {"type": "string"}, "score": {"type": "number"}}}
    diffs = _by_label(spec_diff(_template_spec(), _template_spec(response_format=new_format)))
    assert diffs["Response format"].changed
    assert _join(diffs["Response format"].ops, "b") == json.dumps(new_format, sort_keys=True, indent=2)
    assert [d.label for d in diffs.values() if d.changed] == ["Response format"]


def test_removed_response_format_and_fragment_pin_change():
    diffs = _by_label(
        spec_diff(_template_spec(), _template_spec(response_format=None, fragments={"fragment:tone": 3}))
    )
    assert _join(diffs["Response format"].ops, "b") == ""
    assert [op.op for op in diffs["Response format"].ops] == ["delete"]
    assert _join(diffs["Fragments"].ops, "a") == "fragment:tone → v2"
    assert _join(diffs["Fragments"].ops, "b") == "fragment:tone → v3"
    assert diffs["Fragments"].changed


def test_template_text_change():
    new = _template_spec(template="Reply briefly to {{ customer }} about {{ topic }}.")
    template = spec_diff(_template_spec(), new)[0]
    assert (template.label, template.changed) == ("Template", True)
    assert [op for op in template.ops if op.op != "equal"] == [DiffOp("replace", "politely", "briefly")]


def test_added_message_diffs_against_empty():
    a = _chat_spec(("system", "You are terse."), ("user", "Hi {{ name }}"))
    b = _chat_spec(("system", "You are terse."), ("user", "Hi {{ name }}"), ("assistant", "Hello!"))
    diffs = spec_diff(a, b)
    assert [d.label for d in diffs] == [
        "Message 1 (system)",
        "Message 2 (user)",
        "Message 3 (assistant)",
        "Variables",
        "Model defaults",
        "Response format",
        "Fragments",
    ]
    assert [d.field for d in diffs[:3]] == ["message_1", "message_2", "message_3"]
    assert [d.changed for d in diffs] == [False, False, True, False, False, False, False]
    assert diffs[2].ops == [DiffOp("insert", "", "Hello!")]


def test_removed_message_diffs_to_empty():
    a = _chat_spec(("system", "You are terse."), ("user", "Hi"))
    diffs = spec_diff(a, _chat_spec(("system", "You are terse.")))
    removed = _by_label(diffs)["Message 2 (user)"]
    assert removed.changed and removed.ops == [DiffOp("delete", "Hi", "")]
    assert not _by_label(diffs)["Message 1 (system)"].changed


def test_role_change_alone_counts_as_changed():
    diffs = spec_diff(_chat_spec(("user", "Hi")), _chat_spec(("assistant", "Hi")))
    assert (diffs[0].label, diffs[0].changed) == ("Message 1 (user → assistant)", True)
    assert diffs[0].ops == [DiffOp("equal", "Hi", "Hi")]


def test_template_turned_into_chat_shows_both():
    a = _template_spec()
    b = _chat_spec(("user", "Reply politely to {{ customer }} about {{ topic }}."))
    diffs = spec_diff(a, b)
    assert [d.label for d in diffs[:2]] == ["Template", "Message 1 (user)"]
    assert diffs[0].ops == [DiffOp("delete", a["template"], "")]
    assert diffs[1].ops == [DiffOp("insert", "", b["messages"][0]["content"])]
