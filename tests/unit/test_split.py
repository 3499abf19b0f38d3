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
