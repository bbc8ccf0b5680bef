"""Sandboxed prompt templates.

Templates are Jinja2 source rendered in an ``ImmutableSandboxedEnvironment`` with
``StrictUndefined``. User values are passed only as variables, never spliced
into template source. Size, render time and output size are capped; every error
names the variable or the line so the author can fix it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from config.errors import InputError, TemplateError
from security.text import check_text as ensure_text

_deadline = threading.local()


class _RenderTimeout(Exception):
    pass


def _bounded_range(*args: int):
    """``range`` for templates: checks the render deadline on every step, so a
    nested loop that prints nothing still stops when its time is up."""
    for i, value in enumerate(range(*args)):
        if i % 256 == 0 and time.monotonic() > getattr(_deadline, "at", float("inf")):
            raise _RenderTimeout()
        yield value


def _no_callables(value: object) -> object:
    """Printing a function or method would reveal internals: refuse it."""
    if callable(value):
        raise SecurityError("printing a function or method is not allowed")
    return value


class _PromptSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, stricter: no ``str.format``/``format_map``
    (use the ``format`` filter) and no private or dunder attributes at all."""

    _forbidden = frozenset({"format", "format_map", "mro"})

    def is_safe_attribute(self, obj: object, attr: str, value: object) -> bool:
        if attr.startswith("_") or attr in self._forbidden:
            return False
        return super().is_safe_attribute(obj, attr, value)


_ENV = _PromptSandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    finalize=_no_callables,
    # no filesystem loader: a template includes only the fragments handed to it (``includes``)
    loader=None,
)
_ENV.globals["range"] = _bounded_range


@dataclass(frozen=True)
class RenderLimits:
    max_template_chars: int = 50_000
    max_variable_chars: int = 200_000
    max_rendered_chars: int = 200_000
    max_render_seconds: float = 2.0

    @classmethod
    def from_settings(cls, settings) -> "RenderLimits":
        return cls(
            max_template_chars=settings.max_template_chars,
            max_variable_chars=settings.max_variable_chars,
            max_rendered_chars=settings.max_rendered_chars,
            max_render_seconds=settings.max_render_seconds,
        )


FRAGMENT_PREFIX = "fragment:"


@dataclass(frozen=True)
class RunSettings:
    """What a registered version asks of its runs, beyond its text.

    ``provider``: the provider spec used when the caller names none; ``temperature`` and
    ``max_tokens`` go with every model call; ``untrusted``: variables whose values the
    injection screen reads as data (indirect injection); ``check_values``: validates the
    values before rendering (types, choices, sizes), raising ``InputError``.
    """

    provider: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    untrusted: frozenset[str] = frozenset()
    check_values: Callable[[dict[str, object]], None] | None = field(default=None, compare=False)

    def call_options(self) -> dict[str, float | int]:
        """Keyword arguments for the model call (only what the version sets)."""
        out: dict[str, float | int] = {}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        return out


def parse_source(source: str, where: str = "template") -> nodes.Template:
    """The Jinja2 syntax tree of ``source`` in the sandbox's dialect; a syntax error names the line."""
    try:
        return _ENV.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"Syntax error in the {where} on line {exc.lineno}: {exc.message}.",
            "Check the {{ }} and {% %} pairs on that line.",
        ) from None


def source_variables(ast: nodes.Template) -> list[str]:
    """Variables a syntax tree reads, in order of first use (loop-locals and assignments excluded)."""
    undeclared = meta.find_undeclared_variables(ast)
    ordered: list[str] = []
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load" and node.name in undeclared and node.name not in ordered:
            ordered.append(node.name)
    return ordered


def included_names(ast: nodes.Template, where: str = "template") -> list[str]:
    """Names this tree includes (``{% include "fragment:NAME@LABEL" %}``), in order. Only literal
    fragment names may be included; ``import`` and ``extends`` are refused."""
    for node in ast.find_all((nodes.Import, nodes.FromImport, nodes.Extends)):
        raise TemplateError(
            f"The {where} uses '{{% {type(node).__name__.lower()} %}}' on line {node.lineno}.",
            'Templates may only include fragments: {% include "fragment:NAME" %}.',
        )
    names: list[str] = []
    for name in meta.find_referenced_templates(ast):
        if name is None:
            raise TemplateError(
                f"The {where} includes a fragment whose name is computed.",
                'Write the name literally: {% include "fragment:disclaimer@production" %}.',
            )
        if not name.startswith(FRAGMENT_PREFIX):
            raise TemplateError(
                f"The {where} includes {name!r}, which is not a fragment.",
                'Include fragments by reference: {% include "fragment:disclaimer@production" %}.',
            )
        if name not in names:
            names.append(name)
    return names


