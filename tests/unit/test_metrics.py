"""Tests for credit_glm.metrics.

Every statistic is checked against an independent computation: brute force over pairs or
thresholds, another library (scipy, statsmodels), or numbers worked out by hand in the test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.nonparametric import rank_compare_2indep

from credit_glm.metrics import (
    HosmerLemeshowResult,
    PSIResult,
    bin_proportions,
    binary_metrics,
    brier_score,
    calibration_table,
    confusion_at_cutoff,
    gini,
    hosmer_lemeshow,
    ks_statistic,
    log_loss,
    population_stability_index,
    psi_bin_edges,
    psi_from_shares,
    roc_auc,
)

# ---------------------------------------------------------------------------------------------
# Independent reference implementations
# ---------------------------------------------------------------------------------------------


def brute_force_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Share of (event, non-event) pairs ranked correctly, ties counting one half."""
    events = [s for s, t in zip(p, y, strict=True) if t == 1]
    nonevents = [s for s, t in zip(p, y, strict=True) if t == 0]
    score = 0.0
    for a in events:
        for b in nonevents:
            score += 1.0 if a > b else 0.5 if a == b else 0.0
    return score / (len(events) * len(nonevents))


def trapezoid_roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve built by sweeping the threshold down through every score."""
    fpr, tpr = [0.0], [0.0]
    for t in sorted(set(p.tolist()), reverse=True):
        flagged = p >= t
        tpr.append(float(np.sum(flagged & (y == 1)) / np.sum(y == 1)))
        fpr.append(float(np.sum(flagged & (y == 0)) / np.sum(y == 0)))
    return float(np.trapezoid(tpr, fpr))


def brute_force_ks(y: np.ndarray, p: np.ndarray) -> float:
    """Largest CDF gap over every candidate threshold (every observed score)."""
    events, nonevents = p[y == 1], p[y == 0]
    best = 0.0
    for t in p:
        gap = abs(np.mean(events <= t) - np.mean(nonevents <= t))
        best = max(best, float(gap))
    return best


def random_scored_sample(seed: int, n: int, levels: int | None = None) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, n)
    if levels is not None:  # coarse scores: many ties
        p = np.round(p * levels) / levels
        p = np.clip(p, 0.01, 0.99)
    y = (rng.uniform(size=n) < p).astype(float)
    y[0], y[1] = 0.0, 1.0  # both classes always present
    return y, p


# Samples of (outcome, score) pairs with both classes and heavy ties (scores on a 0.1 grid).
pairs_with_ties = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 10)), min_size=2, max_size=40
).filter(lambda rows: len({r[0] for r in rows}) == 2)


def _split(rows: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    y = np.array([r[0] for r in rows], dtype=float)
    p = np.array([r[1] for r in rows], dtype=float) / 10.0
    return y, p


# ---------------------------------------------------------------------------------------------
# AUC and Gini
# ---------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, database=None)
@given(pairs_with_ties)
def test_auc_equals_brute_force_pairwise_with_ties(rows: list[tuple[int, int]]) -> None:
    y, p = _split(rows)
    assert roc_auc(y, p) == pytest.approx(brute_force_auc(y, p), abs=1e-12)


@settings(max_examples=100, deadline=None, database=None)
@given(pairs_with_ties)
def test_auc_equals_trapezoidal_roc_area(rows: list[tuple[int, int]]) -> None:
    y, p = _split(rows)
    assert roc_auc(y, p) == pytest.approx(trapezoid_roc_auc(y, p), abs=1e-12)


@pytest.mark.parametrize(
    ("y", "p", "expected"),
    [
        ([0, 1], [0.2, 0.8], 1.0),
        ([0, 1], [0.8, 0.2], 0.0),
        ([0, 1], [0.5, 0.5], 0.5),
        # pairs (event, non-event): (.4,.1) 1, (.4,.4) 1/2, (.4,.9) 0, (.8,.1) 1, (.8,.4) 1,
        # (.8,.9) 0 -> 3.5 / 6
        ([1, 1, 0, 0, 0], [0.4, 0.8, 0.1, 0.4, 0.9], 3.5 / 6),
    ],
)
def test_auc_fixed_cases(y: list[int], p: list[float], expected: float) -> None:
    assert roc_auc(y, p) == pytest.approx(expected, abs=1e-15)
    assert gini(y, p) == pytest.approx(2 * expected - 1, abs=1e-15)


@pytest.mark.parametrize(("seed", "levels"), [(1, None), (2, 20), (3, 4)])
def test_auc_matches_statsmodels_and_scipy(seed: int, levels: int | None) -> None:
    y, p = random_scored_sample(seed, 3000, levels)
    events, nonevents = p[y == 1], p[y == 0]
    # statsmodels: P(X1 > X2) + 0.5 P(X1 = X2), the probabilistic index
    sm = rank_compare_2indep(events, nonevents).prob1
    # scipy: Mann-Whitney U of the events divided by the number of pairs
    u = stats.mannwhitneyu(events, nonevents, method="asymptotic").statistic
    auc = roc_auc(y, p)
    assert auc == pytest.approx(sm, abs=1e-12)
    assert auc == pytest.approx(u / (events.size * nonevents.size), abs=1e-12)
    assert gini(y, p) == pytest.approx(2 * sm - 1, abs=1e-12)


def test_auc_accepts_any_scores_and_is_rank_invariant() -> None:
    y, p = random_scored_sample(4, 500, 30)
    logit = np.log(p / (1 - p))
    assert roc_auc(y, logit * 100 + 600) == pytest.approx(roc_auc(y, p), abs=1e-15)


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], "only one class"),
        ([0, 0], [0.1, 0.2], "only one class"),
        ([0, 1, 1], [0.1, 0.2], "same length"),
        ([0, 1], [0.1, float("nan")], "NaN"),
        ([0, 1], [0.1, float("inf")], "infinite"),
        ([0, 2], [0.1, 0.2], "only 0 and 1"),
        ([0, float("nan")], [0.1, 0.2], "only 0 and 1"),
        ([], [], "empty"),
        ([[0, 1]], [[0.1, 0.2]], "one-dimensional"),
    ],
)
def test_auc_rejects_bad_input(y: list[float], p: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        roc_auc(y, p)


# ---------------------------------------------------------------------------------------------
# KS
# ---------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, database=None)
@given(pairs_with_ties)
def test_ks_equals_brute_force_and_scipy(rows: list[tuple[int, int]]) -> None:
    y, p = _split(rows)
    ks = ks_statistic(y, p)
    assert ks == pytest.approx(brute_force_ks(y, p), abs=1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):  # scipy's p-value for tiny samples
        scipy_ks = stats.ks_2samp(p[y == 1], p[y == 0], method="asymp").statistic
    assert ks == pytest.approx(scipy_ks, abs=1e-12)


@pytest.mark.parametrize(("seed", "levels"), [(5, None), (6, 10)])
def test_ks_matches_scipy_on_larger_samples(seed: int, levels: int | None) -> None:
    y, p = random_scored_sample(seed, 5000, levels)
    expected = stats.ks_2samp(p[y == 1], p[y == 0], method="asymp").statistic
    assert ks_statistic(y, p) == pytest.approx(expected, abs=1e-12)


def test_ks_does_not_split_ties() -> None:
    # Scanning row by row after sorting would report a gap of 1 between the two rows; at the
    # only distinct score both CDFs jump to 1 together, so KS is 0.
    assert ks_statistic([1, 0], [0.5, 0.5]) == 0.0
    # events {.2, .6, .6}, non-events {.2, .6, .9}: at .2 gap 1/3-1/3=0, at .6 1-2/3=1/3
    assert ks_statistic([1, 1, 1, 0, 0, 0], [0.2, 0.6, 0.6, 0.2, 0.6, 0.9]) == pytest.approx(1 / 3)


def test_ks_rejects_one_class() -> None:
    with pytest.raises(ValueError, match="only one class"):
        ks_statistic([0, 0, 0], [0.1, 0.2, 0.3])


# ---------------------------------------------------------------------------------------------
# Brier and log loss
# ---------------------------------------------------------------------------------------------

HAND_Y = [1, 0, 1, 0]
HAND_P = [0.9, 0.2, 0.6, 0.5]


def test_brier_hand_example() -> None:
    # squared errors: (0.9-1)^2 = 0.01, 0.2^2 = 0.04, (0.6-1)^2 = 0.16, 0.5^2 = 0.25
    # mean = 0.46 / 4 = 0.115
    assert brier_score(HAND_Y, HAND_P) == pytest.approx(0.115, abs=1e-15)


def test_log_loss_hand_example() -> None:
    # probability given to what happened: 0.9, 0.8, 0.6, 0.5
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.6) + math.log(0.5)) / 4
    assert expected == pytest.approx(0.3831192, abs=1e-7)
    assert log_loss(HAND_Y, HAND_P) == pytest.approx(expected, rel=1e-14)


def test_log_loss_clips_certain_mistakes() -> None:
    # y=0 predicted p=1 costs -log(1 - (1 - eps)) ~ -log(eps) (1 - 1e-15 is not exact in
    # binary, hence the log1p form); y=1 predicted p=1 costs -log(1 - eps) ~ 1e-15.
    by_hand = (-math.log1p(-(1 - 1e-15)) - math.log(1 - 1e-15)) / 2
    assert by_hand == pytest.approx(-math.log(1e-15) / 2, rel=1e-4)
    assert log_loss([0, 1], [1.0, 1.0]) == pytest.approx(by_hand, rel=1e-12)
    assert log_loss([0, 1], [1.0, 1.0], eps=1e-3) == pytest.approx(
        (-math.log(1e-3) - math.log(1 - 1e-3)) / 2, rel=1e-12
    )
    assert math.isfinite(log_loss([1], [0.0]))


def test_probability_functions_reject_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        brier_score([0, 1], [0.1, 1.2])
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        log_loss([0, 1], [-0.1, 0.5])
    with pytest.raises(ValueError, match="eps"):
        log_loss([0, 1], [0.1, 0.5], eps=0.0)


# ---------------------------------------------------------------------------------------------
# Hosmer-Lemeshow and the calibration table
# ---------------------------------------------------------------------------------------------

# 20 rows, 4 groups of 5 after sorting by p. Listed here in scrambled order so the sort matters.
HL_ROWS = [
    # (p, y)
    (0.75, 1), (0.06, 0), (0.45, 0), (0.24, 1), (0.90, 1),
    (0.02, 0), (0.55, 1), (0.28, 0), (0.80, 1), (0.10, 0),
    (0.40, 1), (0.20, 0), (0.85, 1), (0.04, 0), (0.60, 0),
    (0.26, 1), (0.70, 1), (0.08, 0), (0.50, 0), (0.22, 0),
]  # fmt: skip
HL_P = [r[0] for r in HL_ROWS]
HL_Y = [r[1] for r in HL_ROWS]
# Group 1: p .02 .04 .06 .08 .10  E = 0.30  O = 0  n = 5
#   (0 - 0.3)^2 / (0.3 * (1 - 0.3/5)) = 0.09 / (0.3 * 0.94) = 0.09 / 0.282 = 0.3191489361702128
# Group 2: p .20 .22 .24 .26 .28  E = 1.20  O = 2
#   (2 - 1.2)^2 / (1.2 * (1 - 1.2/5)) = 0.64 / (1.2 * 0.76) = 0.64 / 0.912 = 0.7017543859649122
# Group 3: p .40 .45 .50 .55 .60  E = 2.50  O = 2
#   (2 - 2.5)^2 / (2.5 * (1 - 2.5/5)) = 0.25 / 1.25 = 0.2
# Group 4: p .70 .75 .80 .85 .90  E = 4.00  O = 5
#   (5 - 4)^2 / (4 * (1 - 4/5)) = 1 / 0.8 = 1.25
HL_OBSERVED = [0, 2, 2, 5]
HL_EXPECTED = [0.30, 1.20, 2.50, 4.00]
HL_CONTRIBUTIONS = [0.3191489361702128, 0.7017543859649122, 0.2, 1.25]
HL_STATISTIC = 2.4709033221351250  # sum of the four contributions
# chi-square with 2 dof has survival function exp(-x / 2): exp(-1.2354516610675625)
HL_PVALUE = 0.29070


def test_hosmer_lemeshow_hand_worked_example() -> None:
    result = hosmer_lemeshow(HL_Y, HL_P, groups=4)
    assert isinstance(result, HosmerLemeshowResult)
    assert result.dof == 2
    assert [g.group for g in result.groups] == [1, 2, 3, 4]
    assert [g.n for g in result.groups] == [5, 5, 5, 5]
    assert [g.observed for g in result.groups] == HL_OBSERVED
    assert [g.expected for g in result.groups] == pytest.approx(HL_EXPECTED, abs=1e-12)
    assert [g.contribution for g in result.groups] == pytest.approx(HL_CONTRIBUTIONS, rel=1e-12)
    assert sum(HL_CONTRIBUTIONS) == pytest.approx(HL_STATISTIC, rel=1e-15)
    assert result.statistic == pytest.approx(HL_STATISTIC, rel=1e-12)
    assert result.pvalue == pytest.approx(math.exp(-HL_STATISTIC / 2), rel=1e-12)
    assert result.pvalue == pytest.approx(HL_PVALUE, abs=5e-6)
    assert [(g.min_predicted, g.max_predicted) for g in result.groups] == [
        (0.02, 0.10),
        (0.20, 0.28),
        (0.40, 0.60),
        (0.70, 0.90),
    ]


def test_hosmer_lemeshow_statistic_is_pearson_chi_square_of_the_2xg_table() -> None:
    # Same statistic written as sum over events AND non-events cells of (O - E)^2 / E.
    y, p = random_scored_sample(7, 997)
    result = hosmer_lemeshow(y, p, groups=10)
    pearson = 0.0
    for g in result.groups:
        pearson += (g.observed - g.expected) ** 2 / g.expected
        pearson += ((g.n - g.observed) - (g.n - g.expected)) ** 2 / (g.n - g.expected)
    assert result.statistic == pytest.approx(pearson, rel=1e-10)
    assert result.pvalue == pytest.approx(stats.chi2.sf(pearson, 8), rel=1e-8)


def test_hosmer_lemeshow_well_calibrated_data_is_not_rejected() -> None:
    rng = np.random.default_rng(20240601)
    p = rng.beta(1.5, 8.0, size=20000)
    y = (rng.uniform(size=p.size) < p).astype(float)
    result = hosmer_lemeshow(y, p)
    assert result.dof == 8
    assert result.pvalue > 0.01


def test_hosmer_lemeshow_badly_calibrated_data_is_rejected() -> None:
    rng = np.random.default_rng(20240602)
    true_p = rng.beta(1.5, 8.0, size=20000)
    y = (rng.uniform(size=true_p.size) < true_p).astype(float)
    reported = np.sqrt(true_p)  # same ranking, probabilities far too high
    assert hosmer_lemeshow(y, reported).pvalue < 1e-6


def test_hosmer_lemeshow_degenerate_groups() -> None:
    # A group predicted with certainty and right contributes 0; wrong contributes inf.
    y = [0, 0, 0, 1, 0, 1, 1, 1, 1]
    p = [0.0, 0.0, 0.0, 0.3, 0.5, 0.7, 1.0, 1.0, 1.0]
    right = hosmer_lemeshow(y, p, groups=3)
    assert right.groups[0].contribution == 0.0
    assert right.groups[2].contribution == 0.0
    wrong = hosmer_lemeshow([1, *y[1:]], p, groups=3)
    assert wrong.statistic == math.inf
    assert wrong.pvalue == 0.0


@pytest.mark.parametrize("groups", [2, 0, 21, 2.5, True])
def test_hosmer_lemeshow_rejects_bad_group_counts(groups: object) -> None:
    with pytest.raises(ValueError, match="groups"):
        hosmer_lemeshow(HL_Y, HL_P, groups=groups)  # type: ignore[arg-type]


def _expected_table(y: list[float], p: list[float], sizes: list[int]) -> list[dict[str, float]]:
    """Group by hand: stable sort with Python's sorted(), cut at the given group sizes."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, start = [], 0
    for size in sizes:
        idx = order[start : start + size]
        start += size
        out.append(
            {
                "n": size,
                "events": sum(y[i] for i in idx),
                "mean_predicted": math.fsum(p[i] for i in idx) / size,
                "min_predicted": min(p[i] for i in idx),
                "max_predicted": max(p[i] for i in idx),
            }
        )
    return out


