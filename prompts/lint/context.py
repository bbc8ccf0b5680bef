"""What lint rules look at: a prompt spec, the fragments it includes, and helpers they share.

Every part of the spec (the template, or each chat message) and every fragment it reaches
through ``{% include "fragment:NAME@LABEL" %}`` is parsed once, with the sandbox's own
parser (``execution.templates.parse_source``). From each tree the context derives, once:

- the variables read (template and fragments), with where and on which line each is first read;
- the *literal text*: the part as it would render with every ``{{ }}``, ``{% %}`` and ``{# #}``
  construct removed. Newlines are kept so that line N of the literal text is line N of the
  source (findings point at the line the author sees);
- the outputs (``{{ expression }}``), each with its position in the literal text, so a rule
  can look at the literal text right before and after it.

A part or fragment that does not parse, or fragments that include each other in a cycle, are
kept as compile errors (the lint's ``PF000``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from jinja2 import nodes

from config.errors import TemplateError
from execution.templates import FRAGMENT_PREFIX, included_names, parse_source, source_variables
from prompts.spec import PromptSpec, VariableSpec

if TYPE_CHECKING:
    from config.settings import Settings

_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)\b")


@dataclass(frozen=True)
class CompileError:
    """A part or fragment that does not parse: where, the parser's message and hint, the line."""

    where: str
    message: str
    hint: str
    line: int | None


@dataclass(frozen=True)
class OutputUse:
    """One ``{{ expression }}``: the expression node, its offset in the part's literal text, its line."""

    node: nodes.Expr
    offset: int
    line: int


@dataclass
class Part:
    """One Jinja2 source the prompt is made of: a spec part (``template``, ``user #2``) or a
    fragment it includes (``where`` is then the fragment reference)."""

    where: str
    source: str
    fragment: bool = False
    tree: nodes.Template | None = None
    error: CompileError | None = None
    literal: str = ""
    outputs: list[OutputUse] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)  # fragment references it includes

    def line_at(self, offset: int) -> int:
        """The source line of a position in the literal text."""
        return self.literal.count("\n", 0, max(0, offset)) + 1


@dataclass(eq=False)
class LintContext:
    """A spec to lint, what the rules may need besides it, and the analysis they share (cached).

    ``includes`` maps fragment references to their sources (as ``PromptTemplate`` takes them);
    ``scrubber`` is a PII ``Scrubber`` (None: the PII rule is skipped); ``context_window`` the
    target model's window in tokens (None: unknown, the window rule is skipped);
    ``is_untrusted`` says whether a variable name holds untrusted content (default: the
    injection policy's names and patterns, ``settings.injection.is_untrusted``).
    """

    spec: PromptSpec
    includes: dict[str, str] = field(default_factory=dict)
    scrubber: object | None = None
    context_window: int | None = None
    is_untrusted: Callable[[str], bool] | None = None
    settings: Settings | None = None

    def __post_init__(self) -> None:
        self.includes = dict(self.includes or {})

    # -- settings and variables --------------------------------------------------------

    @cached_property
    def resolved_settings(self) -> Settings:
        """The settings given, or the process-wide ones."""
        if self.settings is not None:
            return self.settings
        from config.settings import get_settings

        return get_settings()

    @property
    def declared(self) -> dict[str, VariableSpec]:
        """The variables the spec declares, by name."""
        return {v.name: v for v in self.spec.variables}

    def untrusted(self, name: str) -> bool:
        """Whether variable ``name`` holds untrusted content: declared so, or named so by policy."""
        variable = self.spec.variable(name)
        if variable is not None and variable.untrusted:
            return True
        check = self.is_untrusted or self.resolved_settings.injection.is_untrusted
        return bool(check(name))

    # -- parts, trees and fragments ----------------------------------------------------

    @cached_property
    def _reached(self) -> tuple[list[Part], list[str]]:
        parts: list[Part] = []
        unresolved: list[str] = []
        seen: set[str] = set()
        pending: list[str] = []
        for where, source in self.spec.sources():
            part = _parse_part(where, source, fragment=False)
            parts.append(part)
            pending += part.includes
        while pending:
            ref = pending.pop(0)
            if ref in seen:
                continue
            seen.add(ref)
            if ref not in self.includes:
                unresolved.append(ref)
                continue
            part = _parse_part(ref, self.includes[ref], fragment=True)
            parts.append(part)
            pending += part.includes
        return parts, unresolved

    @property
    def parts(self) -> list[Part]:
        """The spec's parts, then every fragment they reach (each once), parsed."""
        return self._reached[0]

    @property
    def unresolved_includes(self) -> list[str]:
        """Fragment references the prompt includes that ``includes`` does not hold."""
        return self._reached[1]

    @property
    def parsed_parts(self) -> list[Part]:
        """The parts (and fragments) that parsed."""
        return [p for p in self.parts if p.tree is not None]

    @property
    def compile_errors(self) -> list[CompileError]:
        """One error per part or fragment that does not parse, and one per include cycle."""
        return [p.error for p in self.parts if p.error is not None] + self.include_cycles

    @cached_property
    def include_cycles(self) -> list[CompileError]:
        """Fragments that include each other in a cycle (the sandbox refuses to build those)."""
        fragments = {p.where: p for p in self.parts if p.fragment}
        errors: list[CompileError] = []
        done: set[str] = set()

        def visit(ref: str, chain: list[str]) -> None:
            if ref in chain:
                cycle = [*chain[chain.index(ref) :], ref]
                errors.append(
                    CompileError(
                        ref,
                        "Fragments include each other in a cycle: " + " → ".join(cycle) + ".",
                        "Remove one of the includes.",
                        None,
                    )
                )
                return
            if ref in done or ref not in fragments:
                return
            for inner in fragments[ref].includes:
                visit(inner, [*chain, ref])
            done.add(ref)

        for part in self.parts:
            if not part.fragment:
                for ref in part.includes:
                    visit(ref, [])
        return errors

    @property
    def trees(self) -> dict[str, nodes.Template]:
        """The parsed tree of each part and fragment, by where."""
        return {p.where: p.tree for p in self.parsed_parts if p.tree is not None}

    # -- what the prompt reads and says -------------------------------------------------

    @cached_property
    def variable_uses(self) -> dict[str, tuple[str, int | None]]:
        """Each variable the prompt (template and fragments) reads -> (where, line) of its first read."""
        uses: dict[str, tuple[str, int | None]] = {}
        for part in self.parsed_parts:
            assert part.tree is not None
            for name in source_variables(part.tree):
                if name not in uses:
                    uses[name] = (part.where, _first_read_line(part.tree, name))
        return uses

    @property
    def variables_used(self) -> set[str]:
        """The variables the prompt reads, in the template and in the fragments it reaches."""
        return set(self.variable_uses)

    @property
    def literals(self) -> dict[str, str]:
        """The literal text of each part and fragment, by where."""
        return {p.where: p.literal for p in self.parsed_parts}

    @property
    def literal_text(self) -> str:
        """All literal text, parts then fragments, separated by blank lines."""
        return "\n\n".join(p.literal for p in self.parsed_parts)


