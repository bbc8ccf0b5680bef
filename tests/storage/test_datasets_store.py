"""Datasets in TruLens's own dataset tables (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from config.errors import InputError, NotFoundError, StorageError
from storage import datasets as datasets_module
from storage.datasets import DatasetExistsError, DatasetStore, ground_truth_json

ROWS = [
    {"customer": "<PERSON_1>", "message": "Card blocked", "_expected": "We unblocked it.", "_context": "Policy 7"},
    {"customer": "Zoë <PERSON_1>", "message": "Fee?"},  # non-ASCII, no metadata
    {"customer": "<PERSON_1>", "message": "Card blocked", "_expected": "We unblocked it.", "_context": "Policy 7"},
    {"customer": "", "message": "Loan", "_expected": "See terms."},
]


@pytest.fixture
def datasets(store):
    return DatasetStore(store)


def test_round_trip_in_order_and_readable_by_trulens(datasets, store, unique):
    name = f"complaints-{unique}"
    dataset_id = datasets.save_dataset(name, ROWS, {"format": "csv"}, source_rows=[0, 2, 3, 5])
    assert datasets.load_dataset(name) == ROWS
    assert datasets.load_dataset(dataset_id) == ROWS
    assert datasets.load_dataset(name, limit=2, offset=1) == ROWS[1:3]

    # TruLens's own API reads the same rows
    frame = store.session.get_ground_truth(name)
    frame = frame.sort_values("query_id", key=lambda s: s.astype(int)).reset_index(drop=True)
    assert list(frame["dataset_id"].unique()) == [dataset_id]
    assert [json.loads(q) for q in frame["query"]] == [
        {k: v for k, v in row.items() if not k.startswith("_")} for row in ROWS
    ]
    expected = [None if pd.isna(v) else v for v in frame["expected_response"]]
    assert expected == [row.get("_expected") for row in ROWS]
    assert list(frame["expected_chunks"]) == [[{"text": "Policy 7"}], None, [{"text": "Policy 7"}], None]
    assert [m["row"] for m in frame["meta"]] == [0, 1, 2, 3]
    assert [m["source_row"] for m in frame["meta"]] == [0, 2, 3, 5]
    listed = store.session.connector.db.get_datasets()
    assert name in set(listed["name"])


def test_order_is_kept_for_many_rows(datasets, unique):
    rows = [{"n": str(i), "text": "same"} for i in range(2500)][::-1]
    datasets.save_dataset(f"many-{unique}", rows)
    assert datasets.load_dataset(f"many-{unique}") == rows


def test_names_are_unique_unless_replaced(datasets, store, unique):
    name = f"clash-{unique}"
    first = datasets.save_dataset(name, ROWS[:2])
    with pytest.raises(DatasetExistsError, match="already exists.*replace"):
        datasets.save_dataset(name, ROWS[2:])
    assert isinstance(DatasetExistsError("x"), InputError)
    assert datasets.load_dataset(name) == ROWS[:2]

    second = datasets.save_dataset(f"  {name} ", ROWS[2:], replace=True)  # names are stripped
    assert second != first
    assert datasets.load_dataset(name) == ROWS[2:]
    assert len(store.session.get_ground_truth(name)) == 2  # the old rows are gone
    assert [d["id"] for d in datasets.list_datasets(name_contains=name)] == [second]
    with pytest.raises(NotFoundError):
        datasets.load_dataset(first)


def test_a_failed_replace_keeps_the_old_dataset(datasets, monkeypatch, unique):
    name = f"atomic-{unique}"
    datasets.save_dataset(name, ROWS[:1])
    real = datasets_module._ground_truth_row

    def clashing(dataset_id, index, row, source_row):
        out = real(dataset_id, index, row, source_row)
        out["ground_truth_id"] = f"{dataset_id}_row_same"  # a primary-key clash on the second row
        return out

    monkeypatch.setattr(datasets_module, "_ground_truth_row", clashing)
    with pytest.raises(StorageError):
        datasets.save_dataset(name, ROWS, replace=True)
    monkeypatch.undo()
    assert datasets.load_dataset(name) == ROWS[:1]
    assert [d["rows"] for d in datasets.list_datasets(name_contains=name)] == [1]


def test_list_count_page_and_filter(datasets, unique):
    ids = [datasets.save_dataset(f"list-{unique}-{i}", ROWS[: i + 1], {"created_by": "user:ana"}) for i in range(3)]
    listed = datasets.list_datasets(name_contains=f"list-{unique}")
    assert [d["id"] for d in listed] == ids[::-1]  # newest first
    newest = listed[0]
    assert newest["name"] == f"list-{unique}-2" and newest["rows"] == 3
    assert newest["columns"] == ["customer", "message"] and newest["created_by"] == "user:ana"
    assert newest["has_expected"] and newest["has_context"] and newest["created"].endswith("Z")
    assert datasets.count_datasets(name_contains=f"list-{unique}") == 3
    page = datasets.list_datasets(limit=1, offset=1, name_contains=f"list-{unique}")
    assert [d["id"] for d in page] == [ids[1]]
    assert datasets.list_datasets(name_contains=f"list_{unique}") == []  # `_` is not a wildcard
    assert datasets.get_dataset(ids[0])["rows"] == 1


def test_delete(datasets, store, unique):
    name = f"gone-{unique}"
    dataset_id = datasets.save_dataset(name, ROWS)
    assert datasets.exists(name)
    assert datasets.delete_dataset(name) == len(ROWS)
    assert not datasets.exists(name)
    assert store.session.get_ground_truth(name) is None
    with pytest.raises(NotFoundError, match="No dataset named"):
        datasets.load_dataset(dataset_id)
    with pytest.raises(NotFoundError, match="Available datasets"):
        datasets.delete_dataset(name)


def test_datasets_written_by_trulens_itself(datasets, store, unique):
    name = f"native-{unique}"
    frame = pd.DataFrame({"query": ["What is APR?", "Define LTV"], "expected_response": ["A rate", ""]})
    store.session.add_ground_truth_to_dataset(name, frame)
    (summary,) = datasets.list_datasets(name_contains=name)
    assert summary["rows"] == 2 and summary["created"] is None and summary["columns"] == []
    rows = datasets.load_dataset(name)
    assert sorted(rows, key=lambda r: r["query"]) == [
        {"query": "Define LTV"},
        {"query": "What is APR?", "_expected": "A rate"},
    ]


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "x" * 201, "dataset_hash_123"])
def test_invalid_names(datasets, name):
    with pytest.raises(InputError):
        datasets.save_dataset(name, ROWS)


def test_invalid_rows(datasets, unique):
    with pytest.raises(InputError, match="no rows"):
        datasets.save_dataset(f"empty-{unique}", [])
    with pytest.raises(InputError, match="must be text"):
        datasets.save_dataset(f"typed-{unique}", [{"a": 1}])
    assert not datasets.exists(f"typed-{unique}")


def test_fast_json_equals_trulens_serialization():
    from trulens.core.schema.groundtruth import GroundTruth

    for row in ROWS:
        truth = GroundTruth(
            dataset_id="dataset_hash_x",
            query=json.dumps({k: v for k, v in row.items() if not k.startswith("_")}, ensure_ascii=False),
            query_id="3",
            expected_response=row.get("_expected"),
            expected_chunks=[{"text": row["_context"]}] if "_context" in row else None,
            meta={"row": 3, "source_row": 9},
            ground_truth_id="dataset_hash_x_row_0000000003",
        )
        assert ground_truth_json(truth) == truth.model_dump_json()
