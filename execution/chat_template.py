"""Chat prompts: system / user / assistant messages, each a sandboxed template.

A ``ChatTemplate`` renders to a list of ``(role, text)`` messages that the pipeline
scrubs one by one (one pseudonym map per row, so a name gets the same stand-in in
every message), screens and sends as a conversation. What is recorded and shown is
the scrubbed transcript: each message under a ``[role]`` header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property

from config.errors import TemplateError
from execution.templates import PromptTemplate, RenderLimits, RunSettings, check_variables
from security.pii.results import Entity, ScrubResult

ROLES = ("system", "user", "assistant")
Messages = list[tuple[str, str]]


def transcript(messages: Sequence[tuple[str, str]]) -> str:
    """Messages as one text: ``[role]`` then the content, blank line between messages."""
    return "\n\n".join(f"[{role}]\n{text}" for role, text in messages)


def _header(role: str, first: bool) -> str:
    return ("" if first else "\n\n") + f"[{role}]\n"


def joined_scrub(roles: Sequence[str], originals: Sequence[str], parts: Sequence[ScrubResult]) -> ScrubResult:
    """The scrubbed transcript of a row whose messages were scrubbed one by one, with
    every entity's offsets moved to where its message sits in the transcript."""
    if len(roles) == 1 and roles[0] == "user":
        return parts[0]  # a plain template: the prompt itself, no headers
    entities: list[Entity] = []
    text: list[str] = []
    at_in = at_out = 0
    for i, (role, original, part) in enumerate(zip(roles, originals, parts, strict=True)):
        head = _header(role, i == 0)
        at_in, at_out = at_in + len(head), at_out + len(head)
        for e in part.entities:
            moved = replace(e, start=e.start + at_in, end=e.end + at_in)
            if e.out_start is not None and e.out_end is not None:
                moved = replace(moved, out_start=e.out_start + at_out, out_end=e.out_end + at_out)
            entities.append(moved)
        text += [head, part.text]
        at_in, at_out = at_in + len(original), at_out + len(part.text)
    return ScrubResult("".join(text), entities)


class ChatTemplate:
    """Chat messages as sandboxed templates sharing one set of fragments and variables.

    Quacks like ``PromptTemplate`` where the pipeline needs it (``variables``,
    ``digest``, ``run``, ``render_messages``); ``render`` gives the transcript.
    """

    def __init__(
        self,
        messages: Sequence[tuple[str, str]],
        limits: RenderLimits | None = None,
        includes: dict[str, str] | None = None,
        run: RunSettings | None = None,
    ) -> None:
        if not messages:
            raise TemplateError("The chat prompt has no messages.", "Add at least one user message.")
        self.limits = limits or RenderLimits()
        self.run = run or RunSettings()
        parts = []
        for i, (role, source) in enumerate(messages):
            if role not in ROLES:
                raise TemplateError(f"Unknown message role {role!r}.", "Use system, user or assistant.")
            try:
                parts.append((role, PromptTemplate(source, self.limits, includes=includes)))
            except TemplateError as exc:
                raise TemplateError(f"Message {i + 1} ({role}): {exc.message}", exc.hint) from None
        if not any(role == "user" for role, _ in parts):
            raise TemplateError("The chat prompt has no user message.", "Add a user message: models answer one.")
        self.parts = parts
        self.includes = dict(includes or {})
        self.source = transcript([(role, t.source) for role, t in parts])

    @cached_property
    def variables(self) -> list[str]:
        ordered: list[str] = []
        for _, template in self.parts:
            ordered += [name for name in template.variables if name not in ordered]
        return ordered

    @cached_property
    def digest(self) -> str:
        h = hashlib.sha256(b"chat")
        for role, template in self.parts:
            h.update(b"\0" + role.encode() + b"\0" + template.digest.encode())
        return h.hexdigest()

    def render_messages(self, variables: dict[str, object]) -> Messages:
        check_variables(self.variables, variables, self.limits, self.run)
        out: Messages = []
        for role, template in self.parts:
            text = template.render_prechecked({k: variables[k] for k in template.variables})
            out.append((role, text))
        return out

    def render(self, variables: dict[str, object]) -> str:
        return transcript(self.render_messages(variables))
