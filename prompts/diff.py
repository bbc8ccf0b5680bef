"""Word-level diffs of prompt texts and of whole prompt specs (pure: standard library only).

``word_diff`` splits both texts into tokens (words, runs of punctuation, runs of spaces,
newlines) whose concatenation reproduces each text exactly, and returns a list of
``DiffOp``: joining every op's ``a`` gives the old text, joining every ``b`` the new one.

It stays fast on long texts by working in two levels: first on segments (lines, and
sentences within lines), then word by word only inside the segment blocks that changed.
At each level it strips the common prefix and suffix, cuts the rest at "anchors" (elements
that occur exactly once on each side, as in patience diff), and runs ``difflib`` only on the
short gaps between them. All ``difflib`` work in one call shares a budget (``PAIR_BUDGET``):
a gap that would overdraw it is reported replaced as a whole, so two unrelated long texts
cost milliseconds, not seconds. Finally, small unchanged islands between two changes (a lone
space, "the") are folded into the surrounding change so the result reads the way a person
would describe the edit.

``spec_diff`` compares two ``PromptSpec.to_dict()`` mappings part by part (template or
messages, variables, model defaults, response format, fragments); ``render_html`` and
``unified_text`` present a diff for a page or a terminal.
"""

from __future__ import annotations

import html
import json
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

__all__ = [
    "DIFF_CSS",
    "PAIR_BUDGET",
    "DiffOp",
    "FieldDiff",
    "diff_stats",
    "render_html",
    "spec_diff",
    "tokenize",
    "unified_text",
    "word_diff",
]

EQUAL, DELETE, INSERT, REPLACE = "equal", "delete", "insert", "replace"

# Most (i, j) element pairs SequenceMatcher may visit in one word_diff call (about 12 ms of work on
# a quiet 2-core machine); a gap without anchors that would overdraw it is marked replaced as a whole.
PAIR_BUDGET = 100_000
_MAX_DEPTH = 64  # nesting of anchor splits before falling back to SequenceMatcher

_TOKEN = re.compile(r"\w+|\n|[^\S\n]+|[^\w\s]+")
_SEGMENT_END = re.compile(r"\n|[.!?]+[^\S\n]+")
_WORD = re.compile(r"\w+")

DIFF_CSS = """
.pf-diff { white-space: pre-wrap; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  line-height: 1.45; }
.pf-diff del.pf-del { background: rgba(248, 81, 73, 0.28); text-decoration: line-through; }
.pf-diff ins.pf-ins { background: rgba(46, 160, 67, 0.28); text-decoration: none; }
""".strip()


@dataclass(frozen=True)
class DiffOp:
    """One run of the diff: ``a`` is its text in the old version, ``b`` in the new one."""

    op: str  # equal | delete | insert | replace
    a: str
    b: str


@dataclass(frozen=True)
class FieldDiff:
    """The diff of one part of a prompt spec (``field`` is a stable key, ``label`` for people)."""

    field: str
    label: str
    changed: bool
    ops: list[DiffOp]


# -- tokens and segments -------------------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Words, punctuation runs, space runs and newlines; ``"".join(tokenize(t)) == t``."""
    return _TOKEN.findall(text)


def _segments(text: str) -> list[str]:
    """Lines, cut again after sentence ends; the pieces concatenate back to ``text``."""
    out, start = [], 0
    for match in _SEGMENT_END.finditer(text):
        out.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        out.append(text[start:])
    return out


# -- word_diff ---------------------------------------------------------------------------------


def word_diff(a: str, b: str) -> list[DiffOp]:
    """A word-level diff of ``a`` and ``b``; see the module docstring for the guarantees."""
    if a == b:
        return [DiffOp(EQUAL, a, b)] if a else []
    ops = _merge(_diff(_segments(a), _segments(b), _Budget(PAIR_BUDGET), refine=True))
    return _merge(_absorb_small_equalities(ops))


