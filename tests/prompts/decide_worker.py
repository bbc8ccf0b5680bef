"""An approver in another process, for the label-move race test: wait until START (epoch seconds),
then approve or reject one request; print what happened as JSON.

    python -m tests.prompts.decide_worker DATABASE_URL DATA_DIR REQUEST_ID approve|reject APPROVER START
"""

from __future__ import annotations

import json
import sys
import time


def main(database_url: str, data_dir: str, request_id: str, decision: str, approver: str, start: str) -> int:
    from config.errors import PromptForgeError
    from config.settings import Settings
    from prompts.label_moves import LabelMoves
    from prompts.registry import PromptRegistry
    from security.identity import Principal, Role
    from storage import open_store
    from storage.audit import audit_log

    settings = Settings(data_dir=data_dir, database_url=database_url)
    store = open_store(settings)
    audit = audit_log(settings)
    moves = LabelMoves(PromptRegistry(store, Principal(approver, frozenset({Role.APPROVER})), audit), audit)
    moves.review(request_id)  # everything loaded and connected before the start line
    time.sleep(max(0.0, float(start) - time.time()))
    try:
        getattr(moves, decision)(request_id, f"{decision} from another process")
        outcome = {"won": True}
    except PromptForgeError as exc:
        outcome = {"won": False, "error": str(exc)}
    store.close()
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
