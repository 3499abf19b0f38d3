"""Tests for credit_glm.binning.

The DP is checked against a brute-force enumeration of every contiguous partition of the
pre-bins (same constraints, the IV computed from the smoothing formula as written in the module
docstring with ``E' = E + k a p``); the WoE and IV against hand computations; weights against
replicated rows; the German credit fits against known directions of risk.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from credit_glm.binning import (
    BinStats,
    Trend,
    bin_stats,
    fit_category_groups,
    fit_numeric_bins,
    information_value,
    numeric_prebin_cuts,
    optimal_partition,
    woe_values,
)
from tests.conftest import GERMAN_CSV

CONCRETE = [Trend.ascending, Trend.descending, Trend.peak, Trend.valley, Trend.none]


# --- independent references -------------------------------------------------------------------


def reference_woe_iv(e: np.ndarray, n: np.ndarray, a: float) -> tuple[np.ndarray, float]:
    """WoE and IV as the brief writes them: pseudo-counts split by p, totals E', N'."""
    e, n = np.asarray(e, float), np.asarray(n, float)
    k = e.size
    p = e.sum() / (e.sum() + n.sum())
    e1, n1 = e + a * p, n + a * (1 - p)
    big_e, big_n = e.sum() + k * a * p, n.sum() + k * a * (1 - p)
    pe, pn = e1 / big_e, n1 / big_n
    woe = np.log(pe / pn)
    return woe, float(np.sum((pe - pn) * woe))


def shape_ok(rates: list[float], trend: Trend) -> bool:
    """Whether the bins' event rates have the trend (strict; a unimodal run may be monotone)."""
    d = np.diff(rates)
    if trend is Trend.none:
        return True
    if (d == 0).any():
        return False
    up = d > 0
    if trend is Trend.ascending:
        return bool(up.all())
    if trend is Trend.descending:
        return bool((~up).all())
    signs = "".join("+" if u else "-" for u in up)
    first, second = ("+", "-") if trend is Trend.peak else ("-", "+")
    return signs == first * signs.count(first) + second * signs.count(second)


def brute_force(
    e: np.ndarray,
    n: np.ndarray,
    c: np.ndarray,
    max_bins: int,
    min_count: int,
    trend: Trend,
    a: float,
) -> float | None:
    """The largest IV over every partition of the pre-bins into 2..max_bins contiguous bins."""
    best = None
    p = e.size
    for k in range(1, min(max_bins, p)):
        for cut in itertools.combinations(range(1, p), k):
            bounds = [0, *cut, p]
            ge = np.array([e[lo:hi].sum() for lo, hi in itertools.pairwise(bounds)])
            gn = np.array([n[lo:hi].sum() for lo, hi in itertools.pairwise(bounds)])
            gc = np.array([c[lo:hi].sum() for lo, hi in itertools.pairwise(bounds)])
            if (gc < min_count).any() or (ge + gn <= 0).any():
                continue
            if a == 0 and ((ge == 0) | (gn == 0)).any():
                continue
            if not shape_ok(list(ge / (ge + gn)), trend):
                continue
            iv = reference_woe_iv(ge, gn, a)[1]
            best = iv if best is None else max(best, iv)
    return best


