"""The lean solver reproduces statsmodels' GLM and flags unusable fits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from credit_glm.selection import SelectionConstraints
from credit_glm.selection.engine import Evaluator
from credit_glm.selection.problem import resolve_space
from credit_glm.selection.solver import BinomialDesign
from tests.unit.selection._selection_helpers import sm_fit, synthetic_problem

SUBSETS = [(0,), (3,), (0, 1, 3), (1, 2, 3, 5), (0, 1, 2, 3, 4, 5)]


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
@pytest.mark.parametrize("weighted", [False, True])
def test_criteria_match_statsmodels(link: str, weighted: bool) -> None:
    problem = synthetic_problem(seed=11, weighted=weighted, link=link)
    space = resolve_space(problem, SelectionConstraints())
    aic = Evaluator(problem, space, "aic")
    bic = Evaluator(problem, space, "bic")
    for key in SUBSETS:
        ref = sm_fit(problem, key)
        fit = aic.fit(key)
        assert fit.ok
        assert fit.llf == pytest.approx(ref.llf, abs=1e-6)
        assert aic.evaluate(key).value == pytest.approx(ref.aic, abs=1e-6)
        assert bic.evaluate(key).value == pytest.approx(ref.bic, abs=1e-6)
        np.testing.assert_allclose(fit.params, ref.params, atol=1e-5)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_wald_pvalues_match_statsmodels(link: str) -> None:
    problem = synthetic_problem(seed=5, weighted=True, link=link)
    design = BinomialDesign(problem.X, problem.y, problem.weights, link)
    key = (0, 1, 2, 3)
    cols = np.array([0] + [c for g in key for c in problem.groups[g][1]], dtype=np.intp)
    fit = design.fit(cols)
    ref = sm_fit(problem, key)
    se = np.sqrt(np.diagonal(design.covariance(fit)))
    z = fit.params / se
    pvalues = np.array([math.erfc(abs(v) / math.sqrt(2.0)) for v in z])
    np.testing.assert_allclose(pvalues, ref.pvalues, rtol=1e-4, atol=1e-10)


def test_warm_start_gives_same_optimum() -> None:
    problem = synthetic_problem(seed=2)
    design = BinomialDesign(problem.X, problem.y)
    cols = np.arange(problem.X.shape[1], dtype=np.intp)
    cold = design.fit(cols)
    warm = design.fit(cols, cold.params + 0.05)
    assert warm.ok and warm.n_iter <= cold.n_iter
    assert warm.llf == pytest.approx(cold.llf, abs=1e-9)


def test_complete_separation_is_flagged() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.4).astype(float)
    X = np.column_stack([np.ones(200), rng.normal(size=200), y])
    fit = BinomialDesign(X, y).fit(np.array([0, 1, 2], dtype=np.intp))
    assert fit.status == "separated"


def test_quasi_separation_is_flagged() -> None:
    rng = np.random.default_rng(1)
    n = 300
    y = (rng.random(n) < 0.4).astype(float)
    rare = np.zeros(n)
    rare[np.flatnonzero(y == 0.0)[:6]] = 1.0  # every 'rare' row is a non-event
    X = np.column_stack([np.ones(n), rng.normal(size=n), rare])
    fit = BinomialDesign(X, y).fit(np.array([0, 1, 2], dtype=np.intp))
    assert fit.status == "separated"


def test_collinear_columns_are_singular() -> None:
    rng = np.random.default_rng(2)
    n = 200
    x = rng.normal(size=n)
    y = (rng.random(n) < 0.5).astype(float)
    X = np.column_stack([np.ones(n), x, 2.0 * x - 1.0])
    fit = BinomialDesign(X, y).fit(np.array([0, 1, 2], dtype=np.intp))
    assert fit.status == "singular"


def test_design_rejects_bad_input() -> None:
    X = np.ones((4, 1))
    with pytest.raises(ValueError, match="only 0 and 1"):
        BinomialDesign(X, np.array([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match="link"):
        BinomialDesign(X, np.array([0.0, 1.0, 1.0, 0.0]), link="identity")
    with pytest.raises(ValueError, match="both classes"):
        BinomialDesign(X, np.zeros(4))