def _diff(
    xa: Sequence[str], xb: Sequence[str], budget: _Budget, refine: bool, depth: int = 0
) -> Iterator[DiffOp]:
    """Diff two element lists; ``refine`` re-diffs replaced segment blocks token by token."""
    pre = _common_prefix(xa, xb)
    suf = _common_suffix(xa[pre:], xb[pre:])
    if pre:
        yield DiffOp(EQUAL, "".join(xa[:pre]), "".join(xb[:pre]))
    yield from _diff_middle(xa[pre : len(xa) - suf], xb[pre : len(xb) - suf], budget, refine, depth)
    if suf:
        yield DiffOp(EQUAL, "".join(xa[len(xa) - suf :]), "".join(xb[len(xb) - suf :]))


def _diff_middle(
    xa: Sequence[str], xb: Sequence[str], budget: _Budget, refine: bool, depth: int
) -> Iterator[DiffOp]:
    """Split at anchors (elements found exactly once on each side, in order), then diff the gaps."""
    if not xa or not xb:
        if xa or xb:
            yield _change("".join(xa), "".join(xb))
        return
    anchors = _anchors(xa, xb) if depth < _MAX_DEPTH else []
    if not anchors:
        yield from _matched(xa, xb, budget, refine)
        return
    i0 = j0 = 0
    for i, j in anchors:
        yield from _diff(xa[i0:i], xb[j0:j], budget, refine, depth + 1)
        yield DiffOp(EQUAL, xa[i], xb[j])
        i0, j0 = i + 1, j + 1
    yield from _diff(xa[i0:], xb[j0:], budget, refine, depth + 1)


