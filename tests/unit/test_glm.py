"""The GLM fit against statsmodels itself, and the checks that refuse a bad fit."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from credit_glm.config import CovType, GLMConfig, Link
from credit_glm.errors import ModelFitError
from credit_glm.glm import fit_glm
from credit_glm.links import inverse_link


def _data(n: int = 800, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [np.ones(n), rng.normal(size=n), rng.uniform(size=n), rng.integers(0, 2, n)]
    )
    eta = X @ np.array([-0.8, 0.9, -1.2, 0.5])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return X, y


TERMS = ("Intercept", "a", "b", "c")


@pytest.mark.parametrize("link", list(Link))
def test_matches_statsmodels_and_formulae(link: Link) -> None:
    X, y = _data()
    fit = fit_glm(X, y, TERMS, GLMConfig(link=link))
    links = {
        Link.logit: sm.families.links.Logit(),
        Link.probit: sm.families.links.Probit(),
        Link.cloglog: sm.families.links.CLogLog(),
    }
    ref = sm.GLM(y, X, family=sm.families.Binomial(link=links[link])).fit(tol=1e-8)
    np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-9)
    assert fit.llf == pytest.approx(ref.llf, abs=1e-9)
    # an independent log-likelihood: the Bernoulli sum written out
    p = inverse_link(link, X @ fit.params)
    assert fit.llf == pytest.approx(
        float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))), abs=1e-9
    )
    assert fit.aic == pytest.approx(-2 * fit.llf + 2 * 4)
    assert fit.bic == pytest.approx(-2 * fit.llf + 4 * np.log(len(y)))
    ybar = y.mean()
    llnull = len(y) * (ybar * np.log(ybar) + (1 - ybar) * np.log(1 - ybar))
    assert fit.pseudo_r2 == pytest.approx(1 - fit.llf / llnull)
    np.testing.assert_allclose(p, ref.predict(X), rtol=0, atol=1e-12)


def test_frequency_weights_equal_repeated_rows() -> None:
    X, y = _data(300)
    w = np.random.default_rng(1).integers(1, 4, size=len(y)).astype(float)
    fit = fit_glm(X, y, TERMS, GLMConfig(), weights=w)
    rep = np.repeat(np.arange(len(y)), w.astype(int))
    ref = sm.GLM(y[rep], X[rep], family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(fit.params, ref.params, atol=1e-8)
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-7)
    assert fit.llf == pytest.approx(ref.llf, abs=1e-7)


def test_robust_covariance_is_statsmodels_sandwich() -> None:
    X, y = _data()
    fit = fit_glm(X, y, TERMS, GLMConfig(cov_type=CovType.HC0))
    ref = sm.GLM(y, X, family=sm.families.Binomial()).fit(cov_type="HC0")
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-9)
    # the sandwich computed by hand: (X'WX)^-1 X' diag(r^2) X (X'WX)^-1 for the logit link
    p = 1 / (1 + np.exp(-X @ fit.params))
    bread = np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None]))
    meat = X.T @ (X * ((y - p) ** 2)[:, None])
    np.testing.assert_allclose(fit.bse, np.sqrt(np.diag(bread @ meat @ bread)), rtol=1e-6)


def test_separation_is_refused_or_recorded() -> None:
    X, y = _data(400)
    separating = np.column_stack([X, (y == 1) & (X[:, 1] > 1.0)]).astype(float)
    terms = (*TERMS, "leak")
    with pytest.raises(ModelFitError, match="separation.*leak"):
        fit_glm(separating, y, terms, GLMConfig())
    fit = fit_glm(separating, y, terms, GLMConfig(on_separation="warn"))
    assert any("separation" in f for f in fit.findings)


def test_nonconvergence_is_refused_or_recorded() -> None:
    X, y = _data()
    with pytest.raises(ModelFitError, match="did not converge"):
        fit_glm(X, y, TERMS, GLMConfig(max_iter=1))
    fit = fit_glm(X, y, TERMS, GLMConfig(max_iter=1, on_nonconvergence="warn"))
    assert not fit.converged and fit.findings


def test_rank_deficient_design_is_refused() -> None:
    X, y = _data()
    with pytest.raises(ModelFitError, match="rank-deficient"):
        fit_glm(np.column_stack([X, X[:, 1] * 2]), y, (*TERMS, "twice_a"), GLMConfig())


def test_elastic_net_shrinks_but_keeps_intercept_free() -> None:
    X, y = _data()
    plain = fit_glm(X, y, TERMS, GLMConfig())
    lasso = fit_glm(X, y, TERMS, GLMConfig(alpha=0.05, l1_wt=1.0))
    assert lasso.bse is None and lasso.penalised
    assert np.sum(np.abs(lasso.params[1:])) < np.sum(np.abs(plain.params[1:]))
    ref = sm.GLM(y, X, family=sm.families.Binomial()).fit_regularized(
        method="elastic_net", alpha=np.array([0.0, 0.05, 0.05, 0.05]), L1_wt=1.0
    )
    np.testing.assert_allclose(lasso.params, ref.params, atol=1e-8)


def test_blocked_fit_equals_statsmodels_on_more_rows_than_a_block() -> None:
    """Past one block of rows (:data:`credit_glm.row_blocks.ROW_BLOCK`), with frequency
    weights and a robust covariance: the blocked IRLS gives statsmodels' own estimate."""
    from credit_glm.row_blocks import ROW_BLOCK

    X, y = _data(2 * ROW_BLOCK + 123, seed=8)
    w = np.random.default_rng(2).integers(1, 4, size=len(y)).astype(float)
    for cov in (CovType.nonrobust, CovType.HC0):
        fit = fit_glm(X, y, TERMS, GLMConfig(cov_type=cov), weights=w)
        ref = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=w).fit(
            tol=1e-8, cov_type=cov.value
        )
        np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=1e-10)
        np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-8)
        assert fit.llf == pytest.approx(ref.llf, rel=1e-12)
        assert fit.iterations == ref.fit_history["iteration"]


def test_design_rank_is_numpy_matrix_rank() -> None:
    from credit_glm.glm import design_rank
    from credit_glm.row_blocks import ROW_BLOCK

    X, _ = _data(ROW_BLOCK + 500, seed=9)
    assert design_rank(X) == np.linalg.matrix_rank(X) == 4
    dependent = np.column_stack([X, X[:, 1] - 2 * X[:, 2]])
    assert design_rank(dependent) == np.linalg.matrix_rank(dependent) == 4
    assert design_rank(X[:3]) == np.linalg.matrix_rank(X[:3]) == 3
