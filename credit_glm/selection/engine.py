"""Evaluation of one candidate subset: fit, criterion, constraints, and the ranking rule.

Shared by every strategy. An :class:`Evaluator` is plain data plus methods, so it pickles
to joblib workers; each worker fits with BLAS pinned to one thread.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from credit_glm.collinearity import CorrelationFactor, vif_equivalent
from credit_glm.config import Criterion
from credit_glm.metrics import weighted_auc, weighted_log_loss

from .criteria import (
    INFORMATION_CRITERIA,
    CrossValidation,
    make_folds,
    parse_criterion,
    penalty_per_column,
)
from .problem import SearchSpace, SelectionProblem
from .solver import BinomialDesign, FitResult

__all__ = ["Counts", "Entry", "Evaluation", "Evaluator", "rank_entries", "TIE_RTOL"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Status = Literal["ok", "separated", "singular", "nonconverged", "constraint"]

#: Criterion values this close (relative) are ties, broken by fewer columns, then by the
#: lexicographically smallest sorted tuple of group indices.
TIE_RTOL = 1e-9


@dataclass(frozen=True, slots=True)
class Entry:
    """A feasible, evaluated subset as it enters a ranking."""

    value: float
    n_params: int
    key: tuple[int, ...]
    llf: float


def _tied(a: float, b: float) -> bool:
    return abs(a - b) <= TIE_RTOL * max(1.0, abs(a), abs(b))


def rank_entries(entries: Iterable[Entry]) -> list[Entry]:
    """Order entries best first with the tie rule, independent of the input order.

    Entries are sorted by value; runs of values tied with the run's smallest value are then
    ordered by (columns, key). Sorting by the key first makes equal values deterministic.
    """
    unique = {e.key: e for e in sorted(entries, key=lambda e: (e.key, e.value))}
    by_value = sorted(unique.values(), key=lambda e: (e.value, e.n_params, e.key))
    ranked: list[Entry] = []
    i = 0
    while i < len(by_value):
        j = i + 1
        while j < len(by_value) and _tied(by_value[i].value, by_value[j].value):
            j += 1
        ranked.extend(sorted(by_value[i:j], key=lambda e: (e.n_params, e.key)))
        i = j
    return ranked


@dataclass
class Counts:
    """Bookkeeping of a search (mutable while searching; merged across workers)."""

    fitted: int = 0
    pruned: int = 0
    nonconverged: int = 0
    separated: int = 0
    singular: int = 0
    constraint: int = 0
    extra_fits: int = 0

    def add(self, other: Counts) -> None:
        """Accumulate ``other`` into this one."""
        self.fitted += other.fitted
        self.pruned += other.pruned
        self.nonconverged += other.nonconverged
        self.separated += other.separated
        self.singular += other.singular
        self.constraint += other.constraint
        self.extra_fits += other.extra_fits

    def why_skipped(self) -> str:
        """The skip counts in words, for a "nothing could be selected" message."""
        return (
            f"{self.separated} separated, {self.singular} singular, "
            f"{self.nonconverged} not converged, {self.constraint} breaking a constraint"
        )

    def skip(self, status: Status) -> None:
        """Count one subset skipped for ``status``."""
        if status == "nonconverged":
            self.nonconverged += 1
        elif status == "separated":
            self.separated += 1
        elif status == "singular":
            self.singular += 1
        elif status == "constraint":
            self.constraint += 1


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Outcome of evaluating one subset.

    ``status`` is ``"ok"`` for a usable, feasible subset; ``value`` is the criterion
    (``inf`` when the fit failed); ``checked`` says whether constraints were checked (they
    are skipped when the value cannot enter the ranking).
    """

    key: tuple[int, ...]
    status: Status
    value: float
    n_params: int
    llf: float
    fit: FitResult
    reason: str = ""
    checked: bool = True

    def entry(self) -> Entry:
        """This evaluation as a ranking entry."""
        return Entry(self.value, self.n_params, self.key, self.llf)


@dataclass(eq=False)
class _Fold:
    design: BinomialDesign
    xt_test: FloatArray
    y_test: FloatArray
    w_test: FloatArray | None


