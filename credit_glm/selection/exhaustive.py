"""Best-subset selection: exact branch and bound for AIC/BIC, enumeration for CV criteria.

Branch and bound
----------------
A node of the search tree is a pair (``fixed``, ``free``): the models ``fixed + T`` for every
subset ``T`` of ``free``. Its *upper model* ``fixed + free`` contains all of them, and the
binomial log-likelihood never decreases when columns are added, so

``bound = -2 llf(fixed + free) + penalty(fixed)``

is a lower bound of the criterion of every model of the node (Hofmann, Gatu & Kontoghiorghes
2007; Seedorff's BranchGLM R package for GLMs). With the size limits the penalty also counts
the smallest free groups a model must still take. A node whose bound exceeds the current
``top_n``-th best value cannot contribute and is pruned; constraints only remove models, so
the bound stays valid, and a model breaking a constraint never enters the ranking.

Branching is *backward*: with ``free`` ordered ``u_1 .. u_m``, child ``i`` drops ``u_i`` and
fixes ``u_1 .. u_(i-1)``: (``fixed + {u_1..u_(i-1)}``, ``{u_(i+1)..u_m}``). Each model of the
node except its upper model lies in exactly one child, and each child's upper model drops a
single group from its parent's, so it is fitted warm from the parent's coefficients moved by
the Wald step ``b_rest - V_rd V_dd^-1 b_d``, starting with the parent's information matrix.
Groups are ordered by decreasing Wald statistic: the first children (largest subtrees,
smallest fixed penalty) then drop the most important groups and have the largest deviances,
which is where pruning pays; a child whose bound is already out of reach with the parent's
deviance is pruned without a fit.

Two more exact prunings: before the tree, a greedy forward pass seeds the ranking with
feasible incumbents (without one nothing can be pruned, which matters most under
constraints); and since a group's GVIF can only grow when columns are added, a child whose
fixed groups alone break ``max_vif`` holds no feasible model at all.

Determinism: the root and its children are evaluated here; each child is then an independent
task searched with its own ranking seeded from the root's, and the rankings are merged with the
tie rule. Tasks never share an incumbent, so the fits, counts and result are the same whether
they run in this process or in ``n_jobs`` workers (see :func:`._runtime.parallel_map`).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.linalg import lapack

from credit_glm.config import Criterion

from ._runtime import (
    Progress,
    Reporter,
    build_result,
    check_common,
    parallel_map,
    single_threaded,
    warm_start,
)
from .criteria import INFORMATION_CRITERIA, CrossValidation, parse_criterion
from .engine import TIE_RTOL, Counts, Entry, Evaluator, rank_entries
from .problem import SearchSpace, SelectionConstraints, SelectionProblem, resolve_space
from .result import SelectionResult
from .solver import FitResult

__all__ = ["NoFeasibleSubsetError", "select_exhaustive"]

#: Absolute slack on bounds: criterion values are exact to about this much.
_BOUND_ATOL = 1e-7
#: Subsets per task when enumerating (CV criteria); fixed so results ignore ``n_jobs``.
_CHUNK = 256

FloatArray = npt.NDArray[np.float64]


def _no_warm_start(group: int) -> tuple[None, None]:
    return None, None


class NoFeasibleSubsetError(ValueError):
    """Every subset of the search space failed to fit or broke a constraint."""


@dataclass(frozen=True)
class _Node:
    fixed: tuple[int, ...]
    free: tuple[int, ...]
    fit: FitResult
    dev: float
    bound: float
    remaining: int


class _Search:
    """Branch and bound below one node, with its own ranking and counts."""

    def __init__(self, ev: Evaluator, top_n: int, ranking: Sequence[Entry]) -> None:
        self.ev = ev
        self.space: SearchSpace = ev.space
        self.top_n = top_n
        self.ranking = list(ranking)
        self.counts = Counts()
        self.threshold = math.inf
        self._update_threshold()

    def _update_threshold(self) -> None:
        if len(self.ranking) >= self.top_n:
            self.threshold = max(e.value for e in self.ranking)

    def prunes(self, bound: float) -> bool:
        # Keep anything that could tie with the N-th best: ties are decided by size and key.
        slack = TIE_RTOL * max(1.0, abs(self.threshold)) + _BOUND_ATOL
        return bound > self.threshold + slack

    def offer(self, entry: Entry) -> None:
        self.ranking = rank_entries([*self.ranking, entry])[: self.top_n]
        self._update_threshold()

    def seed(self) -> int:
        """Seed the ranking with the models of a greedy forward pass; return its fits.

        Exact either way, but without feasible incumbents nothing can be pruned: under
        constraints that few large models satisfy (max_pvalue, expected signs) the backward
        tree would otherwise fit most of the space before finding any. The seeded models
        are evaluated again (and counted) when the tree reaches them.
        """
        space = self.space
        current: tuple[int, ...] = space.forced
        fit = self.ev.fit(current)
        fits = 1
        value = math.inf
        while len(current) < space.max_size and fit.ok:
            best: tuple[float, tuple[int, ...], FitResult] | None = None
            for g in space.free:
                if g in current:
                    continue
                key = tuple(sorted((*current, g)))
                cols = space.columns(key)
                start = warm_start(fit.cols, fit.params, cols, self.ev.design.n_cols)
                evaluation = self.ev.evaluate(key, start, self.threshold)
                fits += 1
                if evaluation.status != "ok":
                    continue
                if space.in_range(len(key)) and evaluation.checked:
                    self.offer(evaluation.entry())
                if best is None or evaluation.value < best[0]:
                    best = (evaluation.value, key, evaluation.fit)
            if best is None or (best[0] >= value and len(current) >= space.min_size):
                break
            value, current, fit = best
        return fits

    def record(self, key: tuple[int, ...], fit: FitResult) -> None:
        """Score the fitted upper model of a node, if it is a model of the space."""
        if not self.space.in_range(len(key)):
            self.counts.extra_fits += 1
            return
        self.counts.fitted += 1
        evaluation = self.ev.evaluate(key, fit=fit, threshold=self.threshold)
        if evaluation.status != "ok":
            self.counts.skip(evaluation.status)
        elif evaluation.checked:
            self.offer(evaluation.entry())

    def first_vif_break(self, fixed: Sequence[int], order: Sequence[int]) -> int:
        """Smallest ``i`` whose child fixes groups breaking max_vif (``len(order)`` if none).

        Child ``i`` fixes ``fixed + order[:i]``; these sets grow with ``i`` and GVIF is
        monotone, so the breaking children are a suffix, found by bisection.
        """
        m = len(order)
        if self.space.max_vif is None or m < 2:
            return m
        if not self.vif_prunes((*fixed, *order[: m - 1])):
            return m
        lo, hi = 0, m - 1  # the child at hi breaks; find the first one that does
        while lo < hi:
            mid = (lo + hi) // 2
            if self.vif_prunes((*fixed, *order[:mid])):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def vif_prunes(self, fixed: Sequence[int]) -> bool:
        """Whether the fixed groups alone already break max_vif (then so does every model
        of the node, GVIF being monotone in the model)."""
        if self.space.max_vif is None or len(fixed) < 2:
            return False
        return bool(self.ev.vif_violation(fixed))

    def penalty(self, fixed: Sequence[int], free: Sequence[int]) -> float:
        """Smallest penalty of any model of the node within the size limits."""
        sizes = self.space.sizes
        cols = 1 + sum(sizes[g] for g in fixed)
        need = self.space.min_size - len(fixed)
        if need > 0:
            cols += sum(sorted(sizes[g] for g in free)[:need])
        return self.ev.penalty * cols

    def order(
        self, fixed: Sequence[int], free: Sequence[int], fit: FitResult
    ) -> tuple[tuple[int, ...], Callable[[int], tuple[FloatArray | None, FloatArray | None]]]:
        """Free groups by decreasing Wald statistic, and a function giving, for a dropped
        group, the warm start (the Wald step) and the parent's information matrix restricted
        to the child's columns."""
        if not fit.ok or fit.chol is None:
            return tuple(free), _no_warm_start
        inv, info = lapack.dpotri(fit.chol, lower=1)
        if info != 0:
            return tuple(free), _no_warm_start
        cov = np.tril(inv)
        cov += np.tril(cov, -1).T
        k = fit.k
        sizes = self.space.sizes
        offsets, pos = {}, 1
        for g in sorted((*fixed, *free)):
            offsets[g] = (pos, pos + sizes[g])
            pos += sizes[g]
        beta = fit.params
        diag = np.diagonal(cov)
        stats: list[tuple[float, int]] = []
        for g in free:
            a, b = offsets[g]
            if b == a + 1:
                wald = beta[a] * beta[a] / diag[a] if diag[a] > 0 else 0.0
            else:
                try:
                    wald = float(beta[a:b] @ np.linalg.solve(cov[a:b, a:b], beta[a:b]))
                except np.linalg.LinAlgError:
                    wald = 0.0
            stats.append((-wald if math.isfinite(wald) else 0.0, g))
        stats.sort()
        low = np.tril(fit.chol)
        hess = low @ low.T

        def warm(g: int) -> tuple[FloatArray | None, FloatArray | None]:
            a, b = offsets[g]
            keep = np.concatenate((np.arange(a), np.arange(b, k)))
            try:
                sol = np.linalg.solve(cov[a:b, a:b], beta[a:b])
            except np.linalg.LinAlgError:
                return None, None
            start = beta[keep] - cov[keep, a:b] @ sol
            return start, hess.take(keep, axis=0).take(keep, axis=1)

        return tuple(g for _, g in stats), warm

    def children(
        self, fixed: tuple[int, ...], free: tuple[int, ...], fit: FitResult, dev: float
    ) -> list[_Node]:
        """Fit and bound the children of a node whose upper model ``fit`` is known."""
        order, warm = self.order(fixed, free, fit)
        kids = []
        vif_broken_from = self.first_vif_break(fixed, order)
        for i, g in enumerate(order):
            c_fixed = (*fixed, *order[:i])
            c_free = order[i + 1 :]
            n_models = self.space.count(len(c_fixed), len(c_free))
            if n_models == 0:
                continue
            pen = self.penalty(c_fixed, c_free)
            if i >= vif_broken_from or self.prunes(dev + pen):
                self.counts.pruned += n_models
                continue
            upper = tuple(sorted((*c_fixed, *c_free)))
            start, hess = warm(g)
            c_fit = self.ev.fit(upper, start, hess)
            self.record(upper, c_fit)
            c_dev = -2.0 * c_fit.llf if c_fit.ok else dev
            remaining = n_models - int(self.space.in_range(len(upper)))
            kids.append(_Node(c_fixed, c_free, c_fit, c_dev, c_dev + pen, remaining))
        kids.sort(key=lambda node: (node.bound, node.free, node.fixed))
        return kids

    def expand(self, node: _Node) -> None:
        """Search below ``node`` (its upper model is already recorded)."""
        if node.remaining == 0:
            return
        if self.prunes(node.bound):
            self.counts.pruned += node.remaining
            return
        for kid in self.children(node.fixed, node.free, node.fit, node.dev):
            self.expand(kid)


