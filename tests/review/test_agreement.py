"""Inter-reviewer agreement: figures checked against scikit-learn's Cohen's kappa and the
krippendorff package computed here on the same fixed data, hand-checkable percent agreement,
every edge case explained in a note with no NaN, and the adjudication list."""

from __future__ import annotations

import math
import time

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from tests.conftest import assert_json_safe

from config.errors import InputError
from review import agreement
from review.agreement import SAME_SCORE_NOTE, disagreements, item_agreement, queue_agreement
from review.rubrics import DEFAULT_RUBRIC

NAN = np.nan

# Krippendorff's own example: 3 reviewers, 15 units, missing reviews (alpha nominal 0.691, interval 0.811)
KRIPP = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]


def reviews_from(matrix, reviewers=None, units=None) -> list[tuple]:
    """(unit, reviewer, value) triples from a reviewers × units matrix (None / NaN = no review)."""
    reviewers = reviewers or [f"rev{i}" for i in range(len(matrix))]
    units = units or [f"rec-{j}" for j in range(len(matrix[0]))]
    out = []
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            out.append((units[j], reviewers[i], value))
    return out


def coded(matrix) -> np.ndarray:
    """Labels → integer codes (NaN for missing), for krippendorff.alpha on a reviewers × units matrix."""
    labels = sorted({v for row in matrix for v in row if v is not None})
    index = {label: i for i, label in enumerate(labels)}
    return np.array([[NAN if v is None else index[v] for v in row] for row in matrix], dtype=float)


def agree(reviews, level, **kwargs):
    result = item_agreement(reviews, level, item=kwargs.pop("item", "x"), **kwargs)
    assert_json_safe(result.to_dict())
    return result


def notes(result) -> str:
    return " ".join(result.notes)


# ----------------------------------------------------------------------------- against the references


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_alpha_with_three_reviewers_and_missing_reviews_matches_krippendorff(level):
    result = agree(reviews_from(KRIPP), level)
    expected = krippendorff.alpha(reliability_data=KRIPP, level_of_measurement=level)
    assert result.krippendorff_alpha == pytest.approx(expected, abs=1e-12)
    assert (result.reviewers, result.units, result.pairs) == (3, 12, 16)
    assert result.cohen_kappa is None and "exactly 2 reviewers; this item has 3" in notes(result)
    assert "1 of 13 units has a single review" in notes(result)


def test_nominal_labels_with_two_reviewers_match_sklearn_and_krippendorff():
    ann = ["ok", "ok", "spam", "other", "ok", "spam", None, "ok", "other", "ok", "spam", "ok"]
    bob = ["ok", "spam", "spam", "other", "ok", "ok", "ok", None, "other", "ok", "spam", "other"]
    result = agree(reviews_from([ann, bob], ["ann", "bob"]), "nominal")
    both = [(a, b) for a, b in zip(ann, bob) if a is not None and b is not None]
    expected_kappa = cohen_kappa_score([a for a, _ in both], [b for _, b in both])
    expected_alpha = krippendorff.alpha(reliability_data=coded([ann, bob]), level_of_measurement="nominal")
    assert result.cohen_kappa == pytest.approx(expected_kappa, abs=1e-12)
    assert result.krippendorff_alpha == pytest.approx(expected_alpha, abs=1e-12)
    assert (result.reviewers, result.units, result.pairs) == (2, 10, 10)
    assert result.percent_agreement == pytest.approx(7 / 10)
    assert "weights" not in notes(result)  # nominal kappa is unweighted


def test_ordinal_labels_use_linear_weights_on_the_full_scale():
    scale = DEFAULT_RUBRIC.item("tone").labels  # unacceptable, poor, acceptable, good
    ann = ["good", "good", "acceptable", "unacceptable", "acceptable", "good", "acceptable", "good"]
    bob = ["good", "acceptable", "acceptable", "acceptable", "good", "good", "unacceptable", "good"]
    result = agree(reviews_from([ann, bob]), "ordinal", domain=scale)
    a = [scale.index(v) for v in ann]
    b = [scale.index(v) for v in bob]
    # "poor" is never chosen, yet it is a step: the weights use the rubric's scale
    assert result.cohen_kappa == pytest.approx(cohen_kappa_score(a, b, weights="linear", labels=[0, 1, 2, 3]))
    assert result.cohen_kappa != pytest.approx(cohen_kappa_score(a, b, weights="linear"))
    assert result.krippendorff_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=[a, b], level_of_measurement="ordinal"), abs=1e-12
    )
    assert "linear weights" in notes(result)
    # the same reviews given as Rubric.numeric_value floats give the same figures
    as_numbers = [(u, r, DEFAULT_RUBRIC.numeric_value("tone", v)) for u, r, v in reviews_from([ann, bob])]
    again = agree(as_numbers, "ordinal", domain=scale)
    assert (again.cohen_kappa, again.krippendorff_alpha) == (result.cohen_kappa, result.krippendorff_alpha)
    without_scale = agree(as_numbers, "ordinal")  # ranks of the observed values: alpha is unchanged
    assert without_scale.krippendorff_alpha == pytest.approx(result.krippendorff_alpha, abs=1e-12)
    assert without_scale.cohen_kappa == pytest.approx(cohen_kappa_score(a, b, weights="linear"))


