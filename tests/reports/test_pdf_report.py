"""The compliance PDF on a real SQLite file: runs recorded through the store with known statuses,
PII, injection verdicts and metrics, a review queue annotated by two reviewers, accounts and a
production label move, then the report's text read back with pypdf."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from reports.pdf_report import APPENDIX, NO_RUNS, SECTIONS, write_pdf_report
from storage.run_filter import RunFilter

pytestmark = pytest.mark.slow  # a reviewer's comment is scrubbed by the real Presidio on spaCy

NOW = datetime.now(UTC).replace(tzinfo=None)
TODAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
START, END = TODAY - timedelta(days=6), TODAY + timedelta(days=1)  # the last seven days, today included

# (status, injection action or None, PII in prompt, PII in answer, hours ago); the last run is
# older than the period and must count nowhere
RUNS = [
    ("ok", "allow", {"PERSON": 2}, {}, 30),
    ("ok", "allow", {"PERSON": 1, "EMAIL_ADDRESS": 1}, {"PERSON": 1}, 29),
    ("ok", "flag", {}, {}, 28),
    ("blocked", "block", {"PHONE_NUMBER": 1}, {}, 27),
    ("ok", "allow", {}, {}, 26),
    ("error", "allow", {"IBAN_CODE": 1}, {}, 50),
    ("ok", "flag", {"PERSON": 1}, {}, 51),
    ("ok", "allow", {}, {"EMAIL_ADDRESS": 2}, 52),
    ("blocked", "block", {}, {}, 3),
    ("ok", None, {}, {}, 2),
    ("ok", "flag", {"CREDIT_CARD": 1}, {}, 24 * 20),  # outside the period
]
# by hand, over the ten runs in the period
PII_EXPECTED = {  # type: (prompt entities, prompt runs, answer entities, answer runs)
    "PERSON": (4, 3, 1, 1),
    "EMAIL_ADDRESS": (1, 1, 2, 1),
    "PHONE_NUMBER": (1, 1, 0, 0),
    "IBAN_CODE": (1, 1, 0, 0),
}
VERDICTS_EXPECTED = {"allow": 5, "flag": 2, "block": 2, "not screened": 1}
GOOD = {"policy_breach": False, "personal_data_exposure": False, "unsuitable_advice": False, "tone": "good",
        "factual_error": False, "overall": 4}


def _ns(hours_ago: float) -> int:
    return int((NOW - timedelta(hours=hours_ago)).replace(tzinfo=UTC).timestamp() * 1e9)


def _run(k: int, status: str, action, pii_in, pii_out, hours_ago: float):
    from storage.records import MetricValue, RunRecord, StageTiming

    started = _ns(hours_ago)
    blocked = status == "blocked"
    decisions = {"pii_in": pii_in, "pii_out": pii_out}
    if action is not None:
        decisions["injection"] = {"action": action, "score": 0.9 if action != "allow" else 0.0, "reasons": []}
    metrics = [
        MetricValue("latency_s", None if blocked else 0.5 + k * 0.1, False, "unavailable" if blocked else "ok"),
        MetricValue("answer_length", None if blocked else float(10 * k), True, "unavailable" if blocked else "ok"),
    ]
    return RunRecord(
        run_id=uuid.uuid4().hex, app_name="card-faq" if k % 2 else "loan-summary", app_version="v1",
        input_text=f"Question {k} from <PERSON_1> — naïve “quotes” ≥ 3 € 漢字 \x07 about fees",
        output_text=None if blocked else f"Answer {k}: the fee is 0 for <PERSON_1>.",
        status=status, error="policy blocked" if blocked else ("provider failed" if status == "error" else None),
        provider="offline", model="offline", simulated=True, latency_s=0.5 + k * 0.1, input_tokens=10,
        output_tokens=0 if blocked else 20, cost_usd=None, started_at_ns=started, ended_at_ns=started + 10**8,
        stages=[StageTiming("render", started, started + 10**6)], metrics=metrics, decisions=decisions,
        variables={"q": f"question {k}"}, actor="user:analyst",
    )


def build_world(settings):
    """Record the runs above on ``settings``' database, a review queue two reviewers annotated,
    two accounts (one whose roles changed) and a production label move requested and approved.
    Returns the store (close it, or ``close_all_stores()``, afterwards)."""
    from prompts.label_moves import LabelMoves
    from prompts.registry import PromptRegistry
    from review.annotations import Annotations
    from review.queues import QueueFilter, Queues
    from security.identity import Principal, Role
    from security.identity.accounts import AccountService
    from storage.audit import audit_log
    from storage.trulens_store import TruLensStore
    from storage.users import UserTable

    store = TruLensStore(settings)
    store.record_runs([_run(k, *row) for k, row in enumerate(RUNS)])
    store.flush()
    audit = audit_log(settings, store.engine)

    lead = Principal("lee", frozenset({Role.LEAD_REVIEWER}))
    Queues(store, lead, audit).create("faq-review", QueueFilter(prompt="card-faq"), overlap=2)
    for name in ("rita", "ravi"):
        reviewer = Annotations(Queues(store, Principal(name, frozenset({Role.REVIEWER})), audit))
        for _ in range(3):
            item = reviewer.next_item("faq-review")
            scores = dict(GOOD, tone="poor", overall=2) if name == "ravi" else GOOD
            comment = {"tone": "Too curt."} if name == "ravi" else None
            reviewer.submit("faq-review", item.token, scores, comment)

    admin = Principal("root", frozenset({Role.ADMIN}))
    accounts = AccountService(UserTable(store.engine), audit, settings.auth)
    accounts.create_user(admin, "ann.lyst", ["analyst"])
    accounts.create_user(admin, "apu", ["reviewer"])
    accounts.set_roles(admin, "apu", ["approver"])

    author = Principal("ann.lyst", frozenset({Role.ANALYST}))
    registry = PromptRegistry(store, author)
    registry.create("greeting", "Hello {{ name }}")
    registry.add_version("greeting", "Good morning {{ name }}")
    request = LabelMoves(registry, audit).request("greeting", 2, "clearer wording")
    approver = PromptRegistry(store, Principal("apu", frozenset({Role.APPROVER})))
    LabelMoves(approver, audit).approve(request.id, "fine")
    return store


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The database of ``build_world`` on a SQLite file, with no stored benchmark."""
    from config.settings import Settings
    from storage.trulens_store import close_all_stores

    directory = tmp_path_factory.mktemp("pdf-report")
    settings = Settings(data_dir=directory, database_url=f"sqlite:///{directory / 'pf.db'}")
    store = None
    try:
        store = build_world(settings)
        yield settings, store
    finally:
        if store is not None:
            store.close()
        close_all_stores()


