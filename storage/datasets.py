"""Evaluation datasets, stored in TruLens's own dataset tables.

TruLens models a dataset as a ``Dataset`` (name and metadata, in ``trulens_dataset``) with
``GroundTruth`` rows (in ``trulens_ground_truth``). PromptForge writes both through
TruLens's schema and ORM classes, so TruLens's own APIs read the same data back
(``TruSession.get_ground_truth(name)``, ``get_datasets()``). Rows are whatever the caller
hands over: PromptForge only ever stores scrubbed rows (see ``execution.dataset_import``).

One row (the shape of ``execution.datasets`` rows: variables plus ``_expected`` /
``_context``) maps onto one ground truth:

===============================  =====================================================
row                              GroundTruth
===============================  =====================================================
its variables ``{name: text}``   ``query``: the JSON object text of the variables, in
                                 column order (``{"customer": "<PERSON_1>", ...}``)
``_expected``                    ``expected_response`` (``None`` when the row has none)
``_context``                     ``expected_chunks``: ``[{"text": context}]`` (``None``
                                 when the row has none)
its position (0-based)           ``query_id`` ``"7"``, ``meta`` ``{"row": 7}`` (and
                                 ``"source_row"``, its row in the uploaded file), and the
                                 id ``<dataset_id>_row_0000000007``
===============================  =====================================================

Ground truth ids sort in row order, so ``ORDER BY ground_truth_id`` (what TruLens's ORM
relationship uses too) reads the rows back in order, duplicates included. The dataset's
metadata holds ``created_at`` (UTC, ISO 8601), ``rows``, ``columns`` (the variable
columns), ``has_expected``, ``has_context`` and whatever the caller adds (format, who
imported it, entity counts). Its id is TruLens's content id of name and metadata.

TruLens allows two datasets of the same name; PromptForge does not: saving under a name
in use raises ``DatasetExistsError`` unless ``replace=True``, which swaps the old rows
for the new in one transaction. Writers are serialized (SQLite ``BEGIN IMMEDIATE``, a
PostgreSQL advisory lock) so two saves cannot both take a name. Listing filters, orders
and paginates in SQL on the JSON text of the dataset rows; it never reads ground truths.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from config.errors import InputError, NotFoundError
from storage.engine import storage_errors

EXPECTED = "_expected"
CONTEXT = "_context"
FORMAT_VERSION = 1
MAX_NAME_CHARS = 200
_ID_PREFIX = "dataset_hash_"
# one advisory lock for every writer of datasets on a PostgreSQL database ("pf_dsets")
_PG_LOCK_KEY = int.from_bytes(b"pf_dsets", "big")

Row = dict[str, str]


class DatasetExistsError(InputError):
    """A dataset of that name exists already."""


class DatasetStore:
    """Save, list, load and delete datasets through the store's TruLens session."""

    def __init__(self, store: Any) -> None:
        self._db = store.session.connector.db
        self._engine: sa.Engine = store.engine
        self._datasets: sa.Table = self._db.orm.Dataset.__table__
        self._truths: sa.Table = self._db.orm.GroundTruth.__table__

    # -- writing ---------------------------------------------------------------------

    def save_dataset(
        self,
        name: str,
        rows: Sequence[Mapping[str, str]],
        meta: Mapping[str, Any] | None = None,
        *,
        replace: bool = False,
        source_rows: Sequence[int] | None = None,
    ) -> str:
        """Store ``rows`` (in order) as the dataset ``name``; returns its id.

        ``meta`` is added to the dataset's metadata (JSON-safe values; no row values).
        ``source_rows`` gives each row's index in the file it came from. Raises
        ``DatasetExistsError`` when the name is taken and ``replace`` is false.
        """
        from trulens.core.schema.dataset import Dataset

        name = check_name(name)
        rows = [_check_row(i, row) for i, row in enumerate(rows)]
        if not rows:
            raise InputError(f"Dataset {name!r} has no rows.", "Add at least one row before saving.")
        if source_rows is not None and len(source_rows) != len(rows):
            raise InputError("source_rows must give one number per row.", "This is a bug in the caller.")
        columns = list(dict.fromkeys(k for row in rows for k in row if k not in (EXPECTED, CONTEXT)))
        info = {
            **dict(meta or {}),
            "promptforge": FORMAT_VERSION,
            "created_at": _now(),
            "rows": len(rows),
            "columns": columns,
            "has_expected": any(EXPECTED in row for row in rows),
            "has_context": any(CONTEXT in row for row in rows),
        }
        try:
            json.dumps(info, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"Dataset metadata is not JSON-safe: {exc}.", "This is a bug in the caller.") from None
        dataset = Dataset(name=name, meta=info)
        dataset_row = self._db.orm.Dataset.parse(dataset, redact_keys=self._db.redact_keys)
        truths = [
            _ground_truth_row(dataset.dataset_id, i, row, None if source_rows is None else source_rows[i])
            for i, row in enumerate(rows)
        ]
        with storage_errors(self._engine), self._engine.begin() as conn:
            self._lock(conn)
            existing = self._ids_named(conn, name)
            if existing and not replace:
                raise DatasetExistsError(
                    f"A dataset named {name!r} already exists.",
                    "Pick another name, or replace it (replace=True / the 'Replace' option).",
                )
            for dataset_id in existing:
                self._delete(conn, dataset_id)
            conn.execute(
                sa.insert(self._datasets),
                {"dataset_id": dataset_row.dataset_id, "dataset_json": dataset_row.dataset_json},
            )
            conn.execute(sa.insert(self._truths), truths)
        return dataset.dataset_id

    def delete_dataset(self, name_or_id: str) -> int:
        """Delete a dataset and its rows; returns how many rows went."""
        with storage_errors(self._engine), self._engine.begin() as conn:
            self._lock(conn)
            dataset_id = self._resolve(conn, name_or_id)
            return self._delete(conn, dataset_id)

    # -- reading ---------------------------------------------------------------------

    def list_datasets(
        self, limit: int = 50, offset: int = 0, *, name_contains: str | None = None
    ) -> list[dict[str, Any]]:
        """A page of dataset summaries, newest first (datasets made outside PromptForge,
        which have no creation time, last): ``id``, ``name``, ``rows``, ``created``,
        ``created_by``, ``columns``, ``has_expected``, ``has_context``, ``meta``."""
        t = self._datasets.c
        query = (
            sa.select(t.dataset_id, t.dataset_json)
            .order_by(self._json_text("meta", "created_at").desc().nulls_last(), self._json_text("name"), t.dataset_id)
            .limit(max(0, int(limit)))
            .offset(max(0, int(offset)))
        )
        query = self._filtered(query, name_contains)
        with storage_errors(self._engine), self._engine.connect() as conn:
            found = [(row.dataset_id, json.loads(row.dataset_json)) for row in conn.execute(query)]
            uncounted = [i for i, data in found if not isinstance((data.get("meta") or {}).get("rows"), int)]
            counts = self._count_rows(conn, uncounted)
        return [_summary(dataset_id, data, counts.get(dataset_id)) for dataset_id, data in found]

    def count_datasets(self, *, name_contains: str | None = None) -> int:
        query = self._filtered(sa.select(sa.func.count()).select_from(self._datasets), name_contains)
        with storage_errors(self._engine), self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def get_dataset(self, name_or_id: str) -> dict[str, Any]:
        """The summary of one dataset (as in ``list_datasets``)."""
        with storage_errors(self._engine), self._engine.connect() as conn:
            dataset_id = self._resolve(conn, name_or_id)
            text = conn.execute(
                sa.select(self._datasets.c.dataset_json).where(self._datasets.c.dataset_id == dataset_id)
            ).scalar_one()
            data = json.loads(text)
            count = None
            if not isinstance((data.get("meta") or {}).get("rows"), int):
                count = self._count_rows(conn, [dataset_id]).get(dataset_id, 0)
        return _summary(dataset_id, data, count)

    def exists(self, name: str) -> bool:
        """Whether a dataset of this name exists."""
        with storage_errors(self._engine), self._engine.connect() as conn:
            return bool(self._ids_named(conn, name.strip()))

    def load_dataset(self, name_or_id: str, *, limit: int | None = None, offset: int = 0) -> list[Row]:
        """The rows of a dataset, in order, as ``execution.datasets`` gives them: variables
        plus ``_expected`` / ``_context`` when the row has them. ``limit``/``offset`` page.

        A ground truth written by other TruLens tools whose ``query`` is not a JSON object
        of text values reads as one variable named ``query``."""
        t = self._truths.c
        with storage_errors(self._engine), self._engine.connect() as conn:
            dataset_id = self._resolve(conn, name_or_id)
            query = sa.select(t.ground_truth_json).where(t.dataset_id == dataset_id).order_by(t.ground_truth_id)
            if limit is not None:
                query = query.limit(max(0, int(limit)))
            if offset:
                query = query.offset(max(0, int(offset)))
            return [_row_of(json.loads(text)) for text in conn.execute(query).scalars()]

    # -- helpers ---------------------------------------------------------------------

    def _json_text(self, *path: str) -> sa.ColumnElement[str]:
        """A text field of ``trulens_dataset.dataset_json`` (a TEXT column holding JSON)."""
        column = self._datasets.c.dataset_json
        if self._engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            expr: Any = sa.cast(column, JSONB)
            for key in path[:-1]:
                expr = expr[key]
            return expr[path[-1]].astext
        return sa.func.json_extract(column, "$." + ".".join(f'"{key}"' for key in path))

    def _filtered(self, query: sa.Select, name_contains: str | None) -> sa.Select:
        if not name_contains:
            return query
        pattern = name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return query.where(self._json_text("name").ilike(f"%{pattern}%", escape="\\"))

    def _ids_named(self, conn: sa.Connection, name: str) -> list[str]:
        query = sa.select(self._datasets.c.dataset_id).where(self._json_text("name") == name)
        return list(conn.execute(query).scalars())

    def _resolve(self, conn: sa.Connection, name_or_id: str) -> str:
        """The id of the dataset with this id, or else with this name."""
        key = str(name_or_id).strip()
        t = self._datasets.c
        if key.startswith(_ID_PREFIX) and conn.execute(sa.select(t.dataset_id).where(t.dataset_id == key)).first():
            return key
        ids = self._ids_named(conn, key)
        if len(ids) == 1:
            return ids[0]
        if ids:
            raise InputError(
                f"{len(ids)} datasets are named {key!r} (made outside PromptForge).",
                f"Use a dataset id instead: {', '.join(sorted(ids))}.",
            )
        names = [s["name"] for s in self.list_datasets(limit=20)]
        raise NotFoundError(
            f"No dataset named {key!r}.",
            f"Available datasets: {', '.join(names) or 'none'}" + (" (and more)." if len(names) == 20 else "."),
        )

    def _count_rows(self, conn: sa.Connection, dataset_ids: list[str]) -> dict[str, int]:
        if not dataset_ids:
            return {}
        t = self._truths.c
        query = sa.select(t.dataset_id, sa.func.count()).where(t.dataset_id.in_(dataset_ids)).group_by(t.dataset_id)
        return {dataset_id: int(n) for dataset_id, n in conn.execute(query)}

    def _delete(self, conn: sa.Connection, dataset_id: str) -> int:
        removed = conn.execute(sa.delete(self._truths).where(self._truths.c.dataset_id == dataset_id)).rowcount
        conn.execute(sa.delete(self._datasets).where(self._datasets.c.dataset_id == dataset_id))
        return int(removed or 0)

    def _lock(self, conn: sa.Connection) -> None:
        """Serialize dataset writers before a name is checked."""
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite has not begun one yet: take the write lock
        elif conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")


