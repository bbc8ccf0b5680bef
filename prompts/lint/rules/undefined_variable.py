"""PF001: the prompt reads a variable the spec does not declare."""

from __future__ import annotations

from collections.abc import Iterator

from prompts.lint.context import LintContext, describe
from prompts.lint.registry import ERROR, Finding, LintRule, register_rule


@register_rule
class UndefinedVariable(LintRule):
    """A variable read by the template (or a fragment it includes) but not declared. A spec with
    no variables at all is "not typed yet" and is left alone."""

    id = "PF001"
    severity = ERROR
    title = "undefined_variable"
    hint = "Declare it under variables (with its type), or fix the name in the template."

    def skip_reason(self, ctx: LintContext) -> str | None:
        return None if ctx.spec.variables else "the spec declares no variables yet"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        declared = ctx.declared
        for name, (where, line) in ctx.variable_uses.items():
            if name not in declared:
                at = f" on line {line}" if line else ""
                message = f"The {describe(where)} reads variable '{name}'{at}, which is not declared."
                yield self.finding(message, where, line)
