"""One separation rule: the selection solver and the statsmodels refit give one verdict."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.special import expit

from credit_glm.config import GLMConfig
from credit_glm.errors import ModelFitError
from credit_glm.glm import fit_glm
from credit_glm.selection.solver import BinomialDesign
from credit_glm.separation import SEPARATION_EPS, n_separated, separated_rows

TERMS = ("Intercept", "x")


def _data(x_extreme: float) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping classes (a finite MLE) plus one defaulter far out on ``x``: its fitted
    probability approaches 1 the further out it lies, without the data being separated."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=400)
    y = (rng.random(400) < expit(-0.5 + 2.0 * x)).astype(float)
    X = np.column_stack([np.ones(401), np.append(x, x_extreme)])
    return X, np.append(y, 1.0)


def _refit_separated(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> bool:
    try:
        fit_glm(X, y, TERMS, GLMConfig(), weights=w)
    except ModelFitError as err:
        assert "separation" in str(err)
        return True
    return False


def _solver_separated(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> bool:
    status = BinomialDesign(X, y, w).fit(np.arange(2, dtype=np.intp)).status
    assert status in ("ok", "separated")
    return status == "separated"


def test_data_set_between_the_former_thresholds_gets_one_verdict() -> None:
    # statsmodels' own fit puts the far row between 1e-10 and 1e-8 of certainty: a solver
    # flagging at 1e-10 accepted this model and a refit flagging at 1e-8 refused it.
    X, y = _data(9.5)
    ref = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    tail = 1.0 - expit(float(np.max(X @ ref.params)))
    assert 1e-10 < tail < 1e-8
    verdict = _solver_separated(X, y)
    assert verdict is _refit_separated(X, y)
    assert verdict is bool(tail < SEPARATION_EPS)


@pytest.mark.parametrize("x_extreme", [6.0, 8.0, 9.0, 9.5, 10.0, 12.0])
def test_solver_and_refit_agree(x_extreme: float) -> None:
    X, y = _data(x_extreme)
    assert _solver_separated(X, y) is _refit_separated(X, y)


def test_zero_weight_rows_never_count() -> None:
    # the far row carries no weight: it is outside the likelihood for both fits
    X, y = _data(30.0)
    w = np.ones(y.shape[0])
    w[-1] = 0.0
    assert not _solver_separated(X, y, w)
    assert not _refit_separated(X, y, w)
    assert _solver_separated(X, y) and _refit_separated(X, y)


def test_rows_flagged_against_the_threshold() -> None:
    eps = SEPARATION_EPS
    mu = np.array([0.5, eps / 2, 1.0 - eps / 2, 2 * eps, 1.0 - 2 * eps, 0.0, 1.0])
    assert separated_rows(mu).tolist() == [False, True, True, False, False, True, True]
    w = np.array([1.0, 0.0, 2.0, 1.0, 1.0, 1.0, 0.0])
    assert n_separated(mu, w) == 2