def _run_task(
    ev: Evaluator, top_n: int, ranking: Sequence[Entry], node: _Node
) -> tuple[list[Entry], Counts]:
    with single_threaded():
        search = _Search(ev, top_n, ranking)
        search.expand(node)
    return search.ranking, search.counts


def _branch_and_bound(
    ev: Evaluator, top_n: int, n_jobs: int, reporter: Reporter
) -> tuple[list[Entry], Counts]:
    space = ev.space
    with single_threaded():
        root = _Search(ev, top_n, [])
        if root.vif_prunes(space.forced):
            root.counts.pruned = space.total
            return [], root.counts
        seed_counts = root.seed()
        key = tuple(sorted((*space.forced, *space.free)))
        fit = ev.fit(key)
        root.record(key, fit)
        # The deviance of a binary response is >= 0, the bound when the full model fails.
        dev = -2.0 * fit.llf if fit.ok else 0.0
        kids = root.children(space.forced, space.free, fit, dev)
    counts = root.counts
    counts.extra_fits += seed_counts
    done = counts.fitted + counts.pruned
    reporter.update(done)
    entries = list(root.ranking)
    tasks = [(ev, top_n, root.ranking, kid) for kid in kids]
    for ranking, task_counts in parallel_map(_run_task, tasks, n_jobs):
        entries.extend(ranking)
        counts.add(task_counts)
        reporter.update(counts.fitted + counts.pruned)
    return entries, counts


