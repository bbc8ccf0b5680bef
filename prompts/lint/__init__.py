"""Prompt lint: small rules that check a prompt spec before it is saved.

``lint(spec, includes=..., scrubber=..., context_window=...)`` returns a ``LintReport``:
``errors`` block a save, ``warnings`` do not, ``skipped`` names the rules that could not judge
and why. Rules are ``LintRule`` classes registered with ``register_rule`` (built-ins in
``prompts/lint/rules/``, one per file; plugins in ``plugins/lint/`` or the entry-point group
``promptforge.lint_rules``).
"""

from prompts.lint.context import LintContext, OutputUse, Part, describe
from prompts.lint.registry import (
    COMPILE_RULE,
    ENTRY_POINT_GROUP,
    ERROR,
    SEVERITIES,
    WARNING,
    Finding,
    LintReport,
    LintRule,
    lint,
    lint_plugin_errors,
    lint_rules,
    register_rule,
    unregister_rule,
)

__all__ = [
    "COMPILE_RULE",
    "ENTRY_POINT_GROUP",
    "ERROR",
    "SEVERITIES",
    "WARNING",
    "Finding",
    "LintContext",
    "LintReport",
    "LintRule",
    "OutputUse",
    "Part",
    "describe",
    "lint",
    "lint_plugin_errors",
    "lint_rules",
    "register_rule",
    "unregister_rule",
]
