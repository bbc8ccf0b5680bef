"""The six roles and the one table of what each may do."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from config.errors import InputError


class Role(StrEnum):
    ANALYST = "analyst"  # author prompts, run, evaluate
    REVIEWER = "reviewer"  # annotate
    LEAD_REVIEWER = "lead_reviewer"  # annotate, run the review queues and rubrics, adjudicate
    APPROVER = "approver"  # approve production label moves
    PRODUCT = "product"  # compare versions, decide
    AUDITOR = "auditor"  # read everything, export, verify the audit trail
    ADMIN = "admin"  # users, settings


class Permission(StrEnum):
    READ_RUNS = "read_runs"  # see runs, traces, prompts and the overview
    AUTHOR_PROMPTS = "author_prompts"  # create prompts and versions, move non-production labels
    RUN_PROMPTS = "run_prompts"  # playground runs and batches
    EVALUATE = "evaluate"  # start evaluation runs and comparisons, edit metric sets
    REQUEST_LABEL_MOVE = "request_label_move"  # ask for a production label move
    APPROVE_LABEL_MOVE = "approve_label_move"  # approve or reject one; confirm an emergency move
    EMERGENCY_LABEL_MOVE = "emergency_label_move"  # move production at once (recorded loudly, confirmed later)
    ANNOTATE = "annotate"  # reviewer feedback on records
    MANAGE_REVIEW = "manage_review"  # create and edit rubrics and review queues
    ADJUDICATE = "adjudicate"  # decide items the reviewers disagree on
    COMPARE = "compare"  # record preferences on A/B comparisons and decide them
    EXPORT = "export"  # compliance exports
    READ_AUDIT = "read_audit"  # search the audit trail
    VERIFY_AUDIT = "verify_audit"  # replay the chain, export its head
    MANAGE_USERS = "manage_users"  # create users, set roles, unlock, reset passwords
    MANAGE_SETTINGS = "manage_settings"


P = Permission
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ANALYST: frozenset({P.READ_RUNS, P.AUTHOR_PROMPTS, P.RUN_PROMPTS, P.EVALUATE, P.REQUEST_LABEL_MOVE}),
    Role.REVIEWER: frozenset({P.READ_RUNS, P.ANNOTATE}),
    Role.LEAD_REVIEWER: frozenset({P.READ_RUNS, P.ANNOTATE, P.MANAGE_REVIEW, P.ADJUDICATE}),
    Role.APPROVER: frozenset({P.READ_RUNS, P.APPROVE_LABEL_MOVE}),
    # product teams run both sides of a comparison, judge and decide it, and ask for production
    Role.PRODUCT: frozenset({P.READ_RUNS, P.COMPARE, P.RUN_PROMPTS, P.EVALUATE, P.REQUEST_LABEL_MOVE}),
    Role.AUDITOR: frozenset({P.READ_RUNS, P.READ_AUDIT, P.VERIFY_AUDIT, P.EXPORT}),
    Role.ADMIN: frozenset({P.MANAGE_USERS, P.MANAGE_SETTINGS, P.EMERGENCY_LABEL_MOVE, P.MANAGE_REVIEW}),
}


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Role names (case-insensitive) to roles; an unknown name is an error that lists the valid ones."""
    roles = set()
    for name in names:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            raise InputError(
                f"Unknown role {name!r}.", "Use one of: " + ", ".join(r.value for r in Role) + "."
            ) from None
    return frozenset(roles)


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    return frozenset(p for role in roles for p in GRANTS[role])