def _subsets(space: SearchSpace) -> Iterator[tuple[int, ...]]:
    for size in range(space.min_size, space.max_size + 1):
        for combo in itertools.combinations(space.free, size - len(space.forced)):
            yield tuple(sorted((*space.forced, *combo)))


def _run_chunk(
    ev: Evaluator, top_n: int, keys: Sequence[tuple[int, ...]]
) -> tuple[list[Entry], Counts]:
    counts = Counts()
    ranking: list[Entry] = []
    threshold = math.inf
    prev: FitResult | None = None
    n_columns = ev.design.n_cols
    with single_threaded():
        for key in keys:
            cols = ev.space.columns(key)
            start = None if prev is None else warm_start(prev.cols, prev.params, cols, n_columns)
            evaluation = ev.evaluate(key, start, threshold)
            counts.fitted += 1
            if evaluation.fit.ok:
                prev = evaluation.fit
            if evaluation.status != "ok":
                counts.skip(evaluation.status)
            elif evaluation.checked:
                ranking = rank_entries([*ranking, evaluation.entry()])[:top_n]
                if len(ranking) >= top_n:
                    threshold = max(e.value for e in ranking)
    return ranking, counts


def _enumerate(
    ev: Evaluator, top_n: int, n_jobs: int, reporter: Reporter
) -> tuple[list[Entry], Counts]:
    subsets = _subsets(ev.space)
    chunks = iter(lambda: list(itertools.islice(subsets, _CHUNK)), [])
    entries: list[Entry] = []
    counts = Counts()
    for ranking, chunk_counts in parallel_map(
        _run_chunk, ((ev, top_n, chunk) for chunk in chunks), n_jobs
    ):
        entries = rank_entries([*entries, *ranking])[:top_n]
        counts.add(chunk_counts)
        reporter.update(counts.fitted)
    return entries, counts


