"""Where the direct screen's threshold comes from: out-of-fold margins on its own teaching set.

The default ``injection.semantic_threshold`` is the margin that 1% of the ordinary teaching
examples (requests, document text, benign look-alikes) reach when each fold of them is scored
by classifiers taught on the other folds. It is chosen on the teaching set alone, never on an
evaluation set; ``bench security`` prints it beside the setting so that a change to the
libraries that moves it is seen.
"""

from __future__ import annotations

import numpy as np

from security.injection.semantic import SimilarToKnownAttack
from security.injection.vectors import teaching_vectors

FOLDS = 5


def out_of_fold(rule: SimilarToKnownAttack, folds: int = FOLDS) -> tuple[np.ndarray, np.ndarray]:
    """(mean margin of each teaching example when held out, its label: 1 attack, 0 ordinary)."""
    texts, labels = rule.taught._examples()
    margins = np.zeros((len(rule.members), len(texts)))
    fold_of = np.arange(len(texts)) % folds
    for m, (_, taught) in enumerate(rule.members):
        embedder = rule.embedder_of(m)
        columns = taught._columns(teaching_vectors(embedder, texts), texts)
        for k in range(folds):
            train, test = fold_of != k, fold_of == k
            margins[m, test] = taught.classifier().fit(columns[train], labels[train]).decision_function(columns[test])
    return margins.mean(axis=0), labels


def threshold_at(margins: np.ndarray, labels: np.ndarray, false_positive_share: float = 0.01) -> tuple[float, float]:
    """(the margin that ``false_positive_share`` of the ordinary examples reach, the share of
    attacks that reach it)."""
    threshold = float(np.quantile(margins[labels == 0], 1 - false_positive_share))
    return threshold, float(np.mean(margins[labels == 1] >= threshold))
