"""Collinearity diagnostics for a design matrix: generalised VIFs and the condition number.

Pure numpy; the design matrix is an ``n x p`` array whose column 0 is the intercept (when
there is one) and whose other columns are grouped by the feature that produced them (a
one-hot or binned feature contributes several columns that only make sense together).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

__all__ = ["GVIF", "condition_number", "generalized_vif"]

FloatArray = npt.NDArray[np.float64]

# log of the largest finite float: a larger log-GVIF is reported as inf.
_MAX_LOG = math.log(np.finfo(np.float64).max)


@dataclass(frozen=True)
class GVIF:
    """Generalised variance-inflation factor of one feature (a group of ``df`` columns).

    ``gvif_adjusted = gvif ** (1 / (2 * df))`` is on the scale of ``sqrt(VIF)`` and so
    comparable across features with different numbers of columns (Fox & Monette 1992).
    """

    gvif: float
    df: int
    gvif_adjusted: float


def _as_matrix(func: str, X: npt.ArrayLike) -> FloatArray:
    try:
        x: FloatArray = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{func}: X must be numeric: {exc}") from exc
    if x.ndim != 2:
        raise ValueError(f"{func}: X must be two-dimensional, got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{func}: X is empty (shape {x.shape})")
    if not np.isfinite(x).all():
        raise ValueError(f"{func}: X contains NaN or infinite values")
    return x


def _group_columns(
    groups: Mapping[str, Sequence[int]], first: int, n_columns: int
) -> dict[str, list[int]]:
    """Validate that ``groups`` partitions the regressor columns ``first .. n_columns - 1``."""
    if not groups:
        raise ValueError("generalized_vif: groups is empty")
    owner: dict[int, str] = {}
    parsed: dict[str, list[int]] = {}
    for name, columns in groups.items():
        cols: list[int] = []
        for col in columns:
            if isinstance(col, bool) or not isinstance(col, numbers.Integral):
                raise ValueError(
                    f"generalized_vif: group {name!r} has a non-integer column index {col!r}"
                )
            index = int(col)
            if not first <= index < n_columns:
                what = "the intercept column 0" if index == 0 and first == 1 else "out of range"
                raise ValueError(
                    f"generalized_vif: group {name!r} refers to column {index}, which is "
                    f"{what} (regressor columns are {first}..{n_columns - 1})"
                )
            if index in owner:
                raise ValueError(
                    f"generalized_vif: column {index} is in both group {owner[index]!r} and "
                    f"group {name!r}"
                )
            owner[index] = name
            cols.append(index)
        if not cols:
            raise ValueError(f"generalized_vif: group {name!r} has no columns")
        parsed[name] = cols
    missing = sorted(set(range(first, n_columns)) - owner.keys())
    if missing:
        raise ValueError(
            f"generalized_vif: columns {missing} belong to no group; every regressor column "
            "must be in exactly one group"
        )
    return parsed


def generalized_vif(
    X: npt.ArrayLike, groups: Mapping[str, Sequence[int]], intercept: bool = True
) -> dict[str, GVIF]:
    """Generalised variance-inflation factors (Fox & Monette 1992), one per feature.

    With ``R`` the correlation matrix of the regressor (non-intercept) columns, and for a
    feature ``j`` with columns ``J`` and the remaining columns ``-J``,

    ``GVIF_j = det(R_JJ) * det(R_-J,-J) / det(R)``.

    For a single column this is the ordinary VIF ``1 / (1 - R_j^2)``. ``GVIF_j ** (1 / df)``
    is the factor by which collinearity inflates the volume of the joint confidence ellipsoid
    of the feature's coefficients; it does not depend on how the feature is coded (any
    invertible recoding of the group's columns gives the same value).

    Parameters
    ----------
    X : array-like, shape (n, p)
        Design matrix. With ``intercept=True`` column 0 must be a non-zero constant (the
        intercept); it is not part of any group.
    groups : mapping of str to sequence of int
        Feature name to the indices of its columns in ``X``. Every regressor column must be in
        exactly one group.
    intercept : bool, default True
        Whether column 0 is the intercept. The regressors are centred either way (``R`` is a
        correlation matrix, as in the definition, which assumes a model with an intercept).

    Returns
    -------
    dict of str to GVIF
        In the order of ``groups``. With a single group (no other columns) the GVIF is 1.

    Notes
    -----
    The determinants are evaluated as log-determinants (``numpy.linalg.slogdet``) of the
    cross-products of the triangular factor of a QR decomposition of the centred,
    unit-length-scaled regressors, so large designs cost one ``O(n p^2)`` factorisation and
    nothing underflows. Exact collinearity is decided from singular values (numpy's
    ``matrix_rank`` tolerance) and gives ``inf`` rather than an error, for every feature whose
    columns are linearly dependent on their own, on the intercept (e.g. a constant column, or
    all levels of a one-hot feature) or on the other features. Collinearity confined to the
    other features does not make a feature's GVIF infinite: only the space the others span
    matters, so a basis of it is used.

    References
    ----------
    Fox, J. & Monette, G. (1992). Generalized collinearity diagnostics. *J. Amer. Statist.
    Assoc.* 87(417), 178-183.
    """
    x = _as_matrix("generalized_vif", X)
    n, n_columns = x.shape
    first = 1 if intercept else 0
    if intercept and not (x[0, 0] != 0.0 and np.all(x[:, 0] == x[0, 0])):
        raise ValueError(
            "generalized_vif: intercept=True but column 0 of X is not a non-zero constant"
        )
    parsed = _group_columns(groups, first, n_columns)
    if n < 2:
        raise ValueError(f"generalized_vif: X needs at least 2 rows, got {n}")

    regressors = x[:, first:]
    constant = np.ptp(regressors, axis=0) == 0.0
    z = regressors - regressors.mean(axis=0)
    z[:, constant] = 0.0
    norms = np.linalg.norm(z, axis=0)
    z = np.divide(z, norms, out=np.zeros_like(z), where=norms > 0.0)
    # z'z = a'a is the correlation matrix (zero rows/columns for constant regressors).
    # numpy returns just R for mode="r"; its stubs claim a QRResult.
    a = cast(FloatArray, np.linalg.qr(z, mode="r"))
    singular = np.linalg.svd(a, compute_uv=False)
    tol = float(singular.max(initial=0.0)) * max(z.shape) * float(np.finfo(np.float64).eps)

    def rank(columns: list[int]) -> int:
        if not columns:
            return 0
        s = np.linalg.svd(a[:, columns], compute_uv=False)
        return int(np.sum(s > tol))

    full_rank = int(np.sum(singular > tol))
    result: dict[str, GVIF] = {}
    for name, cols in parsed.items():
        own = [c - first for c in cols]
        others = sorted(set(range(z.shape[1])) - set(own))
        df = len(own)
        own_rank = rank(own)
        other_rank = rank(others)
        if own_rank < df or full_rank < own_rank + other_rank:
            value = math.inf
        else:
            value = _gvif_from_blocks(a[:, own], a[:, others], other_rank)
        result[name] = GVIF(gvif=value, df=df, gvif_adjusted=value ** (1.0 / (2.0 * df)))
    return result


def _gvif_from_blocks(own: FloatArray, others: FloatArray, other_rank: int) -> float:
    """``det(R_JJ) det(R_OO) / det(R)`` from square-root factors of the two blocks."""
    if other_rank == 0:
        return 1.0
    if other_rank < others.shape[1]:
        # The other columns are collinear among themselves: replace them by an orthonormal
        # basis of the space they span (the GVIF depends only on that space).
        u, _, _ = np.linalg.svd(others, full_matrices=False)
        others = u[:, :other_rank]
    m = np.column_stack([own, others])
    gram = m.T @ m
    df = own.shape[1]
    sign_own, log_own = np.linalg.slogdet(gram[:df, :df])
    sign_other, log_other = np.linalg.slogdet(gram[df:, df:])
    sign_all, log_all = np.linalg.slogdet(gram)
    if min(sign_own, sign_other, sign_all) <= 0.0:
        return math.inf
    log_gvif = float(log_own + log_other - log_all)
    if log_gvif >= _MAX_LOG:
        return math.inf
    # Mathematically GVIF >= 1; clamp rounding error just below it.
    return max(math.exp(log_gvif), 1.0)


def condition_number(X: npt.ArrayLike, scale: bool = True) -> float:
    """Belsley-Kuh-Welsch condition number of a design matrix.

    With ``scale=True`` every column (the intercept included, none centred) is first scaled
    to unit Euclidean length, then the ratio of the largest to the smallest singular value is
    returned. Belsley, Kuh & Welsch suggest values above about 30 indicate collinearity worth
    examining. ``scale=False`` gives the raw ratio of ``X`` itself, which depends on the units
    of the columns.

    Parameters
    ----------
    X : array-like, shape (n, p)
        Design matrix.
    scale : bool, default True
        Scale columns to unit length first.

    Returns
    -------
    float
        The condition number, ``>= 1``; ``inf`` when a column is all zeros or ``n < p``. An
        exactly collinear design gives a very large finite value (about ``1 / machine eps``),
        as ``numpy.linalg.cond`` does.

    References
    ----------
    Belsley, D. A., Kuh, E. & Welsch, R. E. (1980). *Regression Diagnostics: Identifying
    Influential Data and Sources of Collinearity*. Wiley, chapter 3.
    """
    x = _as_matrix("condition_number", X)
    n, p = x.shape
    if scale:
        norms = np.linalg.norm(x, axis=0)
        if np.any(norms == 0.0):
            return math.inf
        x = x / norms
    if n < p:
        return math.inf
    s = np.linalg.svd(x, compute_uv=False)
    if s[-1] == 0.0:
        return math.inf
    return float(s[0] / s[-1])