def _text(path) -> str:
    """The PDF's text, whitespace made single spaces."""
    reader = PdfReader(str(path))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def _write(world, tmp_path, scope=None, generated_by="aud (auditor)", **kwargs):
    settings, store = world
    path = tmp_path / "report.pdf"
    summary = write_pdf_report(
        store.engine, scope or RunFilter(start=START, end=END), path, generated_by=generated_by, settings=settings,
        **kwargs,
    )
    return path, summary, _text(path)


def test_every_section_the_cover_and_the_controls(world, tmp_path):
    calls = []
    path, summary, text = _write(world, tmp_path, progress=lambda done, total, what: calls.append((done, total)))
    assert path.read_bytes().startswith(b"%PDF")
    assert summary["pages"] == len(PdfReader(str(path)).pages) >= 7
    assert summary["sections"] == list(SECTIONS)
    for heading in SECTIONS:
        assert heading in text
    for sub in ("PII scrubbed by entity type", "Injection screening verdicts", "Runs per day", "Label moves",
                "Accounts and role changes in the period", "PII policy in force", "Injection policy in force",
                "Security benchmark", "Audit chain"):
        assert sub in text
    assert APPENDIX not in text
    # the cover: the period, the scope, who and where
    assert f"{START.date()} to {TODAY.date()}" in text
    assert "Generated by aud (auditor)" in text
    assert "Prompts all" in text and "Review queues all" in text
    assert "sqlite:///" in text and "pf.db" in text
    assert "10 runs" in text
    # the audit chain was verified, and the report says so
    assert re.search(r"Audit chain verified: [\d,]+ events intact", text)
    assert summary["counts"]["audit_chain"]["ok"] is True
    # progress went up to the end, one step at a time
    assert [d for d, _ in calls] == list(range(1, len(calls) + 1)) and calls[-1][0] == calls[-1][1]


def test_pii_and_injection_figures_equal_the_hand_counts(world, tmp_path):
    _, summary, text = _write(world, tmp_path)
    counts = summary["counts"]
    assert counts["runs"] == 10
    assert counts["statuses"] == {"ok": 7, "blocked": 2, "error": 1}
    assert counts["pii_by_type"] == {k: {"in": v[0], "out": v[2]} for k, v in PII_EXPECTED.items()}
    assert counts["injection"] == VERDICTS_EXPECTED
    assert "CREDIT_CARD" not in text  # only in the run before the period
    for kind, (p_ent, p_runs, a_ent, a_runs) in PII_EXPECTED.items():
        assert f"{kind} {p_ent} {p_runs} {a_ent} {a_runs} {p_ent + a_ent}" in text  # its table row
    for verdict, n in VERDICTS_EXPECTED.items():
        assert f"{verdict} {n} {100 * n / 10:.1f}%" in text
    assert "ok 7 70.0%" in text and "blocked 2 20.0%" in text and "error 1 10.0%" in text