def test_interval_with_a_step_grid_uses_quadratic_weights():
    ann = [1, 2, 3, 4, 5, 3, 2, 4, 5, 1, 3]
    bob = [1, 3, 3, 5, 5, 2, 2, 4, 4, 2, NAN]
    grid = (1.0, 2.0, 3.0, 4.0, 5.0)
    result = agree(reviews_from([ann, bob]), "interval", domain=grid)
    assert result.cohen_kappa == pytest.approx(
        cohen_kappa_score(ann[:10], bob[:10], weights="quadratic", labels=[1, 2, 3, 4, 5])
    )
    assert result.krippendorff_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=[ann, bob], level_of_measurement="interval"), abs=1e-12
    )
    assert "quadratic weights" in notes(result) and "ranks" not in notes(result)
    no_grid = agree(reviews_from([ann, bob]), "interval")
    assert no_grid.krippendorff_alpha == result.krippendorff_alpha
    assert "ranks of the observed scores" in notes(no_grid)


def test_alpha_fallbacks_match_krippendorff(monkeypatch):
    """Large value sets skip the package's units × values² intermediate; the figure is the same."""
    rng = np.random.default_rng(7)
    truth = rng.normal(5, 1.5, 60)
    matrix = np.round(truth + rng.normal(0, 0.6, (4, 60)), 1)  # ~80 distinct values
    matrix[rng.random((4, 60)) < 0.3] = NAN
    coarse = np.clip(np.round(matrix / 2), 0, 5)
    expected = {
        "interval": krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval"),
        "ordinal": krippendorff.alpha(reliability_data=coarse, level_of_measurement="ordinal"),
        "nominal": krippendorff.alpha(reliability_data=coarse, level_of_measurement="nominal"),
    }
    data = {"interval": matrix, "ordinal": coarse, "nominal": coarse}
    direct = {level: agree(reviews_from(data[level].tolist()), level).krippendorff_alpha for level in expected}
    monkeypatch.setattr(agreement, "_ALPHA_CELLS", 0)
    for level, value in expected.items():
        assert direct[level] == pytest.approx(value, abs=1e-10)
        assert agree(reviews_from(data[level].tolist()), level).krippendorff_alpha == pytest.approx(value, abs=1e-10)


# ----------------------------------------------------------------------------- percent agreement


HAND = [
    ("u1", "ann", "a"), ("u1", "bob", "a"), ("u1", "cid", "a"),  # 3 pairs, 3 agree
    ("u2", "ann", "a"), ("u2", "bob", "b"),  # 1 pair, 0 agree
    ("u3", "ann", "a"), ("u3", "bob", "a"), ("u3", "cid", "b"),  # 3 pairs, 1 agrees
    ("u4", "ann", "x"),  # a single review: not counted
]


def test_percent_agreement_by_hand():
    result = agree(HAND, "nominal")
    assert (result.reviewers, result.units, result.pairs) == (3, 3, 7)
    assert result.percent_agreement == pytest.approx(4 / 7)
    expected = krippendorff.alpha(
        reliability_data=coded([["a", "a", "a", "x"], ["a", "b", "a", None], ["a", None, "b", None]]),
        level_of_measurement="nominal",
    )
    assert result.krippendorff_alpha == pytest.approx(expected, abs=1e-12)


def test_interval_tolerance():
    reviews = [
        ("u1", "ann", 1.0), ("u1", "bob", 1.5),
        ("u2", "ann", 2.0), ("u2", "bob", 4.0),
        ("u3", "ann", 3.0), ("u3", "bob", 3.2), ("u3", "cid", 3.9),
    ]
    assert agree(reviews, "interval").percent_agreement == 0.0
    loose = agree(reviews, "interval", tolerance=0.5)
    assert loose.percent_agreement == pytest.approx(2 / 5)  # u1 (0.5 apart) and 3.0–3.2 agree
    assert "within 0.5" in notes(loose)
    assert agree(reviews, "interval").krippendorff_alpha == loose.krippendorff_alpha  # alpha ignores tolerance
    noisy = [("u1", "ann", 0.1 + 0.2), ("u1", "bob", 0.3), ("u2", "ann", 1.0), ("u2", "bob", 1.0)]
    assert agree(noisy, "interval").percent_agreement == 1.0  # float noise is not a disagreement


