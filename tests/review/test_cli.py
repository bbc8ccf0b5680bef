"""``launch.py queues list|show`` and ``launch.py annotations export``, in-process on a real database:
a queue reviewed by two reviewers, with a correction and an adjudication, built through the services."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest

from review.adjudication import Adjudication
from review.annotations import Annotations
from review.cli import EXPORT_COLUMNS, annotations_csv
from review.queues import QueueFilter, Queues
from security.identity import Principal, Role
from storage.review import AnnotationRow

pytestmark = pytest.mark.slow

LEAD = Principal("lee", frozenset({Role.LEAD_REVIEWER}))
RITA = Principal("rita", frozenset({Role.REVIEWER}))
RAVI = Principal("ravi", frozenset({Role.REVIEWER}))
GOOD = {"policy_breach": False, "personal_data_exposure": False, "unsuitable_advice": False, "tone": "good",
        "factual_error": False, "overall": 4}
SCORE_COLUMNS = [f"score_{n}" for n in
                 ("policy_breach", "personal_data_exposure", "unsuitable_advice", "tone", "factual_error", "overall")]


def _as(pipeline, who) -> Annotations:
    return Annotations(Queues(pipeline.store, who, pipeline.audit), scrubber=pipeline.scrubber)


@pytest.fixture
def reviewed(make_pipeline, tmp_settings, monkeypatch):
    """Queue ``double`` (3 items, overlap 2): both reviewers review every item and disagree on the
    tone of one; rita corrects another of her reviews (a new disagreement, on overall); the lead
    adjudicates the tone dispute only.
    The CLI then reads the same database."""
    from config.settings import get_settings

    pipeline = make_pipeline()
    faq = pipeline.template("Answer the customer: {{ q }}")
    pipeline.run_batch(faq, [{"q": f"Is transfer {i} free?"} for i in range(3)], provider="offline")
    pipeline.store.flush()
    Queues(pipeline.store, LEAD, pipeline.audit).create("double", QueueFilter(), overlap=2, description="weekly check")
    rita, ravi = _as(pipeline, RITA), _as(pipeline, RAVI)
    submitted = {}
    for who, tones in ((rita, ["good", "good", "poor"]), (ravi, ["good", "acceptable", "poor"])):
        for tone in tones:
            item = who.next_item("double")
            submitted.setdefault(who.principal.actor, []).append(
                who.submit("double", item.token, {**GOOD, "tone": tone}, "=HYPERLINK(\"http://x\")" if tone == "poor" else None)
            )
    corrected = rita.correct(submitted["user:rita"][0].id, {**GOOD, "overall": 5}, {"overall": "better than I said"})
    lead = Adjudication(_as(pipeline, LEAD))
    on_tone = submitted["user:rita"][1].record_id  # "good" against "acceptable"
    on_overall = submitted["user:rita"][0].record_id  # 5 after the correction, against 4
    assert sorted(lead.disputed("double")) == sorted([on_tone, on_overall])
    decided = lead.adjudicate("double", on_tone, {**GOOD, "tone": "acceptable"}, "the reply is a little curt")
    disputed = on_tone
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", tmp_settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(tmp_settings.data_dir))
    get_settings.cache_clear()
    yield {"submitted": submitted, "corrected": corrected, "decided": decided, "disputed": disputed}
    get_settings.cache_clear()


def test_export_csv_parses_back_with_every_annotation_and_the_supersession(reviewed, tmp_path, capsys):
    import launch

    assert launch.main(["annotations", "export", "--queue", "double", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == [*EXPORT_COLUMNS, *SCORE_COLUMNS, "comments"]
    assert len(rows) == 3 * 2 + 1 + 1  # six reviews, one correction, one adjudication
    by_id = {r["annotation_id"]: r for r in rows}
    first = reviewed["submitted"]["user:rita"][0]
    corrected = reviewed["corrected"]
    assert by_id[first.id]["superseded_by"] == corrected.id and by_id[first.id]["current"] == "false"
    assert by_id[corrected.id]["supersedes"] == first.id and by_id[corrected.id]["current"] == "true"
    assert by_id[corrected.id]["score_overall"] == "5" and by_id[first.id]["score_overall"] == "4"
    assert json.loads(by_id[corrected.id]["comments"]) == {"overall": "better than I said"}
    assert by_id[corrected.id]["score_policy_breach"] == "false"
    adjudication = by_id[reviewed["decided"].id]
    assert adjudication["kind"] == "adjudication" and adjudication["reviewer"] == "user:lee"
    assert adjudication["record_id"] == reviewed["disputed"] and adjudication["score_tone"] == "acceptable"
    assert {r["kind"] for r in rows} == {"review", "adjudication"}
    assert {r["rubric"] for r in rows} == {"compliance"} and {r["rubric_version"] for r in rows} == {"1"}
    assert all(datetime.fromisoformat(r["created_at"]).utcoffset().total_seconds() == 0 for r in rows)
    assert sum(r["current"] == "true" for r in rows) == 7
    # a comment that looks like a formula stays inside the JSON cell (it starts with "{")
    assert any("HYPERLINK" in r["comments"] and r["comments"].startswith("{") for r in rows)

    out = tmp_path / "sub" / "export.csv"
    out.parent.mkdir()
    assert launch.main(["annotations", "export", "--queue", "double", "--format", "csv", "--out", "export.csv"],
                       cwd=out.parent) == 0
    assert "8 annotations" in capsys.readouterr().err
    assert list(csv.DictReader(out.open(encoding="utf-8", newline=""))) == rows


def test_export_jsonl_lines_are_json(reviewed, capsys):
    import launch

    assert launch.main(["annotations", "export", "--queue", "double", "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 8
    corrected = next(r for r in records if r["annotation_id"] == reviewed["corrected"].id)
    assert corrected["current"] is True and corrected["score_overall"] == 5 and corrected["score_unsuitable_advice"] is False
    assert corrected["supersedes"] == reviewed["submitted"]["user:rita"][0].id
    assert corrected["comments"] == {"overall": "better than I said"}
    assert sum(r["current"] is False for r in records) == 1


def test_csv_cells_are_guarded_against_formulas():
    row = AnnotationRow(
        id="a" * 32, queue_id="q", record_id="=cmd|' /C calc'!A0", reviewer="@evil", kind="review", rubric="r",
        rubric_version=1, scores={"label": "-2+3", "n": -2.5}, comments={"comment": "+x"},
        created_at=datetime(2024, 5, 1, 12, 0), supersedes=None, superseded_by=None,
    )
    [header, cells] = list(csv.reader(io.StringIO(annotations_csv([row], ["label", "n"]))))
    record = dict(zip(header, cells, strict=True))
    assert record["record_id"] == "'=cmd|' /C calc'!A0" and record["reviewer"] == "'@evil"
    assert record["score_label"] == "'-2+3" and record["score_n"] == "-2.5"  # numbers stay numbers
    assert record["created_at"] == "2024-05-01T12:00:00+00:00" and record["current"] == "true"
    assert record["supersedes"] == "" and json.loads(record["comments"]) == {"comment": "+x"}


def test_queues_list_and_show(reviewed, capsys):
    import launch

    assert launch.main(["queues", "list"]) == 0
    text = capsys.readouterr().out
    line = next(line for line in text.splitlines() if line.startswith("double"))
    assert "compliance v1" in line and "every recorded run" in line
    assert line.split()[3:6] == ["2", "3", "3"]  # overlap, items, complete

    assert launch.main(["queues", "list", "--json"]) == 0
    [queue] = json.loads(capsys.readouterr().out)
    assert queue["name"] == "double" and queue["items"] == 3 and queue["complete"] == 3 and queue["filter"] == {}

    assert launch.main(["queues", "show", "double"]) == 0
    text = capsys.readouterr().out
    assert "every recorded run" in text and "compliance v1" in text and "weekly check" in text
    assert "user:rita" in text and "user:ravi" in text
    assert "tone" in text and "kappa" in text and "alpha" in text
    assert "disputed items (reviewers disagree, not adjudicated yet): 1" in text  # the tone dispute was decided

    assert launch.main(["queues", "show", "double", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reviewers"] == {
        "user:ravi": {"done": 3, "claimed": 0, "skipped": 0},
        "user:rita": {"done": 3, "claimed": 0, "skipped": 0},
    }
    figures = {a["item"]: a for a in data["agreement"]}
    assert set(figures) == {"policy_breach", "personal_data_exposure", "unsuitable_advice", "tone", "factual_error", "overall"}
    assert figures["tone"]["percent_agreement"] == pytest.approx(2 / 3) and figures["tone"]["reviewers"] == 2
    assert figures["overall"]["percent_agreement"] == pytest.approx(2 / 3)  # the correction counts, not the original
    assert figures["tone"]["cohen_kappa"] is not None and figures["tone"]["krippendorff_alpha"] is not None
    assert figures["policy_breach"]["notes"]  # every score the same: said, not NaN
    assert data["disputed"] == 1 and data["rubric_version"] == 1 and data["overlap"] == 2


def test_an_unknown_queue_exits_2_with_a_clear_message(reviewed, capsys):
    import launch

    for argv in (["queues", "show", "nope"], ["annotations", "export", "--queue", "nope", "--format", "csv"]):
        assert launch.main(argv) == 2
        err = capsys.readouterr().err
        assert "No review queue 'nope'" in err and "list of queues" in err