def test_metrics_review_labels_and_accounts(world, tmp_path):
    _, summary, text = _write(world, tmp_path)
    metrics = summary["counts"]["metrics"]
    assert metrics["latency_s"]["n"] == 8 and metrics["answer_length"]["n"] == 8  # the two blocked runs: not computed
    assert metrics["answer_length"]["p50"] == 40.0  # nearest rank: 4th of 0, 10, 20, 40, 50, 60, 70, 90
    assert "answer_length" in text and "latency_s *" in text
    # the queue: 3 items reviewed by both reviewers; "tone" good 3 (rita), poor 3 (ravi)
    queue = summary["counts"]["queues"]["faq-review"]
    assert queue["reviews"] == 6
    assert "Queue faq-review" in text and re.search(r"Tone (poor: 3, good: 3|good: 3, poor: 3)", text)
    assert "Breaches bank policy? no: 6" in text
    assert "Too curt" not in text  # review comments are not printed
    # the label move with requester and approver; the reason is not printed
    assert "greeting production - v2 user:apu user:ann.lyst user:apu" in text  # moved by, requested by, approved by
    assert "greeting latest" not in text
    assert "greeting@v2 production approved user:ann.lyst user:apu" in text
    assert "clearer wording" not in text
    # account events: creations and the role change
    assert "user created" in text and "roles changed" in text
    assert "roles reviewer -> approver" in text
    assert "No stored benchmark result" in text and "python launch.py bench security" in text


def test_the_appendix_only_when_asked(world, tmp_path):
    _, summary, text = _write(world, tmp_path, appendix=True, generated_by="Zoë 🙂 ‘aud’")
    assert "Generated by Zoë ? 'aud'" in text  # odd text is made Latin-1, never an error
    assert APPENDIX in text and summary["sections"][-1] == APPENDIX
    assert summary["appendix"] == {"included": True, "runs": 10, "capped": False, "limit": summary["appendix"]["limit"]}
    assert "Question 0 from <PERSON_1>" in text and "naïve \"quotes\" >= 3 EUR ??" in text  # made Latin-1
    assert text.count("loan-summary@v1") >= 5


def test_a_stored_benchmark_is_printed(world, tmp_path):
    settings, _ = world
    from security.report import report_path

    saved = report_path(settings)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps({
        "at": "2026-11-02T10:00:00+00:00",
        "floors": [{"floor": "CREDIT_CARD leaks 0 (now 0 of 40)", "ok": True}, {"floor": "direct recall 85.0% >= 90%", "ok": False}],
        "speed": {"bare_texts_per_s": 40.0, "ours_texts_per_s": 55.0, "n": 300},
        "pii_surviving": {"PERSON": {"n": 120, "bare": 0.2, "ours": 0.05}},
    }))
    try:
        _, summary, text = _write(world, tmp_path)
    finally:
        saved.unlink()
    assert summary["counts"]["benchmark_stored"] is True
    assert "1 of 2 floors met" in text and "MISSED" in text and "55 texts/s" in text
    assert "No stored benchmark result" not in text


def test_an_empty_scope_gives_a_valid_pdf_that_says_so(world, tmp_path):
    empty = RunFilter(start=START, end=END, prompts=("no-such-prompt",))
    path, summary, text = _write(world, tmp_path, scope=empty, appendix=True)
    assert len(PdfReader(str(path)).pages) == summary["pages"] >= 7
    assert summary["counts"]["runs"] == 0 and summary["appendix"]["runs"] == 0
    assert NO_RUNS in text and "Prompts no-such-prompt" in text
    for heading in SECTIONS:
        assert heading in text


def test_a_period_is_required(world, tmp_path):
    from config.errors import InputError

    settings, store = world
    with pytest.raises(InputError, match="period"):
        write_pdf_report(store.engine, RunFilter(start=START), tmp_path / "x.pdf", generated_by="aud", settings=settings)
    assert not (tmp_path / "x.pdf").exists()


def test_the_appendix_stops_at_its_limit_and_says_so(world, tmp_path, monkeypatch):
    import reports.pdf_report as report

    monkeypatch.setattr(report, "APPENDIX_LIMIT", 4)
    monkeypatch.setattr(report, "APPENDIX_PAGE", 3)
    started = time.perf_counter()
    _, summary, text = _write(world, tmp_path, appendix=True)
    assert time.perf_counter() - started < 30
    assert summary["appendix"]["runs"] == 4 and summary["appendix"]["capped"] is True
    assert "stops at 4 runs" in text and "leaves out 6" in text
