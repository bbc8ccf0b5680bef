"""What a prompt version is: its full, immutable specification.

A spec is either a template (one Jinja2 source) or chat messages (system / user /
assistant, each a Jinja2 source), plus typed variables, model defaults, an optional
response format (a JSON Schema) and the fragment versions it was pinned to when it
was saved. Its canonical JSON (sorted keys, no whitespace) is hashed with SHA-256:
the same spec always has the same digest, so saving unchanged content is a no-op.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from config.errors import InputError
from execution.chat_template import ROLES, transcript

SCHEMA_VERSION = 1

VARIABLE_TYPES = {
    "short_text": "Short text",
    "long_text": "Long text",
    "number": "Number",
    "choice": "Choice",
    "untrusted": "Untrusted content",  # screened as data (indirect injection)
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

# sizes assumed for variables that declare none (characters), used for context-window checks
DEFAULT_MAX_CHARS = {"short_text": 200, "long_text": 4000, "number": 32, "choice": 100, "untrusted": 8000}


@dataclass(frozen=True)
class VariableSpec:
    name: str
    type: str = "short_text"
    description: str = ""
    choices: tuple[str, ...] = ()
    max_chars: int | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name or ""):
            raise InputError(
                f"Invalid variable name {self.name!r}.", "Use letters, digits and '_' (not starting with a digit)."
            )
        if self.type not in VARIABLE_TYPES:
            raise InputError(
                f"Variable {self.name!r} has unknown type {self.type!r}.",
                "Use one of: " + ", ".join(VARIABLE_TYPES) + ".",
            )
        if self.type == "choice" and not self.choices:
            raise InputError(f"Choice variable {self.name!r} has no choices.", "List the values it may take.")
        if self.max_chars is not None and self.max_chars < 1:
            raise InputError(f"Variable {self.name!r}: max_chars must be positive.", "Leave it empty for the default.")

    @property
    def untrusted(self) -> bool:
        return self.type == "untrusted"

    def check_value(self, value: object) -> None:
        """Refuse a value this variable's type does not allow, saying what would do."""
        text = str(value)
        if self.max_chars is not None and len(text) > self.max_chars:
            raise InputError(
                f"Variable '{self.name}' has {len(text):,} characters; this prompt allows {self.max_chars:,}.",
                "Shorten the value, or raise the variable's limit in a new version of the prompt.",
            )
        if self.type == "number":
            try:
                float(text.strip().replace(",", ""))
            except ValueError:
                raise InputError(f"Variable '{self.name}' must be a number, not {text[:20]!r}.", "Write a number, e.g. 1250.") from None
        if self.type == "choice" and text not in self.choices:
            raise InputError(
                f"Variable '{self.name}' must be one of: {', '.join(self.choices)}.", "Pick one of the listed values."
            )

    @property
    def size(self) -> int:
        """The most characters a value may have (declared, or the type's assumption)."""
        return self.max_chars or DEFAULT_MAX_CHARS[self.type]

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.description:
            out["description"] = self.description
        if self.choices:
            out["choices"] = list(self.choices)
        if self.max_chars is not None:
            out["max_chars"] = self.max_chars
        return out

    @classmethod
    def from_dict(cls, data: dict) -> VariableSpec:
        _only(data, {"name", "type", "description", "choices", "max_chars"}, "variable")
        return cls(
            name=str(data.get("name", "")),
            type=str(data.get("type", "short_text")),
            description=str(data.get("description", "") or ""),
            choices=tuple(str(c) for c in data.get("choices") or ()),
            max_chars=_opt_int(data.get("max_chars"), "max_chars"),
        )


@dataclass(frozen=True)
class ModelDefaults:
    provider: str | None = None  # a provider spec: offline, openai:gpt-4o-mini, compat:MODEL@URL
    temperature: float | None = None
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.temperature is not None:  # 1 and 1.0 are one setting: one digest
            object.__setattr__(self, "temperature", float(self.temperature))
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise InputError("Temperature must be between 0 and 2.", "Leave it empty for the provider's default.")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise InputError("Max tokens must be positive.", "Leave it empty for the provider's default.")

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict | None) -> ModelDefaults:
        data = data or {}
        _only(data, {"provider", "temperature", "max_tokens"}, "model defaults")
        temperature = data.get("temperature")
        return cls(
            provider=(str(data["provider"]).strip() or None) if data.get("provider") else None,
            temperature=float(temperature) if temperature is not None else None,
            max_tokens=_opt_int(data.get("max_tokens"), "max_tokens"),
        )


@dataclass(frozen=True)
class Message:
    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InputError(f"Unknown message role {self.role!r}.", "Use system, user or assistant.")


