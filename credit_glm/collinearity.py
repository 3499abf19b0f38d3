"""Collinearity diagnostics for a design matrix: generalised VIFs and the condition number.

Pure numpy; the design matrix is an ``n x p`` array whose column 0 is the intercept (when
there is one) and whose other columns are grouped by the feature that produced them (a
one-hot or binned feature contributes several columns that only make sense together).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.linalg import lapack

from credit_glm.row_blocks import r_factor, row_blocks

__all__ = ["GVIF", "CorrelationFactor", "condition_number", "generalized_vif", "vif_equivalent"]

FloatArray = npt.NDArray[np.float64]

# log of the largest finite float: a larger log-GVIF is reported as inf.
_MAX_LOG = math.log(np.finfo(np.float64).max)
#: The share of a column's variance not explained by the model's other columns (``1 / VIF``,
#: a Cholesky pivot of ``R``) above which the correlation matrix is inverted directly; below
#: it the rank-revealing path decides, since forming ``R`` squares the condition number.
_FAST_PIVOT = 1e-8


@dataclass(frozen=True)
class GVIF:
    """Generalised variance-inflation factor of one feature (a group of ``df`` columns).

    ``gvif_adjusted = gvif ** (1 / (2 * df))`` is on the scale of ``sqrt(VIF)`` and so
    comparable across features with different numbers of columns (Fox & Monette 1992).
    """

    gvif: float
    df: int
    gvif_adjusted: float

    @property
    def vif(self) -> float:
        """``gvif ** (1 / df)``: see :func:`vif_equivalent`."""
        return vif_equivalent(self.gvif, self.df)


def vif_equivalent(gvif: float, df: int) -> float:
    """``GVIF ** (1 / df)``, the figure the ``max_vif`` constraint and gate limit.

    The plain VIF for a one-column feature; for a feature of ``df`` columns the geometric mean
    inflation of its confidence ellipsoid's axes, comparable across features (Fox & Monette
    1992). ``inf`` stays ``inf``.
    """
    return float(gvif ** (1.0 / df))


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
    X: npt.ArrayLike,
    groups: Mapping[str, Sequence[int]],
    intercept: bool = True,
    weights: npt.ArrayLike | None = None,
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
    weights : array-like, shape (n,), optional
        Frequency weights: ``R`` is then the weighted correlation matrix, the one of the data
        with row ``i`` repeated ``weights[i]`` times (the data the model is fitted to).

    Returns
    -------
    dict of str to GVIF
        In the order of ``groups``. With a single group (no other columns) the GVIF is 1.

    Notes
    -----
    Computed by :class:`CorrelationFactor`, which the selection constraint ``max_vif`` uses
    for every candidate model, so the search and the evaluation gate apply one formula.

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
    values = CorrelationFactor(x, weights, intercept).gvif(list(parsed.values()))
    return {
        name: GVIF(gvif=value, df=len(cols), gvif_adjusted=value ** (1.0 / (2.0 * len(cols))))
        for (name, cols), value in zip(parsed.items(), values, strict=True)
    }


class CorrelationFactor:
    """The (weighted) correlation structure of a design's regressors, for the GVIF of any
    model made of some of its column groups.

    Built once per design; :meth:`gvif` then costs a ``k x k`` factorisation per model of
    ``k`` columns, which is what lets feature selection check ``max_vif`` on every candidate.

    Parameters
    ----------
    X : array-like, shape (n, p)
        Design matrix (already validated), column 0 the intercept when ``intercept``.
    weights : array-like, shape (n,), optional
        Non-negative frequency weights; rows of weight 0 do not count.
    intercept : bool
        Whether column 0 is the intercept (never part of a group).

    Notes
    -----
    The regressors are centred and scaled to unit (weighted) length, ``z``, so ``R = z'z``.
    A model whose correlation matrix is clearly positive definite (every column keeps more
    than :data:`_FAST_PIVOT` of its variance given the others) uses
    ``GVIF_j = det(R_JJ) det((R^-1)_JJ)``, the Schur-complement form of the definition: one
    inverse for all features, and for a one-column feature the diagonal of ``R^-1`` (the plain
    VIF). Otherwise the determinants are evaluated as log-determinants of cross-products of
    the triangular factor of a QR decomposition of ``z``, so nothing underflows; exact
    collinearity is decided from singular values (numpy's ``matrix_rank`` tolerance) and gives
    ``inf`` for every feature whose columns are linearly dependent on their own, on the
    intercept (e.g. a constant column, or all levels of a one-hot feature) or on the other
    features. Collinearity confined to the other features does not make a feature's GVIF
    infinite: only the space the others span matters, so a basis of it is used.
    """

    def __init__(
        self, X: npt.ArrayLike, weights: npt.ArrayLike | None = None, intercept: bool = True
    ) -> None:
        x = np.asarray(X, dtype=np.float64)
        self.first = 1 if intercept else 0
        regressors = x[:, self.first :]
        if weights is None:
            w = np.ones(x.shape[0])
        else:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != (x.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError("weights must be finite, non-negative, one per row of X")
        live = w > 0
        if not np.any(live):
            raise ValueError("weights are all zero")
        # Three passes over blocks of rows, so no temporary is the design's size: the range
        # and weighted mean of each column, its centred weighted length, then the
        # correlations and the triangular factor of the centred, scaled columns z.
        k = regressors.shape[1]
        low, high, weighted_sum = np.full(k, np.inf), np.full(k, -np.inf), np.zeros(k)
        for rows in row_blocks(x.shape[0]):
            kept = regressors[rows][live[rows]]
            if kept.shape[0]:
                low = np.minimum(low, kept.min(axis=0))
                high = np.maximum(high, kept.max(axis=0))
            weighted_sum += w[rows] @ regressors[rows]
        constant = high == low
        mean = weighted_sum / w.sum()
        root_w = np.sqrt(w)

        def centred(rows: slice) -> FloatArray:
            z: FloatArray = (regressors[rows] - mean) * root_w[rows, None]
            z[:, constant] = 0.0
            return z

        squares = np.zeros(k)
        for rows in row_blocks(x.shape[0]):
            squares += np.square(centred(rows)).sum(axis=0)
        norms = np.sqrt(squares)
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0.0)
        corr = np.zeros((k, k))

        def scaled() -> Iterator[FloatArray]:
            nonlocal corr
            for rows in row_blocks(x.shape[0]):
                z = centred(rows) * scale
                corr += z.T @ z
                yield z

        self._a = r_factor(scaled(), k)
        np.fill_diagonal(corr, np.where(norms > 0.0, 1.0, 0.0))
        self.corr: FloatArray = corr
        singular = np.linalg.svd(self._a, compute_uv=False)
        self._tol = (
            float(singular.max(initial=0.0)) * max(x.shape[0], k) * float(np.finfo(np.float64).eps)
        )
        self._own_logdet: dict[tuple[int, ...], float] = {}

    def gvif(self, groups: Sequence[npt.ArrayLike]) -> list[float]:
        """GVIF of each group of the model made of ``groups`` (design column indices),
        in the order given; ``inf`` for a group collinear with the rest."""
        own = [np.asarray(cols, dtype=np.intp) - self.first for cols in groups]
        if len(own) >= 2:
            fast = self._by_inverse(own)
            if fast is not None:
                return fast
        return self._by_rank(own)

    def _own(self, cols: npt.NDArray[np.intp]) -> float:
        key = tuple(int(c) for c in cols)
        if key not in self._own_logdet:
            sign, logdet = np.linalg.slogdet(self.corr[np.ix_(cols, cols)])
            self._own_logdet[key] = float(logdet) if sign > 0 else -math.inf
        return self._own_logdet[key]

    def _by_inverse(self, own: list[npt.NDArray[np.intp]]) -> list[float] | None:
        cols = np.concatenate(own)
        r = self.corr[np.ix_(cols, cols)]
        factor, info = lapack.dpotrf(r, lower=1, clean=1)
        if info != 0 or float(np.min(np.diagonal(factor) ** 2)) <= _FAST_PIVOT:
            return None
        inv, info = lapack.dpotri(factor, lower=1)
        if info != 0:
            return None
        low = np.tril(inv)
        inv = low + np.tril(low, -1).T
        out: list[float] = []
        pos = 0
        for group in own:
            size = group.shape[0]
            if size == 1:
                value = float(inv[pos, pos])
            else:
                sign, logdet = np.linalg.slogdet(inv[pos : pos + size, pos : pos + size])
                log_gvif = self._own(group) + float(logdet)
                value = math.exp(log_gvif) if sign > 0 and log_gvif < _MAX_LOG else math.inf
            out.append(max(value, 1.0))
            pos += size
        return out

    def _by_rank(self, own: list[npt.NDArray[np.intp]]) -> list[float]:
        a = self._a

        def rank(columns: npt.NDArray[np.intp]) -> int:
            if columns.size == 0:
                return 0
            s = np.linalg.svd(a[:, columns], compute_uv=False)
            return int(np.sum(s > self._tol))

        everything = np.concatenate(own)
        full_rank = rank(everything)
        out: list[float] = []
        for i, cols in enumerate(own):
            others = np.concatenate([c for j, c in enumerate(own) if j != i] or [cols[:0]])
            own_rank = rank(cols)
            other_rank = rank(others)
            if own_rank < cols.shape[0] or full_rank < own_rank + other_rank:
                out.append(math.inf)
            else:
                out.append(_gvif_from_blocks(a[:, cols], a[:, others], other_rank))
        return out


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
    factor = np.ones(p)
    if scale:
        squares = np.zeros(p)
        for rows in row_blocks(n):
            squares += np.square(x[rows]).sum(axis=0)
        if np.any(squares == 0.0):
            return math.inf
        factor = 1.0 / np.sqrt(squares)
    if n < p:
        return math.inf
    # the singular values of x (scaled) are those of its triangular factor
    s = np.linalg.svd(r_factor((x[rows] * factor for rows in row_blocks(n)), p), compute_uv=False)
    if s[-1] == 0.0:
        return math.inf
    return float(s[0] / s[-1])