class PromptTemplate:
    """A parsed template: its source, declared variables and a stable content hash.

    ``includes`` maps each fragment reference the source may include
    (``fragment:NAME@LABEL``) to the fragment source it stands for; fragments may
    include each other within the same mapping. Nothing outside it can be included.
    """

    def __init__(
        self,
        source: str,
        limits: RenderLimits | None = None,
        includes: dict[str, str] | None = None,
        run: RunSettings | None = None,
    ) -> None:
        self.limits = limits or RenderLimits()
        self.run = run or RunSettings()
        if not isinstance(source, str):
            raise TemplateError("The template must be text.", "Paste the template as plain text.")
        check_text(source, "template", self.limits.max_template_chars)
        if not source.strip():
            raise TemplateError("The template is empty.", "Write a prompt, e.g. 'Summarise {{ document }}'.")
        self.source = source
        self.includes = dict(includes or {})
        self._ast = parse_source(source)
        self._asts = [self._ast]
        self._seen: set[str] = set()
        for name in included_names(self._ast):
            self._include_tree(name, [])
        env = _ENV.overlay(loader=jinja2.DictLoader(self.includes)) if self.includes else _ENV
        self._template = env.from_string(source)

    def _include_tree(self, name: str, chain: list[str]) -> None:
        """Parse fragment ``name`` and what it includes; refuse unknown names and cycles."""
        if name in chain:
            raise TemplateError(
                "Fragments include each other in a cycle: " + " → ".join([*chain, name]) + ".",
                "Remove one of the includes.",
            )
        if name not in self.includes:
            raise TemplateError(f"Unknown fragment {name!r}.", "Create the fragment first, or fix the reference.")
        ast = parse_source(self.includes[name], f"fragment {name}")
        if name not in self._seen:
            self._seen.add(name)
            self._asts.append(ast)
        for inner in included_names(ast, f"fragment {name}"):
            self._include_tree(inner, [*chain, name])

    @cached_property
    def variables(self) -> list[str]:
        """Variables the template and its fragments read, in order of first use (loop-locals excluded)."""
        ordered: list[str] = []
        for ast in self._asts:
            ordered += [name for name in source_variables(ast) if name not in ordered]
        return ordered

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the source and of every fragment source it may include."""
        h = hashlib.sha256(self.source.encode("utf-8"))
        for name in sorted(self.includes):
            h.update(b"\0" + name.encode("utf-8") + b"\0" + self.includes[name].encode("utf-8"))
        return h.hexdigest()

    def render_messages(self, variables: dict[str, object]) -> list[tuple[str, str]]:
        """The rendered prompt as chat messages: one user message."""
        return [("user", self.render(variables))]

    def render(self, variables: dict[str, object]) -> str:
        """Render with ``variables``; unknown or missing names are errors, never blanks."""
        check_variables(self.variables, variables, self.limits, self.run)
        return self.render_prechecked(variables)

    def render_prechecked(self, variables: dict[str, object]) -> str:
        """Render values already checked by ``check_variables`` (time and size still capped)."""
        result: list[str] = []
        error: list[BaseException] = []
        size = 0
        cancelled = threading.Event()

        def work() -> None:
            nonlocal size
            _deadline.at = time.monotonic() + self.limits.max_render_seconds
            try:
                for chunk in self._template.generate(**variables):
                    if cancelled.is_set():
                        return
                    size += len(chunk)
                    if size > self.limits.max_rendered_chars:
                        raise _TooLarge()
                    result.append(chunk)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                error.append(exc)
            finally:
                _deadline.at = float("inf")

        worker = threading.Thread(target=work, daemon=True, name="template-render")
        worker.start()
        worker.join(self.limits.max_render_seconds)
        if worker.is_alive() or (error and isinstance(error[0], _RenderTimeout)):
            cancelled.set()
            raise TemplateError(
                f"Rendering took longer than {self.limits.max_render_seconds:g} s and was stopped.",
                "Simplify loops in the template.",
            )
        if error:
            raise _translate(error[0]) from None
        return "".join(result)


class _TooLarge(Exception):
    pass


def check_variables(
    declared: list[str], variables: dict[str, object], limits: RenderLimits, run: RunSettings
) -> None:
    """Every declared variable has a value, no value is unknown or oversized, and the
    version's own checks (types, choices, sizes) pass."""
    missing = [name for name in declared if name not in variables]
    if missing:
        raise TemplateError(
            f"Missing value for variable{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.",
            "Fill in every variable the template declares.",
        )
    unknown = sorted(set(variables) - set(declared))
    if unknown:
        raise TemplateError(
            f"Unknown variable{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.",
            f"The template declares: {', '.join(declared) or 'no variables'}. "
            "Remove the extra values or use them in the template.",
        )
    for name, value in variables.items():
        if isinstance(value, str):
            check_text(value, f"variable '{name}'", limits.max_variable_chars)
    if run.check_values is not None:
        run.check_values(variables)


def _translate(exc: BaseException) -> TemplateError:
    if isinstance(exc, _TooLarge):
        return TemplateError(
            "The rendered prompt is larger than the configured limit.",
            "Shorten the template or the variable values (setting max_rendered_chars).",
        )
    if isinstance(exc, SecurityError):
        return TemplateError(
            f"The template tried something the sandbox forbids ({exc}).",
            "Templates may only read variables and use filters; remove attribute tricks.",
        )
    if isinstance(exc, jinja2.UndefinedError):
        return TemplateError(f"Template error: {exc.message}.", "Check the variable and attribute names.")
    lineno = _template_line(exc)
    where = f" on line {lineno}" if lineno else ""
    return TemplateError(f"Template failed to render{where}: {type(exc).__name__}: {exc}.", "Fix that expression.")


def _template_line(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def check_text(value: str, what: str, max_chars: int) -> None:
    """Reject oversized or binary text with an error that says what to do."""
    if len(value) > max_chars:
        raise InputError(
            f"The {what} has {len(value):,} characters; the limit is {max_chars:,}.",
            "Shorten it, or raise the limit in settings if this is intended.",
        )
    ensure_text(value, f"The {what}")
