"""Assertions: pass/fail checks on a model's output, configured per prompt version.

An assertion is a metric of kind ``"assertion"``: its value is 1.0 when the output
passes and 0.0 when it fails, higher is better, and by default a failure raises a
flag (``flag_below=1.0``). The explanation says exactly why: which pattern matched
where, which schema path failed, the measured length, the extracted number.

Options are checked when the assertion is built: a regex that does not compile, a
schema that is not a valid JSON Schema, ``min`` above ``max`` or a missing option
raise ``ConfigError`` naming what to fix; options an assertion does not know are
rejected by the ``Metric`` base class. A row without output (blocked, or the model
call failed) is reported as unavailable, not as a failure.

Regular expressions come from users, and a pattern with nested quantifiers can
backtrack catastrophically. Every user regex runs on at most the first
``MAX_REGEX_CHARS`` (100,000) characters of the output (the explanation says when
the output was longer) and for at most ``REGEX_TIMEOUT_S`` seconds per output
(``evaluation.options.regex_search``): past that the row's result is an error that
names the pattern and says to simplify it; the run goes on.

Example metric-set entries (YAML)::

    - metric: assert_regex
      name: greets_customer
      options: {pattern: '^Dear ', ignore_case: true}
    - metric: assert_field_range
      options: {field: offer.rate, min: 0, max: 25}
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any, ClassVar

from evaluation.options import bool_option, json_path, json_schema_option, regex_option, regex_search, schema_errors
from evaluation.registry import Metric, MetricContext, MetricInput, MetricResult, register_metric

MAX_REGEX_CHARS = 100_000
_EXCERPT = 60

__all__ = [
    "MAX_REGEX_CHARS",
    "Assertion",
    "AssertContains",
    "AssertFieldRange",
    "AssertJSONSchema",
    "AssertLength",
    "AssertNotContains",
    "AssertNotRegex",
    "AssertRegex",
    "parse_field_path",
    "parse_json_output",
]


class Assertion(Metric):
    """Base class: 1.0 = pass, 0.0 = fail; subclasses implement ``check(output)``."""

    kind = "assertion"
    reads = ("output",)
    higher_is_better = True
    value_range = (0.0, 1.0)

    def __init__(self, context: MetricContext | None = None, *, flag_below: float | None = 1.0, **kwargs: Any):
        # No threshold given (None, as a caller may pass it) still flags a failure;
        # a spec sets flag_below: 0 to never flag.
        super().__init__(context, flag_below=1.0 if flag_below is None else flag_below, **kwargs)

    def check(self, output: str) -> tuple[bool, str]:
        """Whether ``output`` passes, and why (or why not)."""
        raise NotImplementedError

    def score(self, item: MetricInput) -> MetricResult:
        if item.output is None:
            return self.unavailable("There is no output for this row (blocked, or the model call failed).")
        passed, why = self.check(item.output)
        return self.result(1.0 if passed else 0.0, why)

    # helpers ------------------------------------------------------------------
    def required(self, option: str, value: Any, example: str) -> Any:
        if value is None:
            raise self.config_error(f"the option '{option}' is required.", f"Add it, e.g. options: {{{example}}}.")
        return value

    def number(self, option: str, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool):
            raise self.config_error(f"the option '{option}' must be a number, not {value!r}.", "Write e.g. 10.")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self.config_error(
                f"the option '{option}' must be a number, not {value!r}.", "Write e.g. 10."
            ) from None
        if not math.isfinite(number):
            raise self.config_error(f"the option '{option}' must be a finite number.", "Write e.g. 10.")
        return number

    def bounds(self, low: Any, high: Any, *, non_negative: bool = False) -> tuple[float | None, float | None]:
        lo, hi = self.number("min", low), self.number("max", high)
        if lo is None and hi is None:
            raise self.config_error("set 'min', 'max' or both.", "Add e.g. options: {min: 0, max: 100}.")
        if non_negative:
            for option, value in (("min", lo), ("max", hi)):
                if value is not None and value < 0:
                    raise self.config_error(f"'{option}' cannot be negative ({_fmt(value)}).", "Use 0 or more.")
        if lo is not None and hi is not None and lo > hi:
            raise self.config_error(f"'min' ({_fmt(lo)}) is greater than 'max' ({_fmt(hi)}).", "Swap them or fix one.")
        return lo, hi


def _bounded(text: str) -> tuple[str, str]:
    """The text a user regex may run on, and a note when it was cut."""
    if len(text) <= MAX_REGEX_CHARS:
        return text, ""
    return text[:MAX_REGEX_CHARS], f" (only the first {MAX_REGEX_CHARS:,} of {len(text):,} characters were checked)"


def _excerpt(text: str, limit: int = _EXCERPT) -> str:
    text = text.replace("\n", "\\n")
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"character {pos} (line {line}, column {col})"


# -- regex --------------------------------------------------------------------------------


class _RegexAssertion(Assertion):
    option_help: ClassVar[dict[str, str]] = {
        "pattern": "Python regular expression (searched anywhere in the output; anchor with ^ and $).",
        "ignore_case": "true to ignore upper/lower case (default false).",
        "multiline": "true to let ^ and $ match at every line, not only the ends of the output (default false).",
    }
    must_match: ClassVar[bool]

    def __init__(
        self,
        context: MetricContext | None = None,
        *,
        pattern: str | None = None,
        ignore_case: bool | None = None,
        multiline: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(context, **kwargs)
        self.required("pattern", pattern, "pattern: '^Dear '")
        flags = (re.IGNORECASE if bool_option(self, "ignore_case", ignore_case) else 0) | (
            re.MULTILINE if bool_option(self, "multiline", multiline) else 0
        )
        self.pattern = regex_option(self, pattern, flags)

    def check(self, output: str) -> tuple[bool, str]:
        text, cut = _bounded(output)
        match = regex_search(self.pattern, text)
        shown = f"/{self.pattern.pattern}/"
        if match is None:
            return (not self.must_match), f"The pattern {shown} does not match the output{cut}."
        where = f"at {_line_col(text, match.start())}: {_excerpt(match.group(0))}"
        return self.must_match, f"The pattern {shown} matches {where}{cut}."


@register_metric
class AssertRegex(_RegexAssertion):
    name = "assert_regex"
    description = "Passes (1) when the output matches a regular expression, else fails (0)."
    must_match = True


@register_metric
class AssertNotRegex(_RegexAssertion):
    name = "assert_not_regex"
    description = "Passes (1) when the output does not match a regular expression; a match fails (0)."
    must_match = False


# -- contains -----------------------------------------------------------------------------


class _ContainsAssertion(Assertion):
    option_help: ClassVar[dict[str, str]] = {
        "text": "a string, or a list of strings, to look for (plain text, not a regex).",
        "case_sensitive": "true to match upper/lower case exactly (default false: Unicode case folding).",
    }
    must_contain: ClassVar[bool]

    def __init__(
        self,
        context: MetricContext | None = None,
        *,
        text: str | list[str] | None = None,
        case_sensitive: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(context, **kwargs)
        self.required("text", text, "text: ['APR', 'terms apply']")
        needles = [text] if isinstance(text, str) else text
        if not isinstance(needles, (list, tuple)) or not needles:
            raise self.config_error(
                "the option 'text' must be a string or a non-empty list of strings.", "Write e.g. text: [APR, fee]."
            )
        for needle in needles:
            if not isinstance(needle, str) or not needle:
                raise self.config_error(
                    f"every entry of 'text' must be a non-empty string, not {needle!r}.", "Remove or fix the entry."
                )
        self.texts = list(needles)
        self.case_sensitive = bool_option(self, "case_sensitive", case_sensitive)

    def _norm(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        return text if self.case_sensitive else text.casefold()

    def _where(self, output: str, needle: str) -> str:
        """Where ``needle`` first occurs (omitted when case folding changed its length)."""
        flags = 0 if self.case_sensitive else re.IGNORECASE
        text = unicodedata.normalize("NFC", output)
        match = re.search(re.escape(unicodedata.normalize("NFC", needle)), text, flags)
        return f" at {_line_col(text, match.start())}" if match else ""

    def check(self, output: str) -> tuple[bool, str]:
        haystack = self._norm(output)
        found = [t for t in self.texts if self._norm(t) in haystack]
        missing = [t for t in self.texts if t not in found]
        how = "" if self.case_sensitive else ", ignoring case"
        if self.must_contain:
            if missing:
                return False, f"The output lacks {_list(missing)}{how}."
            return True, f"The output contains {_list(found)}{how}."
        if found:
            places = "; ".join(f"{t!r}{self._where(output, t)}" for t in found)
            return False, f"The output contains {places}{how}."
        return True, f"The output contains none of {_list(self.texts)}{how}."


def _list(texts: list[str]) -> str:
    return ", ".join(repr(t) for t in texts)


@register_metric
class AssertContains(_ContainsAssertion):
    name = "assert_contains"
    description = "Passes (1) when the output contains every given text, else fails (0)."
    must_contain = True


@register_metric
class AssertNotContains(_ContainsAssertion):
    name = "assert_not_contains"
    description = "Passes (1) when the output contains none of the given texts; any of them fails (0)."
    must_contain = False


# -- JSON ---------------------------------------------------------------------------------

_FENCE = re.compile(r"\A\s*```[ \t]*(?:json)?[ \t]*\r?\n(.*?)\r?\n?[ \t]*```\s*\Z", re.DOTALL | re.IGNORECASE)


def parse_json_output(output: str) -> tuple[Any, str]:
    """Parse JSON output, bare or wrapped in one ```json fence (the fence must be the
    whole output). Returns ``(value, "")`` or ``(None, why it is not JSON)``."""
    fenced = _FENCE.match(output)
    text = fenced.group(1) if fenced else output
    try:
        return json.loads(text, parse_constant=_reject_constant), ""
    except ValueError as exc:
        if not text.strip():
            return None, "The output is empty, not JSON."
        what = f"{exc.msg} at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        inside = " inside the ```json fence" if fenced else ""
        if not fenced and "```" in output:
            inside = " (a ``` fence is accepted only when it wraps the whole output)"
        return None, f"The output is not valid JSON{inside}: {what}."


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _fmt(number: float) -> str:
    """A number as people write it: 12, 4.75, 1250000 (no exponent for ordinary sizes)."""
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.10g}"


