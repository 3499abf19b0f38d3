"""Statistics a model validator asks for, beyond the point values of :mod:`credit_glm.metrics`.

Confidence intervals for the AUC and Gini (DeLong), the Kolmogorov-Smirnov statistic with the
threshold where it occurs, per-grade default-rate tests (binomial and Jeffreys, as in the ECB
validation reporting instructions), the Murphy/Stephenson decomposition of the Brier score and
the characteristic stability index of a feature.

Inputs follow the conventions of :mod:`credit_glm.metrics`: ``y`` is the observed outcome (1 for
a default, 0 otherwise) and ``p`` the predicted probability of default (or, for the rank-based
statistics, any score that increases with risk); bad input raises ``ValueError`` naming the
function and the rule broken. The point statistics themselves (AUC, KS, Brier, PSI) are taken
from :mod:`credit_glm.metrics`, not recomputed.

The module is pure: numpy and scipy only (scipy loaded on first use), no I/O. Results are frozen
dataclasses of plain Python ``float``/``int``/``str``/``None`` with a ``to_dict()`` that returns
a JSON-safe dict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from credit_glm.metrics import (
    _as_1d,
    _check_eps,
    _check_finite,
    _check_int,
    _prepare,
    _smoothed_shares,
    bin_proportions,
    brier_score,
    ks_statistic,
    psi_bin_edges,
    psi_from_shares,
    roc_auc,
)

__all__ = [
    "AUCInterval",
    "BrierDecomposition",
    "CSIBin",
    "CSIResult",
    "GradeRow",
    "KSResult",
    "ROCCurve",
    "brier_decomposition",
    "characteristic_stability",
    "delong_auc",
    "grade_table",
    "ks_test",
    "roc_curve",
]

FloatArray = npt.NDArray[np.float64]


class _Record:
    """``to_dict`` for the frozen result dataclasses: fields in order, nested records and tuples
    of records converted too (tuples become lists)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                out[f.name] = [v.to_dict() if isinstance(v, _Record) else v for v in value]
            elif isinstance(value, _Record):
                out[f.name] = value.to_dict()
            else:
                out[f.name] = value
        return out


def _check_level(func: str, level: float) -> float:
    try:
        value = float(level)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{func}: level must be a number in (0, 1), got {level!r}") from exc
    if not 0.0 < value < 1.0:
        raise ValueError(f"{func}: level must lie strictly between 0 and 1, got {level!r}")
    return value


# ---------------------------------------------------------------------------------------------
# AUC with DeLong confidence interval
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AUCInterval(_Record):
    """AUC with its DeLong standard error and normal confidence interval, and the Gini with the
    interval mapped through ``2 * AUC - 1``."""

    auc: float
    variance: float
    std_error: float
    level: float
    lower: float
    upper: float
    gini: float
    gini_lower: float
    gini_upper: float
    n_events: int
    n_nonevents: int


