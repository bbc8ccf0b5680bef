"""The audit trail as a service: search, verify, export and check the head, for a principal.

Auditors read and verify; every verification and head export is itself an audit
event, so the trail shows who checked it and what they found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.errors import InputError
from security.identity import Permission, Principal
from storage.audit import AuditLog, Verification
from storage.audit_search import AuditQuery, distinct_actions, search_events


class AuditTrail:
    def __init__(self, log: AuditLog, principal: Principal) -> None:
        self.log, self.principal = log, principal

    def search(self, query: AuditQuery, limit: int = 200, offset: int = 0):
        self.principal.require(Permission.READ_AUDIT, "read the audit trail")
        return search_events(self.log.engine, query, limit, offset)

    def actions(self) -> list[str]:
        self.principal.require(Permission.READ_AUDIT, "read the audit trail")
        return distinct_actions(self.log.engine)

    def verify(self) -> Verification:
        """Replay the whole chain; the outcome is recorded as an ``audit_verified`` event."""
        self.principal.require(Permission.VERIFY_AUDIT, "verify the audit trail")
        result = self.log.verify()
        self._record("audit_verified", result)
        return result

    def export_head(self, verified: Verification | None = None) -> dict[str, Any]:
        """The head to keep outside the database (detects a truncated tail later), of the
        chain just ``verified`` (verified now when not given); refused for a broken chain."""
        result = verified if verified is not None else self.verify()
        self.principal.require(Permission.VERIFY_AUDIT, "export the audit head")
        if not result.ok:
            raise InputError(
                "The audit chain is broken, so its head is not exported.", "Investigate the first broken event."
            )
        head = self.log.head(result)
        self.log.append(self.principal.actor, "audit_head_exported", "audit:chain", {"seq": head["seq"]})
        return head

    def check_head(self, head: Mapping[str, Any]) -> Verification:
        self.principal.require(Permission.VERIFY_AUDIT, "verify the audit trail")
        result = self.log.check_head(head)
        self._record("audit_head_checked", result)
        return result

    def _record(self, action: str, result: Verification) -> None:
        self.log.append(
            self.principal.actor, action, "audit:chain",
            {"ok": result.ok, "checked": result.checked, "first_bad_seq": result.first_bad_seq, "problem": result.problem},
        )