@dataclass(eq=False)
class Evaluator:
    """Fits subsets of one problem and scores them by one criterion.

    Parameters
    ----------
    problem : SelectionProblem
    space : SearchSpace
    criterion : Criterion or str
        ``aic``, ``bic``, ``cv_auc`` or ``cv_logloss``.
    cv : CrossValidation, optional
        Splits for the cross-validated criteria (default ``CrossValidation()``).
    """

    problem: SelectionProblem
    space: SearchSpace
    criterion: Criterion | str
    cv: CrossValidation | None = None
    design: BinomialDesign = field(init=False)
    penalty: float = field(init=False)
    folds: tuple[_Fold, ...] = field(init=False)
    collinearity: CorrelationFactor | None = field(init=False)

    def __post_init__(self) -> None:
        p = self.problem
        self.criterion = criterion = parse_criterion(self.criterion)
        self.design = BinomialDesign(p.X, p.y, p.weights, p.link)
        if criterion in INFORMATION_CRITERIA:
            self.penalty = penalty_per_column(criterion, self.design.sum_w)
            self.folds = ()
        else:
            self.penalty = math.nan
            self.folds = self._make_folds(self.cv or CrossValidation())
        self.collinearity = (
            CorrelationFactor(p.X, p.weights) if self.space.max_vif is not None else None
        )

    def _make_folds(self, cv: CrossValidation) -> tuple[_Fold, ...]:
        p = self.problem
        folds = []
        for train, test in make_folds(p.y, cv):
            w_train = None if p.weights is None else p.weights[train]
            w_test = None if p.weights is None else p.weights[test]
            try:
                design = BinomialDesign(p.X[train], p.y[train], w_train, p.link)
            except ValueError as exc:
                raise ValueError(f"cross-validation split unusable: {exc}") from exc
            y_test = p.y[test]
            if self.criterion is Criterion.cv_auc and not (
                math.isfinite(weighted_auc(y_test, np.zeros_like(y_test), w_test))
            ):
                raise ValueError("a cross-validation test split lacks one of the classes")
            folds.append(_Fold(design, np.ascontiguousarray(p.X[test].T), y_test, w_test))
        return tuple(folds)

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        key: Sequence[int],
        start: FloatArray | None = None,
        hess: FloatArray | None = None,
    ) -> FitResult:
        """Fit the model of groups ``key`` on all rows (see :meth:`BinomialDesign.fit`)."""
        return self.design.fit(self.space.columns(key), start, hess)

    def information(self, fit: FitResult) -> float:
        """``-2 llf + penalty * k`` of a successful fit (information criteria only)."""
        return -2.0 * fit.llf + self.penalty * fit.k

    def evaluate(
        self,
        key: Sequence[int],
        start: FloatArray | None = None,
        threshold: float = math.inf,
        fit: FitResult | None = None,
        check: bool = True,
    ) -> Evaluation:
        """Fit (unless ``fit`` is given), score and check the subset ``key``.

        Constraints are only checked when ``check`` and the value is within ``threshold``
        (plus the tie tolerance): a worse subset cannot enter the ranking either way.
        """
        k = tuple(sorted(key))
        if fit is None:
            fit = self.fit(k, start)
        if not fit.ok:
            return Evaluation(k, fit.status, math.inf, fit.k, fit.llf, fit, fit.status)
        if self.folds:
            value, status = self._cross_validate(fit)
            if status != "ok":
                reason = f"{status} in a cross-validation fold"
                return Evaluation(k, status, math.inf, fit.k, fit.llf, fit, reason)
        else:
            value = self.information(fit)
        if not check or (value > threshold and not _tied(value, threshold)):
            return Evaluation(k, "ok", value, fit.k, fit.llf, fit, checked=False)
        reason = self.violation(k, fit)
        if reason:
            return Evaluation(k, "constraint", value, fit.k, fit.llf, fit, reason)
        return Evaluation(k, "ok", value, fit.k, fit.llf, fit)

    def _cross_validate(self, fit: FitResult) -> tuple[float, Status]:
        scores = []
        for fold in self.folds:
            ff = fold.design.fit(fit.cols, fit.params)
            if not ff.ok:
                return math.inf, ff.status
            prob = fold.design.mean(ff.params @ fold.xt_test[fit.cols])
            if self.criterion is Criterion.cv_auc:
                scores.append(-weighted_auc(fold.y_test, prob, fold.w_test))
            else:
                scores.append(weighted_log_loss(fold.y_test, prob, fold.w_test))
        return float(np.mean(scores)), "ok"

    # ------------------------------------------------------------------ constraints
    def violation(self, key: Sequence[int], fit: FitResult) -> str:
        """The first constraint the fitted model breaks, as a message ("" if none)."""
        space = self.space
        key = tuple(sorted(key))
        offsets = _offsets(space.sizes, key)
        for g, sign in space.signs:
            if g in offsets:
                start, stop = offsets[g]
                coefs = fit.params[start:stop]
                if np.any(coefs * sign <= 0.0):
                    want = "positive" if sign > 0 else "negative"
                    return f"expected sign: {space.names[g]} should be {want}"
        if space.max_pvalue is not None and fit.k > 1:
            cov = self.design.covariance(fit)
            se = np.sqrt(np.diagonal(cov)[1:])
            pvalues = 2.0 * special.ndtr(-np.abs(fit.params[1:]) / se)
            worst = int(np.argmax(pvalues))
            if not pvalues[worst] <= space.max_pvalue:
                owner = next(space.names[g] for g, (a, b) in offsets.items() if a <= worst + 1 < b)
                return f"max_pvalue: a coefficient of {owner} has p={pvalues[worst]:.4g}"
        return self.vif_violation(key)

    def vif_violation(self, key: Sequence[int]) -> str:
        """The max_vif message for the model of groups ``key`` ("" if within the limit).

        GVIF is monotone: adding columns can only shrink the conditional covariance of a
        group given the others, so a group breaking the limit in a model breaks it in every
        larger model too (branch and bound prunes on this).
        """
        space = self.space
        if space.max_vif is None or len(key) < 2:
            return ""
        for g, value in self.gvif(key).items():
            adjusted = vif_equivalent(value, space.sizes[g])
            if not adjusted <= space.max_vif:
                return f"max_vif: {space.names[g]} has GVIF^(1/df)={adjusted:.4g}"
        return ""

    def gvif(self, key: Sequence[int]) -> dict[int, float]:
        """GVIF of every group of the model (Fox & Monette 1992), frequency-weighted when the
        problem has weights: :class:`~credit_glm.collinearity.CorrelationFactor`, the one the
        diagnostics and the evaluation gate ``max_vif`` use."""
        assert self.collinearity is not None
        key = tuple(sorted(key))
        values = self.collinearity.gvif([self.space.cols[g] for g in key])
        return dict(zip(key, values, strict=True))


def _offsets(sizes: Sequence[int], key: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Position (start, stop) of each group's coefficients in the model's parameter vector."""
    return _offsets_cached(tuple(sizes), tuple(sorted(key)))


@functools.lru_cache(maxsize=65536)
def _offsets_cached(sizes: tuple[int, ...], key: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    out = {}
    pos = 1
    for g in key:
        out[g] = (pos, pos + sizes[g])
        pos += sizes[g]
    return out
