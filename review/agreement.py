"""Inter-reviewer agreement per rubric item over an annotation queue.

Input for one item is a list of reviews ``(unit id, reviewer, value)``: a unit is a queued
record, a value is one reviewer's answer for this item. Values are

* ``nominal``: any hashable answers compared for equality (labels, bools);
* ``ordinal``: numbers whose order matters (``Rubric.numeric_value`` of an ordered label), or,
  when ``domain`` lists the labels worst → best, the labels themselves;
* ``interval``: numbers.

Figures (``ItemAgreement``; ``to_dict()`` is JSON-safe and never holds NaN: a figure that cannot
be computed is None and a note says why):

* percent agreement: the share of pairs of reviews of the same unit that agree (equal; for
  interval items within ``tolerance``);
* Cohen's kappa (scikit-learn) only when the item has exactly 2 reviewers overall, over the units
  both reviewed: unweighted for nominal, linear weights for ordinal, quadratic for interval;
* Krippendorff's alpha (the ``krippendorff`` package) for any number of reviewers with missing
  reviews. Alpha depends only on the values each unit received, so it is computed from the units ×
  values count matrix (the same function, fed ``value_counts`` instead of a reviewers × units
  matrix: identical result, no reviewers dimension). For interval items with very many distinct
  values the package's units × values² intermediate would not fit, and the same alpha is computed
  in closed form (nominal and ordinal items fall back to a values × values coincidence matrix).

Only units with at least two reviews count. Pure: numpy in, figures out; no storage.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from operator import itemgetter
from typing import Any

import krippendorff
import numpy as np

from config.errors import InputError
from evaluation.paired_stats import json_safe
from review.rubrics import Rubric, RubricItem

LEVELS = ("nominal", "ordinal", "interval")
SAME_SCORE_NOTE = "every score is the same: agreement beyond chance is undefined"
KAPPA_WEIGHTS = {"nominal": None, "ordinal": "linear", "interval": "quadratic"}
FLOAT_EPS = 1e-9  # interval values closer than tolerance + this count as agreeing (float noise)
GRID_LIMIT = 1000  # a numeric item's step grid is passed as kappa's scale up to this many points
_ALPHA_CELLS = 4_000_000  # units × values²: above this, alpha avoids the package's 3-D intermediate

Review = tuple[Hashable, Hashable, object]


@dataclass(frozen=True)
class ItemAgreement:
    """Agreement between reviewers on one rubric item; None where a figure is undefined (see notes)."""

    item: str
    level: str  # nominal | ordinal | interval
    reviewers: int  # distinct reviewers who answered the item
    units: int  # units (queued records) with at least 2 reviews: the ones agreement is measured on
    pairs: int  # pairs of reviews of the same unit
    percent_agreement: float | None  # share of those pairs that agree
    cohen_kappa: float | None  # only with exactly 2 reviewers overall
    krippendorff_alpha: float | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (no NaN or inf)."""
        return json_safe(asdict(self))


# ----------------------------------------------------------------------------- public functions


