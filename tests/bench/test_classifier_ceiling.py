"""The held-out set's classifier ceiling: the best recall any threshold gives within a false-positive budget."""

from __future__ import annotations

import numpy as np
import pytest

from bench.security import best_recall_within


def test_the_threshold_flags_no_more_benign_texts_than_the_budget_allows():
    benign = np.array([0.9, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, -0.1, -0.2, -0.3])
    attacks = np.array([1.0, 0.6, 0.5, 0.45, 0.35, -1.0])
    # 10% of 10 benign texts: one may be flagged (0.9), so the threshold sits just above 0.5
    recall, threshold = best_recall_within(attacks, benign, 0.10)
    assert 0.5 < threshold < 0.51
    assert recall == pytest.approx(2 / 6)
    assert np.sum(benign >= threshold) == 1
    # 30%: three may be flagged (0.9, 0.5, 0.4), so attacks above 0.3 count
    recall, threshold = best_recall_within(attacks, benign, 0.30)
    assert recall == pytest.approx(5 / 6) and np.sum(benign >= threshold) == 3


def test_tied_benign_margins_are_never_split_to_fit_the_budget():
    benign = np.array([0.7, 0.7, 0.7, 0.0])
    recall, threshold = best_recall_within(np.array([0.8, 0.7]), benign, 0.5)
    # flagging any 0.7 flags all three (75% > 50%), so only the attack above them counts
    assert np.sum(benign >= threshold) == 0 and recall == pytest.approx(0.5)


def test_no_budget_at_all_still_leaves_every_benign_text_unflagged():
    benign = np.array([0.3, 0.1])
    recall, threshold = best_recall_within(np.array([0.5, 0.2]), benign, 0.0)
    assert np.sum(benign >= threshold) == 0 and recall == pytest.approx(0.5)
