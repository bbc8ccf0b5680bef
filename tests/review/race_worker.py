"""A reviewer in another process, for the claim race test: claim and submit until the queue has
nothing left, then report what it took (or the error that stopped it).

    python -m tests.review.race_worker DATABASE_URL QUEUE_ID REVIEWER
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import uuid


def main(database_url: str, queue_id: str, reviewer: str) -> int:
    """Prints the record ids it took as JSON; on an error prints the traceback and exits 1."""
    try:
        print(json.dumps(_review(database_url, queue_id, reviewer)))
        return 0
    except BaseException:  # noqa: BLE001 - the parent reports it
        print(traceback.format_exc())
        return 1


def _review(database_url: str, queue_id: str, reviewer: str) -> list[str]:
    from config.errors import StorageError
    from config.settings import Settings
    from storage import schema
    from storage.engine import make_engine
    from storage.review import ReviewTables

    tables = ReviewTables(make_engine(Settings(database_url=database_url)))
    queue = tables.queue(queue_id)
    taken: list[str] = []
    while True:
        for attempt in range(10):  # SQLite lets one writer in at a time: a busy database is retried
            try:
                now = schema.utcnow()
                claim = tables.claim_next(queue, reviewer, now)
                if claim is None:
                    return taken
                annotation = {
                    "id": uuid.uuid4().hex, "queue_id": queue.id, "record_id": claim.record_id, "reviewer": reviewer,
                    "kind": "review", "rubric": "compliance", "rubric_version": 1, "scores": {}, "comments": {},
                    "created_at": now, "supersedes": None, "superseded_by": None,
                }
                if not tables.submit(claim, annotation, queue.overlap, now):
                    raise AssertionError(f"{reviewer} could not submit its own claim on {claim.record_id}")
                taken.append(claim.record_id)
                break
            except StorageError:
                if attempt == 9:
                    raise
                time.sleep(0.2 * (attempt + 1))


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
