"""Importing datasets: validated, scrubbed by the real Presidio scrubber, stored in
TruLens's dataset tables, audited without values."""

from __future__ import annotations

import csv
import io
import json

import pytest

from config.errors import DatasetError, PermissionDenied, ScrubbingError, StorageError
from execution import dataset_import
from execution.dataset_import import import_dataset, resolve_dataset
from security.identity import Principal, Role
from storage.audit import audit_log, canonical_json
from storage.datasets import DatasetExistsError, DatasetStore
from tests.fakes.synthetic_pii import make_samples

pytestmark = pytest.mark.slow  # the real spaCy model
ACTOR = "user:ana"


def _csv(samples) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["customer", "message", "expected_output", "context", "notes"])
    for s in samples:
        writer.writerow([s.name, s.text, f"Dear {s.name}, we are sorry.", f"Case of {s.name}: {s.secrets['email']}", "x"])
    return out.getvalue().encode()


def _import(settings, scrubber, store, data, name, filename="upload.csv", **kwargs):
    return import_dataset(
        data, filename, name, settings=settings, scrubber=scrubber, store=store, actor=ACTOR, **kwargs
    )


def _needles(samples) -> dict[str, bytes]:
    needles = {}
    for i, s in enumerate(samples):
        needles[f"name {i}"] = s.name.encode()
        for kind, value in s.secrets.items():
            needles[f"{kind} {i}"] = value.encode()
    return needles


def test_import_stores_only_scrubbed_values(tmp_settings, scrubber, sqlite_store):
    samples = make_samples(12, seed=5)
    report = _import(
        tmp_settings, scrubber, sqlite_store, _csv(samples), "complaints", template_variables=["customer", "message"]
    )
    assert (report.rows_stored, report.rows_total, report.rows_rejected) == (12, 12, 0)
    assert report.columns == ["customer", "message"] and report.ignored_columns == ["notes"]
    assert report.has_expected and report.has_context and report.format == "csv"
    assert report.entities["PERSON"] >= 12 * 3 and report.entities["EMAIL_ADDRESS"] >= 12 * 2
    assert {"PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN"} <= set(report.entities)

    rows = DatasetStore(sqlite_store).load_dataset("complaints")
    assert len(rows) == 12 and set(rows[0]) == {"customer", "message", "_expected", "_context"}
    for row in rows:  # one pseudonym map per row: the same name, the same placeholder
        assert row["customer"] == "<PERSON_1>"
        assert row["_expected"] == "Dear <PERSON_1>, we are sorry."
        assert row["_context"].startswith("Case of <PERSON_1>: <EMAIL_ADDRESS_1>")
        assert "<EMAIL_ADDRESS_1>" in row["message"]

    # nothing original in TruLens's tables, as TruLens reads them
    frame = sqlite_store.session.get_ground_truth("complaints")
    stored = frame.to_json().encode()
    assert b"PERSON_1" in stored  # the check can see content
    leaks = [what for what, needle in _needles(samples).items() if needle in stored]
    assert not leaks, leaks

    # nor anywhere in the database files (WAL included)
    sqlite_store.flush()
    blobs = {p.name: p.read_bytes() for p in tmp_settings.data_dir.iterdir() if p.name.startswith("pf.db")}
    assert any(b"we are sorry" in blob for blob in blobs.values())  # the check can see content
    leaks = [f"{what} in {file}" for file, blob in blobs.items() for what, n in _needles(samples).items() if n in blob]
    assert not leaks, leaks[:10]


def test_audit_event_holds_counts_never_values(tmp_settings, scrubber, sqlite_store):
    samples = make_samples(3, seed=8)
    report = _import(tmp_settings, scrubber, sqlite_store, _csv(samples), "audited")
    (event,) = audit_log(tmp_settings).list(action="dataset_import")
    assert (event.actor, event.target) == (ACTOR, "audited")
    assert event.details["rows_stored"] == 3 and event.details["dataset_id"] == report.dataset_id
    assert event.details["entities_scrubbed"] == report.entities and not event.details["replaced"]
    text = canonical_json(event.details)
    assert not [what for what, needle in _needles(samples).items() if needle.decode() in text]
    assert "customer" not in text  # counts, not even column names