# -- names, rows and ground truths ------------------------------------------------------


def check_name(name: object) -> str:
    """A usable dataset name (stripped), or ``InputError``."""
    if not isinstance(name, str) or not name.strip():
        raise InputError("A dataset needs a name.", "Give it a short name such as 'complaints-2025-q1'.")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InputError(
            "Invalid dataset name.", f"Use up to {MAX_NAME_CHARS} printable characters, on one line."
        )
    if name.startswith(_ID_PREFIX):
        raise InputError(f"Dataset names cannot start with {_ID_PREFIX!r}.", "That prefix is kept for dataset ids.")
    return name


def _check_row(index: int, row: Mapping[str, str]) -> Row:
    if not isinstance(row, Mapping):
        raise InputError(f"Dataset row {index} is not a mapping of column to text.", "This is a bug in the caller.")
    for key, value in row.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InputError(
                f"Dataset row {index}: column names and values must be text (column {str(key)[:100]!r}).",
                "This is a bug in the caller.",
            )
    return dict(row)


def _ground_truth_row(dataset_id: str, index: int, row: Row, source_row: int | None) -> dict[str, str]:
    """One ``trulens_ground_truth`` row, through TruLens's ``GroundTruth`` schema."""
    from trulens.core.schema.groundtruth import GroundTruth

    variables = {k: v for k, v in row.items() if k not in (EXPECTED, CONTEXT)}
    meta: dict[str, Any] = {"row": index}
    if source_row is not None:
        meta["source_row"] = int(source_row)
    truth = GroundTruth(
        dataset_id=dataset_id,
        query=json.dumps(variables, ensure_ascii=False),
        query_id=str(index),
        expected_response=row.get(EXPECTED),
        expected_chunks=[{"text": row[CONTEXT]}] if CONTEXT in row else None,
        meta=meta,
        ground_truth_id=f"{dataset_id}_row_{index:010d}",
    )
    return {
        "ground_truth_id": truth.ground_truth_id,
        "dataset_id": dataset_id,
        "ground_truth_json": ground_truth_json(truth),
    }


