"""PF004: personal data written into the prompt itself.

The literal text of each part and fragment (constructs removed) goes through the PII
scrubber's detector. Text in variables is scrubbed at run time; text in the template is not
a variable, so it would reach the model as written (and stays in every version's history).
Entity types that are rarely personal on their own (``pii.not_personal_alone``: dates,
nationalities, places) are ignored. Findings name the entity type and line, never the value.
"""

from __future__ import annotations

from collections.abc import Iterator

from prompts.lint.context import LintContext, describe
from prompts.lint.registry import ERROR, Finding, LintRule, register_rule


@register_rule
class PiiLiteral(LintRule):
    """PII detected in the literal text of the prompt (needs a scrubber; skipped without one)."""

    id = "PF004"
    severity = ERROR
    title = "pii_literal"
    hint = "Move it into a variable (e.g. {{ customer_name }}) so the scrubber handles it at run time."

    def skip_reason(self, ctx: LintContext) -> str | None:
        return None if ctx.scrubber is not None else "no PII scrubber was given"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        policy = getattr(ctx.scrubber, "policy", None) or ctx.resolved_settings.pii
        ignored = set(policy.not_personal_alone)
        for part in ctx.parsed_parts:
            if not part.literal.strip():
                continue
            entities = ctx.scrubber.detect(part.literal)  # type: ignore[union-attr]
            reported: set[tuple[str, int]] = set()
            for entity in sorted(entities, key=lambda e: e.start):
                line = part.line_at(entity.start)
                if entity.type in ignored or (entity.type, line) in reported:
                    continue
                reported.add((entity.type, line))
                message = f"The {describe(part.where)} contains a literal {entity.type} on line {line}."
                yield self.finding(message, part.where, line)
