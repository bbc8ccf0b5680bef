"""Checking the options of a metric: one wording and one rule per kind of option.

Every metric that takes a boolean, a regular expression or a JSON Schema checks it here,
so the assertions (``assert_regex``, ``assert_json_schema``...) and DeepEval's rule metrics
(``pattern_match``, ``json_correctness``) accept the same values and say the same thing
when one is wrong. Errors are ``ConfigError``s raised through ``Metric.config_error``: the
message names the metric (and its result name), the hint says what to write.

``json_path`` writes a location inside a JSON document the way the ``field`` option of
``assert_field_range`` reads it (``offer.rates[0]``): every message about a place in a
document or a schema uses it.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import regex

if TYPE_CHECKING:
    from evaluation.registry import Metric

_TRUE = ("true", "yes")
_FALSE = ("false", "no")


def bool_option(metric: Metric, option: str, value: Any, default: bool = False) -> bool:
    """``value`` as a boolean: true/false (also written as text: true, false, yes, no);
    ``None`` (option not given) is ``default``."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise metric.config_error(f"the option '{option}' must be true or false, not {value!r}.", "Write true or false.")


# a user's pattern gets this long on one output before the row fails with a clear error
REGEX_TIMEOUT_S = 2.0


class RegexTimeout(RuntimeError):
    """A user's pattern ran past ``REGEX_TIMEOUT_S`` on one text."""


def regex_option(metric: Metric, pattern: Any, flags: int = 0, *, option: str = "pattern") -> regex.Pattern:
    """``pattern`` compiled, or an error naming where it is wrong.

    Python's ``re`` syntax, compiled by the ``regex`` package (its version-0 mode is
    ``re``-compatible; ``re`` flags apply) because ``re`` has no timeout and a pattern
    with nested quantifiers can backtrack for hours: search with ``regex_search``."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise metric.config_error(
            f"the option '{option}' must be a non-empty regular expression.",
            f"Write e.g. options: {{{option}: '^Dear '}}.",
        )
    try:
        re.compile(pattern, flags)  # Python's own syntax and error messages
        return regex.compile(pattern, flags | regex.VERSION0)
    except (re.error, regex.error) as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise metric.config_error(
            f"the {option} {pattern!r} is not a valid regular expression: {exc.msg}{where}.",
            "Fix it (Python 're' syntax); escape literal characters such as . ( ) [ ] ? + * with a backslash.",
        ) from None


def regex_search(pattern: regex.Pattern, text: str, timeout: float | None = None):
    """``pattern.search(text)`` that gives up after ``timeout`` seconds (default
    ``REGEX_TIMEOUT_S``) with a ``RegexTimeout`` saying what to change."""
    limit = REGEX_TIMEOUT_S if timeout is None else timeout
    try:
        return pattern.search(text, timeout=limit)
    except TimeoutError:
        raise RegexTimeout(
            f"the pattern /{pattern.pattern}/ ran for more than {limit:g} s on this output without finishing "
            "(nested or overlapping repeats such as (a|aa)+ backtrack without end); simplify the pattern"
        ) from None


def json_schema_option(metric: Metric, schema: Any, example: str) -> tuple[dict[str, Any], Any]:
    """A JSON Schema option (a mapping, or the schema as JSON text) checked against its own
    draft (``$schema``; default 2020-12). Returns ``(schema, validator)``; the validator
    checks the formats ``jsonschema`` can without extra packages and never fetches a
    remote ``$ref``."""
    import jsonschema
    from jsonschema.validators import validator_for

    if schema is None:
        raise metric.config_error("the option 'schema' is required (a JSON Schema).", f"Add it, e.g. {example}.")
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise metric.config_error(
                f"the schema is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
                "Fix the JSON, or give the schema as a mapping.",
            ) from None
    if not isinstance(schema, dict):
        raise metric.config_error(
            f"the schema must be a JSON object (a mapping), not {type(schema).__name__}.",
            f"Write e.g. {example}.",
        )
    cls = validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise metric.config_error(
            f"the schema is not a valid JSON Schema: at {json_path(exc.absolute_path)}: {exc.message[:200]}.",
            "Fix that part of the schema (see json-schema.org).",
        ) from None
    return schema, cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(validator: Any, document: Any, limit: int = 3) -> list[str]:
    """Where and why ``document`` fails the schema, first ``limit`` problems in document
    order (``[]`` when it passes)."""
    errors = sorted(validator.iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    shown = [
        f"at {json_path(e.absolute_path)}: {e.message[:200]} (rule {'/'.join(map(str, e.absolute_schema_path))})"
        for e in errors[:limit]
    ]
    if len(errors) > limit:
        shown.append(f"and {len(errors) - limit} more")
    return shown


def json_path(parts) -> str:
    """["items", 0, "a.b"] -> 'items[0]["a.b"]' (the syntax ``field`` options use)."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part or any(c in part for c in '.[]"'):
            path += f'["{part}"]'
        else:
            path += f".{part}" if path else part
    return path or "(root)"