def test_calibration_table_against_direct_grouping() -> None:
    y, p = random_scored_sample(8, 103)
    table = calibration_table(y, p, groups=10)
    # 103 = 3 * 11 + 7 * 10: array_split puts the larger groups first
    expected = _expected_table(y.tolist(), p.tolist(), [11, 11, 11] + [10] * 7)
    assert [row["group"] for row in table] == list(range(1, 11))
    assert sum(row["n"] for row in table) == 103
    assert sum(row["events"] for row in table) == int(y.sum())
    for row, exp in zip(table, expected, strict=True):
        assert row["n"] == exp["n"]
        assert row["events"] == exp["events"]
        assert row["observed_rate"] == pytest.approx(exp["events"] / exp["n"], rel=1e-15)
        assert row["mean_predicted"] == pytest.approx(exp["mean_predicted"], rel=1e-12)
        assert row["min_predicted"] == exp["min_predicted"]
        assert row["max_predicted"] == exp["max_predicted"]
    for lower, upper in zip(table, table[1:], strict=False):
        assert lower["max_predicted"] <= upper["min_predicted"]
        assert lower["mean_predicted"] <= upper["mean_predicted"]
    json.dumps(table)


def test_calibration_table_and_hosmer_lemeshow_share_grouping() -> None:
    y, p = random_scored_sample(9, 250, levels=8)  # many ties across group boundaries
    table = calibration_table(y, p, groups=7)
    hl = hosmer_lemeshow(y, p, groups=7)
    assert [(r["n"], r["events"]) for r in table] == [(g.n, g.observed) for g in hl.groups]
    assert [r["mean_predicted"] for r in table] == [g.mean_predicted for g in hl.groups]
    # ties are grouped deterministically, in input order (stable sort)
    expected = _expected_table(y.tolist(), p.tolist(), [36] * 5 + [35] * 2)
    assert [r["events"] for r in table] == [e["events"] for e in expected]


