"""Train/test splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_glm.config import SplitConfig, SplitMethod
from credit_glm.errors import DataError
from credit_glm.split import split_rows


def test_stratified_split_keeps_the_event_rate_and_is_seeded() -> None:
    y = np.r_[np.ones(300), np.zeros(700)]
    cfg = SplitConfig(test_size=0.3, seed=5)
    a, b = split_rows(y, cfg), split_rows(y, cfg)
    np.testing.assert_array_equal(a.test, b.test)
    assert a.test.size == 300 and y[a.test].sum() == 90
    assert np.intersect1d(a.train, a.test).size == 0
    assert np.union1d(a.train, a.test).size == 1000
    other = split_rows(y, SplitConfig(test_size=0.3, seed=6))
    assert not np.array_equal(a.test, other.test)


def test_out_of_time_split_cuts_at_the_date() -> None:
    dates = pd.Series(pd.date_range("2020-01-01", periods=10, freq="MS"))
    y = np.array([0, 1] * 5, dtype=float)
    cfg = SplitConfig(method=SplitMethod.out_of_time, cutoff="2020-07-01")
    s = split_rows(y, cfg, dates)
    assert s.train.tolist() == [0, 1, 2, 3, 4, 5] and s.test.tolist() == [6, 7, 8, 9]
    with pytest.raises(DataError, match="cutoff"):
        split_rows(y, SplitConfig(method=SplitMethod.out_of_time, cutoff="2019-01-01"), dates)


def test_none_uses_every_row() -> None:
    s = split_rows(np.array([0.0, 1.0, 1.0]), SplitConfig(method=SplitMethod.none))
    assert s.train.tolist() == [0, 1, 2] and s.test.size == 0


@pytest.mark.parametrize("seed", [0, 5, 42])
def test_training_split_and_selection_holdout_deal_rows_alike(seed: int) -> None:
    # one stratified shuffle: a holdout criterion with the training split's seed and size
    # holds out exactly the training split's test rows
    from credit_glm.selection.criteria import CrossValidation, make_folds

    y = (np.random.default_rng(seed + 100).random(257) < 0.3).astype(float)
    split = split_rows(y, SplitConfig(test_size=0.3, seed=seed))
    ((train, test),) = make_folds(y, CrossValidation(holdout=0.3, seed=seed))
    np.testing.assert_array_equal(test, split.test)
    np.testing.assert_array_equal(train, split.train)


def test_stratified_folds_partition_rows_and_keep_the_event_rate() -> None:
    from credit_glm.split import stratified_folds

    y = (np.random.default_rng(3).random(203) < 0.25).astype(float)
    fold = stratified_folds(y, 4, seed=9)
    assert sorted(set(fold.tolist())) == [0, 1, 2, 3]
    for cls in (0.0, 1.0):
        sizes = np.bincount(fold[y == cls], minlength=4)
        assert sizes.max() - sizes.min() <= 1
    unstratified = stratified_folds(y, 4, seed=9, stratified=False)
    assert np.bincount(unstratified).max() - np.bincount(unstratified).min() <= 1


def test_a_class_too_small_for_the_test_share_is_named() -> None:
    y = np.r_[np.ones(1), np.zeros(50)]
    with pytest.raises(DataError, match="split.test_size=0.3 leaves class 1"):
        split_rows(y, SplitConfig(test_size=0.3, seed=1))
