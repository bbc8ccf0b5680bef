"""Storage: the database engine, TruLens recording and queries, prompts, the audit chain.

Imports nothing of ours but ``config``. TruLens is imported lazily by the
modules that need it, so ``from storage import RunRecord`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.engine import make_engine
from storage.records import MetricValue, RunRecord, StageTiming

if TYPE_CHECKING:
    from storage.audit import AuditEvent, AuditLog
    from storage.prompts import PromptStore, PromptSummary, PromptVersion
    from storage.trulens_store import TruLensStore, open_store

__all__ = [
    "AuditEvent",
    "AuditLog",
    "MetricValue",
    "PromptStore",
    "PromptSummary",
    "PromptVersion",
    "RunRecord",
    "StageTiming",
    "TruLensStore",
    "make_engine",
    "open_store",
]

_LAZY = {
    "AuditEvent": "storage.audit",
    "AuditLog": "storage.audit",
    "PromptStore": "storage.prompts",
    "PromptSummary": "storage.prompts",
    "PromptVersion": "storage.prompts",
    "TruLensStore": "storage.trulens_store",
    "open_store": "storage.trulens_store",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