# ----------------------------------------------------------------------------- edge cases


def test_no_reviews():
    result = agree([], "nominal", item="tone")
    assert result.to_dict() == {
        "item": "tone", "level": "nominal", "reviewers": 0, "units": 0, "pairs": 0,
        "percent_agreement": None, "cohen_kappa": None, "krippendorff_alpha": None,
        "notes": ["No reviews for this item yet."],
    }


def test_a_single_reviewer():
    result = agree([("u1", "ann", 3.0), ("u2", "ann", 4.0), ("u3", "ann", 1.0)], "interval")
    assert (result.reviewers, result.units, result.pairs) == (1, 0, 0)
    assert (result.percent_agreement, result.cohen_kappa, result.krippendorff_alpha) == (None, None, None)
    assert "Only one reviewer" in notes(result)


def test_no_overlap_between_reviewers():
    result = agree([("u1", "ann", "a"), ("u2", "ann", "b"), ("u3", "bob", "a"), ("u4", "bob", "b")], "nominal")
    assert (result.reviewers, result.units, result.pairs) == (2, 0, 0)
    assert (result.percent_agreement, result.cohen_kappa, result.krippendorff_alpha) == (None, None, None)
    assert "No unit was reviewed by two or more reviewers" in notes(result)


def test_one_unit_with_two_reviews():
    result = agree([("u1", "ann", 2.0), ("u1", "bob", 4.0), ("u2", "ann", 5.0)], "interval")
    assert (result.units, result.pairs, result.percent_agreement) == (1, 1, 0.0)
    assert result.cohen_kappa is None and result.krippendorff_alpha is None
    assert "Only 1 unit" in notes(result)


@pytest.mark.parametrize(
    "reviewers, level, value",
    [(["ann", "bob", "cid"], "ordinal", 0.5), (["ann", "bob"], "nominal", True), (["ann", "bob"], "interval", 3.0)],
)
def test_every_score_the_same(reviewers, level, value):
    reviews = [(f"u{j}", r, value) for j in range(5) for r in reviewers]
    reviews.append(("u9", "ann", 1.0 if level != "nominal" else False))  # a lone different value changes nothing
    result = agree(reviews, level)
    assert result.percent_agreement == 1.0
    assert result.cohen_kappa is None and result.krippendorff_alpha is None
    assert SAME_SCORE_NOTE in result.notes


def test_to_dict_is_plain_json():
    d = agree(reviews_from(KRIPP), "interval").to_dict()
    assert isinstance(d["notes"], list) and isinstance(d["krippendorff_alpha"], float)


# ----------------------------------------------------------------------------- adjudication list


def test_disagreements():
    assert disagreements(HAND, "nominal") == ["u2", "u3"]
    reviews = [("r7", "ann", 1.0), ("r7", "bob", 1.5), ("r2", "ann", 2.0), ("r2", "bob", 4.0), ("r9", "ann", 5.0)]
    assert disagreements(reviews, "interval") == ["r7", "r2"]  # first-seen order, lone reviews never listed
    assert disagreements(reviews, "interval", tolerance=0.5) == ["r2"]
    assert disagreements([], "nominal") == []
    ids = [(7, "ann", "good"), (7, "bob", "poor"), ((1, "x"), "ann", "good"), ((1, "x"), "bob", "good")]
    assert disagreements(ids, "ordinal", domain=DEFAULT_RUBRIC.item("tone").labels) == [7]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "reviews, level, kwargs, expected",
    [
        ([("u1", "ann", 1.0), ("u1", "ann", 2.0)], "interval", {}, "reviewer 'ann' reviewed unit 'u1' more than once"),
        ([("u1", "ann", 1.0)], "ratio", {}, "unknown level of measurement 'ratio'"),
        ([("u1", "ann", "a")], "nominal", {"tolerance": 0.5}, "interval (numeric) items only"),
        ([("u1", "ann", 1.0)], "interval", {"tolerance": -1}, "tolerance must be a number ≥ 0"),
        ([("u1", "ann", None), ("u1", "bob", "a")], "nominal", {}, "unit 'u1' by 'ann' has no value"),
        ([("u1", "ann", "good"), ("u1", "bob", "poor")], "ordinal", {}, "must be numbers"),
        ([("u1", "ann", 1.0), ("u1", "bob", NAN)], "interval", {}, "missing or not finite"),
        ([("u1", "ann", 2.5)], "interval", {"domain": (1.0, 2.0, 3.0)}, "score 2.5 (unit 'u1') is not on the item's scale"),
        ([("u1", "ann", "great")], "ordinal", {"domain": ("bad", "good")}, "'great' is not on the item's scale"),
        ([("u1", "ann", "maybe")], "nominal", {"domain": (False, True)}, "'maybe' is not one of the item's answers"),
        ([("u1", "ann")], "nominal", {}, "(unit id, reviewer, value) triple"),
        ([(["u1"], "ann", "a")], "nominal", {}, "unit ids must be plain values"),
    ],
)
def test_bad_reviews_raise_input_errors(reviews, level, kwargs, expected):
    with pytest.raises(InputError) as info:
        item_agreement(reviews, level, item="tone", **kwargs)
    assert expected in str(info.value), str(info.value)
    assert info.value.hint