def _placements(y: FloatArray, p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """DeLong placement values by the midrank algorithm of Sun & Xu (2014).

    With ``R`` the midranks in the pooled sample and ``R_1``, ``R_0`` the midranks within the
    events and non-events, the event placements are ``V10 = (R - R_1) / n0`` (share of
    non-events below, ties one half) and the non-event placements ``V01 = 1 - (R - R_0) / n1``
    (share of events above, ties one half).
    """
    from scipy import stats  # loaded on first use

    event = y == 1.0
    pooled = stats.rankdata(p, method="average")
    n1 = int(event.sum())
    n0 = int(y.size - n1)
    v10: FloatArray = (pooled[event] - stats.rankdata(p[event], method="average")) / n0
    v01: FloatArray = 1.0 - (pooled[~event] - stats.rankdata(p[~event], method="average")) / n1
    return v10, v01


def delong_auc(y: npt.ArrayLike, p: npt.ArrayLike, level: float = 0.95) -> AUCInterval:
    """AUC with the DeLong et al. (1988) variance and a normal confidence interval.

    The AUC is :func:`credit_glm.metrics.roc_auc`. Its variance is
    ``S10 / n1 + S01 / n0``, where ``S10`` and ``S01`` are the sample variances (denominator
    ``n - 1``) of the event and non-event placement values, computed in O(n log n) from
    midranks (Sun & Xu 2014). The interval is ``AUC -/+ z * SE`` with ``z`` the
    ``(1 + level) / 2`` standard normal quantile, clipped to [0, 1]; the Gini interval is
    ``(2 * lower - 1, 2 * upper - 1)``. A class with a single member has no placement variance
    of its own; its term is then 0.

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes; both classes must be present.
    p : array-like of float
        Scores; any finite values, larger meaning riskier.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    AUCInterval

    Raises
    ------
    ValueError
        If ``y`` has one class only, the lengths differ, ``y`` is not binary, ``p`` is not
        finite or ``level`` is not in (0, 1).

    References
    ----------
    DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under two
    or more correlated receiver operating characteristic curves: a nonparametric approach.
    *Biometrics* 44(3), 837-845.
    Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
    under correlated receiver operating characteristic curves. *IEEE Signal Processing
    Letters* 21(11), 1389-1393.
    """
    func = "delong_auc"
    y_arr, p_arr = _prepare(func, y, p, probability=False, both_classes=True)
    conf = _check_level(func, level)
    auc = roc_auc(y_arr, p_arr)
    v10, v01 = _placements(y_arr, p_arr)
    s10 = float(np.var(v10, ddof=1)) if v10.size > 1 else 0.0
    s01 = float(np.var(v01, ddof=1)) if v01.size > 1 else 0.0
    variance = s10 / v10.size + s01 / v01.size
    se = math.sqrt(variance)
    from scipy import stats  # loaded on first use

    z = float(stats.norm.ppf(0.5 + conf / 2.0))
    lower = max(0.0, auc - z * se)
    upper = min(1.0, auc + z * se)
    return AUCInterval(
        auc=auc,
        variance=variance,
        std_error=se,
        level=conf,
        lower=lower,
        upper=upper,
        gini=2.0 * auc - 1.0,
        gini_lower=2.0 * lower - 1.0,
        gini_upper=2.0 * upper - 1.0,
        n_events=int(v10.size),
        n_nonevents=int(v01.size),
    )


# ---------------------------------------------------------------------------------------------
# Kolmogorov-Smirnov with its threshold
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KSResult(_Record):
    """KS statistic and where it occurs.

    ``threshold`` is the score ``s`` at which ``|F_event(s) - F_nonevent(s)|`` is largest (the
    smallest such score when several tie), with ``F(s)`` the share of the class scoring
    ``<= s``; ``cum_events`` and ``cum_nonevents`` are those two shares at ``s``.
    """

    statistic: float
    threshold: float
    cum_events: float
    cum_nonevents: float


def ks_test(y: npt.ArrayLike, p: npt.ArrayLike) -> KSResult:
    """Kolmogorov-Smirnov statistic between the event and non-event scores, with its threshold.

    The statistic is :func:`credit_glm.metrics.ks_statistic`; the two empirical CDFs are
    evaluated at every distinct score to find where the gap reaches it.

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes; both classes must be present.
    p : array-like of float
        Scores; any finite values.

    Returns
    -------
    KSResult

    References
    ----------
    Smirnov, N. (1939). On the estimation of the discrepancy between empirical curves of
    distribution for two independent samples. *Bull. Math. Univ. Moscou* 2(2), 3-14.
    """
    y_arr, p_arr = _prepare("ks_test", y, p, probability=False, both_classes=True)
    statistic = ks_statistic(y_arr, p_arr)
    values = np.unique(p_arr)
    events = np.sort(p_arr[y_arr == 1.0])
    nonevents = np.sort(p_arr[y_arr == 0.0])
    cum_events = np.searchsorted(events, values, side="right") / events.size
    cum_nonevents = np.searchsorted(nonevents, values, side="right") / nonevents.size
    at = int(np.argmax(np.abs(cum_events - cum_nonevents)))
    return KSResult(
        statistic=statistic,
        threshold=float(values[at]),
        cum_events=float(cum_events[at]),
        cum_nonevents=float(cum_nonevents[at]),
    )


# ---------------------------------------------------------------------------------------------
# Rating grades: default-rate tests per grade
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeRow(_Record):
    """One rating grade of :func:`grade_table` (grades numbered from 1, lowest PDs first).

    The grade holds the rows with ``lower <= p < upper``; ``lower`` is ``None`` for the first
    grade (no lower bound) and ``upper`` ``None`` for the last (no upper bound). For an empty
    grade (``n == 0``) every statistic is ``None``.
    """

    grade: int
    lower: float | None
    upper: float | None
    n: int
    defaults: int
    observed_rate: float | None
    mean_pd: float | None
    expected_defaults: float | None
    binomial_pvalue: float | None
    binomial_two_sided_pvalue: float | None
    jeffreys_pvalue: float | None
    jeffreys_lower: float | None
    jeffreys_upper: float | None


def _check_cuts(func: str, edges: npt.ArrayLike) -> FloatArray:
    cuts = _as_1d(func, "edges", edges)
    if cuts.size == 0:
        raise ValueError(f"{func}: edges needs at least one cut point")
    _check_finite(func, "edges", cuts)
    if not np.all(np.diff(cuts) > 0.0):
        raise ValueError(f"{func}: edges must be strictly increasing")
    return cuts


def _empty_grade(grade: int, lower: float | None, upper: float | None) -> GradeRow:
    return GradeRow(
        grade=grade,
        lower=lower,
        upper=upper,
        n=0,
        defaults=0,
        observed_rate=None,
        mean_pd=None,
        expected_defaults=None,
        binomial_pvalue=None,
        binomial_two_sided_pvalue=None,
        jeffreys_pvalue=None,
        jeffreys_lower=None,
        jeffreys_upper=None,
    )


def grade_table(
    y: npt.ArrayLike, p: npt.ArrayLike, edges: npt.ArrayLike, level: float = 0.95
) -> tuple[GradeRow, ...]:
    """Per rating grade: observed against predicted default rate, with binomial and Jeffreys tests.

    ``edges`` are the inner PD cut points ``c_1 < ... < c_k``; they make ``k + 1`` grades
    ``(-inf, c_1), [c_1, c_2), ..., [c_k, +inf)`` so that every probability falls in exactly one
    grade (a PD equal to a cut point belongs to the grade above it).

    For a grade of ``n`` rows, ``D`` defaults and mean predicted PD ``q``:

    * ``binomial_pvalue`` is ``P[X >= D]`` for ``X ~ Binomial(n, q)``: the one-sided test that
      the PD is underestimated (small values reject ``q`` as too low);
    * ``binomial_two_sided_pvalue`` is the two-sided exact binomial test
      (``scipy.stats.binomtest``, sum of the probabilities no larger than that of ``D``);
    * ``jeffreys_pvalue`` is the CDF at ``q`` of the Jeffreys posterior
      ``Beta(D + 1/2, n - D + 1/2)``: the posterior probability that the true default rate is
      at most ``q``; small values mean the PD is underestimated (ECB 2019);
    * ``jeffreys_lower``/``jeffreys_upper`` are the central ``level`` interval of that
      posterior (``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles, as in
      ``statsmodels.stats.proportion.proportion_confint(method="jeffreys")``).

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed defaults.
    p : array-like of float in [0, 1]
        Predicted probabilities of default.
    edges : array-like of float
        Inner cut points, finite and strictly increasing (at least one).
    level : float, default 0.95
        Level of the Jeffreys interval, strictly between 0 and 1.

    Returns
    -------
    tuple of GradeRow
        ``len(edges) + 1`` rows, empty grades included.

    References
    ----------
    European Central Bank (2019). *Instructions for reporting the validation results of
    internal models: IRB Pillar I models for credit risk*, section 2.5.3.1 (Jeffreys test).
    Brown, L. D., Cai, T. T. & DasGupta, A. (2001). Interval estimation for a binomial
    proportion. *Statist. Sci.* 16(2), 101-133 (Jeffreys interval).
    Tasche, D. (2008). Validation of internal rating systems and PD estimates. In *The Analytics
    of Risk Model Validation*, Academic Press, 169-196 (binomial test).
    """
    func = "grade_table"
    y_arr, p_arr = _prepare(func, y, p, probability=True, both_classes=False)
    cuts = _check_cuts(func, edges)
    conf = _check_level(func, level)
    from scipy import stats  # loaded on first use

    grade_of = np.searchsorted(cuts, p_arr, side="right")
    bounds: list[float | None] = [None, *(float(c) for c in cuts), None]
    rows: list[GradeRow] = []
    for g in range(cuts.size + 1):
        in_grade = grade_of == g
        n = int(in_grade.sum())
        if n == 0:
            rows.append(_empty_grade(g + 1, bounds[g], bounds[g + 1]))
            continue
        d = int(y_arr[in_grade].sum())
        q = float(p_arr[in_grade].mean())
        a, b = d + 0.5, n - d + 0.5
        rows.append(
            GradeRow(
                grade=g + 1,
                lower=bounds[g],
                upper=bounds[g + 1],
                n=n,
                defaults=d,
                observed_rate=d / n,
                mean_pd=q,
                expected_defaults=q * n,
                binomial_pvalue=float(stats.binom.sf(d - 1, n, q)),
                binomial_two_sided_pvalue=float(stats.binomtest(d, n, q).pvalue),
                jeffreys_pvalue=float(stats.beta.cdf(q, a, b)),
                jeffreys_lower=float(stats.beta.ppf((1.0 - conf) / 2.0, a, b)),
                jeffreys_upper=float(stats.beta.ppf((1.0 + conf) / 2.0, a, b)),
            )
        )
    return tuple(rows)


# ---------------------------------------------------------------------------------------------
# Brier score decomposition
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrierDecomposition(_Record):
    """The Brier score and its generalized Murphy decomposition (Stephenson et al. 2008):

    ``brier = reliability - resolution + uncertainty + within_bin_variance
    - within_bin_covariance``.

    ``bins`` is the number of equal-width bins asked for, ``bins_used`` the number holding at
    least one forecast.
    """

    brier: float
    reliability: float
    resolution: float
    uncertainty: float
    within_bin_variance: float
    within_bin_covariance: float
    bins: int
    bins_used: int


def brier_decomposition(y: npt.ArrayLike, p: npt.ArrayLike, bins: int = 10) -> BrierDecomposition:
    """Murphy (1973) decomposition of the Brier score over equal-width probability bins.

    Forecasts are put in ``bins`` equal-width bins of [0, 1]: row ``i`` goes to bin
    ``min(floor(p_i * bins), bins - 1)``, so bin ``k`` is ``[k / bins, (k + 1) / bins)`` and
    the last bin includes 1. Equal-width bins keep tied forecasts together (equal-count groups
    such as those of :func:`credit_glm.metrics.calibration_table` may split them). With
    ``N`` rows, bin sizes ``n_k``, bin mean forecasts ``f_k``, bin observed rates ``o_k`` and
    overall rate ``o``:

    * ``reliability = sum_k n_k (f_k - o_k)^2 / N``
    * ``resolution = sum_k n_k (o_k - o)^2 / N``
    * ``uncertainty = o (1 - o)``
    * ``within_bin_variance = sum_i (p_i - f_{k(i)})^2 / N``
    * ``within_bin_covariance = 2 sum_i (y_i - o_{k(i)}) (p_i - f_{k(i)}) / N``

    and the Brier score (:func:`credit_glm.metrics.brier_score`) equals
    ``reliability - resolution + uncertainty + within_bin_variance - within_bin_covariance``
    (up to rounding). The two within-bin terms are zero when the forecasts are constant within
    each bin, which gives Murphy's original three-term decomposition.

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes.
    p : array-like of float in [0, 1]
        Predicted probabilities of the event.
    bins : int, default 10
        Number of equal-width bins (>= 1).

    Returns
    -------
    BrierDecomposition

    References
    ----------
    Murphy, A. H. (1973). A new vector partition of the probability score. *J. Appl. Meteor.*
    12(4), 595-600.
    Stephenson, D. B., Coelho, C. A. S. & Jolliffe, I. T. (2008). Two extra components in the
    Brier score decomposition. *Weather and Forecasting* 23(4), 752-757.
    """
    func = "brier_decomposition"
    y_arr, p_arr = _prepare(func, y, p, probability=True, both_classes=False)
    n_bins = _check_int(func, "bins", bins, 1)
    index = np.minimum(np.floor(p_arr * n_bins).astype(np.intp), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins).astype(float)
    used = counts > 0
    safe = np.where(used, counts, 1.0)
    mean_forecast = np.bincount(index, weights=p_arr, minlength=n_bins) / safe
    observed = np.bincount(index, weights=y_arr, minlength=n_bins) / safe
    total = float(y_arr.size)
    rate = float(y_arr.mean())
    forecast_gap = p_arr - mean_forecast[index]
    return BrierDecomposition(
        brier=brier_score(y_arr, p_arr),
        reliability=float(np.sum(counts * (mean_forecast - observed) ** 2) / total),
        resolution=float(np.sum(counts * (observed - rate) ** 2) / total),
        uncertainty=rate * (1.0 - rate),
        within_bin_variance=float(np.sum(forecast_gap**2) / total),
        within_bin_covariance=float(2.0 * np.sum((y_arr - observed[index]) * forecast_gap) / total),
        bins=n_bins,
        bins_used=int(used.sum()),
    )


# ---------------------------------------------------------------------------------------------
# Characteristic stability index
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CSIBin(_Record):
    """One bin (numeric feature) or category of :func:`characteristic_stability`, with its
    smoothed shares and its term ``(actual - expected) * ln(actual / expected)``."""

    label: str
    expected_share: float
    actual_share: float
    contribution: float


@dataclass(frozen=True)
class CSIResult(_Record):
    """Characteristic stability index of one feature, with the table behind it."""

    kind: str
    value: float
    bins: tuple[CSIBin, ...]


def _category_labels(func: str, name: str, values: npt.ArrayLike) -> npt.NDArray[np.str_]:
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{func}: {name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{func}: {name} is empty")
    labels: npt.NDArray[np.str_] = np.array([str(v) for v in arr], dtype=str)
    return labels


def characteristic_stability(
    expected_values: npt.ArrayLike,
    actual_values: npt.ArrayLike,
    kind: str,
    bins: int = 10,
    eps: float = 1e-4,
) -> CSIResult:
    """Characteristic stability index (CSI) of a feature between a baseline and a recent sample.

    The CSI is the population stability index computed on a feature instead of the score:
    ``CSI = sum_i (a_i - e_i) ln(a_i / e_i)`` (:func:`credit_glm.metrics.psi_from_shares`).

    * ``kind="numeric"``: bins from quantiles of the baseline
      (:func:`credit_glm.metrics.psi_bin_edges`, right-open, outer edges infinite) and shares
      from :func:`credit_glm.metrics.bin_proportions`; labels read ``"[lo, hi)"``.
    * ``kind="categorical"``: one bin per category, the categories being the values' ``str``
      labels (so ``1`` and ``"1"`` are the same category): the baseline's categories in sorted
      order, then those seen only in the recent sample, sorted. A category absent from one
      sample gets share ``eps`` there before renormalising, as empty numeric bins do.

    Parameters
    ----------
    expected_values : array-like
        Baseline values of the feature (e.g. the development sample), non-empty.
    actual_values : array-like
        Recent values of the feature, non-empty.
    kind : {"numeric", "categorical"}
        How the feature is binned.
    bins : int, default 10
        Number of quantile bins wanted for a numeric feature (ignored for a categorical one).
    eps : float, default 1e-4
        Share given to an empty bin or unseen category before renormalising, in (0, 1).

    Returns
    -------
    CSIResult
        ``kind``, ``value`` (the CSI) and ``bins``, one :class:`CSIBin` per bin or category.

    References
    ----------
    Siddiqi, N. (2017). *Intelligent Credit Scoring*, 2nd ed. Wiley (characteristic analysis
    report).
    Yurdakul, B. (2018). *Statistical Properties of Population Stability Index*. PhD thesis,
    Western Michigan University.
    """
    func = "characteristic_stability"
    if kind == "numeric":
        samples = []
        for name, values in (
            ("expected_values", expected_values),
            ("actual_values", actual_values),
        ):
            arr = _as_1d(func, name, values)
            if arr.size == 0:
                raise ValueError(f"{func}: {name} is empty")
            _check_finite(func, name, arr)
            samples.append(arr)
        edges = psi_bin_edges(samples[0], bins)
        expected = bin_proportions(samples[0], edges, eps)
        actual = bin_proportions(samples[1], edges, eps)
        labels = [
            f"[{float(lo)!r}, {float(hi)!r})" for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
    elif kind == "categorical":
        smoothing = _check_eps(func, eps, 1.0)
        base = _category_labels(func, "expected_values", expected_values)
        recent = _category_labels(func, "actual_values", actual_values)
        seen = np.unique(base)
        categories = np.concatenate((seen, np.setdiff1d(np.unique(recent), seen)))
        position = {c: i for i, c in enumerate(categories.tolist())}
        counts = [
            np.bincount([position[c] for c in sample.tolist()], minlength=categories.size)
            for sample in (base, recent)
        ]
        expected = _smoothed_shares(counts[0].astype(np.int64), smoothing)
        actual = _smoothed_shares(counts[1].astype(np.int64), smoothing)
        labels = [str(c) for c in categories.tolist()]
    else:
        raise ValueError(f"{func}: kind must be 'numeric' or 'categorical', got {kind!r}")
    contribution = (actual - expected) * np.log(actual / expected)
    table = tuple(
        CSIBin(label=label, expected_share=float(e), actual_share=float(a), contribution=float(c))
        for label, e, a, c in zip(labels, expected, actual, contribution, strict=True)
    )
    return CSIResult(kind=kind, value=psi_from_shares(expected, actual), bins=table)


# ---------------------------------------------------------------------------------------------
# ROC curve
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ROCCurve(_Record):
    """Points of the ROC curve, from (0, 0) to (1, 1): at each threshold ``t`` the share of
    events (``tpr``) and of non-events (``fpr``) with a score ``>= t``."""

    fpr: tuple[float, ...]
    tpr: tuple[float, ...]
    thresholds: tuple[float | None, ...]  # None for the (0, 0) corner (nothing flagged)


def roc_curve(y: npt.ArrayLike, p: npt.ArrayLike, max_points: int = 1000) -> ROCCurve:
    """The ROC curve at the distinct scores, thinned to at most ``max_points`` thresholds.

    Thinning keeps evenly spaced distinct scores (always the lowest and highest), so a plot of
    a million-row sample stays small; the curve's points stay exact at those thresholds.

    References
    ----------
    Fawcett, T. (2006). An introduction to ROC analysis. *Pattern Recognition Letters* 27(8),
    861-874, algorithm 1.
    """
    y_arr, p_arr = _prepare("roc_curve", y, p, probability=False, both_classes=True)
    n_points = _check_int("roc_curve", "max_points", max_points, 2)
    values = np.unique(p_arr)[::-1]  # high scores first: the first threshold flags fewest
    if values.size > n_points:
        keep = np.unique(np.linspace(0, values.size - 1, n_points).round().astype(np.intp))
        values = values[keep]
    events = np.sort(p_arr[y_arr == 1.0])
    nonevents = np.sort(p_arr[y_arr == 0.0])
    tpr = 1.0 - np.searchsorted(events, values, side="left") / events.size
    fpr = 1.0 - np.searchsorted(nonevents, values, side="left") / nonevents.size
    return ROCCurve(
        fpr=(0.0, *(float(v) for v in fpr)),
        tpr=(0.0, *(float(v) for v in tpr)),
        thresholds=(None, *(float(v) for v in values)),
    )
