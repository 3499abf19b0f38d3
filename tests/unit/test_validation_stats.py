"""Tests for credit_glm.validation_stats.

Every statistic is checked against an independent computation: brute force over pairs,
scipy/statsmodels functions called in the test, or a direct loop written out in the test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from credit_glm.metrics import ks_statistic, roc_auc
from credit_glm.validation_stats import (
    AUCInterval,
    delong_auc,
    ks_test,
)


def _tied_sample(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes related to a score rounded to 1 decimal, so there are many ties."""
    rng = np.random.default_rng(seed)
    score = np.round(rng.normal(size=n), 1)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-score))).astype(float)
    return y, score


def _brute_force_delong(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """AUC and DeLong variance from the O(n1 * n0) kernel psi(x, z) = 1, 1/2, 0."""
    x = p[y == 1.0]
    z = p[y == 0.0]
    kernel = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    v10 = kernel.mean(axis=1)
    v01 = kernel.mean(axis=0)
    auc = float(kernel.mean())
    s10 = float(((v10 - auc) ** 2).sum() / (x.size - 1))
    s01 = float(((v01 - auc) ** 2).sum() / (z.size - 1))
    return auc, s10 / x.size + s01 / z.size


# ---------------------------------------------------------------------------------------------
# delong_auc
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_matches_brute_force_placements_with_ties(seed: int) -> None:
    y, p = _tied_sample(seed)
    assert len(np.unique(p)) < p.size / 3  # the sample really has ties
    result = delong_auc(y, p)
    auc, variance = _brute_force_delong(y, p)
    assert result.auc == pytest.approx(auc, rel=1e-12)
    assert result.auc == pytest.approx(roc_auc(y, p), rel=1e-12)
    assert result.variance == pytest.approx(variance, rel=1e-9)
    assert result.std_error == pytest.approx(math.sqrt(variance), rel=1e-9)


def test_delong_interval_is_normal_and_symmetric_and_gini_mapped() -> None:
    y, p = _tied_sample(3)
    result = delong_auc(y, p, level=0.9)
    auc, variance = _brute_force_delong(y, p)
    half = stats.norm.isf(0.05) * math.sqrt(variance)
    assert result.lower == pytest.approx(auc - half, rel=1e-9)
    assert result.upper == pytest.approx(auc + half, rel=1e-9)
    assert result.upper - result.auc == pytest.approx(result.auc - result.lower, rel=1e-9)
    assert result.gini == pytest.approx(2 * auc - 1, rel=1e-12)
    assert result.gini_lower == pytest.approx(2 * result.lower - 1, rel=1e-12)
    assert result.gini_upper == pytest.approx(2 * result.upper - 1, rel=1e-12)
    wider = delong_auc(y, p, level=0.99)
    assert wider.lower < result.lower and wider.upper > result.upper


def test_delong_interval_is_clipped_to_unit_interval() -> None:
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1], dtype=float)
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7])
    result = delong_auc(y, p, level=0.999)
    assert result.upper == 1.0
    assert 0.0 <= result.lower < result.auc


def test_delong_sign_flip_mirrors_auc() -> None:
    """Reversing the score maps AUC to 1 - AUC with the same standard error."""
    y, p = _tied_sample(4)
    a = delong_auc(y, p)
    b = delong_auc(y, -p)
    assert b.auc == pytest.approx(1 - a.auc, rel=1e-12)
    assert b.std_error == pytest.approx(a.std_error, rel=1e-9)


def test_delong_variance_matches_statsmodels_brunner_munzel() -> None:
    """statsmodels' Brunner-Munzel rank comparison estimates P(X > Z) + 1/2 P(X = Z) with a
    variance (``var_prob``) computed from pooled and within-sample ranks, which is DeLong's
    placement-value variance written another way."""
    from statsmodels.stats.nonparametric import rank_compare_2indep

    y, p = _tied_sample(5, n=2000)
    result = delong_auc(y, p)
    sm = rank_compare_2indep(p[y == 1.0], p[y == 0.0])
    assert result.auc == pytest.approx(sm.prob1, rel=1e-9)
    assert result.variance == pytest.approx(sm.var_prob, rel=1e-9)


def test_delong_to_dict_is_json() -> None:
    y, p = _tied_sample(6)
    d = delong_auc(y, p).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert set(d) == {f for f in AUCInterval.__dataclass_fields__}
    assert all(type(v) in (float, int) for v in d.values())


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1])
def test_delong_rejects_bad_level(level: float) -> None:
    with pytest.raises(ValueError, match="delong_auc: level"):
        delong_auc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], level=level)


def test_delong_rejects_one_class_and_length_mismatch() -> None:
    with pytest.raises(ValueError, match="delong_auc: y contains only one class"):
        delong_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="delong_auc: y and p must have the same length"):
        delong_auc([0, 1, 1], [0.1, 0.2])


# ---------------------------------------------------------------------------------------------
# ks_test
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_matches_scipy_and_threshold_reproduces_gap(seed: int) -> None:
    y, p = _tied_sample(seed)
    result = ks_test(y, p)
    bads, goods = p[y == 1.0], p[y == 0.0]
    assert result.statistic == pytest.approx(stats.ks_2samp(bads, goods).statistic, rel=1e-12)
    assert result.statistic == pytest.approx(ks_statistic(y, p), rel=1e-12)
    # the shares at the threshold, counted directly
    cum_bads = float(np.mean(bads <= result.threshold))
    cum_goods = float(np.mean(goods <= result.threshold))
    assert result.cum_events == pytest.approx(cum_bads, rel=1e-12)
    assert result.cum_nonevents == pytest.approx(cum_goods, rel=1e-12)
    assert abs(cum_bads - cum_goods) == pytest.approx(result.statistic, rel=1e-12)
    assert result.threshold in set(p.tolist())


def test_ks_threshold_on_hand_example() -> None:
    """Goods score 1, 2, 3; bads 4, 5: every good is at or below 3 and no bad is, gap 1."""
    y = [0, 0, 0, 1, 1]
    p = [1.0, 2.0, 3.0, 4.0, 5.0]
    result = ks_test(y, p)
    assert result.statistic == 1.0
    assert result.threshold == 3.0
    assert (result.cum_events, result.cum_nonevents) == (0.0, 1.0)
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()


def test_ks_rejects_one_class() -> None:
    with pytest.raises(ValueError, match="ks_test: y contains only one class"):
        ks_test([0, 0], [0.1, 0.2])
