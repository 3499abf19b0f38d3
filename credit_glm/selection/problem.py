"""What a selection run searches over: the data, the candidate feature groups, the rules.

A *feature* is a group of design-matrix columns that enter and leave the model together (the
one-hot columns of a categorical, or the single column of a numeric feature). Column 0 of the
design matrix is the intercept and is in every model. Sizes (``min_features``,
``max_features``) count features, not columns; information criteria count columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from credit_glm.config import Link

__all__ = ["SearchSpace", "SelectionConstraints", "SelectionProblem", "resolve_space"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def _frozen_array(values: npt.ArrayLike, name: str, ndim: int) -> FloatArray:
    try:
        arr = np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    view = arr.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False)
class SelectionProblem:
    """Data and candidate features of a selection run.

    Parameters
    ----------
    X : array_like, shape (n, p)
        Design matrix; column 0 is the intercept (a non-zero constant), in every model.
    y : array_like, shape (n,)
        Binary response, 1 = event (default).
    groups : sequence of (name, column indices)
        The candidate features, in the order results list them. Each names the design
        columns it owns: non-empty, disjoint, never column 0. A mapping is accepted too.
    weights : array_like, shape (n,), optional
        Frequency weights (row ``i`` stands for ``weights[i]`` identical rows); BIC then uses
        ``n = sum(weights)``.
    link : {"logit", "probit", "cloglog"}
        Link of the binomial GLM.
    expected_signs : mapping of str to {+1, -1}, optional
        Business expectation of the direction of a feature's effect on the event
        probability; enforced when :attr:`SelectionConstraints.enforce_expected_signs`.

    Raises
    ------
    ValueError
        On any inconsistency, naming the offending field.
    """

    X: FloatArray
    y: FloatArray
    groups: tuple[tuple[str, tuple[int, ...]], ...]
    weights: FloatArray | None = None
    link: Link | str = Link.logit
    expected_signs: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = _frozen_array(self.X, "X", 2)
        y = _frozen_array(self.y, "y", 1)
        n, p = x.shape
        if y.shape[0] != n:
            raise ValueError(f"y has {y.shape[0]} rows but X has {n}")
        if not np.all((y == 0.0) | (y == 1.0)):
            raise ValueError("y must contain only 0 and 1")
        if p == 0 or not (x[0, 0] != 0.0 and np.all(x[:, 0] == x[0, 0])):
            raise ValueError("column 0 of X must be the intercept (a non-zero constant)")
        w = None
        if self.weights is not None:
            w = _frozen_array(self.weights, "weights", 1)
            if w.shape[0] != n or np.any(w < 0):
                raise ValueError("weights must be non-negative with one value per row of X")
        live = np.ones(n, dtype=bool) if w is None else w > 0
        if not (np.any(y[live] == 1.0) and np.any(y[live] == 0.0)):
            raise ValueError("y must contain both classes (with positive weight)")
        try:
            link = Link(self.link)
        except ValueError:
            known = [k.value for k in Link]
            raise ValueError(f"link must be one of {known}, got {self.link!r}") from None
        raw = self.groups.items() if isinstance(self.groups, Mapping) else self.groups
        groups: list[tuple[str, tuple[int, ...]]] = []
        owner: dict[int, str] = {}
        for item in raw:
            name, cols = item
            if not isinstance(name, str) or not name:
                raise ValueError(f"group names must be non-empty strings, got {name!r}")
            if any(name == g for g, _ in groups):
                raise ValueError(f"group {name!r} is listed twice")
            idx = tuple(int(c) for c in cols)
            if not idx:
                raise ValueError(f"group {name!r} has no columns")
            for c in idx:
                if not 1 <= c < p:
                    raise ValueError(f"group {name!r}: column {c} is outside 1..{p - 1}")
                if c in owner:
                    raise ValueError(f"column {c} belongs to both {owner[c]!r} and {name!r}")
                owner[c] = name
            groups.append((name, idx))
        if not groups:
            raise ValueError("groups is empty: there is nothing to select")
        names = {g for g, _ in groups}
        signs = dict(self.expected_signs)
        for name, sign in signs.items():
            if name not in names:
                raise ValueError(f"expected_signs names unknown group {name!r}")
            if sign not in (1, -1):
                raise ValueError(f"expected_signs[{name!r}] must be +1 or -1, got {sign!r}")
        object.__setattr__(self, "X", x)
        object.__setattr__(self, "link", link)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "groups", tuple(groups))
        object.__setattr__(self, "expected_signs", signs)

    @property
    def group_names(self) -> tuple[str, ...]:
        """Feature names in input order."""
        return tuple(name for name, _ in self.groups)


@dataclass(frozen=True)
class SelectionConstraints:
    """Rules every selected model must satisfy; applied inside the search.

    Parameters
    ----------
    force_in : tuple of str
        Features in every model (never removed).
    exclude : tuple of str
        Features never considered.
    min_features, max_features : int
        Bounds on the number of features (groups, not columns), forced-in ones included.
    max_vif : float, optional
        Largest allowed ``GVIF ** (1 / df)`` of any feature of the model, computed from the
        correlation matrix of the model's non-intercept columns (Fox & Monette 1992). For a
        one-column feature this is the ordinary VIF.
    max_pvalue : float, optional
        Largest allowed two-sided Wald p-value of any non-intercept coefficient.
    enforce_expected_signs : bool
        Require every coefficient of a feature listed in
        :attr:`SelectionProblem.expected_signs` to have the expected sign.
    """

    force_in: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_features: int = 0
    max_features: int | None = None
    max_vif: float | None = None
    max_pvalue: float | None = None
    enforce_expected_signs: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "force_in", tuple(self.force_in))
        object.__setattr__(self, "exclude", tuple(self.exclude))
        both = set(self.force_in) & set(self.exclude)
        if both:
            raise ValueError(f"features both forced in and excluded: {sorted(both)}")
        if not isinstance(self.min_features, int) or self.min_features < 0:
            raise ValueError(f"min_features must be an integer >= 0, got {self.min_features!r}")
        if self.max_features is not None:
            if not isinstance(self.max_features, int) or self.max_features < 0:
                raise ValueError(f"max_features must be an integer >= 0, got {self.max_features!r}")
            if self.max_features < self.min_features:
                raise ValueError("max_features must be >= min_features")
        if self.max_vif is not None and not (self.max_vif >= 1.0):
            raise ValueError(f"max_vif must be >= 1, got {self.max_vif!r}")
        if self.max_pvalue is not None and not (0.0 < self.max_pvalue <= 1.0):
            raise ValueError(f"max_pvalue must be in (0, 1], got {self.max_pvalue!r}")


@dataclass(frozen=True)
class SearchSpace:
    """A problem and its constraints resolved to group indices (internal).

    ``forced`` are in every model, ``free`` may be added; sizes count groups and include
    the forced ones.
    """

    names: tuple[str, ...]
    cols: tuple[IntArray, ...]
    sizes: tuple[int, ...]
    forced: tuple[int, ...]
    free: tuple[int, ...]
    min_size: int
    max_size: int
    signs: tuple[tuple[int, int], ...]
    max_vif: float | None
    max_pvalue: float | None

    def columns(self, key: Sequence[int]) -> IntArray:
        """Design columns of the model made of groups ``key``: intercept, then by group."""
        parts = [np.zeros(1, dtype=np.intp)]
        parts.extend(self.cols[g] for g in sorted(key))
        return np.concatenate(parts)

    def n_columns(self, key: Sequence[int]) -> int:
        """Columns of that model, intercept included."""
        return 1 + sum(self.sizes[g] for g in key)

    def in_range(self, size: int) -> bool:
        """Whether a model with ``size`` groups respects the size limits."""
        return self.min_size <= size <= self.max_size

    def count(self, n_fixed: int, n_free: int) -> int:
        """Models ``fixed + T`` (``T`` any subset of ``n_free`` groups) within the limits."""
        return _count(n_fixed, n_free, self.min_size, self.max_size)

    @property
    def total(self) -> int:
        """Number of models in the search space."""
        return self.count(len(self.forced), len(self.free))


@lru_cache(maxsize=4096)
def _count(n_fixed: int, n_free: int, lo: int, hi: int) -> int:
    start = max(0, lo - n_fixed)
    stop = min(n_free, hi - n_fixed)
    return sum(math.comb(n_free, t) for t in range(start, stop + 1))


def resolve_space(problem: SelectionProblem, constraints: SelectionConstraints) -> SearchSpace:
    """Check ``constraints`` against ``problem`` and index everything by group position."""
    names = problem.group_names
    index = {name: i for i, name in enumerate(names)}
    for label, listed in (("force_in", constraints.force_in), ("exclude", constraints.exclude)):
        unknown = [g for g in listed if g not in index]
        if unknown:
            raise ValueError(f"{label} names unknown features {unknown}; known: {list(names)}")
    forced = tuple(sorted(index[g] for g in set(constraints.force_in)))
    excluded = {index[g] for g in constraints.exclude}
    free = tuple(i for i in range(len(names)) if i not in excluded and i not in forced)
    lo = max(constraints.min_features, len(forced))
    hi = len(forced) + len(free)
    if constraints.max_features is not None:
        hi = min(hi, constraints.max_features)
    if lo > hi:
        raise ValueError(
            f"no model satisfies the size limits: at least {lo} features needed "
            f"(min_features={constraints.min_features}, {len(forced)} forced in) but at most "
            f"{hi} possible (max_features={constraints.max_features}, "
            f"{len(forced) + len(free)} not excluded)"
        )
    signs: tuple[tuple[int, int], ...] = ()
    if constraints.enforce_expected_signs:
        signs = tuple(sorted((index[g], int(s)) for g, s in problem.expected_signs.items()))
    cols = tuple(np.asarray(c, dtype=np.intp) for _, c in problem.groups)
    return SearchSpace(
        names=names,
        cols=cols,
        sizes=tuple(len(c) for c in cols),
        forced=forced,
        free=free,
        min_size=lo,
        max_size=hi,
        signs=signs,
        max_vif=constraints.max_vif,
        max_pvalue=constraints.max_pvalue,
    )
