"""Confidence intervals for metric means and pass rates.

Computed from SQL aggregates (count, mean, sum of squares), so a run of any size
is summarised without loading its records.
"""

from __future__ import annotations

import math

from scipy import stats as _st

CONFIDENCE = 0.95


def mean_interval(n: int, mean: float | None, sum_sq: float | None, confidence: float = CONFIDENCE):
    """Student-t interval of the mean: (low, high), or (None, None) when n < 2."""
    if n < 2 or mean is None or sum_sq is None:
        return None, None
    variance = max(0.0, (sum_sq - n * mean * mean) / (n - 1))
    half = _st.t.ppf(0.5 + confidence / 2, n - 1) * math.sqrt(variance / n)
    return float(mean - half), float(mean + half)


def proportion_interval(successes: int, n: int, confidence: float = CONFIDENCE):
    """Wilson score interval of a proportion: (low, high), or (None, None) when n == 0."""
    if n <= 0:
        return None, None
    z = _st.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
