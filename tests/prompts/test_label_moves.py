"""Production label moves: requested by an author, decided by another person (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from config.errors import InputError, PermissionDenied
from security.identity import Principal, Role
from storage.audit import audit_log
from prompts.label_moves import LabelMoves
from prompts.registry import PromptRegistry

AUTHOR = Principal("ann", frozenset({Role.ANALYST}))
APPROVER = Principal("pat", frozenset({Role.APPROVER}))
BOTH = Principal("sam", frozenset({Role.ANALYST, Role.APPROVER}))


@pytest.fixture
def moves(store, settings, unique):
    audit = audit_log(settings)
    slug = f"card-dispute-{unique}"
    author = PromptRegistry(store, AUTHOR, audit)
    author.create(slug, "Reply to {{ customer }}")
    author.add_version(slug, "Reply politely to {{ customer }}")

    def as_(who: Principal) -> LabelMoves:
        return LabelMoves(PromptRegistry(store, who, audit), audit)

    return slug, as_, audit


def test_an_approved_request_moves_the_label_and_is_on_record(moves):
    slug, as_, audit = moves
    request = as_(AUTHOR).request(slug, 2, "passes the golden set")
    assert request.id in [r.id for r in as_(APPROVER).pending()]
    decided = as_(APPROVER).approve(request.id, "looks good")
    assert decided.status == "approved" and decided.decided_by == "user:pat"
    assert as_(AUTHOR).prompts.resolve(f"{slug}@production").version == 2
    mine = [e for e in audit.list(limit=50) if e.target == f"prompt:{slug}"]
    assert [e.action for e in mine][:3] == ["label_moved", "label_move_approved", "label_move_requested"]
    assert mine[0].actor == "user:pat" and mine[0].details["request"] == request.id
    with pytest.raises(InputError, match="already approved"):
        as_(APPROVER).reject(request.id)


def test_nobody_decides_their_own_request_and_rejection_moves_nothing(moves):
    slug, as_, _ = moves
    own = as_(BOTH).request(slug, 1, "hotfix")
    with pytest.raises(PermissionDenied, match="your own request"):
        as_(BOTH).approve(own.id)
    assert as_(APPROVER).reject(own.id, "needs review").status == "rejected"
    assert "production" not in {label for p in as_(AUTHOR).prompts.list_prompts() if p.slug == slug for label in p.labels}
    with pytest.raises(InputError, match="Say why"):
        as_(AUTHOR).request(slug, 1, "  ")


ADMIN = Principal("ada", frozenset({Role.ADMIN}))
APPROVER_2 = Principal("quinn", frozenset({Role.APPROVER}))


def test_the_approver_reviews_the_diff_against_production_before_deciding(moves):
    slug, as_, _ = moves
    first = as_(AUTHOR).request(slug, 1, "first release")
    as_(APPROVER).approve(first.id)
    second = as_(AUTHOR).request(slug, 2, "politer wording")
    review = as_(APPROVER).review(second.id)
    assert (review.candidate.version, review.current.version) == (2, 1)
    changed = [d for d in review.diff if d.changed]
    assert [d.label for d in changed] == ["Template"]
    inserted = "".join(op.b for op in changed[0].ops if op.op in ("insert", "replace"))
    assert "politely" in inserted
    assert review.evaluations == {}  # no evaluation runs recorded for either version


def test_label_history_names_requester_approver_and_reason(moves):
    slug, as_, audit = moves
    request = as_(AUTHOR).request(slug, 2, "passes the golden set")
    as_(APPROVER).approve(request.id, "ok")
    as_(AUTHOR).prompts.set_label(slug, 1, "staging")
    history = as_(APPROVER).history(slug)
    production = [h for h in history if h.label == "production"]
    assert len(production) == 1
    assert (production[0].to_version, production[0].requested_by, production[0].approved_by) == (2, "user:ann", "user:pat")
    assert production[0].reason == "passes the golden set" and not production[0].emergency
    staging = [h for h in history if h.label == "staging"]
    assert staging[0].moved_by == "user:ann" and staging[0].approved_by == ""
    assert [h.label for h in history][0] == "staging"  # newest first


def test_an_emergency_move_is_loud_until_another_approver_confirms_it(moves):
    slug, as_, audit = moves
    as_(APPROVER).approve(as_(AUTHOR).request(slug, 2, "release").id)
    with pytest.raises(PermissionDenied):
        as_(AUTHOR).emergency_move(slug, 1, "v2 leaks fees")
    with pytest.raises(InputError, match="reason"):
        as_(ADMIN).emergency_move(slug, 1, " ")
    moved = as_(ADMIN).emergency_move(slug, 1, "v2 quotes wrong fees")
    assert as_(AUTHOR).prompts.resolve(f"{slug}@production").version == 1
    assert [r.id for r in as_(AUTHOR).unconfirmed(slug)] == [moved.id]
    actions = [e.action for e in audit.list(limit=10) if e.target == f"prompt:{slug}"]
    assert actions[:2] == ["label_emergency_move", "label_moved"]
    with pytest.raises(PermissionDenied):
        as_(AUTHOR).confirm(moved.id)
    confirmed = as_(APPROVER_2).confirm(moved.id, "rollback was right")
    assert confirmed.status == "confirmed" and confirmed.decided_by == "user:quinn"
    assert as_(AUTHOR).unconfirmed(slug) == []
    with pytest.raises(InputError):
        as_(APPROVER).confirm(moved.id)
    assert [e.action for e in audit.list(limit=1)] == ["label_emergency_confirmed"]
    assert [h.emergency for h in as_(APPROVER).history(slug) if h.label == "production"] == [True, False]


def test_an_admin_who_is_also_approver_cannot_confirm_their_own_emergency(moves):
    slug, as_, _ = moves
    both = Principal("root", frozenset({Role.ADMIN, Role.APPROVER}))
    moved = as_(both).emergency_move(slug, 2, "hotfix")
    with pytest.raises(PermissionDenied, match="your own"):
        as_(both).confirm(moved.id)


def test_reasons_and_notes_are_scrubbed_before_they_are_stored(moves):
    slug, as_, audit = moves
    request = as_(AUTHOR).request(slug, 2, "Maria Lopez (maria.lopez@example.org) asked for the new wording")
    assert "maria.lopez@example.org" not in request.reason and "<EMAIL_ADDRESS" in request.reason
    stored = as_(APPROVER).table.get(request.id)
    assert "Maria Lopez" not in stored.reason and "example.org" not in stored.reason
    decided = as_(APPROVER).approve(request.id, "Checked with her on 212-555-0143")
    assert "212-555-0143" not in decided.note and "212-555-0143" not in as_(AUTHOR).table.get(request.id).note
    assert [h.reason for h in as_(AUTHOR).history(slug) if h.approved_by] == [request.reason]
    emergency = as_(ADMIN).emergency_move(slug, 1, "Rollback: IBAN GB82 WEST 1234 5698 7654 32 was shown")
    assert "GB82" not in as_(AUTHOR).table.get(emergency.id).reason
    assert not any("maria" in str(e.details).lower() for e in audit.list(limit=50))


def test_an_over_long_reason_is_refused_not_cut(moves):
    slug, as_, _ = moves
    with pytest.raises(InputError, match="1,001 characters"):
        as_(AUTHOR).request(slug, 2, "x" * 1001)
    assert as_(AUTHOR).pending(slug) == []


@pytest.mark.slow
def test_two_approvers_in_two_processes_decide_one_request_once(moves, settings, store):
    """One approves and one rejects the same request at the same instant, each in its own process:
    exactly one decision lands, the label follows it, and the audit chain stays valid."""
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    slug, as_, audit = moves
    request = as_(AUTHOR).request(slug, 2, "ready for production")
    root = Path(__file__).resolve().parents[2]
    start = f"{time.time() + 12:.3f}"
    workers = {
        decision: subprocess.Popen(
            [sys.executable, "-m", "tests.prompts.decide_worker", settings.resolved_database_url, str(settings.data_dir),
             request.id, decision, who, start],
            cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for decision, who in (("approve", "pat"), ("reject", "quinn"))
    }
    outcomes = {}
    try:
        for decision, proc in workers.items():
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err[-3000:]
            outcomes[decision] = json.loads(out.strip().splitlines()[-1])
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.kill()
    assert sorted(o["won"] for o in outcomes.values()) == [False, True], outcomes
    loser = next(o for o in outcomes.values() if not o["won"])
    assert "meanwhile" in loser["error"] or "already" in loser["error"]
    decided = next(r for r in as_(APPROVER).requests(slug) if r.id == request.id)
    labels = next(p.labels for p in as_(AUTHOR).prompts.list_prompts() if p.slug == slug)
    assert (decided.status, labels.get("production")) in (("approved", 2), ("rejected", None))
    decisions = [e for e in audit.list(limit=100) if e.details.get("request") == request.id
                 and e.action in ("label_move_approved", "label_move_rejected")]
    assert len(decisions) == 1 and audit.verify().ok
