"""The held-out finance-domain injection set: well formed, and never part of what teaches the screen."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from bench.security import held_out_set

LIBRARY = Path(__file__).resolve().parents[2] / "security" / "injection" / "library"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _taught(folder: Path) -> list[str]:
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        out += [_norm(json.loads(line)["text"]) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def leaks(rows: list[dict], taught: list[str]) -> list[str]:
    """Held-out texts (or their sentences of 40 characters or more) that are library examples, and
    library examples of 40 characters or more found inside a held-out text."""
    held = [_norm(part) for r in rows for part in (r["text"], r["untrusted"]) if part]
    sentences = {s for h in held for s in re.split(r"(?<=[.!?])\s+", h) if len(s) >= 40}
    found = [h for h in held if h in set(taught)] + [t for t in taught if t in sentences]
    return found + [t for t in taught if len(t) >= 40 for h in held if t in h]


def test_the_set_is_well_formed_and_balanced():
    rows = held_out_set()
    labels = Counter(r["label"] for r in rows)
    assert labels["attack"] >= 150 and labels["benign"] >= 150 and set(labels) == {"attack", "benign"}
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(r["untrusted"] is None or r["untrusted"] in r["text"] for r in rows)
    assert len({r["language"] for r in rows if r["label"] == "attack"}) >= 5


def test_no_line_of_the_set_is_in_the_teaching_library():
    taught = _taught(LIBRARY)
    assert len(taught) > 500  # the library was read
    assert leaks(held_out_set(), taught) == []


def test_the_check_finds_a_planted_line(tmp_path):
    rows = held_out_set()
    sentence = next(s for s in re.split(r"(?<=[.!?])\s+", rows[5]["text"]) if len(s) >= 40)
    (tmp_path / "attacks.jsonl").write_text(
        json.dumps({"text": rows[0]["text"]}) + "\n" + json.dumps({"text": sentence}) + "\n", encoding="utf-8"
    )
    found = leaks(rows, _taught(tmp_path))
    assert _norm(rows[0]["text"]) in found and _norm(sentence) in found