def item_agreement(
    reviews: Iterable[Review],
    level: str,
    *,
    item: str = "",
    tolerance: float = 0.0,
    domain: Sequence[object] | None = None,
) -> ItemAgreement:
    """Agreement on one item.

    ``domain`` (optional) is the item's scale: the possible answers, ordered worst → best for
    ordinal items (labels are then accepted as values) or the numeric step grid for interval
    items. It validates the values and gives Cohen's weighted kappa the full scale, so unused
    labels still count as steps. ``tolerance`` (interval items only) widens "agree".
    """
    p = _prepare(reviews, level, tolerance, domain, item)
    notes: list[str] = []
    if p.n_reviews == 0:
        return ItemAgreement(item, level, 0, 0, 0, None, None, None, ("No reviews for this item yet.",))

    units = p.n_multi
    if p.n_reviewers == 1:
        notes.append(
            f"Only one reviewer answered this item ({p.n_reviews} review{'s' if p.n_reviews != 1 else ''}): "
            "agreement needs two or more reviewers of the same unit."
        )
    elif units == 0:
        notes.append("No unit was reviewed by two or more reviewers: there is nothing to compare yet.")
    elif p.n_units > units:
        single = p.n_units - units
        notes.append(
            f"{single} of {p.n_units} units {'has' if single == 1 else 'have'} a single review and "
            f"{'is' if single == 1 else 'are'} not counted."
        )
    if units == 1:
        notes.append(
            "Only 1 unit was reviewed by two or more reviewers: Cohen's kappa and Krippendorff's alpha "
            "need at least 2."
        )

    pairs = int((p.counts_multi * (p.counts_multi - 1) // 2).sum())
    percent = None
    if pairs:
        percent = _agreeing_pairs(p.values_mat, p.limit) / pairs
        if level == "interval" and tolerance > 0:
            notes.append(f"Reviews within {_fmt(tolerance)} of each other count as agreeing.")

    same = units >= 2 and p.n_alpha_values < 2
    if same:
        notes.append(SAME_SCORE_NOTE)

    kappa = None
    if p.n_reviewers > 2:
        notes.append(
            f"Cohen's kappa needs exactly 2 reviewers; this item has {p.n_reviewers}: read Krippendorff's alpha."
        )
    elif p.n_reviewers == 2 and units >= 2 and not same:
        kappa, kappa_notes = _kappa(p, level)
        notes.extend(kappa_notes)

    alpha = None
    if units >= 2 and not same:
        alpha = _alpha(p, level)
        if alpha is None:
            notes.append("Krippendorff's alpha is undefined for these reviews.")

    return ItemAgreement(item, level, p.n_reviewers, units, pairs, _finite(percent), kappa, alpha, tuple(notes))


def disagreements(
    reviews: Iterable[Review], level: str, tolerance: float = 0.0, *, domain: Sequence[object] | None = None
) -> list[Hashable]:
    """Units (in first-seen order) with 2+ reviews that are not all equal (interval: max − min >
    ``tolerance``): the ones to send to adjudication."""
    p = _prepare(reviews, level, tolerance, domain, "")
    if p.n_multi == 0:
        return []
    m = p.values_mat
    spread = np.nanmax(m, axis=1) - np.nanmin(m, axis=1)
    return [p.unit_ids[i] for i in p.multi_units[spread > p.limit]]


def queue_agreement(
    rubric: Rubric,
    reviews_by_item: Mapping[str, Iterable[Review]],
    *,
    tolerance: float | Mapping[str, float] = 0.0,
) -> list[ItemAgreement]:
    """``item_agreement`` for every scored item of ``rubric``, in rubric order.

    Values are the answers as ``Rubric.check`` returns them: numbers for numeric items, labels for
    categorical items, bools for boolean items (an ordered item also accepts its
    ``numeric_value``). Each item's scale comes from the rubric. ``tolerance`` is one figure for
    every numeric item or a mapping item name → tolerance.
    """
    by_name = {item.name: item for item in rubric.items}
    for name in reviews_by_item:
        item = by_name.get(name)
        if item is None or not item.scored:
            raise InputError(
                f"Reviews are given for {name!r}, which is not a scored item of rubric {rubric.name!r}.",
                "Pass reviews only for its scored items: " + ", ".join(i.name for i in rubric.scored_items) + ".",
            )
    if isinstance(tolerance, Mapping):
        for name in tolerance:
            if name not in by_name or by_name[name].kind != "numeric":
                raise InputError(
                    f"A tolerance is given for {name!r}, which is not a numeric item of rubric {rubric.name!r}.",
                    "Tolerances apply to numeric items only.",
                )
    out = []
    for item in rubric.scored_items:
        level = item.level_of_measurement
        if isinstance(tolerance, Mapping):
            tol = float(tolerance.get(item.name, 0.0))
        else:
            tol = float(tolerance) if level == "interval" else 0.0
        out.append(
            item_agreement(
                reviews_by_item.get(item.name, ()), level, item=item.name, tolerance=tol, domain=item_scale(item)
            )
        )
    return out


# ----------------------------------------------------------------------------- preparing reviews


@dataclass(frozen=True, eq=False)
class _Prepared:
    unit_ids: list  # unit id of each unit code, first-seen order
    n_reviews: int
    n_reviewers: int
    n_units: int
    unit: np.ndarray  # per review: unit code
    reviewer: np.ndarray  # per review: reviewer code
    kappa_code: np.ndarray  # per review: position on kappa's scale
    kappa_labels: np.ndarray | None  # kappa's scale (None: unweighted, observed labels)
    kappa_rank_only: bool  # interval item without a grid: kappa weights by rank
    limit: float  # two values agree when |a − b| <= limit
    multi_units: np.ndarray  # unit codes with 2+ reviews
    counts_multi: np.ndarray  # their review counts
    values_mat: np.ndarray  # (units with 2+ reviews) × (max reviews): values, NaN padded
    codes_mat: np.ndarray  # same shape: index into alpha_domain, -1 padded
    alpha_domain: np.ndarray  # distinct values among the reviews of those units, sorted

    @property
    def n_multi(self) -> int:
        return len(self.multi_units)

    @property
    def n_alpha_values(self) -> int:
        return len(self.alpha_domain)


def _prepare(
    reviews: Iterable[Review], level: str, tolerance: float, domain: Sequence[object] | None, item: str
) -> _Prepared:
    where = f"Item {item!r}: " if item else ""
    if level not in LEVELS:
        raise InputError(
            f"{where}unknown level of measurement {level!r}.",
            "Use nominal, ordinal or interval (Rubric.level_of_measurement gives it).",
        )
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, numbers.Real)
        or not math.isfinite(tolerance)
        or tolerance < 0
    ):
        raise InputError(f"{where}tolerance must be a number ≥ 0, not {tolerance!r}.", "Use 0 for exact agreement.")
    if tolerance > 0 and level != "interval":
        raise InputError(
            f"{where}a tolerance applies to interval (numeric) items only, not {level} ones.",
            "Leave tolerance at 0 for labels and yes/no answers.",
        )
    reviews = reviews if isinstance(reviews, (list, tuple)) else list(reviews)
    n = len(reviews)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Prepared(
            [], 0, 0, 0, empty, empty, empty, None, False, 0.0, empty, empty,
            np.zeros((0, 0)), np.zeros((0, 0), dtype=np.int64), np.zeros(0),
        )
    try:
        sizes = set(map(len, reviews))
    except TypeError:
        sizes = set()
    if sizes != {3}:
        raise InputError(f"{where}every review must be a (unit id, reviewer, value) triple.", "Pass a list of (unit id, reviewer, value) tuples.")
    unit_raw, reviewer_raw, raw = (list(map(itemgetter(i), reviews)) for i in range(3))  # zip(*…) is 40x slower
    unit, unit_ids = _factorize(unit_raw, f"{where}unit ids")
    reviewer, reviewer_ids = _factorize(reviewer_raw, f"{where}reviewer ids")

    kappa_labels = None
    rank_only = False
    if level == "nominal":
        codes, keys = _factorize(raw, f"{where}values")
        for i, key in enumerate(keys):
            if key is None or (isinstance(key, float) and math.isnan(key)):
                first = int(np.argmax(codes == i))
                raise InputError(
                    f"{where}the review of unit {unit_raw[first]!r} by {reviewer_raw[first]!r} has no value.",
                    "Leave a missing review out instead of passing None or NaN.",
                )
        if domain is not None:
            allowed = set(domain)
            unknown = [k for k in keys if k not in allowed]
            if unknown:
                raise InputError(
                    f"{where}{_show(unknown[0])} is not one of the item's answers ({', '.join(map(str, domain))}).",
                    "Pass the labels (or yes/no answers) as stored; numeric_value would merge labels into pass/fail.",
                )
        values = codes.astype(np.float64)
        kappa_code = codes
    elif level == "ordinal" and domain is not None:
        codes, keys = _factorize(raw, f"{where}values")
        position = {v: i for i, v in enumerate(domain)}
        steps = len(domain) - 1
        mapped = np.empty(len(keys), dtype=np.int64)
        for i, key in enumerate(keys):
            pos = position.get(key)
            if pos is None and isinstance(key, numbers.Real) and not isinstance(key, bool) and steps > 0:
                scaled = float(key) * steps  # a Rubric.numeric_value: position / steps
                if math.isfinite(scaled) and abs(scaled - round(scaled)) < 1e-6 and 0 <= round(scaled) <= steps:
                    pos = round(scaled)
            if pos is None:
                raise InputError(
                    f"{where}{_show(key)} is not on the item's scale ({', '.join(map(str, domain))}).",
                    "Pass the item's labels, or their Rubric.numeric_value.",
                )
            mapped[i] = pos
        kappa_code = mapped[codes]
        values = kappa_code.astype(np.float64)
        kappa_labels = np.arange(len(domain))
    else:
        values = _floats(raw, level, where)
        if level == "ordinal":
            ranks, kappa_code = np.unique(values, return_inverse=True)
            values = kappa_code.astype(np.float64)  # only the order matters
            kappa_labels = np.arange(len(ranks))
        elif domain is not None:
            grid = np.asarray(domain, dtype=np.float64)
            if grid.ndim != 1 or len(grid) < 2 or np.any(np.diff(grid) <= 0):
                raise InputError(f"{where}the interval scale must be increasing numbers.", "Pass the step grid from min to max, e.g. (1, 2, 3, 4, 5).")
            nearest = np.clip(np.searchsorted(grid, values), 1, len(grid) - 1)
            nearest -= (values - grid[nearest - 1]) < (grid[nearest] - values)
            off = ~np.isclose(grid[nearest], values, rtol=1e-9, atol=1e-9)
            if off.any():
                first = int(np.argmax(off))
                raise InputError(
                    f"{where}score {_fmt(values[first])} (unit {unit_raw[first]!r}) is not on the item's scale "
                    f"({_fmt(grid[0])} to {_fmt(grid[-1])} in steps of {_fmt(grid[1] - grid[0])}).",
                    "Pass scores as Rubric.check returns them.",
                )
            kappa_code = nearest
            kappa_labels = np.arange(len(grid))
        else:
            _, kappa_code = np.unique(values, return_inverse=True)
            kappa_labels = np.arange(int(kappa_code.max()) + 1)
            rank_only = True

    # sort by unit, then reviewer; a reviewer may answer a unit once
    order = np.lexsort((reviewer, unit))
    u_s, r_s = unit[order], reviewer[order]
    again = (u_s[1:] == u_s[:-1]) & (r_s[1:] == r_s[:-1])
    if again.any():
        first = int(order[int(np.argmax(again))])
        raise InputError(
            f"{where}reviewer {reviewer_raw[first]!r} reviewed unit {unit_raw[first]!r} more than once.",
            "Keep one review per reviewer and unit (the latest) before measuring agreement.",
        )
    n_units = len(unit_ids)
    counts = np.bincount(unit, minlength=n_units)
    multi = counts >= 2
    multi_units = np.flatnonzero(multi)
    rank = np.cumsum(multi) - 1  # unit code → row among units with 2+ reviews
    in_multi = multi[u_s]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    position = np.arange(n) - starts[u_s]
    width = int(counts.max()) if multi.any() else 0
    rows = rank[u_s[in_multi]]
    cols = position[in_multi]
    values_mat = np.full((len(multi_units), width), np.nan)
    values_mat[rows, cols] = values[order][in_multi]
    alpha_domain, alpha_codes = np.unique(values[order][in_multi], return_inverse=True)
    codes_mat = np.full((len(multi_units), width), -1, dtype=np.int64)
    codes_mat[rows, cols] = alpha_codes
    return _Prepared(
        unit_ids=unit_ids,
        n_reviews=n,
        n_reviewers=len(reviewer_ids),
        n_units=n_units,
        unit=unit,
        reviewer=reviewer,
        kappa_code=np.asarray(kappa_code, dtype=np.int64),
        kappa_labels=kappa_labels,
        kappa_rank_only=rank_only,
        limit=float(tolerance) + FLOAT_EPS if level == "interval" else 0.0,
        multi_units=multi_units,
        counts_multi=counts[multi],
        values_mat=values_mat,
        codes_mat=codes_mat,
        alpha_domain=alpha_domain,
    )


