"""PF003: untrusted content is output without delimiters around it.

Untrusted content (a pasted e-mail, a web page, a retrieved document) should sit between clear
delimiters so the model can be told to treat what is inside as data, not instructions. An
output ``{{ x }}`` counts as fenced when the literal text of the same part encloses it:

- an XML-like tag opened before it (and not closed again) and closed after it:
  ``<email>{{ email }}</email>``;
- an odd number of ``\"\"\"``, ``'''`` or triple backticks before it and one after it;
- ``[[`` before it (not yet closed) and ``]]`` after it;
- a line of ``---``, ``===`` or ``###`` somewhere before it and another after it.

An expression that cannot print the text itself (``{{ email | length }}``, a test or a
comparison) is not an output of the content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from jinja2 import nodes

from prompts.lint.context import LintContext, describe
from prompts.lint.registry import WARNING, Finding, LintRule, register_rule

_TAG = re.compile(r"<(/?)([A-Za-z][\w.:-]*)(\s[^<>]*)?>")
_PAIRED = ('"""', "'''", "```")
_MARKER_LINE = re.compile(r"^[ \t]*(?:-{3,}|={3,}|#{3,})", re.MULTILINE)
# filters whose result is a number or a flag, not the text
NON_TEXT_FILTERS = frozenset({"length", "count", "wordcount", "int", "float", "abs", "round"})


def _open_tags(before: str) -> list[str]:
    """Tags opened in ``before`` and not closed again, innermost last."""
    opened: list[str] = []
    for match in _TAG.finditer(before):
        closing, name = match.group(1), match.group(2)
        if match.group(0).endswith("/>"):
            continue
        if not closing:
            opened.append(name)
        elif name in opened:
            del opened[len(opened) - 1 - opened[::-1].index(name)]
    return opened


def is_fenced(before: str, after: str) -> bool:
    """Whether literal text ``before`` and ``after`` an output enclose it in delimiters."""
    closing = {m.group(2) for m in _TAG.finditer(after) if m.group(1)}
    if any(name in closing for name in _open_tags(before)):
        return True
    if any(before.count(mark) % 2 == 1 and mark in after for mark in _PAIRED):
        return True
    if before.count("[[") > before.count("]]") and "]]" in after:
        return True
    whole_lines_before = before.rpartition("\n")[0]
    lines_after = after.partition("\n")[2]
    return bool(_MARKER_LINE.search(whole_lines_before) and _MARKER_LINE.search(lines_after))


def _prints_text(expr: nodes.Expr) -> bool:
    if isinstance(expr, (nodes.Test, nodes.Compare)):
        return False
    return not (isinstance(expr, nodes.Filter) and expr.name in NON_TEXT_FILTERS)


@register_rule
class UnfencedUntrusted(LintRule):
    """An untrusted variable (type ``untrusted``, or named so by the injection policy) printed
    without delimiters around it."""

    id = "PF003"
    severity = WARNING
    title = "unfenced_untrusted"
    hint = (
        "Put it between delimiters, e.g. <email>{{ email }}</email> or a line of --- on both sides, "
        "and tell the model that what is inside is data, not instructions."
    )

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        used = ctx.variables_used
        seen: set[tuple[str, int, str]] = set()
        for part in ctx.parsed_parts:
            for output in part.outputs:
                if not _prints_text(output.node):
                    continue
                names = {n.name for n in output.node.find_all(nodes.Name) if n.ctx == "load"}
                if isinstance(output.node, nodes.Name):
                    names.add(output.node.name)
                for name in sorted(n for n in names if n in used and ctx.untrusted(n)):
                    key = (part.where, output.line, name)
                    if key in seen:
                        continue
                    seen.add(key)
                    before, after = part.literal[: output.offset], part.literal[output.offset :]
                    if not is_fenced(before, after):
                        yield self.finding(
                            f"Untrusted variable '{name}' is output on line {output.line} of the "
                            f"{describe(part.where)} without delimiters around it.",
                            part.where,
                            output.line,
                        )