def select_exhaustive(
    problem: SelectionProblem,
    constraints: SelectionConstraints | None = None,
    criterion: Criterion | str = Criterion.aic,
    top_n: int = 10,
    max_subsets: int = 2**20,
    n_jobs: int = 1,
    cv: CrossValidation | None = None,
    progress: Progress = "auto",
) -> SelectionResult:
    """Best subset of features by ``criterion``, exactly.

    Parameters
    ----------
    problem : SelectionProblem
    constraints : SelectionConstraints, optional
        Applied inside the search; default: none.
    criterion : Criterion or {"aic", "bic", "cv_auc", "cv_logloss"}
        AIC/BIC use exact branch and bound; the cross-validated criteria have no bound and
        evaluate every subset.
    top_n : int
        Best subsets kept for the audit trail (1 prunes the most).
    max_subsets : int
        Refuse (``ValueError``) when the search space holds more subsets than this.
    n_jobs : int
        Worker processes (joblib; -1 = all cores). The result does not depend on it.
    cv : CrossValidation, optional
        Splits for ``cv_auc``/``cv_logloss`` (default ``CrossValidation()``).
    progress : callable, "auto" or None
        ``callback(done, total)`` in subsets, a tqdm bar (``"auto"``, terminal outside CI
        only) or nothing.

    Returns
    -------
    SelectionResult
        ``top`` holds the ``top_n`` best feasible subsets; ``counts.fitted + counts.pruned``
        equals ``counts.total_subsets``.

    Raises
    ------
    ValueError
        Bad arguments, or more than ``max_subsets`` subsets.
    NoFeasibleSubsetError
        No subset fitted and satisfied the constraints.
    """
    started = time.perf_counter()
    criterion = parse_criterion(criterion)
    check_common(top_n, n_jobs)
    space = resolve_space(problem, constraints or SelectionConstraints())
    total = space.total
    if total > max_subsets:
        raise ValueError(
            f"exhaustive search over {total} subsets exceeds max_subsets={max_subsets}: raise "
            "max_subsets, narrow the search (max_features, exclude, force_in), or use a "
            "stepwise or random strategy"
        )
    ev = Evaluator(problem, space, criterion, cv)
    reporter = Reporter(progress, total, "exhaustive")
    try:
        if criterion in INFORMATION_CRITERIA:
            entries, counts = _branch_and_bound(ev, top_n, n_jobs, reporter)
        else:
            entries, counts = _enumerate(ev, top_n, n_jobs, reporter)
    finally:
        reporter.close()
    ranked = rank_entries(entries)
    if not ranked:
        raise NoFeasibleSubsetError(
            f"none of the {total} subsets could be selected: {counts.why_skipped()}"
        )
    return build_result(
        strategy="exhaustive",
        criterion=criterion,
        evaluator=ev,
        selected=ranked[0].key,
        criterion_value=ranked[0].value,
        entries=ranked,
        top_n=top_n,
        counts=counts,
        total=total,
        started=started,
    )
