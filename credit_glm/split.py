"""Train/test splits: stratified and seeded, out-of-time, or none.

The stratified shuffle is written once here (:func:`stratified_holdout`,
:func:`stratified_folds`): the training split and the cross-validation folds of feature
selection both deal rows this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_glm.config import SplitConfig, SplitMethod
from credit_glm.errors import DataError

__all__ = ["Split", "split_rows", "stratified_folds", "stratified_holdout"]


@dataclass(frozen=True)
class Split:
    """Row positions of the training and test samples (``test`` is empty for ``none``)."""

    train: np.ndarray
    test: np.ndarray


def _strata(y: np.ndarray, stratified: bool) -> list[np.ndarray]:
    """Row positions dealt separately: non-events, then events (or all rows together)."""
    if not stratified:
        return [np.arange(y.shape[0])]
    return [np.flatnonzero(y == 0), np.flatnonzero(y == 1)]


def stratified_holdout(
    y: np.ndarray, test_size: float, seed: int, stratified: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row positions (each sorted): every class is permuted with
    ``numpy.random.default_rng(seed)``, non-events first, and its first
    ``round(test_size * n_class)`` rows go to test, so both samples keep the event rate."""
    rng = np.random.default_rng(seed)
    in_test = np.zeros(y.shape[0], dtype=bool)
    for rows in _strata(y, stratified):
        in_test[rng.permutation(rows)[: int(round(test_size * rows.size))]] = True
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def stratified_folds(
    y: np.ndarray, n_splits: int, seed: int, stratified: bool = True
) -> np.ndarray:
    """The fold (``0 .. n_splits - 1``) of each row: every class is permuted as in
    :func:`stratified_holdout` and dealt to the folds in turn, so fold event rates differ by
    at most one event."""
    rng = np.random.default_rng(seed)
    fold = np.empty(y.shape[0], dtype=np.intp)
    for rows in _strata(y, stratified):
        perm = rng.permutation(rows)
        fold[perm] = np.arange(perm.shape[0]) % n_splits
    return fold


def _stratified(y: np.ndarray, test_size: float, seed: int) -> Split:
    train, test = stratified_holdout(y, test_size, seed)
    for cls in (0, 1):
        n_train = int(np.count_nonzero(y[train] == cls))
        n_test = int(np.count_nonzero(y[test] == cls))
        if n_train == 0 or n_test == 0:
            raise DataError(
                f"split.test_size={test_size} leaves class {cls} ({n_train + n_test} rows) "
                "with no training or no test rows"
            )
    return Split(train=train, test=test)


def split_rows(y: np.ndarray, config: SplitConfig, dates: pd.Series | None = None) -> Split:
    """Split row positions ``0..n-1`` as ``config`` says.

    Stratified: :func:`stratified_holdout`.
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
