"""Discrimination, calibration and stability statistics for binary outcomes.

Every function takes ``y`` (the observed outcome, 1 for the event -- a default -- and 0
otherwise) and ``p`` (the predicted probability of the event, or for the rank-based statistics
any score that increases with risk) as array-likes. They are converted with
``np.asarray(..., dtype=float)`` and must be one-dimensional and of equal length; anything else
is rejected with a ``ValueError`` that names the function and the rule broken.

The module is pure: numpy and scipy only, no I/O. Results are plain Python ``float``/``int``
(or frozen dataclasses of them) so they serialise to JSON as they are.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from credit_glm.scoring import declines

__all__ = [
    "HosmerLemeshowGroup",
    "HosmerLemeshowResult",
    "PSIResult",
    "bin_proportions",
    "binary_metrics",
    "brier_score",
    "calibration_table",
    "confusion_at_cutoff",
    "gini",
    "hosmer_lemeshow",
    "ks_statistic",
    "log_loss",
    "population_stability_index",
    "psi_bin_edges",
    "psi_from_shares",
    "roc_auc",
    "weighted_auc",
    "weighted_log_loss",
]

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

#: Default clipping bound of :func:`log_loss`.
LOG_LOSS_EPS = 1e-15
# Tolerance when checking that a vector of shares sums to one.
_SHARE_SUM_TOLERANCE = 1e-6


# ---------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------


def _as_1d(func: str, name: str, values: npt.ArrayLike) -> FloatArray:
    try:
        arr: FloatArray = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{func}: {name} must be numeric: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{func}: {name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _check_finite(func: str, name: str, arr: FloatArray) -> None:
    nan = np.isnan(arr)
    if nan.any():
        raise ValueError(
            f"{func}: {name} contains NaN ({int(nan.sum())} values, first at position "
            f"{int(np.argmax(nan))})"
        )
    if not np.isfinite(arr).all():
        raise ValueError(
            f"{func}: {name} contains infinite values (first at position "
            f"{int(np.argmax(~np.isfinite(arr)))})"
        )


def _weights(func: str, weights: npt.ArrayLike | None, y: FloatArray) -> FloatArray | None:
    if weights is None:
        return None
    w = _as_1d(func, "weights", weights)
    if w.shape != y.shape:
        raise ValueError(
            f"{func}: weights must have one value per row, got {w.size} for {y.size} rows"
        )
    _check_finite(func, "weights", w)
    if np.any(w < 0.0):
        raise ValueError(f"{func}: weights must be non-negative")
    return w


def _check_int(func: str, name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{func}: {name} must be an integer, got {value!r}")
    as_int = int(value)
    if as_int < minimum:
        raise ValueError(f"{func}: {name} must be >= {minimum}, got {as_int}")
    return as_int


def _check_eps(func: str, value: float, upper: float) -> float:
    eps = float(value)
    if not 0.0 < eps < upper:
        raise ValueError(f"{func}: eps must lie strictly between 0 and {upper}, got {value!r}")
    return eps


def _prepare(
    func: str,
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    *,
    probability: bool,
    both_classes: bool,
) -> tuple[FloatArray, FloatArray]:
    """Convert and validate an outcome vector and a prediction vector."""
    y_arr = _as_1d(func, "y", y)
    p_arr = _as_1d(func, "p", p)
    if y_arr.shape != p_arr.shape:
        raise ValueError(
            f"{func}: y and p must have the same length, got {y_arr.size} and {p_arr.size}"
        )
    if y_arr.size == 0:
        raise ValueError(f"{func}: y and p are empty")
    not_binary = ~((y_arr == 0.0) | (y_arr == 1.0))
    if not_binary.any():
        first = int(np.argmax(not_binary))
        raise ValueError(
            f"{func}: y must contain only 0 and 1, found {y_arr[first]!r} at position {first}"
        )
    _check_finite(func, "p", p_arr)
    if probability:
        outside = (p_arr < 0.0) | (p_arr > 1.0)
        if outside.any():
            first = int(np.argmax(outside))
            raise ValueError(
                f"{func}: p must be probabilities in [0, 1], found {p_arr[first]!r} at "
                f"position {first}"
            )
    if both_classes:
        events = int(y_arr.sum())
        if events == 0 or events == y_arr.size:
            only = "1 (events)" if events else "0 (non-events)"
            raise ValueError(
                f"{func}: y contains only one class ({only}); the statistic needs at least "
                "one event and one non-event"
            )
    return y_arr, p_arr


# ---------------------------------------------------------------------------------------------
# Discrimination
# ---------------------------------------------------------------------------------------------


def roc_auc(y: npt.ArrayLike, p: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Area under the ROC curve, via the Mann-Whitney statistic with midranks.

    The AUC equals the probability that a randomly chosen event scores higher than a randomly
    chosen non-event, counting ties as one half (Bamber 1975; Hanley & McNeil 1982). It is
    computed from the Mann-Whitney U statistic of the event scores, with tied scores given
    their average rank (midrank), in O(n log n). Cross-validated selection (``cv_auc``) scores
    its folds with the same computation (:func:`weighted_auc`).

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes.
    p : array-like of float
        Scores; any finite values, larger meaning riskier.
    weights : array-like of float, optional
        Non-negative frequency weights (row ``i`` counts ``weights[i]`` times).

    Returns
    -------
    float
        AUC in [0, 1].

    Raises
    ------
    ValueError
        If ``y`` has only one class, the lengths differ, ``y`` is not binary or ``p`` has NaN
        or infinite values.

    References
    ----------
    Mann, H. B. & Whitney, D. R. (1947). On a test of whether one of two random variables is
    stochastically larger than the other. *Ann. Math. Statist.* 18, 50-60.
    Bamber, D. (1975). The area above the ordinal dominance graph and the area below the
    receiver operating characteristic graph. *J. Math. Psychol.* 12, 387-415.
    Hanley, J. A. & McNeil, B. J. (1982). The meaning and use of the area under a receiver
    operating characteristic (ROC) curve. *Radiology* 143, 29-36.
    """
    y_arr, p_arr = _prepare("roc_auc", y, p, probability=False, both_classes=True)
    w_arr = _weights("roc_auc", weights, y_arr)
    value = weighted_auc(y_arr, p_arr, w_arr)
    if math.isnan(value):
        raise ValueError("roc_auc: one class has no weight; the statistic needs both")
    return value