# ----------------------------------------------------------------------------- a whole queue


def test_queue_agreement_over_the_default_rubric():
    answers = {  # reviewer → per record: the answers as Rubric.check returns them
        "ann": [(False, "good", 4.0), (True, "poor", 2.0), (False, "acceptable", 3.0), (False, "good", 5.0)],
        "bob": [(False, "good", 4.0), (True, "unacceptable", 1.0), (False, "good", 4.0), (False, "good", 5.0)],
        "cid": [(False, "acceptable", 3.0), (False, "poor", 2.0), (False, "acceptable", 3.0), None],
    }
    by_item: dict[str, list] = {"policy_breach": [], "tone": [], "overall": []}
    for reviewer, rows in answers.items():
        for j, row in enumerate(rows):
            if row is not None:
                for name, value in zip(by_item, row):
                    by_item[name].append((f"rec-{j}", reviewer, value))
    results = queue_agreement(DEFAULT_RUBRIC, by_item, tolerance=1)
    for r in results:
        assert_json_safe(r.to_dict())
    assert [r.item for r in results] == [i.name for i in DEFAULT_RUBRIC.scored_items]
    by_name = {r.item: r for r in results}
    assert [by_name[n].level for n in ("policy_breach", "tone", "overall")] == ["nominal", "ordinal", "interval"]
    assert by_name["personal_data_exposure"].notes == ("No reviews for this item yet.",)
    tone = by_name["tone"]
    expected = item_agreement(by_item["tone"], "ordinal", domain=DEFAULT_RUBRIC.item("tone").labels)
    assert tone.krippendorff_alpha == expected.krippendorff_alpha and tone.units == 4 and tone.reviewers == 3
    overall = by_name["overall"]
    assert (overall.pairs, overall.percent_agreement) == (10, 1.0)  # every pair is at most 1 point apart
    assert "within 1" in notes(overall)
    assert by_name["policy_breach"].percent_agreement == pytest.approx(8 / 10)  # rec-1: True, True, False


def test_queue_agreement_refuses_unknown_items():
    with pytest.raises(InputError, match="'tonne'"):
        queue_agreement(DEFAULT_RUBRIC, {"tonne": []})
    with pytest.raises(InputError, match="'notes'"):
        queue_agreement(DEFAULT_RUBRIC, {"notes": []})
    with pytest.raises(InputError, match="numeric items only"):
        queue_agreement(DEFAULT_RUBRIC, {}, tolerance={"tone": 1})


def test_ten_thousand_records_three_reviewers_six_items_is_fast():
    rng = np.random.default_rng(0)
    n, reviewers = 10_000, ("ann", "bob", "cid")
    units = [f"rec-{j}" for j in range(n)]
    labels = DEFAULT_RUBRIC.item("tone").labels
    by_item = {}
    for item in DEFAULT_RUBRIC.scored_items:
        if item.kind == "boolean":
            values = (rng.random((3, n)) < 0.1).tolist()
        elif item.kind == "categorical":
            values = [[labels[k] for k in row] for row in rng.integers(0, 4, (3, n))]
        else:
            values = rng.integers(1, 6, (3, n)).astype(float).tolist()
        by_item[item.name] = [(units[j], reviewers[i], values[i][j]) for i in range(3) for j in range(n)]
    start = time.perf_counter()
    results = queue_agreement(DEFAULT_RUBRIC, by_item)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"{elapsed:.2f} s"  # about 0.1 s on the 2-core reference machine
    assert all(r.units == n and r.pairs == 3 * n and r.krippendorff_alpha is not None for r in results)
