"""PF007: the prompt at its largest, plus the answer, does not fit the model's context window.

The estimate is deliberately the worst case the spec allows: the literal text in tokens
(tiktoken's cl100k, ``execution.providers.tokens``), plus every variable the prompt reads at
its declared maximum size (``VariableSpec.size``; an undeclared one at the short-text size) at
4 characters a token, plus ``defaults.max_tokens`` for the answer. A fragment is counted once.
Skipped when the window is unknown (see ``execution.providers.context_windows``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from prompts.lint.context import LintContext
from prompts.lint.registry import ERROR, Finding, LintRule, register_rule
from prompts.spec import DEFAULT_MAX_CHARS

CHARS_PER_TOKEN = 4


@register_rule
class ContextWindow(LintRule):
    """Text + largest variables + answer tokens over the target model's context window."""

    id = "PF007"
    severity = ERROR
    title = "context_window"
    hint = (
        "Lower the variables' max_chars or the max_tokens default, shorten the prompt, "
        "or choose a model with a larger context window."
    )

    def skip_reason(self, ctx: LintContext) -> str | None:
        if ctx.context_window is None:
            return "the target model's context window is unknown (set context_windows for it)"
        return None

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        from execution.providers.tokens import count_tokens

        window = int(ctx.context_window or 0)
        text_tokens = sum(count_tokens(part.literal) for part in ctx.parsed_parts)
        declared = ctx.declared
        counted = set(ctx.variables_used)
        if ctx.unresolved_includes:  # what those fragments read is unknown: count every declared one
            counted |= set(declared)
        chars = sum(
            declared[name].size if name in declared else DEFAULT_MAX_CHARS["short_text"] for name in counted
        )
        variable_tokens = math.ceil(chars / CHARS_PER_TOKEN)
        answer_tokens = ctx.spec.defaults.max_tokens or 0
        total = text_tokens + variable_tokens + answer_tokens
        if total > window:
            yield self.finding(
                f"The prompt may need {total:,} tokens ({text_tokens:,} of text, up to {variable_tokens:,} "
                f"for {len(counted)} variable{'s' if len(counted) != 1 else ''} at their maximum size, "
                f"{answer_tokens:,} for the answer), more than the model's context window of {window:,}.",
                "prompt",
            )
