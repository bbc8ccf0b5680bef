"""PF005: the prompt asks for a format its response format (or its own JSON request) contradicts.

With a JSON Schema response format, asking for plain text, bullet points, markdown, a table,
CSV, YAML, XML or a one-word/one-sentence answer pulls the model two ways. Without one, a
prompt that demands JSON *and* another format does the same. Wording: ``rules/wording.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prompts.lint.context import LintContext, describe
from prompts.lint.registry import WARNING, Finding, LintRule, register_rule
from prompts.lint.rules.wording import JSON_REQUEST, first_mention, other_formats


@register_rule
class FormatContradiction(LintRule):
    """Another output format requested beside a JSON response format or a JSON request."""

    id = "PF005"
    severity = WARNING
    title = "format_contradiction"
    hint = "Ask for one format: drop the other request, or put it inside the JSON (e.g. a field of bullets)."

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        parts = ctx.parsed_parts
        if ctx.spec.response_format is not None:
            reason = "the response format is a JSON Schema"
        else:
            json_request = first_mention(JSON_REQUEST, parts)
            if json_request is None:
                return
            reason = f"the {describe(json_request[0].where)} asks for JSON on line {json_request[1]}"
        for name, part, line in other_formats(parts):
            yield self.finding(
                f"The {describe(part.where)} asks for {name} on line {line}, but {reason}.", part.where, line
            )
