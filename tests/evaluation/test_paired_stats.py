"""Paired A/B statistics: tests, corrections and intervals checked against scipy / statsmodels
computed here on the same fixed data, plus every edge case's explanation and JSON safety."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import stats as st
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import assert_json_safe

from evaluation.paired_stats import (
    BETTER,
    NO_DIFFERENCE,
    NOT_COMPARABLE,
    WORSE,
    CostSamples,
    PairedMetric,
    bootstrap_means,
    compare,
    compare_costs,
    compare_preferences,
    power_note,
    stability,
)

NAN = np.nan


def one(metric: PairedMetric, **kwargs):
    """Compare a single metric; return (comparison, its metric result)."""
    comparison = compare([metric], resamples=kwargs.pop("resamples", 300), **kwargs)
    assert_json_safe(comparison.to_dict())
    return comparison, comparison.metrics[0]


def notes_text(result) -> str:
    return " ".join(result.notes)


# ----------------------------------------------------------------------------- paired tests


def test_wilcoxon_with_ties_and_zero_differences_matches_scipy():
    a = np.array([0.5, 0.6, 0.7, 0.4, 0.9, 0.3, 0.55, 0.8, 0.65, 0.2, 0.45, 0.75])
    b = np.array([0.6, 0.6, 0.9, 0.5, 0.9, 0.5, 0.65, 0.7, 0.85, 0.4, 0.45, 0.95])  # zeros and tied |d|
    _, m = one(PairedMetric("faithfulness", a, b))
    ref = st.wilcoxon(b, a)
    assert m.test.name == "wilcoxon signed-rank"
    assert m.test.statistic == pytest.approx(float(ref.statistic))
    assert m.test.p_value == pytest.approx(float(ref.pvalue))
    assert m.test.p_holm == pytest.approx(float(ref.pvalue))  # a family of one
    assert "3 rows with a zero difference are left out" in notes_text(m)
    d = b - a
    assert m.difference.value == pytest.approx(d.mean())
    assert m.effect_size == pytest.approx(d.mean() / d.std(ddof=1))
    assert m.effect_size_name == "cohen_dz"


def mcnemar_data(both_pass: int, a_only: int, b_only: int, both_fail: int):
    a = np.array([1] * both_pass + [1] * a_only + [0] * b_only + [0] * both_fail, dtype=float)
    b = np.array([1] * both_pass + [0] * a_only + [1] * b_only + [0] * both_fail, dtype=float)
    return a, b, [[both_pass, a_only], [b_only, both_fail]]


def test_mcnemar_exact_branch_below_25_discordant_pairs():
    a, b, table = mcnemar_data(20, 2, 9, 5)
    _, m = one(PairedMetric("refusal_ok", a, b, kind="binary"))
    ref = mcnemar(table, exact=True)
    assert m.test.name == "mcnemar exact"
    assert m.test.statistic == pytest.approx(ref.statistic)
    assert m.test.p_value == pytest.approx(ref.pvalue)
    assert m.effect_size_name == "pass_rate_difference"
    assert m.effect_size == pytest.approx(b.mean() - a.mean())
    assert "exact binomial" in notes_text(m)


def test_mcnemar_chi_square_branch_from_25_discordant_pairs():
    a, b, table = mcnemar_data(40, 8, 22, 10)
    _, m = one(PairedMetric("refusal_ok", a, b, kind="binary"))
    ref = mcnemar(table, exact=False, correction=True)
    assert m.test.name == "mcnemar chi-square"
    assert m.test.statistic == pytest.approx(ref.statistic)
    assert m.test.p_value == pytest.approx(ref.pvalue)
    assert "chi-square" in notes_text(m)


def test_binary_repeats_use_pass_share_and_majority():
    a = np.array([[1, 1, 0], [0, 0, 0], [1, 1, 1], [0, 1, 0], [1, 0, NAN], [1, 1, 1]] * 5, dtype=float)
    b = np.array([[1, 1, 1], [1, 1, 0], [1, 1, 1], [0, 0, 0], [1, 1, NAN], [0, 0, 1]] * 5, dtype=float)
    _, m = one(PairedMetric("pass", a, b, kind="binary"))
    share_a, share_b = np.nanmean(a, axis=1), np.nanmean(b, axis=1)
    assert m.mean_a.value == pytest.approx(share_a.mean())
    assert m.mean_b.value == pytest.approx(share_b.mean())
    pa, pb = share_a > 0.5, share_b > 0.5  # a 50/50 split ([1, 0, NaN]) counts as fail
    table = [[int((pa & pb).sum()), int((pa & ~pb).sum())], [int((~pa & pb).sum()), int((~pa & ~pb).sum())]]
    assert m.test.p_value == pytest.approx(mcnemar(table, exact=True).pvalue)
    assert "pass share" in notes_text(m) and "50/50" in notes_text(m)


# ----------------------------------------------------------------------------- preferences


def test_preferences_binomial_sign_test_and_wilson_interval():
    labels = ["b"] * 14 + ["a"] * 5 + ["tie"] * 4 + ["both_bad"] * 2
    p = compare_preferences(labels)
    ref = st.binomtest(14, 19, 0.5)
    low, high = proportion_confint(14, 19, alpha=0.05, method="wilson")
    assert p.counts == {"a": 5, "b": 14, "tie": 4, "both_bad": 2}
    assert p.decisive == 19
    assert p.test.p_value == pytest.approx(ref.pvalue)
    assert p.b_win_rate.value == pytest.approx(14 / 19)
    assert (p.b_win_rate.low, p.b_win_rate.high) == pytest.approx((low, high))
    assert "4 ties and 2 'both bad'" in " ".join(p.notes)
    assert compare_preferences({"a": 5, "b": 14, "tie": 4, "both_bad": 2}) == p
    assert_json_safe(p.to_dict())


def test_preferences_without_decisive_judgement_and_bad_labels():
    p = compare_preferences({"tie": 3})
    assert p.test.p_value is None and p.b_win_rate.value is None
    assert "No decisive judgement" in " ".join(p.notes)
    assert_json_safe(p.to_dict())
    with pytest.raises(ValueError, match="unknown preference labels"):
        compare_preferences(["a", "B"])


# ----------------------------------------------------------------------------- corrections, win rate, power


def test_holm_across_metrics_leaves_untestable_ones_out():
    rng = np.random.default_rng(3)
    a = rng.normal(0.5, 0.1, 60)
    metrics = [
        PairedMetric("m1", a, a + rng.normal(0.05, 0.1, 60)),
        PairedMetric("m2", a, a + rng.normal(0.00, 0.1, 60)),
        PairedMetric("m3", a, a + rng.normal(0.03, 0.1, 60)),
        PairedMetric("m4", a, a.copy()),  # every difference zero: no p-value
        PairedMetric("m5", a, np.full(60, NAN)),  # not comparable
    ]
    c = compare(metrics, resamples=200)
    raw = [c.metric(n).test.p_value for n in ("m1", "m2", "m3")]
    expected = multipletests(raw, alpha=0.05, method="holm")[1]
    assert [c.metric(n).test.p_holm for n in ("m1", "m2", "m3")] == pytest.approx(list(expected))
    assert c.holm_family == ("m1", "m2", "m3")
    assert c.metric("m4").test.p_holm is None
    assert "Left out of the Holm correction because it has no p-value" in notes_text(c.metric("m4"))
    assert "Left out of the Holm correction because it is not comparable" in notes_text(c.metric("m5"))
    assert c.metric("m5").direction == NOT_COMPARABLE
    assert_json_safe(c.to_dict())


def test_win_rate_counts_ties_apart_with_wilson_interval():
    a = np.array([0.2, 0.5, 0.5, 0.7, 0.1, 0.9, 0.4, 0.4, 0.3, 0.6])
    b = np.array([0.3, 0.5, 0.4, 0.8, 0.1, 1.0, 0.6, 0.2, 0.3, 0.9])
    _, m = one(PairedMetric("q", a, b))
    wins, losses, ties = int((b > a).sum()), int((b < a).sum()), int((b == a).sum())
    low, high = proportion_confint(wins, 10, alpha=0.05, method="wilson")
    assert (m.win_rate.wins, m.win_rate.losses, m.win_rate.ties) == (wins, losses, ties)
    assert m.win_rate.rate == pytest.approx(wins / 10)
    assert (m.win_rate.low, m.win_rate.high) == pytest.approx((low, high))


def test_power_note_matches_ttestpower():
    rng = np.random.default_rng(1)
    a = rng.random(40)
    b = a + rng.normal(0.02, 0.15, 40)
    _, m = one(PairedMetric("q", a, b))
    effect = TTestPower().solve_power(effect_size=None, nobs=40, alpha=0.05, power=0.8)
    expected = effect * (b - a).std(ddof=1)
    assert m.power.standardized_effect == pytest.approx(effect)
    assert m.power.min_detectable == pytest.approx(expected)
    assert m.power.note.startswith("With 40 rows a difference smaller than ")
    assert f"{expected:.3g}" in m.power.note and "80% power" in m.power.note


def test_power_note_in_words_for_small_n_and_zero_spread():
    for n in (0, 1):
        p = power_note(n, None)
        assert p.min_detectable is None and "at least 2" in p.note
    p = power_note(10, 0.0)
    assert p.min_detectable is None and "sd 0" in p.note


# ----------------------------------------------------------------------------- bootstrap


def test_bootstrap_covers_true_difference_and_shrinks_with_n():
    rng = np.random.default_rng(7)
    a = rng.normal(0.6, 0.2, 4000)
    b = a + 0.1 + rng.normal(0, 0.2, 4000)  # true mean difference 0.1
    _, big = one(PairedMetric("q", a, b), resamples=1000)
    _, small = one(PairedMetric("q", a[:250], b[:250]), resamples=1000)
    assert big.difference.low < 0.1 < big.difference.high
    assert big.mean_a.low < 0.6 < big.mean_a.high
    assert big.mean_b.low < 0.7 < big.mean_b.high
    assert big.mean_a.low <= big.mean_a.value <= big.mean_a.high
    big_width = big.difference.high - big.difference.low
    assert big_width < (small.difference.high - small.difference.low) / 2  # ~ 1/sqrt(16)


def test_bootstrap_masked_means_match_a_direct_resample():
    """The count-matrix shortcut equals indexing the same resampled rows (the documented draw)."""
    rng = np.random.default_rng(2)
    rows, resamples = 50, 40
    x = rng.random((rows, 2))
    valid = rng.random((rows, 1)) > 0.3
    low, high, used = bootstrap_means(x, valid, resamples, seed=11)
    picks = np.random.default_rng(11).integers(0, rows, size=(resamples, rows))
    means = []
    for idx in picks:
        ok = valid[idx, 0]
        if ok.any():
            means.append(x[idx][ok].mean(axis=0))
    expected = np.quantile(np.array(means), [0.025, 0.975], axis=0)
    assert used.tolist() == [len(means)] * 2
    assert low == pytest.approx(expected[0], abs=1e-5)
    assert high == pytest.approx(expected[1], abs=1e-5)


def test_deterministic_given_seed():
    rng = np.random.default_rng(5)
    metrics = [PairedMetric("q", rng.random(200), rng.random(200))]
    first = compare(metrics, seed=4, resamples=300).to_dict()
    assert compare(metrics, seed=4, resamples=300).to_dict() == first
    other = compare(metrics, seed=5, resamples=300).to_dict()
    assert other["metrics"][0]["difference"] != first["metrics"][0]["difference"]


# ----------------------------------------------------------------------------- direction, guard, verdict


def test_higher_is_better_false_flips_direction():
    rng = np.random.default_rng(9)
    a = rng.random(80)
    b = a + 0.1 + rng.normal(0, 0.05, 80)  # B scores clearly higher
    _, up = one(PairedMetric("quality", a, b, higher_is_better=True))
    _, down = one(PairedMetric("toxicity", a, b, higher_is_better=False))
    assert up.direction == BETTER and down.direction == WORSE
    assert up.win_rate.wins == down.win_rate.losses
    assert up.difference == down.difference


def test_guard_regression_and_verdict():
    rng = np.random.default_rng(10)
    a = rng.random(100)
    metrics = [
        PairedMetric("faithfulness", a, a + 0.12 + rng.normal(0, 0.05, 100)),
        PairedMetric("safety", a, a - 0.08 + rng.normal(0, 0.05, 100), guard=True),
        PairedMetric("tone", a, a + rng.normal(0, 0.05, 100)),
    ]
    costs = CostSamples(np.full(100, 0.002), np.full(100, 0.00236))
    c = compare(metrics, costs=costs, resamples=300)
    assert c.guard_regressions == ("safety",)
    verdict = c.verdict()
    assert verdict.startswith("Guard metric safety regressed")
    assert "B improves faithfulness by 0.1" in verdict and "after correction" in verdict
    assert "costs 18% more" in verdict
    d = c.to_dict()
    assert d["guard_regressions"] == ["safety"] and d["verdict"] == verdict
    assert_json_safe(d)


def test_verdict_when_nothing_is_significant():
    rng = np.random.default_rng(12)
    a = rng.random(30)
    c = compare(
        [
            PairedMetric("q", a, a + rng.normal(0, 0.01, 30), guard=True),
            PairedMetric("gone", a, np.full(30, NAN)),
        ],
        resamples=100,
    )
    verdict = c.verdict()
    assert verdict.startswith("No significant difference between A and B on the 1 tested metric")
    assert "no guard metric regressed" in verdict
    assert "Not comparable: gone." in verdict
    unchecked = compare([PairedMetric("safety", a, np.full(30, NAN), guard=True)], resamples=0).verdict()
    assert "guard metric safety could not be checked" in unchecked and "regressed" not in unchecked
    leaks = np.zeros(30)  # no personal data on any row, on either side: no test runs, and nothing regressed
    same = compare([PairedMetric("pii", leaks, leaks.copy(), guard=True)], resamples=100).verdict()
    assert "no guard metric regressed (pii unchanged on every row)" in same and "could not be checked" not in same


# ----------------------------------------------------------------------------- edge cases


EDGE_CASES = {
    "n0": (np.array([1.0, NAN, 3.0]), np.array([NAN, 2.0, NAN]), "No row has a score on both sides"),
    "n1": (np.r_[0.4, np.full(29, NAN)], np.r_[0.6, np.full(29, NAN)], "Only 1 paired row"),
    "n2": (np.array([0.4, 0.5]), np.array([0.6, 0.9]), "Only 2 paired rows"),
    "all_ties": (
        np.array([0.3, 0.5, 0.9, 0.1]),
        np.array([0.3, 0.5, 0.9, 0.1]),
        "Wilcoxon signed-rank test is undefined",
    ),
    "zero_diffs_constant": (np.full(6, 0.5), np.full(6, 0.5), "Wilcoxon signed-rank test is undefined"),
    "all_equal_samples": (np.full(8, 0.5), np.full(8, 0.7), "Both sides are constant"),
    "missing_one_side": (
        np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
        np.array([0.2, NAN, 0.4, NAN, 0.6, 0.9]),
        "2 of 6 rows dropped from the pairing: 2 with no score on B",
    ),
    "all_missing_one_side": (np.array([0.1, 0.2, 0.3]), np.full(3, NAN), "metric unavailable on B"),
    "empty": (np.array([]), np.array([]), "There are no rows"),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_cases_explain_themselves_and_stay_json_safe(case):
    a, b, phrase = EDGE_CASES[case]
    c, m = one(PairedMetric("q", a, b))
    assert phrase in notes_text(m)
    assert c.verdict()
    if case in ("n0", "all_missing_one_side", "empty"):
        assert not m.comparable and m.direction == NOT_COMPARABLE
        assert m.mean_a.value is None and m.test.p_value is None
    elif case == "all_equal_samples":  # B beats A on all 8 rows: exact Wilcoxon p = 2 / 2**8
        assert m.direction == BETTER and m.test.p_value == pytest.approx(st.wilcoxon(b, a).pvalue)
    else:
        assert m.comparable and m.direction == NO_DIFFERENCE
    if case in ("n0", "n1", "all_ties", "zero_diffs_constant", "all_missing_one_side", "empty"):
        assert m.test.p_value is None and m.test.p_holm is None


def test_edge_case_details():
    _, n1 = one(PairedMetric("q", *EDGE_CASES["n1"][:2]))
    assert (n1.difference.low, n1.difference.high) == pytest.approx((0.2, 0.2))
    assert "resamples held none of the paired rows" in notes_text(n1)
    assert "at least 2" in n1.power.note

    _, n2 = one(PairedMetric("q", *EDGE_CASES["n2"][:2]))
    assert n2.test.p_value == pytest.approx(st.wilcoxon([0.6, 0.9], [0.4, 0.5]).pvalue)
    assert "cannot reach p < 0.05" in notes_text(n2)

    _, const = one(PairedMetric("q", *EDGE_CASES["all_equal_samples"][:2]))
    assert (const.difference.value, const.difference.low, const.difference.high) == pytest.approx(
        (0.2, 0.2, 0.2)
    )
    assert const.effect_size is None and "sd 0" in notes_text(const) and "sd 0" in const.power.note

    _, binary_ties = one(PairedMetric("p", np.array([1.0, 0, 1, 0]), np.array([1.0, 0, 1, 0]), kind="binary"))
    assert binary_ties.test.p_value is None and "no discordant pairs" in notes_text(binary_ties)


def test_stability_across_repeats():
    binary = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 0], [0, NAN, 0], [1, NAN, NAN]], dtype=float)
    s = stability(binary, "binary")
    judged = binary[(~np.isnan(binary)).sum(axis=1) >= 2]
    agree = sum(len(set(r[~np.isnan(r)])) == 1 for r in judged)
    assert (s.rows_checked, s.rows_agreeing, s.repeats) == (len(judged), agree, 3)
    assert s.share == pytest.approx(agree / len(judged))
    assert "not judged" in s.note

    scores = np.array([[0.50, 0.54], [0.30, 0.35], [0.2, 0.4], [0.9, 0.9]])
    spread = scores.max(axis=1) - scores.min(axis=1)
    assert stability(scores, "continuous").share == pytest.approx(np.mean(spread <= 0.05 + 1e-12))
    assert stability(scores, "continuous", tolerance=0.3).share == 1.0

    single = stability(np.array([0.1, 0.2]), "continuous")
    assert single.share is None and "at least 2 repeats" in single.note

    _, m = one(PairedMetric("p", binary, binary[:, ::-1], kind="binary"))
    assert m.stability_a.share == pytest.approx(s.share)
    assert m.stability_a.to_dict()["share"] == pytest.approx(s.share)


# ----------------------------------------------------------------------------- costs and validation


def test_costs_and_latency():
    costs = CostSamples(
        cost_a=np.array([0.001, 0.002, NAN, 0.003]),
        cost_b=np.array([0.002, 0.003, 0.004, 0.003]),
        latency_a=np.array([1.0, 2.0, 3.0, 10.0]),
        latency_b=None,
    )
    c = compare_costs(costs)
    assert c.cost_per_1k.a == pytest.approx(2.0) and c.cost_per_1k.b == pytest.approx(3.0)
    assert c.cost_per_1k.difference == pytest.approx(1.0) and c.cost_per_1k.relative_pct == pytest.approx(
        50.0
    )
    assert c.latency_mean.a == pytest.approx(4.0) and c.latency_p50.a == pytest.approx(2.5)
    assert c.latency_mean.b is None and c.latency_mean.difference is None
    text = " ".join(c.notes)
    assert "Cost known for 3 of 4 rows of A" in text and "No latency recorded for B" in text
    assert_json_safe(c.to_dict())

    no_price = compare_costs(CostSamples(np.full(3, NAN), np.array([0.0, 0.0, 0.0])))
    assert no_price.cost_per_1k.a is None and "no price known" in " ".join(no_price.notes)
    free = compare_costs(CostSamples(np.zeros(2), np.ones(2)))
    assert free.cost_per_1k.relative_pct is None and "A's figure is 0" in " ".join(free.notes)


def test_validation():
    with pytest.raises(ValueError, match="binary"):
        PairedMetric("p", np.array([0.5]), np.array([1.0]), kind="binary")
    with pytest.raises(ValueError, match="rows must pair"):
        PairedMetric("p", np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="same number of rows"):
        compare([PairedMetric("x", np.zeros(3), np.zeros(3)), PairedMetric("y", np.zeros(4), np.zeros(4))])
    with pytest.raises(ValueError, match="unique"):
        compare([PairedMetric("x", np.zeros(3), np.zeros(3))] * 2)


# ----------------------------------------------------------------------------- performance


def test_ten_thousand_rows_eight_metrics_two_thousand_resamples_is_fast():
    rng = np.random.default_rng(0)
    rows = 10_000
    metrics = []
    for i in range(8):
        a = (rng.random(rows) < 0.6).astype(float) if i % 2 else rng.random(rows)
        b = (
            (rng.random(rows) < 0.62).astype(float)
            if i % 2
            else np.clip(a + rng.normal(0.01, 0.1, rows), 0, 1)
        )
        a[rng.random(rows) < 0.02] = NAN
        metrics.append(PairedMetric(f"m{i}", a, b, kind="binary" if i % 2 else "continuous"))
    start = time.perf_counter()
    c = compare(metrics, resamples=2000, seed=0)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"{elapsed:.2f} s"
    assert all(m.difference.low is not None for m in c.metrics)