def test_calibration_table_hand_example() -> None:
    table = calibration_table(HL_Y, HL_P, groups=4)
    assert [r["events"] for r in table] == HL_OBSERVED
    assert [r["mean_predicted"] for r in table] == pytest.approx([0.06, 0.24, 0.5, 0.8])
    assert [r["observed_rate"] for r in table] == [0.0, 0.4, 0.4, 1.0]


# ---------------------------------------------------------------------------------------------
# Population stability index
# ---------------------------------------------------------------------------------------------


def test_psi_identical_distributions_is_zero() -> None:
    x = np.random.default_rng(10).normal(size=5000)
    result = population_stability_index(x, x.copy())
    assert isinstance(result, PSIResult)
    assert result.value == 0.0
    np.testing.assert_array_equal(result.expected_share, result.actual_share)


def test_psi_hand_worked_two_bins() -> None:
    # shares e = (0.5, 0.5), a = (0.8, 0.2):
    # (0.8-0.5) ln(0.8/0.5) + (0.2-0.5) ln(0.2/0.5) = 0.3 ln 1.6 + 0.3 ln 2.5 = 0.3 ln 4
    expected_value = 0.3 * math.log(4.0)
    assert expected_value == pytest.approx(0.4158883, abs=1e-7)
    assert psi_from_shares([0.5, 0.5], [0.8, 0.2]) == pytest.approx(expected_value, rel=1e-14)

    baseline = [0, 0, 1, 1]  # median cut between 0 and 1 -> bins (-inf, 1), [1, inf)
    recent = [0] * 8 + [1] * 2
    result = population_stability_index(baseline, recent, bins=2)
    np.testing.assert_array_equal(result.edges, [-np.inf, 1.0, np.inf])
    np.testing.assert_allclose(result.expected_share, [0.5, 0.5], rtol=0, atol=1e-15)
    np.testing.assert_allclose(result.actual_share, [0.8, 0.2], rtol=0, atol=1e-15)
    assert result.value == pytest.approx(expected_value, rel=1e-14)