def _anchors(xa: Sequence[str], xb: Sequence[str]) -> list[tuple[int, int]]:
    """Positions (i, j) of non-blank elements unique on both sides, longest run in the same order.

    This is the "patience diff" idea: unique shared elements are almost always true matches, and
    they cut a long comparison into short independent ones.
    """
    in_a, in_b = Counter(xa), Counter(xb)
    where_b = {x: j for j, x in enumerate(xb) if in_b[x] == 1 and in_a.get(x) == 1 and not x.isspace()}
    pairs = [(i, where_b[x]) for i, x in enumerate(xa) if x in where_b]
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of ``pairs`` (sorted by i) whose j also increases (patience sorting)."""
    tail_js: list[int] = []  # smallest j ending an increasing run of each length
    tails: list[int] = []  # index in pairs of that run's last pair
    back = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect_left(tail_js, j)
        back[k] = tails[pos - 1] if pos else -1
        if pos == len(tails):
            tails.append(k)
            tail_js.append(j)
        else:
            tails[pos], tail_js[pos] = k, j
    run, k = [], tails[-1] if tails else -1
    while k != -1:
        run.append(pairs[k])
        k = back[k]
    return run[::-1]


def _matched(xa: Sequence[str], xb: Sequence[str], budget: _Budget, refine: bool) -> Iterator[DiffOp]:
    """Diff a gap without anchors with SequenceMatcher, or as one change when that would cost too much."""
    one_each = len(xa) == 1 == len(xb)  # nothing to search: the one element on each side differs
    opcodes = [(REPLACE, 0, 1, 0, 1)] if one_each else _opcodes(xa, xb, budget)
    if opcodes is None:
        yield _change("".join(xa), "".join(xb))
        return
    for tag, i1, i2, j1, j2 in opcodes:
        text_a, text_b = "".join(xa[i1:i2]), "".join(xb[j1:j2])
        if tag == REPLACE and refine:
            yield from _diff(tokenize(text_a), tokenize(text_b), budget, refine=False)
        else:
            yield DiffOp(tag, text_a, text_b)


def _opcodes(
    xa: Sequence[str], xb: Sequence[str], budget: _Budget
) -> list[tuple[str, int, int, int, int]] | None:
    """SequenceMatcher opcodes, or None when finding them would overdraw the call's budget.

    Blank elements (spaces, newlines, empty lines) are junk: they never anchor a match, but a
    match extends over them, which keeps very common elements from making the search quadratic.
    """
    try:
        return _BudgetedMatcher(xa, xb, budget).get_opcodes()
    except _OverBudget:
        return None


class _OverBudget(Exception):
    pass


class _Budget:
    """Pair visits left for one ``word_diff`` call, shared by all its SequenceMatcher runs."""

    def __init__(self, pairs: int) -> None:
        self.left = pairs

    def spend(self, pairs: int) -> None:
        self.left -= pairs
        if self.left < 0:
            raise _OverBudget


class _BudgetedMatcher(SequenceMatcher):
    """A SequenceMatcher that raises _OverBudget once its searches would overdraw ``budget``.

    ``find_longest_match(alo, ahi, ...)`` walks, for each i in [alo, ahi), the positions of a[i]
    in b: prefix sums of those counts bound each call's work before it runs.
    """

    def __init__(self, a: Sequence[str], b: Sequence[str], budget: _Budget) -> None:
        super().__init__(str.isspace, a, b, autojunk=False)
        self._budget = budget
        self._work = [0]
        for x in a:
            self._work.append(self._work[-1] + len(self.b2j.get(x, ())))

    def find_longest_match(self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None):
        ahi = len(self.a) if ahi is None else ahi
        self._budget.spend(self._work[ahi] - self._work[alo] + 1)
        return super().find_longest_match(alo, ahi, blo, bhi)


def _common_prefix(xa: Sequence[str], xb: Sequence[str]) -> int:
    n = min(len(xa), len(xb))
    i = 0
    while i < n and xa[i] == xb[i]:
        i += 1
    return i


def _common_suffix(xa: Sequence[str], xb: Sequence[str]) -> int:
    n = min(len(xa), len(xb))
    i = 0
    while i < n and xa[-1 - i] == xb[-1 - i]:
        i += 1
    return i


def _change(a: str, b: str) -> DiffOp:
    """A change op named after what it holds (old text only, new text only, or both)."""
    return DiffOp(REPLACE if a and b else DELETE if a else INSERT, a, b)


def _merge(ops: Iterable[DiffOp]) -> list[DiffOp]:
    """Drop empty ops, join neighbouring equal ops, and join neighbouring changes into one."""
    out: list[DiffOp] = []
    for op in ops:
        if not op.a and not op.b:
            continue
        if out and (out[-1].op == EQUAL) == (op.op == EQUAL):
            last = out.pop()
            a, b = last.a + op.a, last.b + op.b
            op = DiffOp(EQUAL, a, b) if op.op == EQUAL else _change(a, b)
        out.append(op)
    return out


def _size(op: DiffOp) -> int:
    return max(len(op.a), len(op.b))


def _absorb_small_equalities(ops: list[DiffOp]) -> list[DiffOp]:
    """Fold an unchanged run into its neighbours when it is no longer than the change on each side.

    Expects merged ops (changes and equal runs alternate). Turns "quick brown" -> "slow red" into
    one replace rather than two replaces around an unchanged space.
    """
    out: list[DiffOp] = []
    for op in ops:
        out.append(op)
        while (
            len(out) >= 3
            and out[-1].op != EQUAL
            and out[-2].op == EQUAL
            and out[-3].op != EQUAL
            and len(out[-2].a) <= min(_size(out[-1]), _size(out[-3]))
        ):
            after, same, before = out.pop(), out.pop(), out.pop()
            out.append(_change(before.a + same.a + after.a, before.b + same.b + after.b))
    return out


# -- statistics and presentation -------------------------------------------------------------


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def diff_stats(ops: Iterable[DiffOp]) -> dict[str, int]:
    """Words ``inserted``, ``deleted`` and ``unchanged`` (a replace counts as both deleted and inserted)."""
    stats = {"inserted": 0, "deleted": 0, "unchanged": 0}
    for op in ops:
        if op.op == EQUAL:
            stats["unchanged"] += _words(op.a)
        else:
            stats["deleted"] += _words(op.a)
            stats["inserted"] += _words(op.b)
    return stats


def render_html(ops: Iterable[DiffOp], side: str) -> str:
    """One side's text as escaped HTML: side "a" marks deletions, side "b" insertions."""
    if side not in ("a", "b"):
        raise ValueError(f"side must be 'a' or 'b', not {side!r}")
    tag, css = ("del", "pf-del") if side == "a" else ("ins", "pf-ins")
    parts = []
    for op in ops:
        text = html.escape(op.a if side == "a" else op.b)
        if not text:
            continue
        parts.append(text if op.op == EQUAL else f'<{tag} class="{css}">{text}</{tag}>')
    return '<div class="pf-diff" style="white-space: pre-wrap">' + "".join(parts) + "</div>"


