"""Benchmark of the ``woe`` binning against optbinning on German credit (not a pytest test).

Run from the repository root (optbinning comes with the ``bench`` extra)::

    python tests/benchmarks/bench_woe.py
    python tests/benchmarks/bench_woe.py --selection stepwise

Both sides see the same rows: the 70/30 stratified split the training pipeline makes
(``split=stratified``, its seed). Both bin every German credit attribute with the same
constraints (at most 6 bins, each at least 5% of the training rows, a monotonic default rate for
numeric columns: ``trend: auto`` here, ``monotonic_trend="auto_asc_desc"`` there), encode the bins
by WoE and fit an unpenalised logistic regression on all of them, or, with ``--selection``,
with the same selection strategy run on each side's WoE columns through credit-glm's engine.

Printed, side by side:

- the test AUC of the two models (target: ours >= optbinning's);
- the IV of each feature (ours from the bin table, recomputed here from the training rows; and
  optbinning's ``information_value``);
- for each numeric feature, whether its bins' default rates are monotonic (ours, theirs);
- the time to fit the binning of all 20 attributes.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from credit_glm.binning import information_value  # noqa: E402
from credit_glm.feature_selection import select_features  # noqa: E402
from credit_glm.metrics import roc_auc  # noqa: E402
from credit_glm.schema import build_schema, validate_frame  # noqa: E402
from credit_glm.split import split_rows  # noqa: E402
from credit_glm.training import outcome_vector, train  # noqa: E402
from tests.conftest import GERMAN_CSV, compose_config  # noqa: E402


def _monotonic(rates: list[float]) -> bool:
    up = all(a < b for a, b in zip(rates, rates[1:], strict=False))
    down = all(a > b for a, b in zip(rates, rates[1:], strict=False))
    return up or down


def _iv_by_hand(x: pd.Series, y: np.ndarray, f: Any) -> float:
    """The IV of feature ``f``'s frozen bins over the training rows, from the bins' formula."""
    if f.groups is None:
        codes = np.searchsorted(np.asarray(f.cuts), x.astype(float).to_numpy(), side="right")
    else:
        where = {v: i for i, g in enumerate(f.groups) for v in g}
        codes = np.array([where[v] for v in x.astype(str)])
    k = int(codes.max()) + 1
    e = np.bincount(codes, weights=y, minlength=k)
    ne = np.bincount(codes, weights=1 - y, minlength=k)
    a = f.smoothing
    e = np.append(e, 0.0)  # the missing bin: no German credit value is missing
    ne = np.append(ne, 0.0)
    p = e.sum() / (e.sum() + ne.sum())
    es, nes = e + a * p, ne + a * (1 - p)
    woe = np.log((es / es.sum()) / (nes / nes.sum()))
    return float(((es / es.sum() - nes / nes.sum()) * woe).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--selection", default="none", help="a conf/selection option")
    args = parser.parse_args()

    overrides = ["features=woe_auto", f"selection={args.selection}", "selection.wrong_sign=drop"]
    config = compose_config(overrides)
    raw = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False, na_values=[""])
    t0 = time.perf_counter()
    trained = train(config, raw, select_features)
    ours_total = time.perf_counter() - t0
    ours_auc = trained.metrics["test"]["auc"]

    frame = validate_frame(raw, build_schema(config.data, "training"), config.data, "bench")
    frame = frame.reset_index(drop=True)
    y = outcome_vector(frame, config.data)
    split = split_rows(y, config.split)
    train_x, test_x = frame.iloc[split.train], frame.iloc[split.test]
    y_train, y_test = y[split.train], y[split.test]
    names = [f for f in config.features.features]
    categorical = [c for c in names if config.data.columns[c].type.value == "category"]

    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression

    warnings.filterwarnings("ignore")
    t1 = time.perf_counter()
    process = BinningProcess(
        variable_names=names,
        categorical_variables=categorical,
        max_n_bins=6,
        min_bin_size=0.05,
        binning_fit_params={
            c: {"monotonic_trend": "auto_asc_desc"} for c in names if c not in categorical
        },
    )
    process.fit(train_x[names], y_train)
    theirs_binning = time.perf_counter() - t1
    w_train = process.transform(train_x[names], metric="woe")
    w_test = process.transform(test_x[names], metric="woe")
    theirs_features = list(names)
    if args.selection != "none":
        theirs_features = _select_on_woe(config, w_train, y_train)
    model = LogisticRegression(penalty=None, max_iter=10_000)
    model.fit(w_train[theirs_features], y_train)
    theirs_auc = roc_auc(y_test, model.predict_proba(w_test[theirs_features])[:, 1])

    t2 = time.perf_counter()
    from credit_glm.features import fit_feature_spec
    from credit_glm.transforms import FitOutcome

    spec = fit_feature_spec(
        config.features,
        config.data,
        train_x.reset_index(drop=True),
        FitOutcome(event=y_train),
    )
    ours_binning = time.perf_counter() - t2

    print(f"rows: train {len(train_x)}, test {len(test_x)} (stratified, seed {config.split.seed})")
    print(f"selection: {args.selection}")
    print(
        f"test AUC   ours {ours_auc:.4f} ({len(trained.spec.features)} features)   "
        f"optbinning {theirs_auc:.4f} ({len(theirs_features)} features)   "
        f"{'MET' if ours_auc >= theirs_auc else 'MISSED'}"
    )
    print(
        f"binning fit (20 attributes): ours {ours_binning:.3f} s, optbinning {theirs_binning:.3f} s"
    )
    print(f"ours, whole training run: {ours_total:.2f} s")
    print()
    print(
        f"{'feature':58s} {'IV ours':>8s} {'by hand':>8s} {'optb.':>8s} {'optb.*':>8s} "
        f"{'bins':>9s} mono"
    )
    table = process.summary().set_index("name")
    all_equal, all_mono = True, True
    for f in spec.features:
        hand = _iv_by_hand(train_x[f.column], y_train, f)
        all_equal &= abs(hand - (f.iv or 0.0)) <= 1e-12 * max(1.0, hand)
        theirs_iv = float(table.loc[f.column, "iv"])
        theirs_table = process.get_binned_variable(f.column).binning_table.build()
        theirs_bins = theirs_table.iloc[:-1]  # the last row holds the totals
        theirs_bins = theirs_bins[theirs_bins["Bin"].astype(str) != "Special"]
        theirs_smoothed = information_value(
            theirs_bins["Event"].to_numpy(float), theirs_bins["Non-event"].to_numpy(float), 0.5
        )
        n_ours = len(f.cuts) + 1 if f.groups is None else len(f.groups)
        n_theirs = int(table.loc[f.column, "n_bins"])
        mono = ""
        if f.groups is None:
            ours_rates = [e / (e + ne) for _, _, e, ne, _ in (f.bin_table or ())[:n_ours]]
            bt = process.get_binned_variable(f.column).binning_table.build()
            theirs_rates = [float(r) for r in bt["Event rate"].iloc[:n_theirs]]
            ours_mono, theirs_mono = _monotonic(ours_rates), _monotonic(theirs_rates)
            all_mono &= ours_mono
            mono = f"{'yes' if ours_mono else 'NO'}/{'yes' if theirs_mono else 'no'}"
        print(
            f"{f.name:58s} {f.iv or 0.0:8.4f} {hand:8.4f} {theirs_iv:8.4f} {theirs_smoothed:8.4f} "
            f"{n_ours:>4d}/{n_theirs:<4d} {mono}"
        )
    print()
    print("optb.: optbinning's IV (unsmoothed); optb.*: the IV of optbinning's bins by our")
    print("formula (smoothing 0.5, the missing bin counted), comparable with 'IV ours'")
    print(f"IV equal to the computation by hand: {'yes' if all_equal else 'NO'}")
    print(f"every numeric feature monotonic (ours): {'yes' if all_mono else 'NO'}")


def _select_on_woe(config: Any, w_train: pd.DataFrame, y_train: np.ndarray) -> list[str]:
    """Run credit-glm's selection engine on optbinning's WoE columns (same settings)."""
    from credit_glm.config import (
        ColumnConfig,
        ColumnType,
        DataConfig,
        FeatureConfig,
        FeaturesConfig,
        TargetConfig,
    )
    from credit_glm.features import design_matrix, fit_feature_spec

    frame = w_train.reset_index(drop=True)
    columns = {c: ColumnConfig(type=ColumnType.float) for c in frame}
    data = DataConfig(
        name="woe",
        path="-",
        target=TargetConfig(column="y", event="1"),
        columns={**columns, "y": ColumnConfig(type=ColumnType.int)},
    )
    # optbinning's WoE is ln(%non-event / %event): a riskier bin has a smaller WoE
    feats = FeaturesConfig(name="woe", features={c: FeatureConfig(expected_sign=-1) for c in frame})
    spec = fit_feature_spec(feats, data, frame)
    X = design_matrix(spec, frame)
    outcome = select_features(config, spec, X, y_train, None)
    return list(outcome.selected)


if __name__ == "__main__":
    main()