def weighted_auc(y: FloatArray, p: FloatArray, w: FloatArray | None = None) -> float:
    """The computation behind :func:`roc_auc`, on arrays it has validated (or that a caller
    such as cross-validated selection built itself): ``nan`` when a class has no weight.

    Scores are grouped by distinct value; each event's weight counts the non-event weight
    strictly below it plus half of that tied with it (the Mann-Whitney count with midranks).
    """
    ww = np.ones_like(p) if w is None else w
    uniq, inverse = np.unique(p, return_inverse=True)
    pos = np.bincount(inverse, weights=ww * y, minlength=uniq.size)
    neg = np.bincount(inverse, weights=ww * (1.0 - y), minlength=uniq.size)
    total_pos = float(pos.sum())
    total_neg = float(neg.sum())
    if total_pos <= 0.0 or total_neg <= 0.0:
        return math.nan
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (total_pos * total_neg))


def gini(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Gini coefficient (accuracy ratio, Somers' D of score on outcome): ``2 * AUC - 1``.

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes.
    p : array-like of float
        Scores; any finite values, larger meaning riskier.

    Returns
    -------
    float
        Gini in [-1, 1]; 0 for a random score, 1 for perfect ranking.

    References
    ----------
    Engelmann, B., Hayden, E. & Tasche, D. (2003). Testing rating accuracy. *Risk* 16(1),
    82-86 (shows accuracy ratio = 2 AUC - 1).
    """
    return 2.0 * roc_auc(y, p) - 1.0


def ks_statistic(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Two-sample Kolmogorov-Smirnov statistic between event and non-event score distributions.

    ``max_s |F_event(s) - F_nonevent(s)|`` where ``F`` are the empirical CDFs
    ``F(s) = share of scores <= s``. The maximum is taken over the distinct score values only,
    so tied scores move both CDFs together and are never split between thresholds.

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes.
    p : array-like of float
        Scores; any finite values.

    Returns
    -------
    float
        KS in [0, 1]; the same value as ``scipy.stats.ks_2samp(p[y == 1], p[y == 0])``.

    References
    ----------
    Smirnov, N. (1939). On the estimation of the discrepancy between empirical curves of
    distribution for two independent samples. *Bull. Math. Univ. Moscou* 2(2), 3-14.
    Thomas, L. C., Edelman, D. B. & Crook, J. N. (2002). *Credit Scoring and Its Applications*.
    SIAM (KS as a scorecard measure).
    """
    y_arr, p_arr = _prepare("ks_statistic", y, p, probability=False, both_classes=True)
    values, inverse = np.unique(p_arr, return_inverse=True)
    events = np.bincount(inverse, weights=y_arr, minlength=values.size)
    nonevents = np.bincount(inverse, weights=1.0 - y_arr, minlength=values.size)
    cdf_events = np.cumsum(events) / events.sum()
    cdf_nonevents = np.cumsum(nonevents) / nonevents.sum()
    return float(np.max(np.abs(cdf_events - cdf_nonevents)))


# ---------------------------------------------------------------------------------------------
# Probability accuracy
# ---------------------------------------------------------------------------------------------


def brier_score(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Brier score: the mean squared difference between predicted probability and outcome.

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes.
    p : array-like of float in [0, 1]
        Predicted probabilities of the event.

    Returns
    -------
    float
        ``mean((p - y) ** 2)``, in [0, 1]; lower is better.

    References
    ----------
    Brier, G. W. (1950). Verification of forecasts expressed in terms of probability.
    *Monthly Weather Review* 78(1), 1-3.
    """
    y_arr, p_arr = _prepare("brier_score", y, p, probability=True, both_classes=False)
    return float(np.mean((p_arr - y_arr) ** 2))


def log_loss(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    eps: float = LOG_LOSS_EPS,
    weights: npt.ArrayLike | None = None,
) -> float:
    """Mean negative Bernoulli log-likelihood (cross-entropy, logarithmic score).

    Probabilities are clipped to ``[eps, 1 - eps]`` first so that a confident wrong prediction
    (``p = 0`` for an event) costs ``-log(eps)`` instead of infinity. Cross-validated selection
    (``cv_logloss``) scores its folds with the same computation (:func:`weighted_log_loss`).

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes.
    p : array-like of float in [0, 1]
        Predicted probabilities of the event.
    eps : float, default 1e-15
        Clipping bound, strictly between 0 and 0.5.
    weights : array-like of float, optional
        Non-negative frequency weights: the mean is then per unit of weight.

    Returns
    -------
    float
        ``-mean(y * log(p) + (1 - y) * log(1 - p))``; lower is better.

    References
    ----------
    Good, I. J. (1952). Rational decisions. *J. R. Statist. Soc. B* 14(1), 107-114.
    """
    y_arr, p_arr = _prepare("log_loss", y, p, probability=True, both_classes=False)
    bound = _check_eps("log_loss", eps, 0.5)
    w_arr = _weights("log_loss", weights, y_arr)
    if w_arr is not None and not float(w_arr.sum()) > 0.0:
        raise ValueError("log_loss: the weights sum to zero")
    return weighted_log_loss(y_arr, p_arr, w_arr, bound)


def weighted_log_loss(
    y: FloatArray, p: FloatArray, w: FloatArray | None = None, eps: float = LOG_LOSS_EPS
) -> float:
    """The computation behind :func:`log_loss`, on arrays it has validated (or that a caller
    such as cross-validated selection built itself)."""
    clipped = np.clip(p, eps, 1.0 - eps)
    loglik = np.where(y == 1.0, np.log(clipped), np.log1p(-clipped))
    if w is None:
        return float(-np.mean(loglik))
    return float(-(loglik @ w) / w.sum())


# ---------------------------------------------------------------------------------------------
# Calibration (grouped by predicted probability)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HosmerLemeshowGroup:
    """One row of the Hosmer-Lemeshow table (groups numbered from 1, lowest predictions first).

    ``observed`` is the number of events in the group, ``expected`` the sum of the predicted
    probabilities, and ``contribution`` the group's term ``(O - E)^2 / (E (1 - E / n))`` of
    the statistic.
    """

    group: int
    n: int
    observed: int
    expected: float
    mean_predicted: float
    min_predicted: float
    max_predicted: float
    contribution: float


@dataclass(frozen=True)
class HosmerLemeshowResult:
    """Hosmer-Lemeshow goodness-of-fit test: statistic, chi-square p-value, dof, group rows."""

    statistic: float
    pvalue: float
    dof: int
    groups: tuple[HosmerLemeshowGroup, ...]


@dataclass(frozen=True)
class _GroupSummary:
    n: int
    events: int
    expected: float
    min_predicted: float
    max_predicted: float


def _risk_groups(func: str, y: FloatArray, p: FloatArray, groups: int) -> list[_GroupSummary]:
    """Split the rows into ``groups`` groups of (nearly) equal size by increasing ``p``.

    The rows are ordered with a stable sort (tied predictions keep their input order) and the
    order is cut with ``np.array_split``: the first ``n % groups`` groups get one row more.
    Shared by :func:`calibration_table` and :func:`hosmer_lemeshow`.
    """
    if groups > p.size:
        raise ValueError(
            f"{func}: groups ({groups}) exceeds the number of observations ({p.size}); every "
            "group needs at least one row"
        )
    order = np.argsort(p, kind="stable")
    summaries: list[_GroupSummary] = []
    for idx in np.array_split(order, groups):
        p_g = p[idx]
        summaries.append(
            _GroupSummary(
                n=int(idx.size),
                events=int(y[idx].sum()),
                expected=float(p_g.sum()),
                min_predicted=float(p_g.min()),
                max_predicted=float(p_g.max()),
            )
        )
    return summaries


def calibration_table(
    y: npt.ArrayLike, p: npt.ArrayLike, groups: int = 10
) -> list[dict[str, float | int]]:
    """Observed versus predicted event rates in groups of increasing predicted probability.

    The grouping is the one :func:`hosmer_lemeshow` uses: rows sorted by ``p`` (stable sort, so
    ties keep their input order) and cut into ``groups`` groups of (nearly) equal size with
    ``np.array_split`` -- "deciles of risk" for the default ``groups=10``.

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes.
    p : array-like of float in [0, 1]
        Predicted probabilities of the event.
    groups : int, default 10
        Number of groups, between 1 and ``len(y)``.

    Returns
    -------
    list of dict
        One dict per group, lowest predictions first, with keys ``group`` (1-based), ``n``,
        ``events``, ``mean_predicted``, ``observed_rate`` (``events / n``), ``min_predicted``
        and ``max_predicted``.

    References
    ----------
    Hosmer, D. W., Lemeshow, S. & Sturdivant, R. X. (2013). *Applied Logistic Regression*,
    3rd ed. Wiley, section 5.2.2 (the table behind the Hosmer-Lemeshow test).
    """
    y_arr, p_arr = _prepare("calibration_table", y, p, probability=True, both_classes=False)
    n_groups = _check_int("calibration_table", "groups", groups, 1)
    table: list[dict[str, float | int]] = []
    for number, g in enumerate(_risk_groups("calibration_table", y_arr, p_arr, n_groups), 1):
        table.append(
            {
                "group": number,
                "n": g.n,
                "events": g.events,
                "mean_predicted": g.expected / g.n,
                "observed_rate": g.events / g.n,
                "min_predicted": g.min_predicted,
                "max_predicted": g.max_predicted,
            }
        )
    return table


def hosmer_lemeshow(y: npt.ArrayLike, p: npt.ArrayLike, groups: int = 10) -> HosmerLemeshowResult:
    """Hosmer-Lemeshow goodness-of-fit test over groups of increasing predicted probability.

    With ``O_g`` the events, ``E_g`` the sum of predicted probabilities and ``n_g`` the size of
    group ``g`` (grouping as in :func:`calibration_table`),

    ``C = sum_g (O_g - E_g)^2 / (E_g (1 - E_g / n_g))``,

    which is the Pearson chi-square over the 2 x g table of events and non-events. Under a
    correct model ``C`` is approximately chi-square with ``groups - 2`` degrees of freedom.

    A group whose predictions are all exactly 0 (or all exactly 1) has a zero denominator; it
    contributes 0 when its outcomes agree (``O_g = E_g``) and ``inf`` otherwise (the model
    called an observed outcome impossible).

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes.
    p : array-like of float in [0, 1]
        Predicted probabilities of the event.
    groups : int, default 10
        Number of groups, between 3 and ``len(y)``.

    Returns
    -------
    HosmerLemeshowResult
        ``statistic``, ``pvalue`` (upper tail of chi-square with ``dof`` degrees of freedom),
        ``dof = groups - 2`` and ``groups``, one :class:`HosmerLemeshowGroup` per group.

    Notes
    -----
    Packages differ in how they form the groups (equal-size splits as here, or cut points at
    quantiles of ``p`` that keep ties together), so their statistics can differ slightly when
    there are many tied predictions.

    References
    ----------
    Hosmer, D. W. & Lemeshow, S. (1980). Goodness of fit tests for the multiple logistic
    regression model. *Commun. Statist. A* 9(10), 1043-1069.
    Hosmer, D. W., Lemeshow, S. & Sturdivant, R. X. (2013). *Applied Logistic Regression*,
    3rd ed. Wiley, chapter 5, section 5.2.2 (2nd ed., 2000: section 5.2.2).
    """
    y_arr, p_arr = _prepare("hosmer_lemeshow", y, p, probability=True, both_classes=False)
    n_groups = _check_int("hosmer_lemeshow", "groups", groups, 3)
    rows: list[HosmerLemeshowGroup] = []
    statistic = 0.0
    for number, g in enumerate(_risk_groups("hosmer_lemeshow", y_arr, p_arr, n_groups), 1):
        squared_gap = (g.events - g.expected) ** 2
        variance = g.expected * (1.0 - g.expected / g.n)
        if variance > 0.0:
            contribution = squared_gap / variance
        elif squared_gap == 0.0:
            contribution = 0.0
        else:
            contribution = math.inf
        statistic += contribution
        rows.append(
            HosmerLemeshowGroup(
                group=number,
                n=g.n,
                observed=g.events,
                expected=g.expected,
                mean_predicted=g.expected / g.n,
                min_predicted=g.min_predicted,
                max_predicted=g.max_predicted,
                contribution=contribution,
            )
        )
    dof = n_groups - 2
    from scipy import stats  # loaded on first use: serving reads this module, never the test

    pvalue = float(stats.chi2.sf(statistic, dof))
    return HosmerLemeshowResult(statistic=statistic, pvalue=pvalue, dof=dof, groups=tuple(rows))


# ---------------------------------------------------------------------------------------------
# Population stability
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PSIResult:
    """Population stability index with the bins it was computed on.

    ``edges`` has one more entry than the share vectors; bin ``i`` is
    ``[edges[i], edges[i + 1])``. The arrays are read-only.
    """

    value: float
    edges: FloatArray
    expected_share: FloatArray
    actual_share: FloatArray


def _read_only(arr: FloatArray) -> FloatArray:
    arr.flags.writeable = False
    return arr


def psi_bin_edges(expected: npt.ArrayLike, bins: int = 10) -> FloatArray:
    """Bin edges for the PSI from quantiles of the baseline (expected) scores.

    The interior edges are the order statistics of ``expected`` at the quantiles
    ``1/bins, 2/bins, ..., (bins-1)/bins`` (``np.quantile(..., method="higher")``, i.e. always
    observed baseline values). With right-open bins ``[e_i, e_{i+1})`` this puts (nearly)
    ``n / bins`` baseline values in each bin, and because the edges are observed values, the
    bins, and hence the PSI, are unchanged when a strictly increasing transformation is
    applied to both samples. Duplicate edges (from tied scores) are dropped, as is an edge equal
    to the baseline minimum, which would create a bin that is empty in the baseline by
    construction; so there can be fewer than ``bins`` bins. The outer edges are ``-inf`` and
    ``+inf`` so every finite value falls in a bin.

    Parameters
    ----------
    expected : array-like of float
        Baseline scores (e.g. the development sample), finite and non-empty.
    bins : int, default 10
        Number of bins wanted (>= 1).

    Returns
    -------
    numpy.ndarray
        Strictly increasing edges, first ``-inf`` and last ``+inf``.
    """
    x = _as_1d("psi_bin_edges", "expected", expected)
    if x.size == 0:
        raise ValueError("psi_bin_edges: expected is empty")
    _check_finite("psi_bin_edges", "expected", x)
    n_bins = _check_int("psi_bin_edges", "bins", bins, 1)
    quantiles = np.arange(1, n_bins, dtype=float) / n_bins
    interior = np.unique(np.quantile(x, quantiles, method="higher"))
    interior = interior[interior > x.min()]
    edges: FloatArray = np.concatenate(([-np.inf], interior, [np.inf]))
    return edges


def _smoothed_shares(counts: npt.NDArray[np.int64], eps: float) -> FloatArray:
    share: FloatArray = counts / counts.sum()
    share = np.where(share == 0.0, eps, share)
    normalised: FloatArray = share / share.sum()
    return normalised


def bin_proportions(values: npt.ArrayLike, edges: npt.ArrayLike, eps: float = 1e-4) -> FloatArray:
    """Share of ``values`` in each right-open bin ``[edges[i], edges[i + 1])``, smoothed.

    An empty bin would make the PSI term ``(a - e) ln(a / e)`` infinite. Each bin with zero
    share is therefore given share ``eps`` and the vector is renormalised to sum to 1 (so the
    non-empty bins shrink by the factor ``1 / (1 + k * eps)`` for ``k`` empty bins). This keeps
    the PSI finite while letting an emptied bin still contribute a large term; with the default
    ``eps = 1e-4`` a bin that held 10% of the baseline and is empty now adds about 0.69.

    Parameters
    ----------
    values : array-like of float
        Finite, non-empty scores.
    edges : array-like of float
        Strictly increasing bin edges (at least two), e.g. from :func:`psi_bin_edges`. Every
        value must satisfy ``edges[0] <= value < edges[-1]``.
    eps : float, default 1e-4
        Share given to an empty bin before renormalising, strictly between 0 and 1.

    Returns
    -------
    numpy.ndarray
        ``len(edges) - 1`` positive shares summing to 1.
    """
    v = _as_1d("bin_proportions", "values", values)
    e = _as_1d("bin_proportions", "edges", edges)
    if v.size == 0:
        raise ValueError("bin_proportions: values is empty")
    _check_finite("bin_proportions", "values", v)
    if e.size < 2:
        raise ValueError(f"bin_proportions: edges needs at least 2 entries, got {e.size}")
    if np.isnan(e).any() or not np.all(np.diff(e) > 0.0):
        raise ValueError("bin_proportions: edges must be strictly increasing and free of NaN")
    smoothing = _check_eps("bin_proportions", eps, 1.0)
    outside = (v < e[0]) | (v >= e[-1])
    if outside.any():
        first = int(np.argmax(outside))
        raise ValueError(
            f"bin_proportions: value {v[first]!r} at position {first} is outside the bins "
            f"[{e[0]!r}, {e[-1]!r})"
        )
    index = np.searchsorted(e, v, side="right") - 1
    counts = np.bincount(index, minlength=e.size - 1).astype(np.int64)
    return _smoothed_shares(counts, smoothing)


def psi_from_shares(expected_share: npt.ArrayLike, actual_share: npt.ArrayLike) -> float:
    """Population stability index from two vectors of bin shares.

    ``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)``, the symmetrised Kullback-Leibler (Jeffreys)
    divergence between the binned distributions. Usual reading in credit scoring:
    below 0.1 stable; 0.1 to 0.25 a shift worth investigating; above 0.25 a significant shift.

    Parameters
    ----------
    expected_share, actual_share : array-like of float
        Shares per bin, same length, each strictly positive and summing to 1 (within 1e-6);
        smooth empty bins first, e.g. with :func:`bin_proportions`.

    Returns
    -------
    float
        PSI (>= 0).

    References
    ----------
    Siddiqi, N. (2017). *Intelligent Credit Scoring*, 2nd ed. Wiley (system stability
    report).
    Yurdakul, B. (2018). *Statistical Properties of Population Stability Index*. PhD thesis,
    Western Michigan University.
    """
    e = _as_1d("psi_from_shares", "expected_share", expected_share)
    a = _as_1d("psi_from_shares", "actual_share", actual_share)
    if e.shape != a.shape:
        raise ValueError(f"psi_from_shares: share vectors differ in length ({e.size} and {a.size})")
    if e.size == 0:
        raise ValueError("psi_from_shares: share vectors are empty")
    for name, share in (("expected_share", e), ("actual_share", a)):
        _check_finite("psi_from_shares", name, share)
        if not np.all(share > 0.0):
            raise ValueError(
                f"psi_from_shares: {name} must be strictly positive; smooth empty bins first "
                "(see bin_proportions)"
            )
        if abs(float(share.sum()) - 1.0) > _SHARE_SUM_TOLERANCE:
            raise ValueError(
                f"psi_from_shares: {name} must sum to 1, sums to {float(share.sum())!r}"
            )
    return float(np.sum((a - e) * np.log(a / e)))


def population_stability_index(
    expected: npt.ArrayLike, actual: npt.ArrayLike, bins: int = 10, eps: float = 1e-4
) -> PSIResult:
    """Population stability index of ``actual`` scores against the ``expected`` baseline.

    Bins come from :func:`psi_bin_edges` on the baseline, shares from :func:`bin_proportions`
    (empty bins smoothed with ``eps``) and the index from :func:`psi_from_shares`:
    ``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)``.

    Conventional reading: PSI < 0.1 stable; 0.1 <= PSI <= 0.25 some shift, investigate;
    PSI > 0.25 significant shift (Siddiqi 2017).

    Parameters
    ----------
    expected : array-like of float
        Baseline scores (e.g. development sample), finite, non-empty.
    actual : array-like of float
        Recent scores, finite, non-empty.
    bins : int, default 10
        Number of quantile bins wanted (fewer when the baseline has ties).
    eps : float, default 1e-4
        Share given to an empty bin, see :func:`bin_proportions`.

    Returns
    -------
    PSIResult
        ``value``, ``edges``, ``expected_share`` and ``actual_share``.

    References
    ----------
    Siddiqi, N. (2017). *Intelligent Credit Scoring*, 2nd ed. Wiley.
    Yurdakul, B. (2018). *Statistical Properties of Population Stability Index*. PhD thesis,
    Western Michigan University.
    """
    edges = psi_bin_edges(expected, bins)
    expected_share = bin_proportions(expected, edges, eps)
    actual_share = bin_proportions(actual, edges, eps)
    value = psi_from_shares(expected_share, actual_share)
    return PSIResult(
        value=value,
        edges=_read_only(edges),
        expected_share=_read_only(expected_share),
        actual_share=_read_only(actual_share),
    )


# ---------------------------------------------------------------------------------------------
# Classification at a cutoff, and the summary
# ---------------------------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def confusion_at_cutoff(
    y: npt.ArrayLike, p: npt.ArrayLike, cutoff: float
) -> dict[str, float | int]:
    """Confusion matrix and rates when ``p >= cutoff`` is read as "predicted event".

    In credit terms a predicted event is an application that would be declined.

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes.
    p : array-like of float
        Scores or predicted probabilities, finite.
    cutoff : float
        Threshold; rows with ``p >= cutoff`` are predicted events.

    Returns
    -------
    dict
        Counts ``true_positive``, ``false_positive``, ``true_negative``, ``false_negative``
        (ints) and rates ``sensitivity`` (TP / events), ``specificity`` (TN / non-events),
        ``precision`` (TP / predicted events), ``accuracy`` and ``predicted_event_rate``
        (floats). A rate whose denominator is zero (e.g. precision when nothing is predicted
        an event) is ``nan``.

    References
    ----------
    Fawcett, T. (2006). An introduction to ROC analysis. *Pattern Recognit. Lett.* 27(8),
    861-874.
    """
    y_arr, p_arr = _prepare("confusion_at_cutoff", y, p, probability=False, both_classes=False)
    threshold = float(cutoff)
    if not math.isfinite(threshold):
        raise ValueError(f"confusion_at_cutoff: cutoff must be finite, got {cutoff!r}")
    predicted = declines(p_arr, threshold)  # a predicted event is a declined applicant
    event = y_arr == 1.0
    tp = int(np.sum(predicted & event))
    fp = int(np.sum(predicted & ~event))
    tn = int(np.sum(~predicted & ~event))
    fn = int(np.sum(~predicted & event))
    n = tp + fp + tn + fn
    return {
        "true_positive": tp,
        "false_positive": fp,
        "true_negative": tn,
        "false_negative": fn,
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "precision": _ratio(tp, tp + fp),
        "accuracy": (tp + tn) / n,
        "predicted_event_rate": (tp + fp) / n,
    }


def binary_metrics(y: npt.ArrayLike, p: npt.ArrayLike, groups: int = 10) -> dict[str, float | int]:
    """All the summary statistics for one sample, as plain (JSON-serialisable) numbers.

    Parameters
    ----------
    y : array-like of {0, 1}
        Observed outcomes; both classes must be present.
    p : array-like of float in [0, 1]
        Predicted probabilities of the event.
    groups : int, default 10
        Number of groups for the Hosmer-Lemeshow test.

    Returns
    -------
    dict
        ``n``, ``events`` (ints), ``event_rate``, ``auc``, ``gini``, ``ks``, ``brier``,
        ``log_loss``, ``hosmer_lemeshow_statistic``, ``hosmer_lemeshow_pvalue`` (floats) and
        ``hosmer_lemeshow_dof`` (int); see the individual functions for definitions and
        sources.
    """
    y_arr, p_arr = _prepare("binary_metrics", y, p, probability=True, both_classes=True)
    auc = roc_auc(y_arr, p_arr)
    hl = hosmer_lemeshow(y_arr, p_arr, groups)
    events = int(y_arr.sum())
    return {
        "n": int(y_arr.size),
        "events": events,
        "event_rate": events / y_arr.size,
        "auc": auc,
        "gini": 2.0 * auc - 1.0,
        "ks": ks_statistic(y_arr, p_arr),
        "brier": brier_score(y_arr, p_arr),
        "log_loss": log_loss(y_arr, p_arr),
        "hosmer_lemeshow_statistic": float(hl.statistic),
        "hosmer_lemeshow_pvalue": float(hl.pvalue),
        "hosmer_lemeshow_dof": int(hl.dof),
    }