def ground_truth_json(truth: Any) -> str:
    """The JSON TruLens's ``GroundTruth.model_dump_json()`` writes (the same text: a test
    checks it), built directly: TruLens's generic encoder costs ~0.5 ms a row."""
    return json.dumps(
        {
            "ground_truth_id": truth.ground_truth_id,
            "query": truth.query,
            "query_id": truth.query_id,
            "expected_response": truth.expected_response,
            "expected_chunks": None if truth.expected_chunks is None else [dict(c) for c in truth.expected_chunks],
            "meta": truth.meta,
            "dataset_id": truth.dataset_id,
        },
        ensure_ascii=False,
    )


def _row_of(truth: Mapping[str, Any]) -> Row:
    """A stored ground truth back as a dataset row."""
    query = truth.get("query")
    try:
        variables = json.loads(query) if isinstance(query, str) else None
    except json.JSONDecodeError:
        variables = None
    if isinstance(variables, dict) and all(isinstance(v, str) for v in variables.values()):
        row: Row = {str(k): v for k, v in variables.items()}
    else:
        row = {"query": query if isinstance(query, str) else json.dumps(query)}
    expected = truth.get("expected_response")
    if isinstance(expected, str) and expected:
        row[EXPECTED] = expected
    chunks = truth.get("expected_chunks")
    if chunks:
        texts = [c.get("text") if isinstance(c, dict) and isinstance(c.get("text"), str) else json.dumps(c) for c in chunks]
        row[CONTEXT] = "\n\n".join(texts)
    return row


def _summary(dataset_id: str, data: Mapping[str, Any], count: int | None) -> dict[str, Any]:
    meta = dict(data.get("meta") or {})
    rows = meta.get("rows") if isinstance(meta.get("rows"), int) else (count or 0)
    return {
        "id": dataset_id,
        "name": data.get("name"),
        "rows": rows,
        "created": meta.get("created_at"),
        "created_by": meta.get("created_by"),
        "columns": list(meta.get("columns") or []),
        "has_expected": bool(meta.get("has_expected")),
        "has_context": bool(meta.get("has_context")),
        "meta": meta,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


__all__ = ["DatasetExistsError", "DatasetStore", "check_name", "ground_truth_json"]