@dataclass(frozen=True)
class PromptSpec:
    """One version's full content. ``fragments`` maps each include reference to the
    fragment version it resolved to (filled by the registry when the version is saved)."""

    template: str = ""
    messages: tuple[Message, ...] = ()
    variables: tuple[VariableSpec, ...] = ()
    defaults: ModelDefaults = field(default_factory=ModelDefaults)
    response_format: dict | None = None  # a JSON Schema
    fragments: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.template and self.messages:
            raise InputError("A prompt is either a template or chat messages, not both.", "Keep one of them.")
        names = [v.name for v in self.variables]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InputError(f"Variable declared twice: {', '.join(repeated)}.", "Declare each variable once.")
        if self.response_format is not None and not isinstance(self.response_format, dict):
            raise InputError("The response format must be a JSON Schema object.", 'For example {"type": "object"}.')

    @property
    def kind(self) -> str:
        return "chat" if self.messages else "template"

    def sources(self) -> list[tuple[str, str]]:
        """(where, Jinja2 source) for each part: ``template`` or ``system #1``, ``user #2``…"""
        if self.kind == "template":
            return [("template", self.template)]
        return [(f"{m.role} #{i + 1}", m.content) for i, m in enumerate(self.messages)]

    @property
    def text(self) -> str:
        """Every source as one text (chat messages as ``[role]`` sections), for search and display."""
        if self.kind == "template":
            return self.template
        return transcript([(m.role, m.content) for m in self.messages])

    def variable(self, name: str) -> VariableSpec | None:
        return next((v for v in self.variables if v.name == name), None)

    def check_values(self, values: dict[str, object]) -> None:
        """Every value this spec types is of its type (numbers, choices, sizes)."""
        for variable in self.variables:
            if variable.name in values:
                variable.check_value(values[variable.name])

    def with_fragments(self, pins: dict[str, int]) -> PromptSpec:
        return replace(self, fragments=dict(sorted(pins.items())))

    # -- serialisation -------------------------------------------------------------

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"schema": SCHEMA_VERSION, "kind": self.kind}
        if self.kind == "template":
            out["template"] = self.template
        else:
            out["messages"] = [{"role": m.role, "content": m.content} for m in self.messages]
        out["variables"] = [v.to_dict() for v in self.variables]
        out["defaults"] = self.defaults.to_dict()
        out["response_format"] = self.response_format
        out["fragments"] = dict(sorted(self.fragments.items()))
        return out

    @classmethod
    def from_dict(cls, data: dict) -> PromptSpec:
        if not isinstance(data, dict):
            raise InputError("A prompt spec must be a mapping.", "See the YAML format in the README.")
        schema = data.get("schema", SCHEMA_VERSION)
        if schema != SCHEMA_VERSION:
            raise InputError(
                f"Unknown prompt spec schema version {schema!r}.",
                f"This PromptForge reads schema {SCHEMA_VERSION}; upgrade PromptForge or re-export the file.",
            )
        _only(data, {"schema", "kind", "template", "messages", "variables", "defaults", "response_format", "fragments"}, "prompt spec")
        messages = data.get("messages") or ()
        if not isinstance(messages, (list, tuple)):
            raise InputError("'messages' must be a list.", "Write each message as {role: ..., content: ...}.")
        try:
            parsed_messages = tuple(Message(str(m["role"]), str(m["content"])) for m in messages)
        except (KeyError, TypeError):
            raise InputError("Each message needs a role and a content.", "Write {role: user, content: ...}.") from None
        variables = data.get("variables") or ()
        if not isinstance(variables, (list, tuple)) or not all(isinstance(v, dict) for v in variables):
            raise InputError("'variables' must be a list of mappings.", "Write each as {name: ..., type: ...}.")
        fragments = data.get("fragments") or {}
        if not isinstance(fragments, dict):
            raise InputError("'fragments' must map include references to versions.", 'e.g. {"fragment:tone": 2}.')
        return cls(
            template=str(data.get("template") or ""),
            messages=parsed_messages,
            variables=tuple(VariableSpec.from_dict(v) for v in variables),
            defaults=ModelDefaults.from_dict(data.get("defaults")),
            response_format=data.get("response_format"),
            fragments={str(k): _opt_int(v, "fragment version") for k, v in fragments.items()},
        )

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def _only(data: dict, allowed: set[str], what: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputError(
            f"Unknown field{'s' if len(unknown) > 1 else ''} in {what}: {', '.join(map(str, unknown))}.",
            "Allowed: " + ", ".join(sorted(allowed)) + ".",
        )


def _opt_int(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a whole number, not {str(value)[:20]!r}.", "Write a number.") from None
