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

from credit_glm.metrics import brier_score, ks_statistic, population_stability_index, roc_auc
from credit_glm.validation_stats import (
    AUCInterval,
    brier_decomposition,
    characteristic_stability,
    delong_auc,
    grade_table,
    ks_test,
    roc_curve,
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


# ---------------------------------------------------------------------------------------------
# grade_table
# ---------------------------------------------------------------------------------------------


def _pd_sample(seed: int, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """PDs on a log scale and outcomes drawn at 1.3 times the PD (so the PD is too low)."""
    rng = np.random.default_rng(seed)
    p = np.exp(rng.uniform(np.log(0.002), np.log(0.3), size=n))
    y = (rng.random(n) < 1.3 * p).astype(float)
    return y, p


def _binomial_upper_tail(d: int, n: int, q: float) -> float:
    """P[X >= d] for X ~ Binomial(n, q), summed term by term from the pmf."""
    return math.fsum(math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(d, n + 1))


def _beta_cdf_by_quadrature(x: float, a: float, b: float) -> float:
    from scipy import integrate

    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    value, _ = integrate.quad(
        lambda t: math.exp(log_norm + (a - 1) * math.log(t) + (b - 1) * math.log1p(-t)),
        0.0,
        x,
        epsabs=1e-14,
        epsrel=1e-12,
    )
    return float(value)


def test_grade_worked_example_n100_d5_pd2pct() -> None:
    """100 obligors at PD 2%, 5 defaults: P[X >= 5] = 1 - sum_{k<5} C(100,k) .02^k .98^(100-k)
    (about 0.051) and the Jeffreys p-value is the Beta(5.5, 95.5) CDF at 0.02 (about 0.026),
    both computed here from their definitions."""
    y = np.array([1.0] * 5 + [0.0] * 95)
    p = np.full(100, 0.02)
    (row, empty) = grade_table(y, p, edges=[0.5])
    assert (row.n, row.defaults) == (100, 5)
    assert row.observed_rate == pytest.approx(0.05, rel=1e-12)
    assert row.mean_pd == pytest.approx(0.02, rel=1e-12)
    assert row.expected_defaults == pytest.approx(2.0, rel=1e-12)
    tail = 1.0 - math.fsum(math.comb(100, k) * 0.02**k * 0.98 ** (100 - k) for k in range(5))
    assert row.binomial_pvalue == pytest.approx(tail, rel=1e-9)
    assert 0.05 < tail < 0.06
    jeffreys = _beta_cdf_by_quadrature(0.02, 5.5, 95.5)
    assert row.jeffreys_pvalue == pytest.approx(jeffreys, rel=1e-7)
    assert 0.02 < jeffreys < 0.03
    assert empty.n == 0 and empty.lower == 0.5 and empty.upper is None


def test_grade_rows_match_scipy_and_statsmodels() -> None:
    from statsmodels.stats.proportion import proportion_confint

    y, p = _pd_sample(0)
    edges = [0.005, 0.01, 0.03, 0.1]
    rows = grade_table(y, p, edges, level=0.9)
    assert [r.grade for r in rows] == [1, 2, 3, 4, 5]
    assert sum(r.n for r in rows) == p.size
    bounds = [-np.inf, *edges, np.inf]
    for row, lo, hi in zip(rows, bounds[:-1], bounds[1:], strict=True):
        mask = (p >= lo) & (p < hi)
        n, d, q = int(mask.sum()), int(y[mask].sum()), float(p[mask].mean())
        assert (row.n, row.defaults) == (n, d)
        assert row.mean_pd == pytest.approx(q, rel=1e-12)
        assert row.binomial_pvalue == pytest.approx(
            stats.binomtest(d, n, q, alternative="greater").pvalue, rel=1e-9
        )
        pmf = np.array([math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(n + 1)])
        two_sided = float(pmf[pmf <= pmf[d] * (1 + 1e-7)].sum())
        assert row.binomial_two_sided_pvalue == pytest.approx(min(1.0, two_sided), rel=1e-6)
        assert row.jeffreys_pvalue == pytest.approx(
            _beta_cdf_by_quadrature(q, d + 0.5, n - d + 0.5), rel=1e-6
        )
        lower, upper = proportion_confint(d, n, alpha=0.1, method="jeffreys")
        assert row.jeffreys_lower == pytest.approx(lower, rel=1e-9)
        assert row.jeffreys_upper == pytest.approx(upper, rel=1e-9)
    # outcomes were drawn at 1.3 x PD: the pooled upper grades reject the PD as too low
    assert min(r.binomial_pvalue for r in rows if r.binomial_pvalue is not None) < 0.05


def test_grade_cut_point_belongs_to_upper_grade_and_empty_grade_is_none() -> None:
    y = [0, 1, 0, 0]
    p = [0.01, 0.05, 0.05, 0.2]
    rows = grade_table(y, p, edges=[0.05, 0.1, 0.15])
    assert [r.n for r in rows] == [1, 2, 0, 1]
    assert rows[1].lower == 0.05 and rows[1].upper == 0.1
    empty = rows[2].to_dict()
    assert empty["n"] == 0
    assert all(
        empty[k] is None for k in empty if k not in {"grade", "lower", "upper", "n", "defaults"}
    )
    d = [r.to_dict() for r in rows]
    assert json.loads(json.dumps(d)) == d


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        ([0.1, 0.1], "grade_table: edges must be strictly increasing"),
        ([0.2, 0.1], "grade_table: edges must be strictly increasing"),
        ([], "grade_table: edges needs at least one cut point"),
        ([0.1, float("nan")], "grade_table: edges contains NaN"),
    ],
)
def test_grade_rejects_bad_edges(edges: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        grade_table([0, 1], [0.1, 0.2], edges)


def test_grade_rejects_bad_level_and_non_probabilities() -> None:
    with pytest.raises(ValueError, match="grade_table: level"):
        grade_table([0, 1], [0.1, 0.2], [0.15], level=1.0)
    with pytest.raises(ValueError, match="grade_table: p must be probabilities"):
        grade_table([0, 1], [0.1, 1.2], [0.15])


# ---------------------------------------------------------------------------------------------
# brier_decomposition
# ---------------------------------------------------------------------------------------------


def _calibrated_sample(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(1.0, 6.0, size=n)
    y = (rng.random(n) < np.clip(1.2 * p, 0, 1)).astype(float)
    return y, p


@pytest.mark.parametrize(("seed", "bins"), [(0, 10), (1, 5), (2, 20), (3, 1)])
def test_brier_decomposition_matches_direct_loop_and_identity(seed: int, bins: int) -> None:
    y, p = _calibrated_sample(seed)
    result = brier_decomposition(y, p, bins=bins)
    n, rate = p.size, y.mean()
    rel = res = wbv = wbc = 0.0
    used = 0
    for k in range(bins):
        lo, hi = k / bins, (k + 1) / bins
        mask = (p >= lo) & ((p < hi) if k < bins - 1 else (p <= 1.0))
        if not mask.any():
            continue
        used += 1
        f_k, o_k = p[mask].mean(), y[mask].mean()
        rel += mask.sum() * (f_k - o_k) ** 2
        res += mask.sum() * (o_k - rate) ** 2
        wbv += ((p[mask] - f_k) ** 2).sum()
        wbc += 2 * ((y[mask] - o_k) * (p[mask] - f_k)).sum()
    assert result.reliability == pytest.approx(rel / n, rel=1e-9)
    assert result.resolution == pytest.approx(res / n, rel=1e-9, abs=1e-15)
    assert result.uncertainty == pytest.approx(rate * (1 - rate), rel=1e-12)
    assert result.within_bin_variance == pytest.approx(wbv / n, rel=1e-9)
    assert result.within_bin_covariance == pytest.approx(wbc / n, rel=1e-9, abs=1e-15)
    assert result.bins == bins and result.bins_used == used
    assert result.brier == pytest.approx(float(np.mean((p - y) ** 2)), rel=1e-12)
    assert result.brier == pytest.approx(brier_score(y, p), rel=1e-12)
    recomposed = (
        result.reliability
        - result.resolution
        + result.uncertainty
        + result.within_bin_variance
        - result.within_bin_covariance
    )
    assert recomposed == pytest.approx(result.brier, abs=1e-12)


def test_brier_decomposition_constant_forecasts_per_bin_is_murphy() -> None:
    """Forecasts on the bin midpoints: the within-bin terms vanish and the three Murphy terms,
    computed here over the distinct forecast values, add up to the Brier score."""
    rng = np.random.default_rng(7)
    p = rng.choice(np.arange(10) / 10 + 0.05, size=1000)
    y = (rng.random(1000) < p).astype(float)
    result = brier_decomposition(y, p, bins=10)
    assert result.within_bin_variance == pytest.approx(0.0, abs=1e-15)
    assert result.within_bin_covariance == pytest.approx(0.0, abs=1e-15)
    values = np.unique(p)
    weights = np.array([np.mean(p == v) for v in values])
    rates = np.array([y[p == v].mean() for v in values])
    assert result.reliability == pytest.approx(
        float(np.sum(weights * (values - rates) ** 2)), rel=1e-9
    )
    assert result.resolution == pytest.approx(
        float(np.sum(weights * (rates - y.mean()) ** 2)), rel=1e-9
    )
    murphy = result.reliability - result.resolution + result.uncertainty
    assert murphy == pytest.approx(float(np.mean((p - y) ** 2)), abs=1e-12)


def test_brier_decomposition_edges_and_to_dict() -> None:
    """p = 1 goes to the last bin; p = 0.1 with 10 bins to the second."""
    result = brier_decomposition([1, 0, 1], [1.0, 0.1, 0.15], bins=10)
    assert result.bins_used == 2
    d = result.to_dict()
    assert json.loads(json.dumps(d)) == d


def test_brier_decomposition_rejects_bad_bins_and_probabilities() -> None:
    with pytest.raises(ValueError, match="brier_decomposition: bins must be >= 1"):
        brier_decomposition([0, 1], [0.1, 0.2], bins=0)
    with pytest.raises(ValueError, match="brier_decomposition: bins must be an integer"):
        brier_decomposition([0, 1], [0.1, 0.2], bins=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="brier_decomposition: p must be probabilities"):
        brier_decomposition([0, 1], [0.1, -0.2])


# ---------------------------------------------------------------------------------------------
# characteristic_stability
# ---------------------------------------------------------------------------------------------


def _smooth(counts: list[int], eps: float) -> list[float]:
    """Shares with a zero replaced by eps, then renormalised (written out for the test)."""
    total = sum(counts)
    raw = [c / total if c else eps for c in counts]
    return [r / sum(raw) for r in raw]


def _psi(expected: list[float], actual: list[float]) -> float:
    return math.fsum((a - e) * math.log(a / e) for e, a in zip(expected, actual, strict=True))


def test_csi_numeric_on_integer_feature_against_direct_counts() -> None:
    """Baseline 0..9 ten times each: the decile bins are one per value, so the shares are the
    value frequencies, counted here directly."""
    rng = np.random.default_rng(11)
    expected = np.repeat(np.arange(10.0), 10)
    actual = rng.choice(np.arange(10.0), size=500, p=np.linspace(1, 2, 10) / 15)
    result = characteristic_stability(expected, actual, kind="numeric", bins=10)
    e_share = [float(np.mean(expected == v)) for v in range(10)]
    a_share = [float(np.mean(actual == v)) for v in range(10)]
    assert [b.expected_share for b in result.bins] == pytest.approx(e_share, rel=1e-12)
    assert [b.actual_share for b in result.bins] == pytest.approx(a_share, rel=1e-12)
    assert result.value == pytest.approx(_psi(e_share, a_share), rel=1e-9)
    for b, e, a in zip(result.bins, e_share, a_share, strict=True):
        assert b.contribution == pytest.approx((a - e) * math.log(a / e), rel=1e-9, abs=1e-15)
    assert sum(b.contribution for b in result.bins) == pytest.approx(result.value, rel=1e-9)
    assert result.bins[0].label == "[-inf, 1.0)" and result.bins[-1].label == "[9.0, inf)"
    assert result.value == pytest.approx(population_stability_index(expected, actual).value)


def test_csi_numeric_empty_bin_is_smoothed() -> None:
    expected = np.repeat(np.arange(4.0), 25)
    actual = np.array([0.0, 1.0, 1.0, 3.0] * 10)  # value 2 never seen
    result = characteristic_stability(expected, actual, kind="numeric", bins=4, eps=1e-3)
    a_share = _smooth([10, 20, 0, 10], 1e-3)
    assert [b.actual_share for b in result.bins] == pytest.approx(a_share, rel=1e-12)
    assert result.value == pytest.approx(_psi([0.25] * 4, a_share), rel=1e-9)


def test_csi_categorical_with_missing_and_unseen_categories() -> None:
    """C disappears from the recent sample and D is new: both get the smoothed share."""
    expected = ["A"] * 50 + ["B"] * 30 + ["C"] * 20
    actual = ["B"] * 40 + ["A"] * 40 + ["D"] * 20
    result = characteristic_stability(expected, actual, kind="categorical", eps=1e-4)
    assert [b.label for b in result.bins] == ["A", "B", "C", "D"]
    e_share = _smooth([50, 30, 20, 0], 1e-4)
    a_share = _smooth([40, 40, 0, 20], 1e-4)
    assert [b.expected_share for b in result.bins] == pytest.approx(e_share, rel=1e-12)
    assert [b.actual_share for b in result.bins] == pytest.approx(a_share, rel=1e-12)
    assert result.value == pytest.approx(_psi(e_share, a_share), rel=1e-9)
    assert result.value > 0.25  # losing a fifth of the mix is a significant shift
    d = result.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["kind"] == "categorical" and len(d["bins"]) == 4


def test_csi_identical_samples_is_zero() -> None:
    values = ["x", "y", "y", 3, 3, 3]
    result = characteristic_stability(values, list(reversed(values)), kind="categorical")
    assert result.value == pytest.approx(0.0, abs=1e-15)
    assert [b.label for b in result.bins] == ["3", "x", "y"]


def test_csi_rejects_bad_kind_and_input() -> None:
    with pytest.raises(ValueError, match="characteristic_stability: kind must be"):
        characteristic_stability([1, 2], [1, 2], kind="ordinal")
    with pytest.raises(ValueError, match="characteristic_stability: actual_values is empty"):
        characteristic_stability(["a"], [], kind="categorical")
    with pytest.raises(ValueError, match="characteristic_stability: eps"):
        characteristic_stability(["a"], ["a"], kind="categorical", eps=0.0)
    with pytest.raises(ValueError, match="characteristic_stability: actual_values is empty"):
        characteristic_stability([1.0, 2.0], [], kind="numeric")
    with pytest.raises(ValueError, match="characteristic_stability: expected_values contains NaN"):
        characteristic_stability([1.0, math.nan], [1.0], kind="numeric")


def test_ks_threshold_is_smallest_score_when_the_maximum_ties() -> None:
    """Goods at 1 and 3, bads at 2 and 4: the gap is 1/2 at scores 1 and 3 and 0 elsewhere."""
    result = ks_test([0, 1, 0, 1], [1.0, 2.0, 3.0, 4.0])
    assert result.statistic == 0.5
    assert (result.threshold, result.cum_events, result.cum_nonevents) == (1.0, 0.0, 0.5)


def test_delong_single_event_has_only_the_nonevent_term() -> None:
    """With one event its placement has no sample variance; the variance is S01 / n0, with S01
    the variance of the non-event placements 1{x > z} + 1/2 1{x = z}."""
    p = np.array([0.2, 0.5, 0.1, 0.5, 0.9, 0.3])
    y = np.array([0, 1, 0, 0, 0, 0], dtype=float)
    placements = (0.5 > p[y == 0]) + 0.5 * (0.5 == p[y == 0])
    result = delong_auc(y, p)
    assert result.auc == pytest.approx(placements.mean(), rel=1e-12)
    assert result.variance == pytest.approx(np.var(placements, ddof=1) / placements.size, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 7])
def test_roc_curve_points_are_the_shares_counted_at_each_threshold(seed: int) -> None:
    y, p = _tied_sample(seed)
    curve = roc_curve(y, p)
    assert (curve.fpr[0], curve.tpr[0], curve.thresholds[0]) == (0.0, 0.0, None)
    assert (curve.fpr[-1], curve.tpr[-1]) == (1.0, 1.0)
    for fpr, tpr, t in zip(curve.fpr[1:], curve.tpr[1:], curve.thresholds[1:], strict=True):
        flagged = p >= t
        assert tpr == pytest.approx(flagged[y == 1].mean(), abs=1e-15)
        assert fpr == pytest.approx(flagged[y == 0].mean(), abs=1e-15)
    # the trapezoid area under the curve at every distinct score is the AUC (ties count 1/2)
    assert np.trapezoid(curve.tpr, curve.fpr) == pytest.approx(roc_auc(y, p), abs=1e-12)


def test_roc_curve_thinned_keeps_both_ends_and_exact_points() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(5000)
    y = (rng.random(5000) < p).astype(float)
    curve = roc_curve(y, p, max_points=50)
    assert len(curve.thresholds) <= 51
    assert curve.thresholds[1] == p.max() and curve.thresholds[-1] == p.min()
    t = curve.thresholds[20]
    assert curve.tpr[20] == pytest.approx(float((p[y == 1] >= t).mean()))
