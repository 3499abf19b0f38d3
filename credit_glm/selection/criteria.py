"""Selection criteria: information criteria and cross-validated discrimination/calibration.

Criteria are :class:`credit_glm.config.Criterion` values, the names the configuration uses
(``aic``, ``bic``, ``cv_auc``, ``cv_logloss``; stepwise also ``pvalue``). Every criterion is
reported and compared as *lower is better*: AIC, BIC and log loss as they are, AUC as
``-AUC``. The information criteria follow statsmodels' GLM conventions so values
can be compared with ``GLMResults``: ``AIC = -2 llf + 2 k`` and ``BIC = -2 llf + k ln(n)``
with ``k`` the number of coefficients including the intercept and ``n`` the number of rows
(the sum of the frequency weights when there are weights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from credit_glm.config import Criterion
from credit_glm.split import stratified_folds, stratified_holdout

__all__ = [
    "CV_CRITERIA",
    "INFORMATION_CRITERIA",
    "CrossValidation",
    "information_criterion",
    "make_folds",
    "parse_criterion",
]

INFORMATION_CRITERIA: tuple[Criterion, ...] = (Criterion.aic, Criterion.bic)
#: Scored on held-out folds with :func:`credit_glm.metrics.weighted_auc` and
#: :func:`credit_glm.metrics.weighted_log_loss`, the computations of the model's own metrics.
CV_CRITERIA: tuple[Criterion, ...] = (Criterion.cv_auc, Criterion.cv_logloss)
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def parse_criterion(value: Criterion | str, *, pvalue: bool = False) -> Criterion:
    """``value`` as a :class:`~credit_glm.config.Criterion` a strategy can minimise.

    ``pvalue`` (likelihood-ratio tests) is accepted only where ``pvalue=True`` (stepwise).
    """
    allowed = INFORMATION_CRITERIA + CV_CRITERIA + ((Criterion.pvalue,) if pvalue else ())
    try:
        criterion = Criterion(value)
    except ValueError:
        criterion = None
    if criterion not in allowed:
        names = ", ".join(c.value for c in allowed)
        raise ValueError(f"criterion must be one of {names}, got {value!r}")
    assert criterion is not None
    return criterion


@dataclass(frozen=True)
class CrossValidation:
    """How a cross-validated criterion splits the rows.

    Parameters
    ----------
    n_splits : int
        Folds of k-fold cross-validation (ignored when ``holdout`` is set).
    holdout : float, optional
        Share of rows in a single test split instead of k folds.
    seed : int
        Seed of the ``numpy.random.default_rng`` that shuffles the rows.
    stratified : bool
        Keep the event rate of every fold (rows of each class are shuffled and dealt
        separately, as the training split does: :func:`credit_glm.split.stratified_folds`).

    Notes
    -----
    The criterion is the mean over the test folds of the per-fold metric, each model
    refitted on the other folds. Folds depend only on ``y`` and these fields, so a seed
    gives the same folds (and criterion values) on every machine and for every ``n_jobs``.
    """

    n_splits: int = 5
    holdout: float | None = None
    seed: int = 0
    stratified: bool = True

    def __post_init__(self) -> None:
        if self.holdout is None:
            if not isinstance(self.n_splits, int) or self.n_splits < 2:
                raise ValueError(f"n_splits must be an integer >= 2, got {self.n_splits!r}")
        elif not 0.0 < self.holdout < 1.0:
            raise ValueError(f"holdout must be in (0, 1), got {self.holdout!r}")


def make_folds(y: FloatArray, cv: CrossValidation) -> tuple[tuple[IntArray, IntArray], ...]:
    """Train/test row indices of each split, deterministic in ``cv.seed``.

    Parameters
    ----------
    y : numpy.ndarray
        Binary response (only used to stratify).
    cv : CrossValidation

    Returns
    -------
    tuple of (train, test) index arrays, sorted ascending.
    """
    if cv.holdout is not None:
        train, test = stratified_holdout(y, cv.holdout, cv.seed, cv.stratified)
        if test.size == 0 or train.size == 0:
            raise ValueError("holdout leaves an empty train or test split")
        return ((train, test),)
    fold = stratified_folds(y, cv.n_splits, cv.seed, cv.stratified)
    splits = []
    for k in range(cv.n_splits):
        test = np.flatnonzero(fold == k)
        if test.size == 0:
            raise ValueError(f"{cv.n_splits} folds leave fold {k} empty")
        splits.append((np.flatnonzero(fold != k), test))
    return tuple(splits)


def penalty_per_column(criterion: Criterion, n_obs: float) -> float:
    """Penalty of one coefficient: 2 for AIC, ``ln(n)`` for BIC."""
    if criterion is Criterion.aic:
        return 2.0
    if criterion is Criterion.bic:
        return math.log(n_obs)
    raise ValueError(f"{criterion!r} is not an information criterion")


def information_criterion(criterion: Criterion, llf: float, k: int, n_obs: float) -> float:
    """``-2 llf + penalty * k``: AIC or BIC of a fit with ``k`` coefficients on ``n_obs``
    observations (the sum of the weights)."""
    return -2.0 * llf + penalty_per_column(criterion, n_obs) * k
