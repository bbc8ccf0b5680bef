"""The offline provider: a deterministic, local, clearly labelled simulation.

No network, no randomness: the same messages always give the same reply. The
reply restates the task's first sentence, counts its words and echoes the
placeholders it saw (``<PERSON_1>``, ``<EMAIL_ADDRESS>``) so output scrubbing
and leak checks can be exercised end to end without any model.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration
from langchain_core.outputs import ChatResult as LCChatResult

from execution.providers.tokens import count_tokens, truncate_tokens

SIMULATION_LABEL = "[offline simulation]"
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_MAX_TASK_CHARS = 160


def _first_sentence(text: str) -> str:
    for part in _SENTENCE_END.split(text.strip()):
        sentence = " ".join(part.split())
        if sentence:
            return sentence if len(sentence) <= _MAX_TASK_CHARS else sentence[: _MAX_TASK_CHARS - 1] + "…"
    return "(empty prompt)"


def _placeholders(text: str) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))  # unique, in order of appearance


def simulate_reply(prompt: str, system: str = "") -> str:
    """The offline answer to ``prompt`` (a pure function of its arguments)."""
    placeholders = _placeholders(f"{system}\n{prompt}")
    fingerprint = hashlib.sha256(f"{system}\x00{prompt}".encode()).hexdigest()[:8]
    return "\n".join(
        [
            f"{SIMULATION_LABEL} No model was called; this reply is built locally from the prompt.",
            f"Task: {_first_sentence(prompt)}",
            f"Prompt size: {len(prompt.split())} words"
            + (f" (plus a {len(system.split())}-word system prompt)." if system else "."),
            f"Placeholders seen: {', '.join(placeholders) if placeholders else 'none'}",
            (
                "Answer: 1) The task is restated above. 2) Placeholders are kept as they are. "
                "3) Choose a real provider for a substantive answer."
            ),
            f"Fingerprint: {fingerprint}",
        ]
    )


class OfflineChatModel(BaseChatModel):
    """A LangChain chat model that simulates an answer locally (usage counted with tiktoken)."""

    model_name: str = "offline"

    @property
    def _llm_type(self) -> str:
        return "promptforge-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> LCChatResult:
        system = "\n".join(m.text for m in messages if isinstance(m, SystemMessage))
        humans = [m.text for m in messages if isinstance(m, HumanMessage)]
        prompt = humans[-1] if humans else ""
        text = simulate_reply(prompt, system)
        max_tokens = kwargs.get("max_tokens")
        if max_tokens:  # a version's token limit cuts the simulated answer as a model would
            text = truncate_tokens(text, int(max_tokens))
        input_tokens = sum(count_tokens(m.text) for m in messages)
        output_tokens = count_tokens(text)
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
            },
            response_metadata={
                "model_name": self.model_name,
                "simulated": True,
                "usage_source": "tiktoken",
            },
        )
        return LCChatResult(generations=[ChatGeneration(message=message)])