def test_psi_empty_bin_is_smoothed_to_a_finite_value() -> None:
    result = population_stability_index([0, 0, 1, 1], [0, 0, 0], bins=2, eps=1e-4)
    # actual counts (3, 0) -> shares (1, 0) -> (1, 1e-4) -> renormalised / 1.0001
    a1, a2 = 1 / 1.0001, 1e-4 / 1.0001
    np.testing.assert_allclose(result.actual_share, [a1, a2], rtol=1e-14)
    by_hand = (a1 - 0.5) * math.log(a1 / 0.5) + (a2 - 0.5) * math.log(a2 / 0.5)
    assert math.isfinite(result.value)
    assert result.value == pytest.approx(by_hand, rel=1e-12)
    assert result.value > 0.25


def test_psi_invariant_under_monotone_transform_of_both_samples() -> None:
    rng = np.random.default_rng(11)
    expected = rng.normal(0.0, 1.0, 4000)
    actual = rng.normal(0.3, 1.2, 3000)
    base = population_stability_index(expected, actual).value
    for transform in (np.exp, lambda v: 600.0 + 20.0 * v, lambda v: v**3, np.arctan):
        moved = population_stability_index(transform(expected), transform(actual)).value
        assert moved == pytest.approx(base, rel=1e-12)
    assert 0.05 < base < 1.0