def random_prebins(seed: int, weighted: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = int(rng.integers(8, 11))
    c = rng.integers(1, 60, size=p)
    # a drifting rate so that the monotone trends have partitions to find
    rate = np.clip(np.linspace(0.1, 0.6, p)[:: rng.choice([1, -1])] + rng.normal(0, 0.12, p), 0, 1)
    e = rng.binomial(c, rate).astype(float)
    n = c - e
    if weighted:
        e, n = e * rng.uniform(0.5, 2, p), n * rng.uniform(0.5, 2, p)
    return e, n, c


def groups_of(e: np.ndarray, starts: tuple[int, ...]) -> list[tuple[int, int]]:
    bounds = [0, *starts, e.size]
    return list(itertools.pairwise(bounds))


# --- the DP against brute force ---------------------------------------------------------------


@pytest.mark.parametrize("trend", CONCRETE)
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("smoothing", [0.5, 0.0])
def test_optimal_partition_equals_brute_force(trend: Trend, seed: int, smoothing: float) -> None:
    e, n, c = random_prebins(seed, weighted=seed % 2 == 1)
    max_bins = 3 + seed % 4
    min_count = int(c.sum() * 0.05 * (seed % 3))
    expected = brute_force(e, n, c, max_bins, min_count, trend, smoothing)
    found = optimal_partition(
        e, n, c, max_bins=max_bins, min_count=min_count, trend=trend, smoothing=smoothing
    )
    if expected is None:
        assert found is None
        return
    assert found is not None
    starts, iv = found
    assert iv == pytest.approx(expected, rel=1e-9, abs=1e-12)
    # the partition returned is feasible and has the IV returned
    bins = groups_of(e, starts)
    assert 2 <= len(bins) <= max_bins
    ge = np.array([e[lo:hi].sum() for lo, hi in bins])
    gn = np.array([n[lo:hi].sum() for lo, hi in bins])
    assert all(c[lo:hi].sum() >= min_count for lo, hi in bins)
    assert shape_ok(list(ge / (ge + gn)), trend)
    assert reference_woe_iv(ge, gn, smoothing)[1] == pytest.approx(iv, rel=1e-9, abs=1e-12)


def test_optimal_partition_ties_go_to_fewer_bins_then_the_leftmost_cut() -> None:
    # identical pre-bins: every partition has IV 0
    e, n, c = np.full(6, 2.0), np.full(6, 6.0), np.full(6, 8)
    found = optimal_partition(e, n, c, max_bins=4, min_count=0, trend=Trend.none)
    assert found is not None
    assert found[0] == (1,)
    assert found[1] == pytest.approx(0.0, abs=1e-15)


def test_optimal_partition_none_when_nothing_is_feasible() -> None:
    e, n, c = np.array([1.0, 1, 1]), np.array([3.0, 3, 3]), np.array([4, 4, 4])
    # equal rates are never strictly monotone
    assert optimal_partition(e, n, c, max_bins=3, min_count=0, trend=Trend.ascending) is None
    # 12 rows in pre-bins of 4: any two bins leave one with 4 < 7 rows
    assert optimal_partition(e, n, c, max_bins=3, min_count=7, trend=Trend.none) is None
    assert optimal_partition(e, n, c, max_bins=1, min_count=0, trend=Trend.none) is None


# --- the numeric fit -------------------------------------------------------------------------


def few_valued(seed: int, size: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    levels = int(rng.integers(8, 11))
    x = rng.integers(0, levels, size).astype(float) * 1.5
    bend = rng.choice([-1.0, 1.0])
    logit = bend * (x / x.max() - 0.5) * 2 + rng.normal(0, 0.5, levels)[(x / 1.5).astype(int)]
    y = (rng.uniform(size=size) < 1 / (1 + np.exp(-logit))).astype(float)
    x[rng.uniform(size=size) < 0.05] = np.nan
    return x, y


@pytest.mark.parametrize("trend", [*CONCRETE, Trend.auto])
@pytest.mark.parametrize("seed", range(5))
def test_fit_numeric_bins_is_the_brute_force_optimum_over_its_prebins(
    trend: Trend, seed: int
) -> None:
    x, y = few_valued(seed)
    share, max_bins = 0.05 * (seed % 3), 3 + seed % 3
    cuts, used = fit_numeric_bins(x, y, None, max_bins=max_bins, min_bin_share=share, trend=trend)
    ok = ~np.isnan(x)
    candidates = numeric_prebin_cuts(x, 20, 0.0)
    # few distinct values: the candidates are the distinct values (less those merged away)
    assert set(candidates) <= set(np.unique(x[ok])[1:])
    codes = np.searchsorted(candidates, x[ok], side="right")
    pre = bin_stats(codes, candidates.size + 1, y[ok], None)
    e, n, c = (np.asarray(v, float) for v in (pre.events, pre.non_events, pre.counts))
    min_count = math.ceil(share * ok.sum())
    tried = [Trend.ascending, Trend.descending] if trend is Trend.auto else [trend]
    ivs = {t: brute_force(e, n, c, max_bins, min_count, t, 0.5) for t in tried}
    feasible = {t: iv for t, iv in ivs.items() if iv is not None}
    if not feasible:
        assert cuts == ()
        assert used is tried[0]
        return
    assert used in feasible
    assert set(cuts) <= set(candidates)
    stats = bin_stats(np.searchsorted(cuts, x[ok], side="right"), len(cuts) + 1, y[ok], None)
    assert stats.iv() == pytest.approx(max(feasible.values()), rel=1e-9)
    assert shape_ok(list(stats.event_rate), used)


@pytest.mark.parametrize("trend", [*CONCRETE, Trend.auto])
@pytest.mark.parametrize("seed", range(6))
def test_fit_numeric_bins_respects_every_constraint(trend: Trend, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    size = 700
    x = rng.gamma(2.0, 3.0, size)
    shape = [np.sin, np.cos, np.negative, np.positive][seed % 4]
    y = (rng.uniform(size=size) < 1 / (1 + np.exp(-shape(x / 4)))).astype(float)
    x[rng.uniform(size=size) < 0.1] = np.nan
    max_bins, share = 3 + seed % 4, [0.05, 0.1, 0.02][seed % 3]
    cuts, used = fit_numeric_bins(x, y, None, max_bins=max_bins, min_bin_share=share, trend=trend)
    assert used is not Trend.auto
    if trend is not Trend.auto:
        assert used is trend
    if trend not in (Trend.ascending, Trend.descending):
        # these admit any two bins with unequal rates
        assert len(cuts) >= 1
    assert all(a < b for a, b in itertools.pairwise(cuts))
    ok = ~np.isnan(x)
    stats = bin_stats(np.searchsorted(cuts, x[ok], side="right"), len(cuts) + 1, y[ok], None)
    assert len(stats.counts) <= max_bins
    assert min(stats.counts) >= share * ok.sum() - 1e-9
    assert shape_ok(list(stats.event_rate), used)


def test_auto_is_the_better_of_ascending_and_descending() -> None:
    x, y = few_valued(3, size=2000)
    ivs = {}
    for t in (Trend.ascending, Trend.descending):
        cuts, _ = fit_numeric_bins(x, y, None, trend=t)
        ok = ~np.isnan(x)
        stats = bin_stats(np.searchsorted(cuts, x[ok], side="right"), len(cuts) + 1, y[ok], None)
        ivs[t] = stats.iv() if cuts else -1.0
    cuts, used = fit_numeric_bins(x, y, None, trend=Trend.auto)
    assert used is max(ivs, key=lambda t: ivs[t])
    assert cuts == fit_numeric_bins(x, y, None, trend=used)[0]


def test_weights_are_replicated_rows() -> None:
    x, y = few_valued(7, size=300)
    w = np.random.default_rng(7).integers(1, 5, x.size)
    for trend in CONCRETE:
        weighted = fit_numeric_bins(x, y, w.astype(float), min_bin_share=0.0, trend=trend)
        replicated = fit_numeric_bins(
            np.repeat(x, w), np.repeat(y, w), None, min_bin_share=0.0, trend=trend
        )
        assert weighted == replicated
    codes = np.nan_to_num(x, nan=-1.5).astype(int)
    codes[codes < 0] = -1
    a = bin_stats(codes, 14, y, w.astype(float))
    b = bin_stats(np.repeat(codes, w), 14, np.repeat(y, w), None)
    assert a.events == b.events and a.non_events == b.non_events
    labels = [None if np.isnan(v) else f"c{int(v)}" for v in x]
    replicated_labels = [lbl for lbl, k in zip(labels, w, strict=True) for _ in range(k)]
    assert fit_category_groups(labels, y, w.astype(float), min_bin_share=0.0) == (
        fit_category_groups(replicated_labels, np.repeat(y, w), None, min_bin_share=0.0)
    )


def test_degenerate_columns_get_no_cuts() -> None:
    y = np.array([0.0, 1, 0, 1, 0, 0])
    assert fit_numeric_bins(np.full(6, 3.0), y, None) == ((), Trend.ascending)
    assert fit_numeric_bins(np.full(6, np.nan), y, None) == ((), Trend.ascending)
    x = np.arange(6.0)
    assert fit_numeric_bins(x, np.zeros(6), None, min_bin_share=0) == ((), Trend.ascending)
    assert fit_numeric_bins(x, y, None, max_bins=1, min_bin_share=0) == ((), Trend.ascending)
    assert fit_numeric_bins(x, y, None, max_bins=2, min_bin_share=0, trend=Trend.peak)[1] is (
        Trend.peak
    )


def test_infinite_values_are_refused() -> None:
    for size in (10, 50):  # one pre-bin per value, and quantile pre-bins
        x = np.r_[np.arange(float(size)), np.inf]
        y = (np.arange(size + 1) % 3 == 0).astype(float)
        with pytest.raises(ValueError, match="finite"):
            fit_numeric_bins(x, y, None)


def test_prebin_cuts() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    cuts = numeric_prebin_cuts(x, prebins=10, min_bin_share=0.0)
    expected = np.unique(np.quantile(x, np.arange(1, 10) / 10, method="higher"))
    np.testing.assert_array_equal(cuts, expected)
    # few distinct values: one pre-bin per value
    small = np.array([1.0, 2, 2, 3, 5, 5, 5, np.nan])
    np.testing.assert_array_equal(numeric_prebin_cuts(small, 20, 0.0), [2.0, 3.0, 5.0])
    # pre-bins of 1, 2, 1, 3 rows, merged up to ceil(0.3 * 7) = 3: the smallest (leftmost) {1}
    # joins its only neighbour {2, 2}; then {3} (1 row) the smaller of two equal neighbours,
    # the left one
    np.testing.assert_array_equal(numeric_prebin_cuts(small, 20, 0.3), [5.0])
    # the smaller neighbour: {3} (1 row) between {2, 2} (2) and {5, 5, 5} (3) goes left
    np.testing.assert_array_equal(numeric_prebin_cuts(small[1:], 20, 0.25), [5.0])
    # and to the right when that one is smaller
    np.testing.assert_array_equal(
        numeric_prebin_cuts(np.array([2.0, 2, 2, 3, 5, 5]), 20, 0.25), [3.0]
    )
    tail = np.array([1.0, 2, 2, 3])
    assert numeric_prebin_cuts(tail, 20, 0.5).size == 0
    skewed = rng.exponential(size=500).round(1)
    for share in (0.02, 0.05, 0.2):
        c = numeric_prebin_cuts(skewed, 20, share)
        counts = np.bincount(np.searchsorted(c, skewed, side="right"))
        assert counts.min() >= share * skewed.size - 1e-9


# --- WoE and IV --------------------------------------------------------------------------------


def test_woe_without_smoothing_is_the_textbook_formula() -> None:
    e, n = np.array([10.0, 20, 30]), np.array([90.0, 60, 30])
    # E = 60, N = 180: %e = 1/6, 1/3, 1/2; %n = 1/2, 1/3, 1/6
    expected = [math.log((1 / 6) / (1 / 2)), 0.0, math.log((1 / 2) / (1 / 6))]
    np.testing.assert_allclose(woe_values(e, n, smoothing=0), expected, atol=1e-15)
    iv = sum(
        (pe - pn) * w
        for pe, pn, w in zip([1 / 6, 1 / 3, 1 / 2], [1 / 2, 1 / 3, 1 / 6], expected, strict=True)
    )
    assert information_value(e, n, smoothing=0) == pytest.approx(iv, rel=1e-14)
    assert iv == pytest.approx(2 * (1 / 3) * math.log(3), rel=1e-14)


@pytest.mark.parametrize("smoothing", [0.5, 1.0, 3.0])
def test_smoothed_woe_and_iv_match_the_pseudo_count_formula(smoothing: float) -> None:
    e, n = np.array([0.0, 4, 12, 7, 0]), np.array([40.0, 25, 0, 9, 0])
    woe, iv = reference_woe_iv(e, n, smoothing)
    got = woe_values(e, n, smoothing)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, woe, rtol=1e-12, atol=1e-14)
    assert information_value(e, n, smoothing) == pytest.approx(iv, rel=1e-12)
    # the empty bin: the population log-odds over E'/N', i.e. 0
    assert got[4] == 0.0
    p = e.sum() / (e.sum() + n.sum())
    big_e, big_n = e.sum() + 5 * smoothing * p, n.sum() + 5 * smoothing * (1 - p)
    assert math.log((p / (1 - p)) / (big_e / big_n)) == pytest.approx(0.0, abs=1e-12)
    # zero-event bin is the safest, zero-non-event bin the riskiest
    assert got[0] == got.min() and got[2] == got.max()


def test_woe_refuses_what_it_cannot_compute() -> None:
    with pytest.raises(ValueError, match="infinite"):
        woe_values([0.0, 5], [3.0, 4], smoothing=0)
    with pytest.raises(ValueError, match="both events and non-events"):
        woe_values([0.0, 0], [3.0, 4])
    with pytest.raises(ValueError, match="smoothing"):
        information_value([1.0, 5], [3.0, 4], smoothing=-1)


def test_bin_stats_and_its_methods() -> None:
    codes = np.array([0, 0, 1, 1, 1, -1, 3])
    y = np.array([1.0, 0, 0, 0, 1, 1, 1])
    w = np.array([2.0, 1, 1, 1, 0.5, 9, 1])
    stats = bin_stats(codes, 4, y, w)
    assert stats == BinStats((2.0, 0.5, 0.0, 1.0), (1.0, 2.0, 0.0, 0.0), (2, 3, 0, 1))
    rates = stats.event_rate
    assert rates[:2] == (2 / 3, 0.5 / 2.5) and math.isnan(rates[2]) and rates[3] == 1.0
    assert stats.woe() == tuple(woe_values(stats.events, stats.non_events))
    assert stats.iv(1.0) == information_value(stats.events, stats.non_events, 1.0)
    with pytest.raises(ValueError, match="below n_bins"):
        bin_stats(codes, 3, y, w)
    with pytest.raises(ValueError, match="only 0 and 1"):
        bin_stats(codes, 4, y * 2, w)


# --- categories --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_category_groups_are_the_optimal_partition_of_the_rate_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cats = [f"level {k}" for k in range(int(rng.integers(5, 10)))]
    risk = dict(zip(cats, rng.uniform(0.05, 0.7, len(cats)), strict=True))
    labels = list(rng.choice(cats, 600, p=rng.dirichlet(np.ones(len(cats)))))
    y = np.array([float(rng.uniform() < risk[lbl]) for lbl in labels])
    labels_with_missing: list[str | None] = [
        None if k % 17 == 0 else v for k, v in enumerate(labels)
    ]
    max_bins, share = 2 + seed % 4, 0.05 * (seed % 3)
    groups = fit_category_groups(
        labels_with_missing, y, None, max_bins=max_bins, min_bin_share=share
    )
    seen = sorted({v for v in labels_with_missing if v is not None})
    flat = [c for g in groups for c in g]
    assert sorted(flat) == seen and len(flat) == len(seen)
    assert all(list(g) == sorted(g) for g in groups)
    # the reference: categories by smoothed event rate, then brute force over contiguous cuts
    keep = np.array([v is not None for v in labels_with_missing])
    frame = pd.DataFrame({"c": np.array(labels, dtype=object)[keep], "y": y[keep]})
    per = frame.groupby("c")["y"].agg(["sum", "count"])
    p = per["sum"].sum() / per["count"].sum()
    per["smoothed"] = (per["sum"] + 0.5 * p) / (per["count"] + 0.5)
    per = per.reset_index().sort_values(["smoothed", "c"])
    e = per["sum"].to_numpy(float)
    n = (per["count"] - per["sum"]).to_numpy(float)
    c = per["count"].to_numpy()
    min_count = math.ceil(share * keep.sum())
    expected = brute_force(e, n, c, max_bins, min_count, Trend.ascending, 0.5)
    group_of = {cat: k for k, g in enumerate(groups) for cat in g}
    codes = np.array([group_of[v] for v in frame["c"]])
    stats = bin_stats(codes, len(groups), frame["y"].to_numpy(), None)
    if expected is None:
        assert len(groups) == 1
        return
    assert 2 <= len(groups) <= max_bins
    assert min(stats.counts) >= min_count
    assert all(a < b for a, b in itertools.pairwise(stats.event_rate))
    assert stats.iv() == pytest.approx(expected, rel=1e-9)


def test_category_edge_cases() -> None:
    y = np.array([1.0, 0, 0, 1, 0, 0])
    assert fit_category_groups([None] * 6, y, None) == ()
    assert fit_category_groups(["b"] * 6, y, None) == (("b",),)
    labels = ["b", "a", "c", "a", None, "c"]
    assert fit_category_groups(labels, y, None, max_bins=1) == (("a", "b", "c"),)
    # b: rate 1, a: 1/2, c: 0 -> groups by increasing rate
    assert fit_category_groups(labels, y, None, min_bin_share=0) == (("c",), ("a",), ("b",))
    # no events among the labelled rows: one group
    assert fit_category_groups(labels, np.zeros(6), None, min_bin_share=0) == (("a", "b", "c"),)


def test_trend_accepts_its_text() -> None:
    x, y = few_valued(2)
    assert fit_numeric_bins(x, y, None, trend="peak") == fit_numeric_bins(  # type: ignore[arg-type]
        x, y, None, trend=Trend.peak
    )


# --- German credit -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return pd.read_csv(GERMAN_CSV)


@pytest.mark.parametrize(
    ("column", "direction"),
    [
        ("duration_in_month", Trend.ascending),  # longer loans default more
        ("credit_amount", Trend.ascending),  # larger loans default more
        ("age_in_years", Trend.descending),  # older borrowers default less
    ],
)
def test_german_credit_monotone_trends(german: pd.DataFrame, column: str, direction: Trend) -> None:
    x = german[column].to_numpy(float)
    y = (german["creditability"] == "bad").to_numpy(float)
    cuts, used = fit_numeric_bins(x, y, None)
    assert used is direction
    stats = bin_stats(np.searchsorted(cuts, x, side="right"), len(cuts) + 1, y, None)
    assert 2 <= len(stats.counts) <= 6
    assert min(stats.counts) >= 0.05 * x.size
    assert shape_ok(list(stats.event_rate), direction)
