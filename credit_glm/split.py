"""Train/test splits: stratified and seeded, out-of-time, or none."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_glm.config import SplitConfig, SplitMethod
from credit_glm.errors import DataError

__all__ = ["Split", "split_rows"]


@dataclass(frozen=True)
class Split:
    """Row positions of the training and test samples (``test`` is empty for ``none``)."""

    train: np.ndarray
    test: np.ndarray


def _stratified(y: np.ndarray, test_size: float, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    test_parts = []
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        n_test = int(round(test_size * idx.size))
        if n_test == 0 or n_test == idx.size:
            raise DataError(
                f"split.test_size={test_size} leaves class {cls} ({idx.size} rows) with no "
                "training or no test rows"
            )
        test_parts.append(rng.permutation(idx)[:n_test])
    test = np.sort(np.concatenate(test_parts))
    train = np.setdiff1d(np.arange(y.size), test)
    return Split(train=train, test=test)


def split_rows(y: np.ndarray, config: SplitConfig, dates: pd.Series | None = None) -> Split:
    """Split row positions ``0..n-1`` as ``config`` says.

    Stratified: each class is permuted with ``numpy.random.default_rng(seed)`` and its first
    ``round(test_size * n_class)`` rows go to test, so both samples keep the event rate.
    Out of time: rows dated before ``cutoff`` train, the others test.
    """
    n = y.size
    if config.method is SplitMethod.none:
        return Split(train=np.arange(n), test=np.arange(0))
    if config.method is SplitMethod.stratified:
        return _stratified(y, config.test_size, config.seed)
    if dates is None:
        raise DataError("split.method=out_of_time needs data.date_column")
    cutoff = pd.Timestamp(str(config.cutoff))
    when = pd.to_datetime(dates).to_numpy()
    before = when < cutoff.to_datetime64()
    train, test = np.flatnonzero(before), np.flatnonzero(~before)
    for name, part in (("training", train), ("test", test)):
        if part.size == 0 or np.unique(y[part]).size < 2:
            raise DataError(
                f"split.cutoff={config.cutoff} leaves the {name} sample without both classes "
                f"({part.size} rows)"
            )
    return Split(train=train, test=test)
