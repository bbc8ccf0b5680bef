"""The lint rule registry, its plugins, and the lint run itself.

A rule is a small ``LintRule`` subclass with an ``id`` (``PF001``...), a ``severity``
(``error`` blocks a save, ``warning`` does not), a ``title`` and a fix ``hint``, and a
``check(ctx)`` that yields ``Finding``s. Built-ins (``prompts/lint/rules/``) register through
``register_rule``, the same call a plugin uses. Plugins are Python files in
``settings.lint_plugins_dir`` (default ``plugins/lint``) and entry points in the group
``promptforge.lint_rules`` (naming a module, or a ``LintRule`` subclass); a plugin that fails
to load is reported by ``lint_plugin_errors`` and never stops the lint.

``lint(spec)`` runs the rules: a part that does not parse gives one ``PF000`` error (and the
other rules are skipped); a rule that raises is reported as an error finding naming the rule;
a rule that cannot judge (no scrubber, unknown context window) says why in ``skipped``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, ClassVar, TypeVar

from config.errors import InputError
from config.plugins import PluginFolder
from prompts.lint.context import LintContext
from prompts.spec import PromptSpec

if TYPE_CHECKING:
    from config.settings import Settings

logger = logging.getLogger(__name__)

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)
COMPILE_RULE = "PF000"  # reserved: a part or fragment that does not parse
ENTRY_POINT_GROUP = "promptforge.lint_rules"
_ID = re.compile(r"^[A-Z][A-Z_]*[0-9]{3,}$")


@dataclass(frozen=True)
class Finding:
    """One problem a rule found. Messages name variables, lines and entity types, never values."""

    rule: str
    severity: str
    message: str
    hint: str
    where: str = "template"
    line: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class LintRule:
    """Base class of lint rules: set the class attributes, implement ``check``.

    ``skip_reason`` may say why the rule cannot judge this prompt (it is then listed in the
    report's ``skipped`` and ``check`` is not called).
    """

    id: ClassVar[str] = ""
    severity: ClassVar[str] = WARNING
    title: ClassVar[str] = ""
    hint: ClassVar[str] = ""

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        raise NotImplementedError

    def skip_reason(self, ctx: LintContext) -> str | None:
        return None

    def finding(
        self, message: str, where: str = "template", line: int | None = None, hint: str | None = None
    ) -> Finding:
        """A finding of this rule (its id, severity and, unless given, its hint)."""
        return Finding(self.id, self.severity, message, hint or self.hint, where, line)


R = TypeVar("R", bound=type[LintRule])

_lock = threading.RLock()
_rules: dict[str, type[LintRule]] = {}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_rule(cls: R) -> R:
    """Register a lint rule class by its id (usable as a decorator).

    A second class under a taken id is refused, unless it is the same class (a module
    imported again, a plugin file reloaded)."""
    if not (isinstance(cls, type) and issubclass(cls, LintRule)):
        raise TypeError("a lint rule must be a prompts.lint.LintRule subclass")
    rule_id = getattr(cls, "id", "")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise ValueError(
            f"lint rule {cls.__name__} has id {rule_id!r}: use capitals then digits, e.g. ACME001"
        )
    if rule_id == COMPILE_RULE:
        raise ValueError(f"lint rule id {COMPILE_RULE} is reserved for prompts that do not compile")
    if cls.severity not in SEVERITIES:
        raise ValueError(f"lint rule {rule_id} has severity {cls.severity!r}: use 'error' or 'warning'")
    for attr in ("title", "hint"):
        if not isinstance(getattr(cls, attr), str) or not getattr(cls, attr).strip():
            raise ValueError(f"lint rule {rule_id} ({cls.__name__}) does not set {attr}")
    if cls.check is LintRule.check:
        raise ValueError(f"lint rule {rule_id} ({cls.__name__}) does not implement check(ctx)")
    with _lock:
        taken = _rules.get(rule_id)
        if taken is not None and _qualified(taken) != _qualified(cls):
            raise ValueError(
                f"lint rule id {rule_id!r} is taken by {_qualified(taken)}; give {cls.__name__} another id"
            )
        _rules[rule_id] = cls
    return cls


def unregister_rule(rule_id: str) -> None:
    """Forget a rule (tests, and reloading a plugin folder)."""
    with _lock:
        _rules.pop(rule_id, None)


def _register_entry(loaded: object) -> None:
    if isinstance(loaded, type) and issubclass(loaded, LintRule):
        register_rule(loaded)


_PLUGINS = PluginFolder(
    ENTRY_POINT_GROUP, "lint_plugins_dir", "promptforge_lint_plugins",
    register_entry=_register_entry, what="lint rule",
)


def _load_builtins() -> None:
    import prompts.lint.rules  # noqa: F401  (the built-ins register on import)


def lint_rules(settings: Settings | None = None) -> dict[str, type[LintRule]]:
    """Every rule by id (sorted): built-ins, then plugins (folder and entry points) for ``settings``."""
    _load_builtins()
    _PLUGINS.load(settings)
    with _lock:
        return dict(sorted(_rules.items()))


def lint_plugin_errors() -> dict[str, str]:
    """Lint plugins that failed to load: source (file or entry point) -> what went wrong."""
    return _PLUGINS.errors()


def reset_plugins_for_tests() -> None:
    """Forget which plugin files were imported (the registry keeps their rules)."""
    _PLUGINS.reset()


@dataclass
class LintReport:
    """The findings of a lint run, and the rules that could not judge (rule id -> why)."""

    findings: list[Finding] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        """Findings that block a save."""
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when nothing blocks a save (warnings allowed)."""
        return not self.errors

    def to_dict(self) -> dict:
        findings = [f.to_dict() for f in self.findings]
        return {"ok": self.ok, "findings": findings, "skipped": dict(self.skipped)}


def lint(
    spec: PromptSpec,
    *,
    includes: dict[str, str] | None = None,
    scrubber: object | None = None,
    context_window: int | None = None,
    only: Iterable[str] | None = None,
    settings: Settings | None = None,
    is_untrusted: Callable[[str], bool] | None = None,
) -> LintReport:
    """Run the lint rules (all, or the ids in ``only``) on ``spec``; see ``LintContext`` for the rest."""
    rules = lint_rules(settings)
    if only is not None:
        wanted = list(dict.fromkeys(only))
        unknown = [rule_id for rule_id in wanted if rule_id not in rules]
        if unknown:
            raise InputError(
                f"Unknown lint rule{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.",
                "Known rules: " + ", ".join(rules) + ".",
            )
        rules = {rule_id: cls for rule_id, cls in rules.items() if rule_id in wanted}
    ctx = LintContext(
        spec, includes=includes or {}, scrubber=scrubber, context_window=context_window,
        is_untrusted=is_untrusted, settings=settings,
    )
    report = LintReport()
    if ctx.compile_errors:
        for error in ctx.compile_errors:
            report.findings.append(
                Finding(COMPILE_RULE, ERROR, error.message, error.hint, error.where, error.line)
            )
        report.skipped = {rule_id: "the prompt does not compile (see PF000)" for rule_id in rules}
        return report
    for rule_id, cls in rules.items():
        try:
            rule = cls()
            reason = rule.skip_reason(ctx)
            if reason:
                report.skipped[rule_id] = reason
                continue
            found = list(rule.check(ctx))
            for item in found:
                if not isinstance(item, Finding):
                    raise TypeError(f"check() yielded a {type(item).__name__}, not a Finding")
        except Exception as exc:  # noqa: BLE001 - a failing rule is a finding, never a crash
            # the exception's text may quote the prompt: only its type is logged and shown
            logger.warning("lint rule %s failed: %s", rule_id, type(exc).__name__)
            report.findings.append(
                Finding(
                    rule_id, ERROR,
                    f"Lint rule {rule_id} ({cls.title}) failed with {type(exc).__name__}; "
                    "its checks did not run.",
                    "Fix or remove the rule (see the log), or run the lint without it.",
                    where="lint",
                )
            )
            continue
        report.findings.extend(found)
    return report
