"""Benchmark texts built from the public labelled data in ``settings.eval_data_dir``."""

from __future__ import annotations

import json
import random
from pathlib import Path


class EvalDataMissing(Exception):
    """The shared evaluation data folder is not on this machine."""


def eval_file(eval_dir: Path, relative: str) -> Path:
    path = Path(eval_dir) / relative
    if not path.is_file():
        raise EvalDataMissing(
            f"{path} not found: set PROMPTFORGE_EVAL_DATA_DIR to the shared eval-data folder to run this benchmark."
        )
    return path


def mixed_prompts(eval_dir: Path, n: int, min_chars: int = 200, max_chars: int = 2000, seed: int = 7) -> list[str]:
    """``n`` texts of ``min_chars``..``max_chars`` characters: PII-rich sentences from Presidio's
    synthetic set interleaved with benign instructions, the mix an analyst would paste."""
    rng = random.Random(seed)
    pii = [row["full_text"] for row in json.loads(eval_file(eval_dir, "pii/presidio_synth_dataset_v2.json").read_text())]
    benign_path = eval_file(eval_dir, "benign_prompts/selfinstruct_user_oriented_instructions.jsonl")
    benign = [json.loads(line)["instruction"] for line in benign_path.read_text().splitlines() if line.strip()]
    texts = []
    for _ in range(n):
        target = rng.randint(min_chars, max_chars)
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < target:
            parts.append(rng.choice(benign) if rng.random() < 0.4 else rng.choice(pii))
        texts.append(" ".join(parts)[:max_chars])
    return texts