def test_rejected_rows_are_reported_without_values(tmp_settings, scrubber, sqlite_store):
    secret = "Maria Gonzalez"
    lines = [
        {"customer": secret, "message": "Please call me."},
        {"customer": secret, "message": "Please call me."},  # a duplicate
        {"customer": secret, "message": {"nested": secret}},
        {"customer": "\u0001\u0002\u0003\u0004", "message": "binary noise"},
        {"message": "no customer"},
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode() + b"\n{oops " + secret.encode()
    report = _import(
        tmp_settings, scrubber, sqlite_store, data, "partial", filename="rows.jsonl",
        template_variables=["customer", "message"],
    )
    assert report.rows_stored == 1 and report.rows_total == 6
    assert [(f.row, f.line) for f in report.rejected] == [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]
    reasons = [f.error for f in report.rejected]
    assert "duplicates row 0" in reasons[0]
    assert "holds an object" in reasons[1]
    assert "looks like binary data" in reasons[2] and "'customer'" in reasons[2]
    assert "no value for the template variable 'customer'" in reasons[3]
    assert reasons[4].startswith("line 6: not valid JSON")
    assert not any("Maria" in str(f) or "Gonzalez" in str(f) for f in report.rejected)
    assert DatasetStore(sqlite_store).load_dataset("partial") == [
        {"customer": "<PERSON_1>", "message": "Please call me."}
    ]
    assert "Maria" not in json.dumps(report.to_dict())


@pytest.mark.parametrize(
    ("data", "filename", "variables", "message"),
    [
        (b"customer\nA\n", "f.csv", ["customer", "amount"], "no column for the template variable 'amount'"),
        (b"", "f.csv", None, "empty"),
        (b"\xff\xfeA\x00", "f.csv", None, "UTF-16"),
        ("a\n\u00e9".encode("latin-1"), "f.csv", None, "not UTF-8"),
        (b'{"a": 1}\n{"a": ', "f.json", None, "does not parse"),
        (b"a\n" + b"x\n" * 6, "f.csv", None, "more than 5 rows"),
        (b"a,b\n1\n", "f.csv", None, "None of the 1 rows"),
        (b"a", "f.txt", None, "Unsupported"),
    ],
)
def test_failing_validation_stores_nothing(tmp_settings, scrubber, sqlite_store, data, filename, variables, message):
    settings = tmp_settings.model_copy(update={"max_dataset_rows": 5})
    with pytest.raises(DatasetError, match=message):
        _import(settings, scrubber, sqlite_store, data, "bad", filename=filename, template_variables=variables)
    assert DatasetStore(sqlite_store).count_datasets() == 0
    assert audit_log(tmp_settings).list(action="dataset_import") == []


def test_name_clash_and_replace(tmp_settings, scrubber, sqlite_store):
    _import(tmp_settings, scrubber, sqlite_store, b"q\nfirst\n", "clash")
    with pytest.raises(DatasetExistsError, match="already exists"):
        _import(tmp_settings, scrubber, sqlite_store, b"q\nsecond\n", "clash")
    report = _import(tmp_settings, scrubber, sqlite_store, b"q\nsecond\n", "clash", replace=True)
    assert report.replaced
    assert DatasetStore(sqlite_store).load_dataset("clash") == [{"q": "second"}]
    events = audit_log(tmp_settings).list(action="dataset_import")
    assert [e.details["replaced"] for e in events] == [True, False]


class _BrokenScrubber:
    def warm_up(self, wait=True):
        return False

    def scrub_many(self, texts, pseudonyms=None):
        raise ScrubbingError("PII scrubbing failed.", "Nothing was sent or stored.")


def test_scrubbing_failure_stores_nothing(tmp_settings, sqlite_store):
    with pytest.raises(ScrubbingError):
        _import(tmp_settings, _BrokenScrubber(), sqlite_store, b"q\nhello\n", "unscrubbed")
    assert DatasetStore(sqlite_store).count_datasets() == 0


def test_no_dataset_without_its_audit_event(tmp_settings, scrubber, sqlite_store, monkeypatch):
    def broken(*args):
        raise StorageError("The audit log is unavailable.", "Retry.")

    monkeypatch.setattr(dataset_import, "_audit", broken)
    with pytest.raises(StorageError):
        _import(tmp_settings, scrubber, sqlite_store, b"q\nhello\n", "unaudited")
    assert not DatasetStore(sqlite_store).exists("unaudited")


def test_principal_needs_the_evaluate_permission(tmp_settings, scrubber, sqlite_store):
    reviewer = Principal("rita", frozenset({Role.REVIEWER}))
    with pytest.raises(PermissionDenied):
        import_dataset(
            b"q\nhi\n", "f.csv", "x", settings=tmp_settings, scrubber=scrubber, store=sqlite_store, actor=reviewer
        )
    analyst = Principal("ana", frozenset({Role.ANALYST}))
    import_dataset(b"q\nhi\n", "f.csv", "x", settings=tmp_settings, scrubber=scrubber, store=sqlite_store, actor=analyst)
    assert audit_log(tmp_settings).list(action="dataset_import")[0].actor == "user:ana"


def test_resolve_dataset_imports_a_file_once_by_content_and_passes_names_through(
    tmp_settings, scrubber, sqlite_store, tmp_path
):
    path = tmp_path / "calls.csv"
    path.write_text("who,question,context\nDaniel Okafor,Why was I charged?,Fee schedule\nbad row\n")
    kwargs = {"settings": tmp_settings, "scrubber": scrubber, "store": sqlite_store, "actor": ACTOR}
    name, report = resolve_dataset(path, **kwargs)
    assert name.startswith("calls-") and len(name) == len("calls-") + 8
    assert (report.rows_stored, [f.row for f in report.rejected]) == (1, [1])
    stored = DatasetStore(sqlite_store).load_dataset(name)
    assert stored == [{"who": "<PERSON_1>", "question": "Why was I charged?", "_context": "Fee schedule"}]

    assert resolve_dataset(path, **kwargs) == (name, None)  # the same file again: its stored rows
    assert len(audit_log(tmp_settings).list(action="dataset_import")) == 1
    path.write_text("who,question\nAna,Where is my card?\n")  # edited: a new dataset
    edited, report = resolve_dataset(path, **kwargs)
    assert edited != name and report.rows_stored == 1

    assert resolve_dataset(name, **kwargs) == (name, None)  # a name is passed through
    assert resolve_dataset("no-such-dataset", **kwargs) == ("no-such-dataset", None)
    with pytest.raises(DatasetError, match="file not found"):
        resolve_dataset(tmp_path / "missing.csv", **kwargs)


class _FirstCellScrubber:
    """Finds 'Lukas Haddad' and 'Lukas' only in the first text of each row (as a model that
    misses a mention in an unusual context would)."""

    def warm_up(self, wait=True):
        return False

    def scrub_many(self, texts, pseudonyms=None):
        from security.pii.results import Entity, ScrubResult

        out, seen = [], set()
        for text, pmap in zip(texts, pseudonyms, strict=True):
            if id(pmap) in seen:
                out.append(ScrubResult(text))
                continue
            seen.add(id(pmap))
            start = text.index("Lukas Haddad")
            new = pmap.placeholder("PERSON", "Lukas Haddad")
            entity = Entity("PERSON", start, start + 12, 0.9, new, start, start + len(new))
            out.append(ScrubResult(text[:start] + new + text[start + 12 :], [entity]))
        return out


def test_a_value_found_in_one_cell_is_replaced_in_the_whole_row():
    from execution.dataset_import import scrub_rows

    rows = [{"a": "Lukas Haddad", "b": "Case of LUKAS HADDAD, not Lukas Haddadi", "c": ""}]
    scrubbed, counts = scrub_rows(rows, _FirstCellScrubber())
    assert scrubbed == [{"a": "<PERSON_1>", "b": "Case of <PERSON_1>, not Lukas Haddadi", "c": ""}]
    assert counts == {"PERSON": 2}
    assert rows[0]["a"] == "Lukas Haddad"  # the input is left alone


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"Maria Gonzalez,maria.gonzalez@example.com\nDaniel Okafor,daniel@example.com\n", "no-header.csv"),
        (b"Maria Gonzalez,Maria Gonzalez\nx,y\n", "repeated.csv"),  # before the repeated-name check
        (b'{"Maria Gonzalez": "called twice"}\n', "keys.jsonl"),
    ],
)
def test_a_header_of_personal_data_is_refused_without_echoing_it(
    tmp_settings, scrubber, sqlite_store, data, filename
):
    with pytest.raises(DatasetError, match="look like data: column 1") as info:
        _import(tmp_settings, scrubber, sqlite_store, data, "headless", filename=filename)
    assert "Maria" not in str(info.value) and "header row" in str(info.value)
    assert DatasetStore(sqlite_store).count_datasets() == 0


def test_a_dataset_name_of_personal_data_is_refused(tmp_settings, scrubber, sqlite_store):
    from config.errors import InputError

    with pytest.raises(InputError, match="looks like personal data") as info:
        _import(tmp_settings, scrubber, sqlite_store, b"q\nhi\n", "maria-gonzalez@example.com")
    assert "maria" not in str(info.value).lower()
    assert DatasetStore(sqlite_store).count_datasets() == 0
