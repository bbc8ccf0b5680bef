"""``launch.py check``: scrub and screen JSON lines; touches no database.

Input: one JSON object per line with a ``text`` field. Output: one JSON line per
input line, in order: ``{"scrubbed", "entities", "injection"}`` or ``{"error"}``
for a line that is not usable. Lines are processed in chunks so the NLP work is
batched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from config.errors import InputError, PromptForgeError
from config.settings import Settings
from execution.templates import check_text

CHUNK = 64


def check_stream(settings: Settings, lines: Iterable[str], out: TextIO, scrubber=None, screener=None) -> int:
    """Process every line; returns 0 when all lines were usable, 1 otherwise."""
    if scrubber is None:
        from security.pii import get_scrubber

        scrubber = get_scrubber(settings)
    if screener is None:
        from security.injection import get_screener

        screener = get_screener(settings)
    failed = False
    chunk: list[tuple[str | None, str | None]] = []  # (text, error)
    for line in lines:
        if not line.strip():
            continue
        chunk.append(_parse(line, settings.max_rendered_chars))
        if len(chunk) >= CHUNK:
            failed |= _flush(chunk, out, scrubber, screener)
            chunk = []
    if chunk:
        failed |= _flush(chunk, out, scrubber, screener)
    return 1 if failed else 0


def _parse(line: str, max_chars: int) -> tuple[str | None, str | None]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"not JSON (column {exc.colno}): each line must be an object like {{\"text\": \"...\"}}"
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return None, "each line must be an object with a string field \"text\""
    try:
        check_text(obj["text"], "text", max_chars)
    except InputError as exc:
        return None, str(exc)
    return obj["text"], None


def _flush(chunk, out: TextIO, scrubber, screener) -> bool:
    texts = [t for t, _ in chunk if t is not None]
    try:
        results = iter(scrubber.scrub_many(texts))
    except PromptForgeError as exc:
        results = None
        batch_error = str(exc)
    failed = False
    for text, error in chunk:
        if error is None and results is None:
            error = batch_error
        if error is not None:
            out.write(json.dumps({"error": error}) + "\n")
            failed = True
            continue
        out.write(json.dumps(checked(next(results), screener)) + "\n")
    out.flush()
    return failed


def checked(scrub, screener) -> dict:
    """What a check says of one scrubbed text: the scrubbed text, the entities found (type,
    offsets in the original, score) and the injection screen's verdict."""
    verdict = screener.screen(scrub.text, source="check")
    return {
        "scrubbed": scrub.text,
        "entities": [
            {"type": e.type, "start": e.start, "end": e.end, "score": round(e.score, 3)} for e in scrub.entities
        ],
        "injection": {"score": round(verdict.score, 4), "flagged": verdict.flagged, "reasons": verdict.reasons},
    }
