"""Bootstrap stability against statsmodels refits of the same resamples, drawn in the test."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from credit_glm.bootstrap import bootstrap_coefficients, resample_rows, selection_frequency
from credit_glm.config import GLMConfig
from credit_glm.errors import ModelFitError

TERMS = ("Intercept", "a", "b", "c")


def _data(n: int = 400, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)])
    eta = X @ np.array([-0.5, 1.0, -0.6, 0.05])
    return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)


def test_intervals_and_sign_shares_equal_statsmodels_refits() -> None:
    X, y = _data()
    full = sm.GLM(y, X, family=sm.families.Binomial()).fit().params
    result = bootstrap_coefficients(X, y, TERMS, full, GLMConfig(), resamples=40, seed=11)
    # the documented draw, written out: the b-th integers(0, n, n) of default_rng(seed)
    rng = np.random.default_rng(11)
    refits = np.array(
        [
            sm.GLM(y[rows], X[rows], family=sm.families.Binomial()).fit().params
            for rows in (rng.integers(0, len(y), size=len(y)) for _ in range(40))
        ]
    )
    assert result.fitted == 40 and result.unusable == 0
    for j, term in enumerate(result.terms):
        assert term.term == TERMS[j]
        assert term.mean == pytest.approx(refits[:, j].mean(), abs=1e-8)
        assert term.std == pytest.approx(refits[:, j].std(ddof=1), abs=1e-8)
        assert term.lower == pytest.approx(np.percentile(refits[:, j], 2.5), abs=1e-8)
        assert term.upper == pytest.approx(np.percentile(refits[:, j], 97.5), abs=1e-8)
        same = np.mean(np.sign(refits[:, j]) == np.sign(full[j]))
        assert term.same_sign_share == pytest.approx(same)
    # a strong effect keeps its sign; the near-zero one does not always
    assert result.terms[1].same_sign_share == 1.0
    assert result.terms[3].same_sign_share < 1.0


def test_unusable_refits_are_counted_and_left_out() -> None:
    X, y = _data(60)
    X = np.column_stack([X, np.zeros(60)])
    X[0, 4] = 1.0  # a level on one row: absent from most resamples (rank-deficient)
    terms = (*TERMS, "rare")
    result = bootstrap_coefficients(X, y, terms, np.zeros(5), GLMConfig(), 20, seed=0)
    absent = sum(0 not in set(rows) for rows in resample_rows(60, 20, 0))
    assert absent > 0
    assert result.unusable >= absent
    assert result.fitted + result.unusable == 20


def test_selection_frequency_counts_the_resamples_that_chose_each_feature() -> None:
    def select(rows: np.ndarray) -> list[str]:
        if rows[0] % 5 == 0:
            raise ModelFitError("no feasible subset")
        return ["a"] if rows[1] % 2 else ["a", "b"]

    out = selection_frequency(select, ["a", "b", "c"], 100, 30, seed=2)
    draws = list(resample_rows(100, 30, 2))
    ok = [r for r in draws if r[0] % 5]
    assert out["failed"] == 30 - len(ok) and out["completed"] == len(ok)
    assert out["share"]["a"] == 1.0
    assert out["share"]["b"] == pytest.approx(np.mean([r[1] % 2 == 0 for r in ok]))
    assert out["share"]["c"] == 0.0


def test_too_few_resamples_is_refused() -> None:
    X, y = _data(50)
    with pytest.raises(ValueError, match="at least 2"):
        bootstrap_coefficients(X, y, TERMS, np.zeros(4), GLMConfig(), 1, seed=0)
