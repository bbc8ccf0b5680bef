"""Detoxify throughput: texts per second scored in batches against one text per call.

Both figures come from the same loaded model through the toxicity metric
(``evaluation.toxicity.Toxicity``): batched is ``score_many`` with ``batch_size`` texts
per forward pass, one-at-a-time is the same metric with ``batch_size=1`` (one Detoxify
``predict`` call per text). Each mode is warmed up first, then timed over several
interleaved rounds (the median is reported), so a noisy neighbour hurts both alike.

Two sets of texts: short ones (the project's benign banking prompts, one sentence each)
and, when ``settings.eval_data_dir`` is present, real comments of chat-answer length (the
ConversationAI toxicity test set). When no local Detoxify checkpoint is configured,
a small one is built from the bundled all-MiniLM-L6-v2 (tests/fakes/detoxify_checkpoint.py)
and the output says so: its figures are faster than the released weights (BERT-base) would be;
``--shape bert-base`` builds one with the released model's architecture and random weights
instead, whose speed is the released model's.

Floor (printed, not asserted): batched >= 5x one-at-a-time.

What bounds the ratio is printed beside it: the arithmetic of one forward pass per text
(2 x tokens x the encoder's weight-matrix parameters, plus attention's 4 x layers x tokens^2
x width; the text's own length, no padding), the rate each mode turns it over at (GFLOP/s),
and this CPU's fp32 matrix-multiply peak at the model's own shapes. Batching can only
remove what one-at-a-time loses to small matrices and per-call overhead, so no batched
path can beat one-at-a-time by more than ``peak / one-at-a-time GFLOP/s`` ("ceiling").

    python -m bench.toxicity [N] [--shape bert-base]   (N texts per set, default 64)
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from config.errors import ConfigError
from config.settings import Settings

HERE = Path(__file__).resolve().parent
FLOOR = 5.0


def measure(settings: Settings, texts: list[str], batch_size: int = 32, rounds: int = 3) -> dict:
    """Time ``texts`` through Detoxify batched and one text per call on the same loaded model.

    Returns texts/second for both, their ratio, and what was measured. Raises ``ConfigError``
    when the model cannot be loaded (the metric's own reason and fix)."""
    import torch

    from evaluation.registry import MetricContext, MetricInput
    from evaluation.toxicity import Toxicity

    if not texts:
        raise ValueError("measure() needs at least one text")
    context = MetricContext(settings)
    batched = Toxicity(context, batch_size=batch_size)
    single = Toxicity(context, batch_size=1)
    model = batched.model()  # loads once; raises ConfigError with the fix
    assert single.model() is model
    items = [MetricInput(input="", output=t) for t in texts]

    warm = items[: min(len(items), batch_size)]
    batched.score_many(warm)
    single.score_many(warm[:4])

    batched_s: list[float] = []
    single_s: list[float] = []
    for _ in range(rounds):
        for metric, sink in ((batched, batched_s), (single, single_s)):
            start = time.perf_counter()
            results = metric.score_many(items)
            sink.append(time.perf_counter() - start)
            if any(r.status != "ok" for r in results):
                bad = next(r for r in results if r.status != "ok")
                raise RuntimeError(f"scoring failed: {bad.explanation}")
    batched_rate = len(texts) / statistics.median(batched_s)
    single_rate = len(texts) / statistics.median(single_s)
    return {
        "texts": len(texts),
        "chars_min": min(map(len, texts)),
        "chars_median": int(statistics.median(map(len, texts))),
        "chars_max": max(map(len, texts)),
        "batch_size": batch_size,
        "rounds": rounds,
        "batched_texts_per_s": round(batched_rate, 1),
        "one_at_a_time_texts_per_s": round(single_rate, 1),
        "ratio": round(batched_rate / single_rate, 2),
        "floor": FLOOR,
        "checkpoint": str(model.source.checkpoint or f"download:{model.source.variant}"),
        "classes": model.class_names,
        "torch_threads": torch.get_num_threads(),
        **arithmetic(model, texts, batched_rate, single_rate),
    }


def arithmetic(model, texts: list[str], batched_rate: float, single_rate: float) -> dict:
    """GFLOP per text, the rate each mode achieves, this CPU's matmul peak and the ceiling it
    puts on any batched / one-at-a-time ratio (see the module docstring)."""
    network = model.detoxify.model
    config = network.config
    weights = sum(
        p.numel() for name, p in network.named_parameters() if p.dim() == 2 and "embeddings" not in name
    )
    lengths = model.token_counts(texts)
    flops = [2 * n * weights + 4 * config.num_hidden_layers * n * n * config.hidden_size for n in lengths]
    per_text = statistics.fmean(flops)
    peak = matmul_peak(config.hidden_size, config.intermediate_size)
    single = per_text * single_rate / 1e9
    return {
        "tokens_mean": round(statistics.fmean(lengths), 1),
        "gflop_per_text": round(per_text / 1e9, 3),
        "batched_gflops": round(per_text * batched_rate / 1e9, 1),
        "one_at_a_time_gflops": round(single, 1),
        "matmul_peak_gflops": round(peak, 1),
        "ceiling": round(peak / single, 2) if single else None,
    }


def matmul_peak(width: int, inner: int, rows: int = 2048, repeats: int = 20) -> float:
    """This CPU's fp32 GFLOP/s on a (rows x width) @ (width x inner) product: the encoder's
    feed-forward shape with a big batch, the best case any batching can reach."""
    import torch

    a, b = torch.randn(rows, width), torch.randn(width, inner)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        times.append((time.perf_counter() - start) / repeats)
    return 2 * rows * width * inner / min(times) / 1e9


def comment_texts(settings: Settings, n: int) -> tuple[list[str], str] | None:
    """Up to ``n`` real comments (ConversationAI test set, lengths like chat answers), or None."""
    path = Path(settings.eval_data_dir) / "toxicity" / "conversationai_toxicity_nonfuzzed_testset.csv"
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as fh:
        texts = [row["comment"].strip() for row in csv.DictReader(fh) if row["comment"].strip()]
    return texts[:n], f"{path.name} (ConversationAI, CC BY 4.0)"


def short_texts(n: int) -> tuple[list[str], str]:
    """``n`` short texts: the project's benign banking prompts (one sentence each), repeated as needed."""
    path = HERE / "data" / "benign_banking_prompts.jsonl"
    lines = [json.loads(line)["instruction"] for line in path.read_text().splitlines() if line.strip()]
    return (lines * (n // max(len(lines), 1) + 1))[:n], f"{path.name} (ours)"


def detoxify_settings(settings: Settings, folder: Path, shape: str = "minilm") -> tuple[Settings, str]:
    """``settings`` with a usable Detoxify checkpoint, and a note saying which: the configured
    one, else one built in ``folder`` (never a download): ``shape`` "minilm" from the bundled
    MiniLM (fast), "bert-base" with the released 'original' model's architecture and random
    weights (its speed is the released model's)."""
    from evaluation.toxicity import resolve_detoxify

    try:
        source = resolve_detoxify(settings, "original")
        if source.checkpoint is not None:
            return settings, f"configured Detoxify checkpoint {source.checkpoint}"
        why = "this benchmark never downloads"
    except ConfigError as exc:
        why = exc.message
    from tests.fakes.detoxify_checkpoint import build_checkpoint

    checkpoint, config_dir = build_checkpoint(folder, "original", shape=shape)
    local = settings.model_copy(
        update={
            "detoxify_checkpoint": checkpoint,
            "detoxify_config_dir": config_dir,
            "detoxify_checkpoint_variant": "original",
            "detoxify_checkpoints": {},
            "detoxify_config_dirs": {},
        }
    )
    if shape == "bert-base":
        return local, (
            f"no real Detoxify checkpoint ({why}): a LOCAL checkpoint with the released 'original' model's "
            "architecture (bert-base: 12 layers, 768 wide) and tokenizer, random weights: its speed is the "
            "released model's, its scores mean nothing"
        )
    return local, (
        f"no real Detoxify checkpoint ({why}): a SMALL LOCAL checkpoint built from the bundled "
        "all-MiniLM-L6-v2 (6 layers, 384 wide, untrained head; the released 'original' is bert-base: "
        "12 layers, 768 wide): its scores mean nothing and its speed is not the released model's"
    )


def main(settings: Settings | None = None, n: int = 64, batch_size: int = 32, shape: str = "minilm") -> int:
    import os

    from config.offline import apply_offline_env

    apply_offline_env()
    settings = settings or Settings()
    sets = [short_texts(n)]
    comments = comment_texts(settings, n)
    if comments is None:
        print(f"note: no eval data at {settings.eval_data_dir}: the comment set is skipped")
    else:
        sets.append(comments)
    with tempfile.TemporaryDirectory(prefix="pf-detoxify-bench-") as tmp:
        settings, note = detoxify_settings(settings, Path(tmp), shape)
        print(f"model: {note}")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load} (other processes slow both modes)")
        for texts, origin in sets:
            try:
                figures = measure(settings, texts, batch_size=batch_size)
            except ConfigError as exc:
                print(f"skipped: {exc}")
                return 0
            verdict = "meets" if figures["ratio"] >= FLOOR else "BELOW"
            print(
                f"\n{figures['texts']} texts from {origin}: "
                f"{figures['chars_min']}-{figures['chars_max']} chars "
                f"(median {figures['chars_median']}); batch size {figures['batch_size']}; "
                f"torch threads {figures['torch_threads']}; median of {figures['rounds']} rounds"
            )
            print(f"  batched:        {figures['batched_texts_per_s']:8.1f} texts/s")
            print(f"  one at a time:  {figures['one_at_a_time_texts_per_s']:8.1f} texts/s")
            print(f"  ratio:          {figures['ratio']:8.2f}x  ({verdict} the floor of {FLOOR:g}x)")
            print("  " + ceiling_line(figures))

    return 0


def ceiling_line(figures: dict) -> str:
    """One line: the arithmetic that bounds the ratio on this machine."""
    return (
        f"arithmetic: {figures['gflop_per_text']:.3f} GFLOP per text ({figures['tokens_mean']:.0f} word pieces "
        f"on average); one at a time runs at {figures['one_at_a_time_gflops']:.1f} GFLOP/s, batched at "
        f"{figures['batched_gflops']:.1f}; this CPU's fp32 matmul peak is {figures['matmul_peak_gflops']:.1f} "
        f"GFLOP/s, so no batching can beat one at a time by more than {figures['ceiling']:.2f}x here"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.toxicity", description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=64, help="texts per set (default 64)")
    parser.add_argument(
        "--shape", choices=("minilm", "bert-base"), default="minilm",
        help="without a configured checkpoint: build a MiniLM-sized one (fast) or one shaped like the "
        "released 'original' model (bert-base; its speed, random weights)",
    )
    args = parser.parse_args()
    sys.exit(main(n=args.n, shape=args.shape))
