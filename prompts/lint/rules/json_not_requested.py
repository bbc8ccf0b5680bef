"""PF006: a JSON Schema response format is set but the prompt never asks for JSON.

Many models follow a response format better when the text says so too; without it the
schema's meaning is left to the model. Wording: ``rules/wording.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prompts.lint.context import LintContext
from prompts.lint.registry import WARNING, Finding, LintRule, register_rule
from prompts.lint.rules.wording import JSON_REQUEST, first_mention


@register_rule
class JsonNotRequested(LintRule):
    """A response format with no word of JSON in the prompt."""

    id = "PF006"
    severity = WARNING
    title = "json_not_requested"
    hint = "Say so in the prompt, e.g. 'Answer with a JSON object that matches the schema.'"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if ctx.spec.response_format is None:
            return
        if first_mention(JSON_REQUEST, ctx.parsed_parts) is None:
            yield self.finding(
                "A JSON Schema response format is set, but the prompt never asks for JSON.", "response_format"
            )