def _factorize(values: Sequence[object], what: str) -> tuple[np.ndarray, list]:
    """Integer codes in first-seen order, and the distinct values."""
    try:
        distinct = list(dict.fromkeys(values))  # C-speed passes: no Python frame per review
        index = {v: i for i, v in enumerate(distinct)}
        codes = np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))
    except TypeError:
        raise InputError(f"{what} must be plain values (text, numbers, bools).", "Use ids and answers as stored, not lists or dicts.") from None
    return codes, distinct


def _floats(raw: Sequence[object], level: str, where: str) -> np.ndarray:
    array = np.asarray(raw)
    if array.dtype.kind not in "iuf":
        raise InputError(
            f"{where}the values of an {level} item must be numbers.",
            "Map answers with Rubric.numeric_value (or pass the labels with their domain).",
        )
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise InputError(f"{where}a value is missing or not finite.", "Leave a missing review out instead of NaN.")
    return array


def item_scale(item: RubricItem) -> Sequence[object] | None:
    """The item's possible answers: labels, yes/no, or the step grid of a numeric item."""
    if item.kind == "boolean":
        return (False, True)
    if item.kind == "categorical":
        return item.labels
    if item.step is not None:
        points = round((item.max - item.min) / item.step) + 1
        if points <= GRID_LIMIT:
            return tuple(float(item.min + i * item.step) for i in range(points))
    return None