def unified_text(ops: Iterable[DiffOp]) -> str:
    """Plain text in ``git diff --word-diff=plain`` style: ``[-old-]{+new+}``."""
    parts = []
    for op in ops:
        if op.op == EQUAL:
            parts.append(op.a)
            continue
        if op.a:
            parts.append(f"[-{op.a}-]")
        if op.b:
            parts.append(f"{{+{op.b}+}}")
    return "".join(parts)


# -- spec_diff ----------------------------------------------------------------------------------

_TYPE_NAMES = {"untrusted": "untrusted content"}  # others read well as "short_text" -> "short text"
_DEFAULTS_ORDER = ("provider", "temperature", "max_tokens")


def spec_diff(a: dict, b: dict) -> list[FieldDiff]:
    """Compare two ``PromptSpec.to_dict()`` mappings part by part, unchanged parts included.

    Order: "Template" (when either side is a template), one "Message N (role)" per position
    (when either side has messages; a missing message counts as empty), "Variables",
    "Model defaults", "Response format", "Fragments".
    """
    out = _source_diffs(a, b)
    for key, label, render in (
        ("variables", "Variables", _render_variables),
        ("defaults", "Model defaults", _render_defaults),
        ("response_format", "Response format", _render_json),
        ("fragments", "Fragments", _render_fragments),
    ):
        out.append(_field(key, label, render(a.get(key)), render(b.get(key))))
    return out


def _field(key: str, label: str, text_a: str, text_b: str, changed: bool = False) -> FieldDiff:
    return FieldDiff(key, label, changed or text_a != text_b, word_diff(text_a, text_b))


def _is_chat(spec: dict) -> bool:
    return spec.get("kind") == "chat" or bool(spec.get("messages"))


def _source_diffs(a: dict, b: dict) -> list[FieldDiff]:
    out = []
    if not _is_chat(a) or not _is_chat(b):
        template_a = "" if _is_chat(a) else str(a.get("template") or "")
        template_b = "" if _is_chat(b) else str(b.get("template") or "")
        out.append(_field("template", "Template", template_a, template_b))
    messages_a, messages_b = list(a.get("messages") or []), list(b.get("messages") or [])
    for i in range(max(len(messages_a), len(messages_b))):
        msg_a = messages_a[i] if i < len(messages_a) else None
        msg_b = messages_b[i] if i < len(messages_b) else None
        out.append(_message_diff(i + 1, msg_a, msg_b))
    return out


def _message_diff(number: int, msg_a: dict | None, msg_b: dict | None) -> FieldDiff:
    role_a = str(msg_a.get("role", "")) if msg_a else ""
    role_b = str(msg_b.get("role", "")) if msg_b else ""
    content_a = str(msg_a.get("content", "")) if msg_a else ""
    content_b = str(msg_b.get("content", "")) if msg_b else ""
    changed = role_a != role_b  # an added or removed message, or a new role on the same text
    label = f"Message {number} ({_role_label(role_a, role_b)})"
    return _field(f"message_{number}", label, content_a, content_b, changed)


def _role_label(role_a: str, role_b: str) -> str:
    """The role when both sides (or the only side) agree, else "user → assistant"."""
    if role_a == role_b or not role_b:
        return role_a
    return f"{role_a} → {role_b}" if role_a else role_b


def _render_variables(variables: Any) -> str:
    return "\n".join(_render_variable(v) for v in variables or [])


def _render_variable(var: dict) -> str:
    kind = str(var.get("type", "short_text"))
    line = f"{var.get('name', '?')}: {_TYPE_NAMES.get(kind, kind.replace('_', ' '))}"
    if var.get("choices"):
        line += ", one of " + " | ".join(str(c) for c in var["choices"])
    if var.get("max_chars") is not None:
        line += f", max {var['max_chars']} chars"
    if var.get("description"):
        line += f" ({var['description']})"
    return line


def _render_defaults(defaults: Any) -> str:
    defaults = defaults or {}
    keys = [k for k in _DEFAULTS_ORDER if k in defaults] + sorted(set(defaults) - set(_DEFAULTS_ORDER))
    return "\n".join(f"{k}: {defaults[k]}" for k in keys if defaults[k] is not None)


def _render_json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, default=str)


def _render_fragments(fragments: Any) -> str:
    return "\n".join(f"{ref} → v{version}" for ref, version in sorted((fragments or {}).items()))
