"""Injection rules: a small base class, a regex convenience and the registry.

A rule turns text into ``Hit``s, each with a weight in 0..1 (how strongly it alone
suggests an attack). Regex rules are one kind; semantic or decoding rules subclass
``Rule`` the same way and register through the same ``register_rule``.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from security.injection.cues import talks_about_attacks

CATEGORIES = frozenset(
    {"instruction_override", "system_prompt_extraction", "roleplay_jailbreak", "delimiter_injection"}
)
MAX_EXCERPT = 80


def excerpt(text: str, limit: int = MAX_EXCERPT) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Hit:
    """One match of a rule: where, how strong, and a short excerpt of the matched text."""

    rule: str
    category: str
    weight: float
    start: int
    end: int
    excerpt: str
    via: str = ""  # "" in the text itself, else the view it was found in ("decoded base64")
    example: str = ""  # semantic rules: the library example it is closest to
    similarity: float | None = None  # ... and how close (cosine)

    @property
    def reason(self) -> str:
        found = f"{self.category} ({self.via})" if self.via else f"{self.category}: '{self.excerpt}'"
        if self.example:
            found += f", similar ({self.similarity:.2f}) to '{self.example}'"
        return found

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Rule(ABC):
    """A named detector of one injection technique."""

    def __init__(self, name: str, category: str, description: str, weight: float) -> None:
        if not name or not category:
            raise ValueError("a rule needs a name and a category")
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"rule {name}: weight must be within 0..1")
        self.name = name
        self.category = category
        self.description = description
        self.weight = weight

    # True: the rule reads only untrusted values (a pasted e-mail or document), where a
    # request to the assistant is itself suspicious
    untrusted_only = False
    # True: the rule runs a model (costly); the pipeline skips such rules on trusted variable
    # values, which it screens again inside the rendered prompt
    uses_model = False

    @abstractmethod
    def match(self, text: str) -> list[Hit]:
        """Every place in ``text`` where this rule fires."""

    def match_many(self, texts: Sequence[str]) -> list[list[Hit]]:
        """``match`` for each text; model-backed rules override it to batch."""
        return [self.match(text) for text in texts]

    def hit(self, text: str, start: int, end: int, weight: float | None = None) -> Hit:
        """A ``Hit`` of this rule over ``text[start:end]``."""
        return Hit(
            rule=self.name,
            category=self.category,
            weight=self.weight if weight is None else weight,
            start=start,
            end=end,
            excerpt=excerpt(text[start:end]),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.category!r}, weight={self.weight})"


# how much a topic rule's hit weighs in a text that talks about attacks: alone, under any flag
TOPIC_DISCOUNT = 0.35


class RegexRule(Rule):
    """A rule that fires on any of ``patterns`` (case-insensitive unless ``flags`` say otherwise).

    A pattern with a group named ``hit`` reports only that group, and its matches
    without it are skipped: the pattern can consume look-alikes ("<s>text</s>").

    A ``topic`` rule matches a thing one can talk about ("jailbreak", "developer mode", "your
    system prompt") rather than a move against the model; in a text that talks about attacks
    (explaining, defending, training: ``cues.talks_about_attacks``) its hits weigh
    ``TOPIC_DISCOUNT`` times as much, so the mention alone does not flag a question about it
    while it still adds to any other rule's hit.
    """

    def __init__(
        self,
        name: str,
        category: str,
        description: str,
        weight: float,
        patterns: Iterable[str],
        flags: int = re.IGNORECASE,
        untrusted_only: bool = False,
        topic: bool = False,
    ) -> None:
        super().__init__(name, category, description, weight)
        self.untrusted_only = untrusted_only
        self.topic = topic
        self.patterns = [re.compile(p, flags | re.MULTILINE) for p in patterns]
        if not self.patterns:
            raise ValueError(f"rule {name}: at least one pattern is needed")

    def match(self, text: str) -> list[Hit]:
        spans = []
        for pattern in self.patterns:
            group = "hit" if "hit" in pattern.groupindex else 0
            for m in pattern.finditer(text):
                start, end = m.span(group)
                if end > start >= 0:
                    spans.append((start, end))
        weight = self.weight
        if spans and self.topic and talks_about_attacks(text):
            weight = round(weight * TOPIC_DISCOUNT, 4)
        return [self.hit(text, start, end, weight=weight) for start, end in spans]


_lock = threading.Lock()
_rules: dict[str, Rule] = {}


def register_rule(rule: Rule) -> Rule:
    """Register ``rule`` under its name (a rule with the same name is replaced)."""
    if not isinstance(rule, Rule):
        raise TypeError("an injection rule must be a security.injection.Rule")
    with _lock:
        _rules[rule.name] = rule
    return rule


def registered_rules() -> list[Rule]:
    """The registered rules, in registration order."""
    with _lock:
        return list(_rules.values())