# ----------------------------------------------------------------------------- the figures


def _agreeing_pairs(values_mat: np.ndarray, limit: float) -> int:
    """Pairs of reviews of the same unit within ``limit`` (NaN padding never agrees)."""
    width = values_mat.shape[1]
    agree = 0
    for a in range(width):
        for b in range(a + 1, width):
            agree += int(np.count_nonzero(np.abs(values_mat[:, a] - values_mat[:, b]) <= limit))
    return agree


def _kappa(p: _Prepared, level: str) -> tuple[float | None, list[str]]:
    from sklearn.metrics import cohen_kappa_score  # scikit-learn is slow to import; only needed here

    dense = np.full((2, p.n_units), -1, dtype=np.int64)
    dense[p.reviewer, p.unit] = p.kappa_code
    both = (dense >= 0).all(axis=0)
    weights = KAPPA_WEIGHTS[level]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = cohen_kappa_score(
            dense[0, both], dense[1, both], labels=p.kappa_labels, weights=weights, replace_undefined_by=np.nan
        )
    notes = []
    if level == "ordinal":
        notes.append(
            "Cohen's kappa uses linear weights (ordinal item): a disagreement by two steps counts twice one step."
        )
    elif level == "interval":
        notes.append("Cohen's kappa uses quadratic weights (interval item): a disagreement counts by its square.")
        if p.kappa_rank_only:
            notes.append(
                "The item has no step grid, so kappa's weights use the ranks of the observed scores, "
                "not their distances; prefer Krippendorff's alpha."
            )
    value = _finite(value)
    if value is None:
        notes.append("Cohen's kappa is undefined here: the two reviewers' answers leave no room for chance agreement.")
    return value, notes


