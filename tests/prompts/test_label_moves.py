"""Production label moves: requested by an author, decided by another person (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from config.errors import InputError, PermissionDenied
from security.identity import Principal, Role
from storage.audit import audit_log
from security.label_moves import LabelMoves
from security.prompt_registry import PromptRegistry

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
    assert [e.action for e in mine][:3] == ["label_move_approved", "label_moved", "label_move_requested"]
    assert mine[1].actor == "user:pat"
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