def describe(where: str) -> str:
    """``where`` for a message: ``template``, ``user #2``, or ``fragment disclaimer@production``."""
    return f"fragment {where[len(FRAGMENT_PREFIX):]}" if where.startswith(FRAGMENT_PREFIX) else where


def fragment_refs(tree: nodes.Template | None, where: str = "template") -> list[str]:
    """The fragment references a tree includes, in order. ``included_names`` when it accepts the
    tree; when it refuses it (an import, a computed or non-fragment include: the sandbox rule
    reports those), the literal fragment references found among its includes."""
    if tree is None:
        return []
    try:
        return included_names(tree, where)
    except TemplateError:
        refs: list[str] = []
        for node in tree.find_all(nodes.Include):
            value = node.template.value if isinstance(node.template, nodes.Const) else None
            if isinstance(value, str) and value.startswith(FRAGMENT_PREFIX) and value not in refs:
                refs.append(value)
        return refs


def _parse_part(where: str, source: str, *, fragment: bool) -> Part:
    part = Part(where=where, source=source, fragment=fragment)
    try:
        part.tree = parse_source(source, f"fragment {where}" if fragment else where)
    except TemplateError as exc:
        part.error = CompileError(where, exc.message, exc.hint, _error_line(exc))
        return part
    part.literal, part.outputs = literal_text(part.tree)
    part.includes = fragment_refs(part.tree, where)
    return part


def _error_line(exc: TemplateError) -> int | None:
    line = getattr(exc.__context__, "lineno", None)  # the jinja2 syntax error it translates
    if isinstance(line, int):
        return line
    found = _LINE_IN_MESSAGE.search(exc.message)
    return int(found.group(1)) if found else None


def _first_read_line(tree: nodes.Template, name: str) -> int | None:
    for node in tree.find_all(nodes.Name):
        if node.name == name and node.ctx == "load":
            return node.lineno
    return None


def literal_text(tree: nodes.Template) -> tuple[str, list[OutputUse]]:
    """The literal text of a tree (constructs removed, lines kept) and its outputs in order."""
    chunks: list[str] = []
    outputs: list[OutputUse] = []
    state = {"line": 1, "length": 0}

    def reach(line: int) -> None:
        if line > state["line"]:
            pad = "\n" * (line - state["line"])
            chunks.append(pad)
            state["line"], state["length"] = line, state["length"] + len(pad)

    def visit(node: nodes.Node) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                reach(child.lineno)
                if isinstance(child, nodes.TemplateData):
                    chunks.append(child.data)
                    state["line"] += child.data.count("\n")
                    state["length"] += len(child.data)
                else:
                    outputs.append(OutputUse(child, state["length"], child.lineno))
            return
        for child in node.iter_child_nodes():
            visit(child)

    visit(tree)
    return "".join(chunks), outputs
