"""PF002: the spec declares a variable the prompt never reads."""

from __future__ import annotations

from collections.abc import Iterator

from prompts.lint.context import LintContext
from prompts.lint.registry import WARNING, Finding, LintRule, register_rule


@register_rule
class UnusedVariable(LintRule):
    """A declared variable that neither the template nor the fragments it includes read."""

    id = "PF002"
    severity = WARNING
    title = "unused_variable"
    hint = "Use it in the prompt, or remove it from variables."

    def skip_reason(self, ctx: LintContext) -> str | None:
        if ctx.unresolved_includes:
            return (
                "the variables read by fragment(s) " + ", ".join(ctx.unresolved_includes)
                + " are unknown (pass their sources as includes)"
            )
        return None

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        used = ctx.variables_used
        for variable in ctx.spec.variables:
            if variable.name not in used:
                yield self.finding(
                    f"Variable '{variable.name}' is declared but the prompt never uses it.", "variables"
                )
