"""Tests for credit_glm.collinearity, each against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.outliers_influence import variance_inflation_factor

from credit_glm.collinearity import GVIF, condition_number, generalized_vif


def continuous_design(seed: int = 0, n: int = 400) -> np.ndarray:
    """Intercept plus four correlated continuous columns on very different scales."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = 0.8 * x1 + 0.6 * rng.normal(size=n)
    x3 = rng.normal(size=n)
    x4 = 0.5 * x2 - 0.7 * x3 + 0.4 * rng.normal(size=n)
    return np.column_stack([np.ones(n), 1000.0 * x1 + 5.0, x2, 0.01 * x3, x4])


def mixed_design(seed: int = 1, n: int = 600) -> tuple[np.ndarray, dict[str, list[int]]]:
    """Intercept, a 3-level categorical (two dummies), and two continuous columns that
    depend on the category, so the dummies are correlated with them."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 3, size=n)
    d1 = (level == 1).astype(float)
    d2 = (level == 2).astype(float)
    income = 1.0 * d1 + 2.0 * d2 + rng.normal(size=n)
    age = 0.5 * income - 1.0 * d2 + rng.normal(size=n)
    x = np.column_stack([np.ones(n), d1, d2, income, age])
    return x, {"grade": [1, 2], "income": [3], "age": [4]}


def vif_by_lstsq(x: np.ndarray, column: int) -> float:
    """1 / (1 - R^2), R^2 from an OLS of one column on all the others (intercept included)."""
    target = x[:, column]
    others = np.delete(x, column, axis=1)
    coef, *_ = np.linalg.lstsq(others, target, rcond=None)
    residual = target - others @ coef
    r2 = 1.0 - residual @ residual / np.sum((target - target.mean()) ** 2)
    return float(1.0 / (1.0 - r2))


def gvif_by_determinants(x: np.ndarray, cols: list[int]) -> float:
    """The Fox-Monette definition typed literally with np.corrcoef and np.linalg.det."""
    r = np.corrcoef(x[:, 1:], rowvar=False)
    own = [c - 1 for c in cols]
    rest = [c for c in range(r.shape[0]) if c not in own]
    return float(
        np.linalg.det(r[np.ix_(own, own)]) * np.linalg.det(r[np.ix_(rest, rest)]) / np.linalg.det(r)
    )


def gvif_by_regression(x: np.ndarray, cols: list[int]) -> float:
    """Multivariate analogue of 1 / (1 - R^2): generalised variance of the group's centred
    columns over the generalised variance of their residuals after regressing them (lstsq)
    on the intercept and all other columns."""
    own = x[:, cols] - x[:, cols].mean(axis=0)
    others = np.delete(x, cols, axis=1)
    coef, *_ = np.linalg.lstsq(others, x[:, cols], rcond=None)
    residual = x[:, cols] - others @ coef
    return float(np.linalg.det(own.T @ own) / np.linalg.det(residual.T @ residual))


# ---------------------------------------------------------------------------------------------
# GVIF
# ---------------------------------------------------------------------------------------------


def test_single_column_gvif_equals_statsmodels_vif() -> None:
    x = continuous_design()
    groups = {f"x{j}": [j] for j in range(1, 5)}
    result = generalized_vif(x, groups)
    for j in range(1, 5):
        vif = variance_inflation_factor(x, j)
        assert result[f"x{j}"].gvif == pytest.approx(vif, rel=1e-8, abs=1e-8)
        assert result[f"x{j}"].df == 1
        assert result[f"x{j}"].gvif_adjusted == pytest.approx(math.sqrt(vif), rel=1e-8)
        assert result[f"x{j}"].gvif == pytest.approx(vif_by_lstsq(x, j), rel=1e-8)
    assert max(g.gvif for g in result.values()) > 1.5  # the design really is collinear


def test_multi_column_gvif_matches_definition_computed_two_other_ways() -> None:
    x, groups = mixed_design()
    result = generalized_vif(x, groups)
    assert list(result) == ["grade", "income", "age"]
    for name, cols in groups.items():
        assert result[name].df == len(cols)
        assert result[name].gvif == pytest.approx(gvif_by_determinants(x, cols), rel=1e-9)
        assert result[name].gvif == pytest.approx(gvif_by_regression(x, cols), rel=1e-9)
        expected_adjusted = result[name].gvif ** (1 / (2 * len(cols)))
        assert result[name].gvif_adjusted == pytest.approx(expected_adjusted, rel=1e-12)
    # single-column groups are still the ordinary VIF
    assert result["income"].gvif == pytest.approx(variance_inflation_factor(x, 3), rel=1e-8)
    assert result["grade"].gvif > 1.2


def test_gvif_is_invariant_to_recoding_the_group() -> None:
    x, groups = mixed_design(seed=2)
    before = generalized_vif(x, groups)
    # Replace the two dummies by an invertible linear combination of them (plus a shift,
    # which the intercept absorbs): e.g. a different reference level or contrast coding.
    a = np.array([[2.0, -1.0], [0.5, 3.0]])
    recoded = x.copy()
    recoded[:, [1, 2]] = x[:, [1, 2]] @ a + np.array([7.0, -3.0])
    after = generalized_vif(recoded, groups)
    for name in groups:
        assert after[name].gvif == pytest.approx(before[name].gvif, rel=1e-10)
    # ... whereas a single dummy column's own VIF does change under the same recoding.
    single = {"d1": [1], "d2": [2], "income": [3], "age": [4]}
    vif_before = generalized_vif(x, single)["d1"].gvif
    vif_after = generalized_vif(recoded, single)["d1"].gvif
    assert abs(vif_before - vif_after) > 1e-3


def test_gvif_is_invariant_to_column_scaling_and_row_order() -> None:
    x = continuous_design(seed=3)
    groups = {"a": [1, 2], "b": [3], "c": [4]}
    base = generalized_vif(x, groups)
    scaled = x * np.array([1.0, 1e-6, 1e6, -3.0, 42.0])
    shuffled = x[np.random.default_rng(4).permutation(x.shape[0])]
    for other in (generalized_vif(scaled, groups), generalized_vif(shuffled, groups)):
        for name in groups:
            assert other[name].gvif == pytest.approx(base[name].gvif, rel=1e-9)


def test_single_group_gvif_is_one() -> None:
    x, _ = mixed_design()
    result = generalized_vif(x, {"everything": [1, 2, 3, 4]})
    assert result == {"everything": GVIF(gvif=1.0, df=4, gvif_adjusted=1.0)}


def test_orthogonal_columns_have_gvif_one() -> None:
    # centred, mutually orthogonal columns (rows of a Hadamard-like pattern)
    pattern = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    x = np.column_stack([np.ones(8), np.vstack([pattern, pattern])])
    result = generalized_vif(x, {"a": [1], "bc": [2, 3]})
    assert result["a"].gvif == 1.0
    assert result["bc"].gvif == pytest.approx(1.0, abs=1e-12)


def test_perfect_collinearity_gives_inf_not_an_error() -> None:
    rng = np.random.default_rng(5)
    n = 200
    x1, x2, x4 = rng.normal(size=(3, n))
    x = np.column_stack([np.ones(n), x1, x2, x1 - 2.0 * x2, x4])
    result = generalized_vif(x, {"x1": [1], "x2": [2], "x3": [3], "x4": [4]})
    assert result["x1"].gvif == result["x2"].gvif == result["x3"].gvif == math.inf
    assert result["x1"].gvif_adjusted == math.inf
    # x4 is unrelated to the collinear trio: its GVIF is what it is without the redundant x3
    reduced = np.delete(x, 3, axis=1)
    assert result["x4"].gvif == pytest.approx(variance_inflation_factor(reduced, 3), rel=1e-8)


def test_dummy_trap_and_constant_column_give_inf() -> None:
    rng = np.random.default_rng(6)
    n = 300
    level = rng.integers(0, 3, size=n)
    dummies = np.column_stack([(level == k).astype(float) for k in range(3)])  # all 3 levels
    income = level + rng.normal(size=n)
    x = np.column_stack([np.ones(n), dummies, income, np.full(n, 5.0)])
    result = generalized_vif(x, {"grade": [1, 2, 3], "income": [4], "const": [5]})
    assert result["grade"].gvif == math.inf  # the dummies sum to the intercept
    assert result["const"].gvif == math.inf  # a constant is the intercept again
    # income is collinear with neither: same value as with one dummy dropped and no constant
    clean = np.column_stack([np.ones(n), dummies[:, 1:], income])
    expected = generalized_vif(clean, {"grade": [1, 2], "income": [3]})["income"].gvif
    assert result["income"].gvif == pytest.approx(expected, rel=1e-9)
    assert result["income"].gvif == pytest.approx(variance_inflation_factor(clean, 3), rel=1e-8)


def test_no_intercept_column() -> None:
    x, groups = mixed_design()
    without = generalized_vif(x[:, 1:], {k: [c - 1 for c in v] for k, v in groups.items()}, False)
    with_intercept = generalized_vif(x, groups)
    for name in groups:
        assert without[name].gvif == pytest.approx(with_intercept[name].gvif, rel=1e-12)


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({}, "groups is empty"),
        ({"a": [1, 2], "b": [2, 3, 4]}, "in both group"),
        ({"a": [0, 1], "b": [2, 3, 4]}, "intercept"),
        ({"a": [1, 2], "b": [3, 4, 5]}, "out of range"),
        ({"a": [1, 2], "b": [3]}, "belong to no group"),
        ({"a": [1, 2], "b": [3, 4], "c": []}, "no columns"),
        ({"a": [1, 2.0], "b": [3, 4]}, "non-integer"),
    ],
)
def test_generalized_vif_rejects_bad_groups(groups: dict[str, list[int]], message: str) -> None:
    x, _ = mixed_design()
    with pytest.raises(ValueError, match=message):
        generalized_vif(x, groups)


def test_generalized_vif_rejects_bad_matrices() -> None:
    x, groups = mixed_design()
    with pytest.raises(ValueError, match="not a non-zero constant"):
        generalized_vif(x[:, [1, 0, 2, 3, 4]], groups)
    with pytest.raises(ValueError, match="two-dimensional"):
        generalized_vif(x[:, 1], {"a": [0]}, intercept=False)
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        generalized_vif(bad, groups)


# ---------------------------------------------------------------------------------------------
# Condition number
# ---------------------------------------------------------------------------------------------


def condition_by_eigenvalues(x: np.ndarray) -> float:
    """sqrt(largest / smallest eigenvalue of X'X) -- the singular-value ratio squared out."""
    eig = np.linalg.eigvalsh(x.T @ x)
    return float(np.sqrt(eig.max() / eig.min()))


def test_scaled_condition_number_against_eigenvalues_of_scaled_cross_product() -> None:
    x = continuous_design()
    scaled = x / np.sqrt(np.sum(x**2, axis=0))  # unit-length columns, intercept included
    expected = condition_by_eigenvalues(scaled)
    assert condition_number(x) == pytest.approx(expected, rel=1e-8)
    assert condition_number(x) == pytest.approx(np.linalg.cond(scaled), rel=1e-10)


def test_unscaled_condition_number_is_the_raw_one() -> None:
    x = continuous_design()
    assert condition_number(x, scale=False) == pytest.approx(condition_by_eigenvalues(x), rel=1e-6)
    assert condition_number(x, scale=False) == pytest.approx(np.linalg.cond(x), rel=1e-10)
    # the raw number reflects the arbitrary units (x1 in thousands, x3 in hundredths)
    assert condition_number(x, scale=False) > 100 * condition_number(x)


def test_scaled_condition_number_ignores_units() -> None:
    x = continuous_design(seed=7)
    rescaled = x * np.array([3.0, 1e-3, 1e4, 2.0, -5.0])
    assert condition_number(rescaled) == pytest.approx(condition_number(x), rel=1e-9)


def test_condition_number_edge_cases() -> None:
    pattern = np.array([[1, 1, 1], [1, -1, -1], [1, 1, -1], [1, -1, 1]], dtype=float)
    assert condition_number(pattern) == pytest.approx(1.0, abs=1e-12)  # orthogonal columns
    zero_column = np.column_stack([np.ones(5), np.zeros(5)])
    assert condition_number(zero_column) == math.inf
    assert condition_number(np.ones((2, 3))) == math.inf  # fewer rows than columns
    collinear = np.column_stack([np.ones(10), np.arange(10.0), 2 * np.arange(10.0) + 1])
    assert condition_number(collinear) > 1e12
    with pytest.raises(ValueError, match="two-dimensional"):
        condition_number(np.ones(3))
