"""The example libraries behind the semantic rules: the project's own writing, one JSON
object per line in ``security/injection/library/`` (see its README).

- ``attacks.jsonl``: known direct attacks, each with its rule category;
- ``assistant_requests.jsonl``: requests addressed to an assistant (what an indirect
  injection hides in a document);
- ``document_text.jsonl``: what documents ordinarily say, requests to their reader included;
- ``attacks_varied.jsonl``: attacks worded every other way (polite, smuggled into a task, notes
  to the AI, invented authority, tools, exfiltration, obfuscation) in fifteen languages;
- ``lookalikes.jsonl``: benign prompts that look like attacks (talk about injection, system
  prompts being written, lasting preferences, training role-play), the same languages;
- ``documents_clean.jsonl`` / ``documents_injected.jsonl``: whole ordinary documents (e-mails,
  notices, tickets, policies, transcripts) and documents of the same kinds carrying one
  instruction aimed at the AI that processes them.

A team adds its own examples in files of the same names in ``injection.library_dir``;
they are read after the built-in ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from config.errors import ConfigError

BUILTIN_DIR = Path(__file__).resolve().parent / "library"
ATTACKS = "attacks.jsonl"
REQUESTS = "assistant_requests.jsonl"
DOCUMENTS = "document_text.jsonl"
VARIED_ATTACKS = "attacks_varied.jsonl"
LOOKALIKES = "lookalikes.jsonl"
CLEAN_DOCUMENTS = "documents_clean.jsonl"
INJECTED_DOCUMENTS = "documents_injected.jsonl"


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str  # an attack's category, or the kind of request / document text


def _read(path: Path) -> tuple[Example, ...]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = str(row["text"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"Line {number} of the injection library {path} is not a JSON object with a text ({exc}).",
                'Fix the line: {"text": "...", "category": "..."}.',
            ) from exc
        if text:
            examples.append(Example(text, str(row.get("category") or row.get("kind") or "")))
    return tuple(examples)


@lru_cache(maxsize=16)
def load(name: str, extra_dir: Path | None = None) -> tuple[Example, ...]:
    """The built-in examples of library ``name``, then a team's own from ``extra_dir``."""
    folders = [BUILTIN_DIR] + ([Path(extra_dir)] if extra_dir else [])
    examples = tuple(e for folder in folders if (folder / name).is_file() for e in _read(folder / name))
    if not examples:
        raise ConfigError(f"The injection library {name} is empty or missing.", f"Restore {BUILTIN_DIR / name}.")
    return examples
