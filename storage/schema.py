"""The project's own tables (prefix ``pf_``), as SQLAlchemy Core tables for queries.

Migrations in ``storage/migrations/versions`` create them; a test checks that the
migrated database matches this metadata. TruLens's tables (``trulens_*``) are
TruLens's: we read and append to them only through its ORM definitions.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

metadata = sa.MetaData()


def utcnow() -> datetime:
    """Now, as every ``pf_`` table stores times: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)

runs = sa.Table(
    "pf_runs",
    metadata,
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("app_name", sa.String(255), nullable=False),
    sa.Column("app_version", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("simulated", sa.Boolean, nullable=False),
    sa.Column("latency_s", sa.Float, nullable=False),
    sa.Column("input_tokens", sa.Integer, nullable=False),
    sa.Column("output_tokens", sa.Integer, nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=True),
    sa.Column("started_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("ended_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("batch_id", sa.String(64), nullable=True),
    sa.Column("dataset_row", sa.Integer, nullable=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("injection_action", sa.String(16), nullable=True),
    sa.Column("pii_in_entities", sa.Integer, nullable=False, server_default="0"),  # scrubbed from the prompt
    sa.Column("pii_out_entities", sa.Integer, nullable=False, server_default="0"),  # ... and from the answer
    sa.Column("pii_in", sa.JSON, nullable=False),
    sa.Column("pii_out", sa.JSON, nullable=False),
    sa.Column("decisions", sa.JSON, nullable=False),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("event_ids", sa.JSON, nullable=False),  # trulens_events rows of this run, root first
    sa.Index("ix_pf_runs_app_started", "app_name", "started_at"),
    # covering: counts, filters and sorts over a date range read this index alone, not the wide rows
    sa.Index(
        "ix_pf_runs_scan", "started_at", "record_id", "app_name", "app_version", "provider", "status",
        "injection_action", "latency_s", "cost_usd", "pii_in_entities", "pii_out_entities",
    ),
    sa.Index("ix_pf_runs_batch", "batch_id"),
    sa.Index("ix_pf_runs_ended", "ended_at"),
    sa.Index("ix_pf_runs_status_started", "status", "started_at"),
    sa.Index("ix_pf_runs_injection_started", "injection_action", "started_at"),
)

run_metrics = sa.Table(
    "pf_run_metrics",
    metadata,
    sa.Column(
        "record_id",
        sa.String(64),
        sa.ForeignKey("pf_runs.record_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("higher_is_better", sa.Boolean, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Index("ix_pf_run_metrics_name", "name"),
    sa.Index("ix_pf_run_metrics_name_value", "name", "value"),
)

run_text = sa.Table(
    "pf_run_text",
    metadata,
    # the scrubbed input and output, lower-cased, for free-text search (never raw text)
    sa.Column("record_id", sa.String(64), sa.ForeignKey("pf_runs.record_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
)

run_entities = sa.Table(
    "pf_run_entities",
    metadata,
    # PII entities scrubbed from a run, by type: direction "in" (the prompt) or "out" (the answer)
    sa.Column("record_id", sa.String(64), sa.ForeignKey("pf_runs.record_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("direction", sa.String(8), primary_key=True),
    sa.Column("entity_type", sa.String(64), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index("ix_pf_run_entities_type", "entity_type"),
)

# -- daily rollups of runs for the Overview (kept by storage.rollups; rebuilt by `launch.py reindex`) --


def _rollup(name: str, *columns: sa.Column) -> sa.Table:
    """A rollup table: counts per UTC day, prompt version and provider, then ``columns``."""
    return sa.Table(
        name,
        metadata,
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("app_name", sa.String(255), primary_key=True),
        sa.Column("app_version", sa.String(128), primary_key=True),
        sa.Column("provider", sa.String(64), primary_key=True),
        *columns,
    )


rollup_runs = _rollup(
    "pf_rollup_runs",
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("injection", sa.String(16), primary_key=True),  # the screen's action; "" when not screened
    sa.Column("runs", sa.Integer, nullable=False),
    sa.Column("latency_sum", sa.Float, nullable=False),  # of completed (ok) runs
    sa.Column("cost_sum", sa.Float, nullable=False),
    sa.Column("cost_n", sa.Integer, nullable=False),  # runs with a known cost
    sa.Column("tokens", sa.BigInteger, nullable=False),
)
rollup_latency = _rollup(
    "pf_rollup_latency",
    sa.Column("bin", sa.Integer, primary_key=True),  # storage.rollups.latency_bin of completed runs
    sa.Column("runs", sa.Integer, nullable=False),
)
rollup_metrics = _rollup(
    "pf_rollup_metrics",
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("higher", sa.Integer, nullable=False),  # results whose metric is better higher
)
rollup_entities = _rollup(
    "pf_rollup_entities",
    sa.Column("direction", sa.String(8), primary_key=True),
    sa.Column("entity_type", sa.String(64), primary_key=True),
    sa.Column("entities", sa.Integer, nullable=False),
    sa.Column("runs", sa.Integer, nullable=False),
)

audit_events = sa.Table(
    "pf_audit_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # canonical JSON
    sa.Column("alg", sa.String(16), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_pf_audit_events_action", "action"),
)

users = sa.Table(
    "pf_users",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("roles", sa.JSON, nullable=False),  # list of role names
    sa.Column("password_hash", sa.String(255), nullable=True),  # Argon2id; never the password
    sa.Column("must_change_password", sa.Boolean, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.DateTime, nullable=True),  # naive UTC
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("password_changed_at", sa.DateTime, nullable=True),
    sa.Column("last_login_at", sa.DateTime, nullable=True),
)

label_requests = sa.Table(
    "pf_label_requests",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("slug", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_by", sa.String(255), nullable=False),
    sa.Column("requested_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("status", sa.String(16), nullable=False),  # pending | approved | rejected
    sa.Column("decided_by", sa.String(255), nullable=True),
    sa.Column("decided_at", sa.DateTime, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("comparison_id", sa.String(32), nullable=True),  # the A/B comparison the request cites
    sa.Index("ix_pf_label_requests_status", "status"),
)

metric_sets = sa.Table(
    "pf_metric_sets",
    metadata,
    sa.Column("slug", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),  # 0: every version of the prompt
    sa.Column("metrics", sa.JSON, nullable=False),  # list of metric specs (evaluation.metric_sets)
    sa.Column("updated_by", sa.String(255), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),  # naive UTC
)

eval_runs = sa.Table(
    "pf_eval_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # also the batch_id of its pf_runs rows
    sa.Column("prompt_ref", sa.String(255), nullable=False),  # slug@vN
    sa.Column("app_name", sa.String(255), nullable=False),
    sa.Column("app_version", sa.String(128), nullable=False),
    sa.Column("dataset", sa.String(255), nullable=False),  # its name when the run was made
    sa.Column("dataset_id", sa.String(128), nullable=False),  # the exact rows (a replaced dataset gets a new id)
    sa.Column("total_rows", sa.Integer, nullable=False),
    sa.Column("provider", sa.String(255), nullable=False),
    sa.Column("judge", sa.String(255), nullable=True),
    sa.Column("metrics", sa.JSON, nullable=False),  # the metric set as it was when the run started
    # queued | running | cancelled | done | failed (a crashed "running" run is resumed)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("done_rows", sa.Integer, nullable=False),
    sa.Column("failed_rows", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("gates", sa.JSON, nullable=True),  # gate results once done
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("started_at", sa.DateTime, nullable=True),
    sa.Column("heartbeat_at", sa.DateTime, nullable=True),  # a live runner touches it every chunk
    sa.Column("finished_at", sa.DateTime, nullable=True),
    sa.Index("ix_pf_eval_runs_created", "created_at"),
    sa.Index("ix_pf_eval_runs_status", "status"),
)

prompt_specs = sa.Table(
    "pf_prompt_specs",
    metadata,
    sa.Column("version_id", sa.String(256), primary_key=True),  # TruLens's prompt version id
    sa.Column("slug", sa.String(256), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),  # 1, 2, 3… in creation order per prompt
    sa.Column("kind", sa.String(16), nullable=False),  # template | chat | fragment
    sa.Column("digest", sa.String(64), nullable=False),  # SHA-256 of the canonical spec JSON
    sa.Column("spec", sa.Text, nullable=False),  # canonical JSON (prompts.spec.PromptSpec)
    sa.Column("text", sa.Text, nullable=False),  # every source as one text, for search
    sa.Column("variables", sa.JSON, nullable=False),  # names the sources and their fragments read
    sa.Column("change_note", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("parent_version_id", sa.String(256), nullable=True),  # the version the author started from
    sa.Column("embedding", sa.LargeBinary, nullable=True),  # float32 MiniLM vector of `text`, for search
    sa.UniqueConstraint("slug", "number", name="uq_pf_prompt_specs_slug_number"),
    sa.Index("ix_pf_prompt_specs_digest", "digest"),
)

comparisons = sa.Table(
    "pf_comparisons",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("slug", sa.String(255), nullable=False),  # the prompt compared
    sa.Column("side_a", sa.JSON, nullable=False),  # {"ref": "slug@v1", "version": 1, "label": ..., "provider": ...}
    sa.Column("side_b", sa.JSON, nullable=False),
    sa.Column("dataset", sa.String(255), nullable=False),
    sa.Column("dataset_id", sa.String(128), nullable=False),
    sa.Column("total_rows", sa.Integer, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),  # the metric set both sides run
    sa.Column("guards", sa.JSON, nullable=False),  # metric names that must not regress
    sa.Column("repeats", sa.Integer, nullable=False),
    sa.Column("run_ids", sa.JSON, nullable=False),  # {"a": [evaluation ids], "b": [...]}, one per repeat
    sa.Column("reused", sa.JSON, nullable=False),  # evaluation ids taken over from earlier runs
    sa.Column("status", sa.String(16), nullable=False),  # queued | running | cancelled | failed | done
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("statistics", sa.JSON, nullable=True),  # the metric figures, once both sides are done
    sa.Column("decision", sa.JSON, nullable=True),  # {"action", "reason", "request_id"}
    sa.Column("decided_by", sa.String(255), nullable=True),
    sa.Column("decided_at", sa.DateTime, nullable=True),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Index("ix_pf_comparisons_created", "created_at"),
    sa.Index("ix_pf_comparisons_slug", "slug"),
)

comparison_preferences = sa.Table(
    "pf_comparison_preferences",
    metadata,
    sa.Column("comparison_id", sa.String(32), primary_key=True),
    sa.Column("dataset_row", sa.Integer, primary_key=True),
    sa.Column("actor", sa.String(255), primary_key=True),  # one judgement per person and row
    sa.Column("preference", sa.String(16), nullable=False),  # a | b | tie | both_bad
    sa.Column("comment", sa.Text, nullable=False),  # scrubbed
    sa.Column("recorded_at", sa.DateTime, nullable=False),  # naive UTC
)

# -- review: rubrics, queues, claims and annotations (the workflow is ``review/``) ---------------

rubrics = sa.Table(
    "pf_rubrics",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),  # 1, 2, 3… : a rubric is never edited in place
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),  # canonical JSON (review.rubrics.Rubric)
    sa.Column("digest", sa.String(64), nullable=False),  # SHA-256 of the spec
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),  # naive UTC
)

review_queues = sa.Table(
    "pf_review_queues",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("filters", sa.JSON, nullable=False),  # which recorded runs enter (review.queues.QueueFilter)
    sa.Column("rubric", sa.String(64), nullable=False),  # reviewers use its newest version
    sa.Column("overlap", sa.Integer, nullable=False),  # reviews wanted per item (k)
    sa.Column("claim_minutes", sa.Integer, nullable=False),  # a claim not submitted by then expires
    sa.Column("refreshed_until", sa.DateTime, nullable=True),  # runs that ended up to here were matched
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

review_items = sa.Table(
    "pf_review_items",
    metadata,
    sa.Column("queue_id", sa.String(32), primary_key=True),
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("added_at", sa.DateTime, nullable=False),
    sa.Column("complete", sa.Boolean, nullable=False),  # every review it wants is submitted
    sa.Index("ix_pf_review_items_open", "queue_id", "complete", "added_at", "record_id"),
)

review_slots = sa.Table(
    "pf_review_slots",
    metadata,
    # one row per review an item wants (slot 0 … overlap−1): the key makes a slot one reviewer's
    sa.Column("queue_id", sa.String(32), primary_key=True),
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True),
    sa.Column("reviewer", sa.String(255), nullable=False),
    sa.Column("token", sa.String(32), nullable=False),  # the claim token a submit must present
    sa.Column("claimed_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("submitted_at", sa.DateTime, nullable=True),  # set: the slot is done for good
    sa.UniqueConstraint("queue_id", "record_id", "reviewer", name="uq_pf_review_slots_reviewer"),
    sa.Index("ix_pf_review_slots_reviewer", "queue_id", "reviewer"),
)

review_skips = sa.Table(
    "pf_review_skips",
    metadata,
    sa.Column("queue_id", sa.String(32), primary_key=True),
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("reviewer", sa.String(255), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("skipped_at", sa.DateTime, nullable=False),
)

annotations = sa.Table(
    "pf_annotations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("queue_id", sa.String(32), nullable=False),
    sa.Column("record_id", sa.String(64), nullable=False),
    sa.Column("reviewer", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # review | adjudication
    sa.Column("rubric", sa.String(64), nullable=False),
    sa.Column("rubric_version", sa.Integer, nullable=False),
    sa.Column("scores", sa.JSON, nullable=False),
    sa.Column("comments", sa.JSON, nullable=False),  # item -> comment (scrubbed)
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("supersedes", sa.String(32), nullable=True),  # the annotation this one corrects
    sa.Column("superseded_by", sa.String(32), nullable=True),
    sa.Index("ix_pf_annotations_item", "queue_id", "record_id"),
    sa.Index("ix_pf_annotations_record", "record_id"),
)

# -- signed-in browser sessions (the workflow is ``security.identity.session_store``) -------------

sessions = sa.Table(
    "pf_sessions",
    metadata,
    # SHA-256 of the random token the browser holds in its cookie; the token itself is never stored
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(255), nullable=False),  # a pf_users name, or the SSO identity
    sa.Column("kind", sa.String(16), nullable=False),  # user | sso
    sa.Column("started_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("last_seen", sa.DateTime, nullable=False),  # written at most once a minute
    sa.Column("ended_at", sa.DateTime, nullable=True),
    sa.Column("end_reason", sa.String(255), nullable=True),  # sign-out, expiry, account disabled…
    sa.Index("ix_pf_sessions_user", "username", "ended_at"),
)

# -- API tokens (the workflow is ``security.identity.tokens``) ------------------------------------

api_tokens = sa.Table(
    "pf_api_tokens",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),  # public: shown in lists and audit events
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # SHA-256 of the token; never the token
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),  # the pf_users account it acts as
    sa.Column("scopes", sa.JSON, nullable=False),  # read | run | evaluate
    sa.Column("created_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
    sa.Column("revoked_by", sa.String(255), nullable=True),
    sa.Column("last_used_at", sa.DateTime, nullable=True),  # written at most once a minute
    sa.Column("requests_per_minute", sa.Integer, nullable=True),  # None: no limit
    sa.Column("spend_per_day_usd", sa.Float, nullable=True),
    sa.Index("ix_pf_api_tokens_user", "username"),
)

# requests per token and minute, for the tokens' per-minute limits across every API process
api_token_hits = sa.Table(
    "pf_api_token_hits",
    metadata,
    sa.Column("token_id", sa.String(16), primary_key=True),
    sa.Column("minute", sa.DateTime, primary_key=True),  # naive UTC, truncated to the minute
    sa.Column("hits", sa.Integer, nullable=False),
)