def _alpha(p: _Prepared, level: str) -> float | None:
    units, values = p.codes_mat.shape[0], p.n_alpha_values
    if units * values * values <= _ALPHA_CELLS:
        flat = np.arange(units)[:, None] * values + p.codes_mat
        counts = np.bincount(flat[p.codes_mat >= 0], minlength=units * values).reshape(units, values)
        with np.errstate(all="ignore"):
            result = krippendorff.alpha(value_counts=counts, value_domain=p.alpha_domain, level_of_measurement=level)
    elif level == "interval":
        result = _interval_alpha(p.values_mat)
    else:
        result = _alpha_from_coincidences(p.codes_mat, p.alpha_domain, level)
    return _finite(result)


def _interval_alpha(values_mat: np.ndarray) -> float:
    """Krippendorff's interval alpha in closed form, O(reviews): 1 − (n − 1) Σ_u S_u / (m_u − 1) / S,
    with S_u = Σ_{i≠j in u} (v_i − v_j)² = 2 m_u Σv² − 2 (Σv)², S the same over all pairable values."""
    present = ~np.isnan(values_mat)
    centred = np.where(present, values_mat - np.nanmean(values_mat), 0.0)  # centring keeps the sums exact-ish
    m = present.sum(axis=1).astype(np.float64)
    s1, s2 = centred.sum(axis=1), (centred**2).sum(axis=1)
    within = (2 * m * s2 - 2 * s1**2) / (m - 1)
    n = m.sum()
    total = 2 * n * s2.sum() - 2 * s1.sum() ** 2
    with np.errstate(all="ignore"):
        return float(1 - (n - 1) * within.sum() / total)


def _alpha_from_coincidences(codes_mat: np.ndarray, domain: np.ndarray, level: str) -> float:
    """Krippendorff's alpha from the values × values coincidence matrix (nominal or ordinal), built
    from pairs of reviews of the same unit without the package's units × values² intermediate."""
    size = len(domain)
    present = codes_mat >= 0
    weight = 1.0 / (present.sum(axis=1) - 1)
    o = np.zeros(size * size)
    width = codes_mat.shape[1]
    for a in range(width):
        for b in range(width):
            if a != b:
                ok = present[:, a] & present[:, b]
                o += np.bincount(codes_mat[ok, a] * size + codes_mat[ok, b], weights=weight[ok], minlength=size * size)
    o = o.reshape(size, size)
    n_v = o.sum(axis=0)
    e = (np.outer(n_v, n_v) - np.diag(n_v)) / (n_v.sum() - 1)
    if level == "nominal":
        d = 1.0 - np.eye(size)
    else:
        cum = np.concatenate(([0.0], np.cumsum(n_v)))
        idx = np.arange(size)
        low, high = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
        d = (cum[high + 1] - cum[low] - (n_v[low] + n_v[high]) / 2) ** 2
    with np.errstate(all="ignore"):
        return float(1 - (o * d).sum() / (e * d).sum())


# ----------------------------------------------------------------------------- small helpers


def _finite(value: object) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _show(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