def test_psi_bin_edges_properties() -> None:
    x = np.random.default_rng(12).uniform(size=1000)
    edges = psi_bin_edges(x, bins=10)
    assert edges[0] == -np.inf and edges[-1] == np.inf
    assert edges.size == 11
    assert np.all(np.diff(edges) > 0)
    shares = bin_proportions(x, edges)
    np.testing.assert_allclose(shares, 0.1, atol=1e-12)


def test_psi_bin_edges_drop_duplicates_from_ties() -> None:
    x = np.array([0.0] * 50 + [1.0] * 30 + [2.0] * 20)
    edges = psi_bin_edges(x, bins=10)
    np.testing.assert_array_equal(edges, [-np.inf, 1.0, 2.0, np.inf])
    np.testing.assert_allclose(bin_proportions(x, edges), [0.5, 0.3, 0.2], atol=1e-15)


def test_bin_proportions_right_open_bins_and_errors() -> None:
    edges = [-np.inf, 1.0, 2.0, np.inf]
    # 1.0 falls in [1, 2); 2.0 in [2, inf)
    shares = bin_proportions([0.5, 1.0, 1.5, 2.0], edges)
    np.testing.assert_allclose(shares, [0.25, 0.5, 0.25], atol=1e-15)
    with pytest.raises(ValueError, match="outside the bins"):
        bin_proportions([3.0], [0.0, 1.0, 3.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        bin_proportions([0.5], [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        bin_proportions([float("nan")], edges)
    assert bin_proportions([0.5], edges).sum() == pytest.approx(1.0, abs=1e-15)


def test_psi_from_shares_rejects_invalid_shares() -> None:
    with pytest.raises(ValueError, match="strictly positive"):
        psi_from_shares([0.5, 0.5], [1.0, 0.0])
    with pytest.raises(ValueError, match="sum to 1"):
        psi_from_shares([50, 50], [80, 20])
    with pytest.raises(ValueError, match="differ in length"):
        psi_from_shares([0.5, 0.5], [1.0])


def test_psi_result_arrays_are_read_only() -> None:
    result = population_stability_index([0, 1, 2, 3], [0, 1, 2, 3], bins=2)
    with pytest.raises(ValueError):
        result.edges[0] = 0.0


# ---------------------------------------------------------------------------------------------
# Confusion matrix and the summary
# ---------------------------------------------------------------------------------------------


def test_confusion_at_cutoff_hand_example() -> None:
    y = [1, 1, 1, 0, 0, 0, 0, 1]
    p = [0.9, 0.5, 0.2, 0.5, 0.4, 0.1, 0.7, 0.6]
    # predicted event (p >= 0.5): rows 0, 1, 3, 6, 7 -> TP rows 0, 1, 7; FP rows 3, 6
    # not predicted: rows 2, 4, 5 -> FN row 2; TN rows 4, 5
    out = confusion_at_cutoff(y, p, 0.5)
    assert out == {
        "true_positive": 3,
        "false_positive": 2,
        "true_negative": 2,
        "false_negative": 1,
        "sensitivity": 3 / 4,
        "specificity": 2 / 4,
        "precision": 3 / 5,
        "accuracy": 5 / 8,
        "predicted_event_rate": 5 / 8,
    }


def test_confusion_at_cutoff_undefined_rates_are_nan() -> None:
    out = confusion_at_cutoff([0, 1], [0.1, 0.2], cutoff=0.9)
    assert out["true_positive"] == out["false_positive"] == 0
    assert math.isnan(out["precision"])
    assert out["specificity"] == 1.0
    with pytest.raises(ValueError, match="cutoff"):
        confusion_at_cutoff([0, 1], [0.1, 0.2], cutoff=float("nan"))


def test_binary_metrics_agrees_with_individual_functions_and_is_json() -> None:
    y, p = random_scored_sample(13, 2000)
    out = binary_metrics(y, p)
    hl = hosmer_lemeshow(y, p)
    assert out == {
        "n": 2000,
        "events": int(y.sum()),
        "event_rate": pytest.approx(y.mean(), rel=1e-15),
        "auc": roc_auc(y, p),
        "gini": pytest.approx(gini(y, p), abs=1e-15),
        "ks": ks_statistic(y, p),
        "brier": brier_score(y, p),
        "log_loss": log_loss(y, p),
        "hosmer_lemeshow_statistic": hl.statistic,
        "hosmer_lemeshow_pvalue": hl.pvalue,
        "hosmer_lemeshow_dof": 8,
    }
    for key in ("n", "events", "hosmer_lemeshow_dof"):
        assert type(out[key]) is int
    for key in set(out) - {"n", "events", "hosmer_lemeshow_dof"}:
        assert type(out[key]) is float
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_binary_metrics_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="only one class"):
        binary_metrics([0, 0, 0], [0.1, 0.2, 0.3], groups=3)