@register_metric
class AssertJSONSchema(Assertion):
    """The output must be JSON (bare, or wrapped in a ```json fence) valid against a JSON
    Schema. The schema's own ``$schema`` picks the draft (default 2020-12); formats are
    checked where ``jsonschema`` can without extra packages (date, email, ipv4, ...);
    remote ``$ref`` are never fetched."""

    name = "assert_json_schema"
    description = "Passes (1) when the output is JSON valid against a JSON Schema, else fails (0)."
    option_help: ClassVar[dict[str, str]] = {
        "schema": "a JSON Schema, as a mapping or a JSON string (e.g. {type: object, required: [rate]}).",
    }

    def __init__(self, context: MetricContext | None = None, *, schema: Any = None, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        self.schema, self.validator = json_schema_option(self, schema, "schema: {type: object, required: [rate]}")

    def check(self, output: str) -> tuple[bool, str]:
        value, why = parse_json_output(output)
        if why:
            return False, why
        errors = schema_errors(self.validator, value)
        if not errors:
            return True, "The output is JSON valid against the schema."
        return False, f"The JSON fails the schema {'; '.join(errors)}."


# -- length -------------------------------------------------------------------------------


@register_metric
class AssertLength(Assertion):
    """The output's length must lie within ``min``..``max`` (inclusive). Characters are
    Unicode code points after NFC normalisation; words are runs of non-whitespace."""

    name = "assert_length"
    description = "Passes (1) when the output's length in characters or words is within bounds, else fails (0)."
    option_help: ClassVar[dict[str, str]] = {
        "min": "the shortest allowed length (inclusive).",
        "max": "the longest allowed length (inclusive).",
        "unit": "chars (default) or words.",
    }
    _UNITS: ClassVar[dict[str, str]] = {"chars": "characters", "words": "words"}

    def __init__(
        self,
        context: MetricContext | None = None,
        *,
        min: Any = None,  # noqa: A002 - the option's name
        max: Any = None,  # noqa: A002
        unit: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(context, **kwargs)
        self.low, self.high = self.bounds(min, max, non_negative=True)
        unit = "chars" if unit is None else unit
        if unit not in self._UNITS:
            hint = " Token counts are the total_tokens metric." if unit == "tokens" else ""
            raise self.config_error(f"the unit must be chars or words, not {unit!r}.", "Write unit: chars or words." + hint)
        self.count_unit = unit

    def measure(self, output: str) -> int:
        if self.count_unit == "words":
            return len(output.split())
        return len(unicodedata.normalize("NFC", output))

    def check(self, output: str) -> tuple[bool, str]:
        n = self.measure(output)
        unit = self._UNITS[self.count_unit]
        if self.low is not None and n < self.low:
            return False, f"The output is {n:,} {unit}, under the minimum of {_fmt(self.low)}."
        if self.high is not None and n > self.high:
            return False, f"The output is {n:,} {unit}, over the maximum of {_fmt(self.high)}."
        return True, f"The output is {n:,} {unit}, within {_bounds_text(self.low, self.high)}."


def _bounds_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{_fmt(low)} to {_fmt(high)}"
    return f"at least {_fmt(low)}" if low is not None else f"at most {_fmt(high)}"


# -- a number within bounds ---------------------------------------------------------------

_PATH_KEY = re.compile(r'[^.\[\]"]+')
_PATH_BRACKET = re.compile(r'\[(\d+)\]|\["([^"]*)"\]')
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?|[+-]?\.\d+(?:[eE][+-]?\d+)?")


def parse_field_path(path: str) -> list[str | int]:
    """``offer.rate`` -> ["offer", "rate"]; ``items[0].amount`` -> ["items", 0, "amount"];
    ``["a.b"]`` quotes a key holding dots or brackets; a leading ``$`` or ``$.`` is allowed.
    Raises ``ValueError`` saying what is wrong."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
        if text.startswith("."):
            text = text[1:]
        elif text and not text.startswith("["):
            raise ValueError("after '$' write '.' or '['")
    if not text:
        raise ValueError("the path is empty")
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "[":
            match = _PATH_BRACKET.match(text, pos)
            if match is None:
                raise ValueError(f"bad brackets at position {pos}: write [0] for a list item or [\"key\"] for a key")
            parts.append(int(match.group(1)) if match.group(1) is not None else match.group(2))
            pos = match.end()
            continue
        if parts:
            if text[pos] != ".":
                raise ValueError(f"expected '.' or '[' at position {pos}")
            pos += 1
        match = _PATH_KEY.match(text, pos)
        if match is None:
            raise ValueError(f"empty key at position {pos}")
        parts.append(match.group(0))
        pos = match.end()
    return parts


def _to_number(value: Any) -> tuple[float | None, str]:
    """A finite number from a JSON number or a string holding only a number."""
    if isinstance(value, bool):
        return None, f"is {json.dumps(value)} (a boolean), not a number"
    if isinstance(value, (int, float)):
        return (float(value), "") if math.isfinite(value) else (None, "is not a finite number")
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            number = float(text.replace(",", ""))
            if math.isfinite(number):
                return number, ""
        return None, f"is the text {_excerpt(value)}, not a number"
    if value is None:
        return None, "is null, not a number"
    return None, f"is {'a list' if isinstance(value, list) else 'an object'}, not a number"


@register_metric
class AssertFieldRange(Assertion):
    """A number taken from the output must lie within ``min``..``max`` (inclusive).

    Either ``field``, a path into JSON output (``offer.rate``, ``items[0].amount``;
    the output may be wrapped in a ```json fence), or ``pattern``, a regex with one
    capture group searched in the text (first match; on at most the first
    100,000 characters). The value must be a JSON number or text holding only a number
    (``1,250.50`` is read as 1250.5); anything else fails, saying what was found."""

    name = "assert_field_range"
    description = "Passes (1) when a number read from the output (JSON field or regex capture) is within bounds."
    option_help: ClassVar[dict[str, str]] = {
        "field": "a path into JSON output, e.g. offer.rate or items[0].amount (or use pattern).",
        "pattern": r"a regex with one capture group around the number, e.g. 'APR of (\d+(?:\.\d+)?)%' (or use field).",
        "min": "the smallest allowed value (inclusive).",
        "max": "the largest allowed value (inclusive).",
    }

    def __init__(
        self,
        context: MetricContext | None = None,
        *,
        field: str | None = None,
        pattern: str | None = None,
        min: Any = None,  # noqa: A002 - the option's name
        max: Any = None,  # noqa: A002
        **kwargs: Any,
    ) -> None:
        super().__init__(context, **kwargs)
        if (field is None) == (pattern is None):
            raise self.config_error(
                "set exactly one of 'field' (a JSON path) or 'pattern' (a regex with one capture group).",
                "Write e.g. field: offer.rate, or pattern: 'rate of (\\d+(?:\\.\\d+)?)%'.",
            )
        self.field = field
        self.path: list[str | int] = []
        self.pattern: Any = None  # a compiled pattern (regex_option)
        if field is not None:
            if not isinstance(field, str) or not field.strip():
                raise self.config_error("the option 'field' must be a non-empty path.", "Write e.g. field: offer.rate.")
            try:
                self.path = parse_field_path(field)
            except ValueError as exc:
                raise self.config_error(
                    f"the field path {field!r} is not valid: {exc}.",
                    'Write keys separated by dots and list positions in brackets, e.g. items[0].amount; '
                    'quote keys with dots as ["a.b"].',
                ) from None
        else:
            self.pattern = regex_option(self, pattern)
            if self.pattern.groups != 1:
                raise self.config_error(
                    f"the pattern must have exactly one capture group, it has {self.pattern.groups}.",
                    "Put ( ) around the number only; make other groups non-capturing with (?: ).",
                )
        self.low, self.high = self.bounds(min, max)

    def extract(self, output: str) -> tuple[float | None, str, str]:
        """(number, what it is called, why none was found)."""
        if self.pattern is not None:
            text, cut = _bounded(output)
            match = regex_search(self.pattern, text)
            if match is None:
                return None, "", f"The pattern /{self.pattern.pattern}/ does not match the output{cut}."
            if match.group(1) is None:
                return None, "", f"The pattern matches at {_line_col(text, match.start())} but its group captured nothing."
            number, why = _to_number(match.group(1))
            label = f"The number captured at {_line_col(text, match.start(1))}"
            return number, label, (f"The captured value {why}." if why else "")
        value, why = parse_json_output(output)
        if why:
            return None, "", why
        label = f"The field {json_path(self.path)}"
        here: Any = value
        for depth, part in enumerate(self.path):
            parent = json_path(self.path[:depth])
            if isinstance(part, int):
                if not isinstance(here, list):
                    return None, label, f"{label} is not found: {parent} is not a list."
                if part >= len(here):
                    return None, label, f"{label} is not found: {parent} has {len(here)} item(s)."
            else:
                if not isinstance(here, dict):
                    return None, label, f"{label} is not found: {parent} is not an object."
                if part not in here:
                    keys = ", ".join(list(map(str, here))[:10]) or "none"
                    return None, label, f"{label} is not found: {parent} has no key {part!r} (keys: {keys})."
            here = here[part]
        number, why = _to_number(here)
        return number, label, (f"{label} {why}." if why else "")

    def check(self, output: str) -> tuple[bool, str]:
        number, label, why = self.extract(output)
        if number is None:
            return False, why
        shown = f"{label} = {_fmt(number)}"
        if self.low is not None and number < self.low:
            return False, f"{shown}, below the minimum {_fmt(self.low)}."
        if self.high is not None and number > self.high:
            return False, f"{shown}, above the maximum {_fmt(self.high)}."
        return True, f"{shown}, within {_bounds_text(self.low, self.high)}."
