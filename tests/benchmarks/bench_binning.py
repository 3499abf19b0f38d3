"""Benchmark of the optimal binning against optbinning on the German credit data (not a test).

Run from the repository root (needs ``optbinning``, which the package does not)::

    python tests/benchmarks/bench_binning.py

On the training split of the project's default run (stratified, 30 % test, seed 42: 700 rows),
every numeric feature with more than four distinct values and every category feature is binned
by :func:`credit_glm.binning.fit_numeric_bins` / :func:`~credit_glm.binning.fit_category_groups`
and by ``optbinning.OptimalBinning`` (Navas-Palencia 2020, a constraint-programming solver) with
the same settings: at most 6 bins, pre-bins and bins of at least 5 % of the rows, 20 quantile
pre-bins, the trend (``auto`` is optbinning's ``auto_asc_desc``; the categories ascending in
their event-rate order). Each partition's IV is computed with one formula
(:func:`credit_glm.binning.information_value`), unsmoothed (optbinning's objective) and smoothed
with 0.5 pseudo-rows (ours), next to optbinning's own IV; ``woe_gap`` is the largest difference
between our unsmoothed WoE and minus optbinning's on its numeric bins; ``iv.5_unmerged`` is the
IV our DP reaches when the pre-bins are not merged first (the share is still enforced on the
bins); fit times are the median of repeats.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from credit_glm.binning import (  # noqa: E402
    Trend,
    bin_stats,
    fit_category_groups,
    fit_numeric_bins,
    information_value,
    numeric_prebin_cuts,
    optimal_partition,
    woe_values,
)
from credit_glm.split import stratified_holdout  # noqa: E402
from credit_glm.tables import resolve_path  # noqa: E402

MAX_BINS, SHARE, PREBINS, REPEATS = 6, 0.05, 20, 15
OPTB_TREND = {
    Trend.auto: "auto_asc_desc",
    Trend.ascending: "ascending",
    Trend.descending: "descending",
    Trend.peak: "peak",
    Trend.valley: "valley",
    Trend.none: None,
}


def median_ms(fit: Callable[[], Any]) -> tuple[float, Any]:
    result = fit()  # warm-up (imports, caches)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), result


def ivs(codes: np.ndarray, n_bins: int, y: np.ndarray) -> tuple[float, float]:
    stats = bin_stats(codes, n_bins, y, None)
    kept = [k for k, c in enumerate(stats.counts) if c]  # an empty bin has no unsmoothed WoE
    e = np.asarray(stats.events)[kept]
    n = np.asarray(stats.non_events)[kept]
    raw = information_value(e, n, 0.0) if (e > 0).all() and (n > 0).all() else float("nan")
    return raw, information_value(stats.events, stats.non_events, 0.5)


def unmerged_iv(x: np.ndarray, y: np.ndarray, trend: Trend) -> float:
    """The smoothed IV the DP reaches on the quantile pre-bins without the pre-bin merge."""
    cuts = numeric_prebin_cuts(x, PREBINS, 0.0)
    pre = bin_stats(np.searchsorted(cuts, x, side="right"), cuts.size + 1, y, None)
    tried = (Trend.ascending, Trend.descending) if trend is Trend.auto else (trend,)
    found = [
        optimal_partition(
            pre.events,
            pre.non_events,
            pre.counts,
            max_bins=MAX_BINS,
            min_count=math.ceil(SHARE * x.size),
            trend=t,
        )
        for t in tried
    ]
    return max((f[1] for f in found if f is not None), default=0.0)


def optbinning_fit(x: np.ndarray, y: np.ndarray, dtype: str, trend: str | None) -> Any:
    from optbinning import OptimalBinning

    optb = OptimalBinning(
        dtype=dtype,
        prebinning_method="quantile",
        max_n_prebins=PREBINS,
        min_prebin_size=SHARE,
        min_bin_size=SHARE,
        max_n_bins=MAX_BINS,
        monotonic_trend=trend,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optb.fit(x, y)
    return optb


def numeric_row(name: str, x: np.ndarray, y: np.ndarray, trend: Trend) -> dict[str, Any]:
    ms_ours, (cuts, used) = median_ms(
        lambda: fit_numeric_bins(
            x, y, None, max_bins=MAX_BINS, min_bin_share=SHARE, trend=trend, prebins=PREBINS
        )
    )
    ms_optb, optb = median_ms(lambda: optbinning_fit(x, y, "numerical", OPTB_TREND[trend]))
    splits = np.asarray(optb.splits, dtype=float)
    ours = ivs(np.searchsorted(cuts, x, side="right"), len(cuts) + 1, y)
    # optbinning's numerical bins are right-open too: (-inf, s1), [s1, s2), ...
    theirs = ivs(np.searchsorted(splits, x, side="right"), splits.size + 1, y)
    # our WoE is optbinning's with the sign flipped (unsmoothed, on its bins)
    table = optb.binning_table.build().iloc[: splits.size + 1]
    our_woe = woe_values(table["Event"].to_numpy(float), table["Non-event"].to_numpy(float), 0)
    woe_gap = float(np.max(np.abs(our_woe + table["WoE"].to_numpy(float))))
    return {
        "feature": name,
        "trend": f"{trend}->{used}",
        "bins": f"{len(cuts) + 1}/{splits.size + 1}",
        "iv0_ours": ours[0],
        "iv0_optb": theirs[0],
        "iv_optb_reported": optb.binning_table.build().loc["Totals", "IV"],
        "iv.5_ours": ours[1],
        "iv.5_optb": theirs[1],
        "iv.5_unmerged": unmerged_iv(x, y, trend),
        "ms_ours": ms_ours,
        "ms_optb": ms_optb,
        "woe_gap": woe_gap,
        "cuts_ours": list(cuts),
        "cuts_optb": splits.tolist(),
    }


def category_row(name: str, labels: list[str], y: np.ndarray) -> dict[str, Any]:
    ms_ours, groups = median_ms(
        lambda: fit_category_groups(labels, y, None, max_bins=MAX_BINS, min_bin_share=SHARE)
    )
    x = np.asarray(labels, dtype=object)
    ms_optb, optb = median_ms(lambda: optbinning_fit(x, y, "categorical", "ascending"))
    ours_of = {c: k for k, g in enumerate(groups) for c in g}
    theirs_of = {c: k for k, g in enumerate(optb.splits) for c in g}
    ours = ivs(np.array([ours_of[v] for v in labels]), len(groups), y)
    theirs = ivs(np.array([theirs_of[v] for v in labels]), len(optb.splits), y)
    return {
        "feature": name,
        "trend": "ascending",
        "bins": f"{len(groups)}/{len(optb.splits)}",
        "iv0_ours": ours[0],
        "iv0_optb": theirs[0],
        "iv_optb_reported": optb.binning_table.build().loc["Totals", "IV"],
        "iv.5_ours": ours[1],
        "iv.5_optb": theirs[1],
        "ms_ours": ms_ours,
        "ms_optb": ms_optb,
    }


def main() -> None:
    frame = pd.read_csv(resolve_path("builtin://german_credit.csv"))
    y_all = (frame.pop("creditability") == "bad").to_numpy(float)
    train, _ = stratified_holdout(y_all, 0.3, 42)
    frame, y = frame.iloc[train].reset_index(drop=True), y_all[train]
    print(f"German credit training split: {len(frame)} rows, event rate {y.mean():.3f}")
    rows = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            if column.nunique() <= 4:
                continue
            x = column.to_numpy(float)
            for trend in (Trend.auto, Trend.peak, Trend.valley, Trend.none):
                rows.append(numeric_row(name, x, y, trend))
        else:
            rows.append(category_row(name, column.astype(str).tolist(), y))
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(table.drop(columns=["cuts_ours", "cuts_optb"]).round(4).to_string(index=False))
        print()
        numeric = table.dropna(subset=["cuts_ours"])
        print(numeric[["feature", "trend", "cuts_ours", "cuts_optb"]].to_string(index=False))
    numeric_ms = table.loc[table["trend"].str.contains("->"), "ms_ours"]
    print(f"\nours: median numeric fit {numeric_ms.median():.2f} ms, max {numeric_ms.max():.2f} ms")


if __name__ == "__main__":
    main()
