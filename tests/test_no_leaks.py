"""200 prompts full of synthetic PII through ``launch.py batch``: then every byte of the
database (and its WAL), every file under the data folder, and the command's logs are
searched for the original values. None may appear."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.synthetic_pii import make_samples

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "launch.py"), *args], env=env, capture_output=True, timeout=600, cwd=ROOT
    )


def test_batch_of_200_pii_prompts_leaves_no_original_value_anywhere(tmp_path):
    samples = make_samples(200)
    dataset = tmp_path / "customers.csv"
    with dataset.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer", "message"])
        for s in samples:
            writer.writerow([s.name, s.text])
        writer.writerow(["only one field"])  # a malformed row: reported and skipped
    template = tmp_path / "t.j2"
    template.write_text("Reply politely to {{ customer }} about:\n{{ message }}", encoding="utf-8")
    data_dir = tmp_path / "data"
    env = {**os.environ, "PROMPTFORGE_DATA_DIR": str(data_dir), "PROMPTFORGE_LOG_LEVEL": "DEBUG"}

    proc = _run(["batch", "--template-file", str(template), "--dataset", str(dataset)], env)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["ok"] + summary["blocked"] == 200
    assert summary["skipped"] == 1 and summary["skipped_rows"][0]["row"] == 200

    blobs = {"stdout": proc.stdout, "stderr": proc.stderr}
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".db") for p in files), files
    for path in files:
        blobs[str(path)] = path.read_bytes()

    leaks = []
    for s in samples:
        for kind, value in s.secrets.items():
            needle = value.encode()
            for where, blob in blobs.items():
                if needle in blob:
                    leaks.append(f"{kind} value of row {samples.index(s)} found in {Path(where).name}")
    assert not leaks, f"{len(leaks)} leaks, first: {leaks[:10]}"
