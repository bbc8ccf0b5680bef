"""PF008: constructs the sandbox refuses, or that are risky in a prompt template.

Found by walking the Jinja2 syntax tree of each part and fragment:

- private or dunder attributes (``x._y``, ``x.__class__``, ``x['__class__']``), ``.format``,
  ``.format_map`` and ``.mro``;
- the ``attr`` filter, and attribute filters (``map``, ``selectattr``...) naming a private
  attribute;
- the names ``self``, ``namespace``, ``cycler``, ``joiner`` and ``lipsum``;
- ``range(...)`` with a literal over 10,000;
- ``{% import %}``, ``{% from ... import %}``, ``{% extends %}``, and includes of anything but a
  literal fragment reference.
"""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import nodes

from execution.templates import FRAGMENT_PREFIX
from prompts.lint.context import LintContext, describe
from prompts.lint.registry import ERROR, Finding, LintRule, register_rule

RISKY_NAMES = frozenset({"self", "namespace", "cycler", "joiner", "lipsum"})
FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro"})
ATTRIBUTE_FILTERS = frozenset(
    {"map", "selectattr", "rejectattr", "sort", "groupby", "unique", "sum", "min", "max"}
)
RANGE_LIMIT = 10_000


def _private(name: object) -> bool:
    return isinstance(name, str) and name.startswith("_")


def problems(tree: nodes.Template) -> Iterator[tuple[int, str]]:
    """(line, what) for each unsafe construct in a tree."""
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Getattr):
            if _private(node.attr):
                yield node.lineno, f"reads the private attribute '.{node.attr}'"
            elif node.attr in FORBIDDEN_ATTRIBUTES:
                yield node.lineno, f"uses '.{node.attr}'"
        elif isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const) and _private(node.arg.value):
                yield node.lineno, f"reads the private attribute [{node.arg.value!r}]"
        elif isinstance(node, nodes.Filter):
            if node.name == "attr":
                yield node.lineno, "uses the 'attr' filter"
            elif node.name in ATTRIBUTE_FILTERS:
                for kw in node.kwargs:
                    value = kw.value.value if isinstance(kw.value, nodes.Const) else None
                    if kw.key == "attribute" and _private(value):
                        yield node.lineno, f"reads the private attribute {value!r} with '{node.name}'"
        elif isinstance(node, nodes.Name):
            if node.ctx == "load" and node.name in RISKY_NAMES:
                yield node.lineno, f"uses '{node.name}'"
        elif isinstance(node, nodes.Call):
            if isinstance(node.node, nodes.Name) and node.node.name == "range":
                literals = [arg.value for arg in node.args if isinstance(arg, nodes.Const)]
                if any(isinstance(v, int) and abs(v) > RANGE_LIMIT for v in literals):
                    yield node.lineno, f"loops over range() with a literal over {RANGE_LIMIT:,}"
        elif isinstance(node, (nodes.Import, nodes.FromImport)):
            yield node.lineno, "uses '{% import %}'"
        elif isinstance(node, nodes.Extends):
            yield node.lineno, "uses '{% extends %}'"
        elif isinstance(node, nodes.Include):
            value = node.template.value if isinstance(node.template, nodes.Const) else None
            if not isinstance(value, str):
                yield node.lineno, "includes a template whose name is computed"
            elif not value.startswith(FRAGMENT_PREFIX):
                yield node.lineno, f"includes {value!r}, which is not a fragment"


@register_rule
class SandboxUnsafe(LintRule):
    """Attribute tricks, risky globals, huge loops and non-fragment includes."""

    id = "PF008"
    severity = ERROR
    title = "sandbox_unsafe"
    hint = (
        "Templates may only read variables, use filters and include fragments "
        '({% include "fragment:NAME@LABEL" %}); remove that construct.'
    )

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for part in ctx.parsed_parts:
            assert part.tree is not None
            seen: set[tuple[int, str]] = set()
            for line, what in problems(part.tree):
                if (line, what) not in seen:
                    seen.add((line, what))
                    yield self.finding(f"The {describe(part.where)} {what} on line {line}.", part.where, line)
