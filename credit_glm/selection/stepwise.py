"""Forward, backward and bidirectional stepwise selection of feature groups.

Each step fits every candidate move (in parallel with ``n_jobs``; each fit is warm-started
from the current model, so results do not depend on ``n_jobs``) and takes the best one that

* improves the criterion (AIC, BIC, CV AUC or log loss) — or, for ``criterion="pvalue"``,
  whose likelihood-ratio test (chi-squared with df = the group's columns) has the smallest
  p-value below ``p_enter`` (entry) or the largest above ``p_remove`` (removal);
* keeps the model within the constraints: excluded features are never candidates, forced-in
  ones are never removed, sizes stay within the limits, and a move to a model that breaks
  max_vif, max_pvalue or an expected sign is rejected.

A move is forced (taken without improvement) while the model is smaller than
``min_features`` (forward), larger than ``max_features`` (backward start), or breaks a
constraint (then a move to a feasible model is preferred). Bidirectional stepwise tries
removals after every entry and never revisits a model, which rules out cycles. Every
candidate and decision is recorded in the result's ``path``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

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
from .criteria import CrossValidation, parse_criterion
from .engine import Counts, Evaluation, Evaluator, rank_entries
from .problem import SelectionConstraints, SelectionProblem, resolve_space
from .result import Decision, PathStep, SelectionResult

__all__ = ["select_backward", "select_forward", "select_stepwise"]

Direction = Literal["add", "remove"]
FloatArray = npt.NDArray[np.float64]
_STOPPED: Decision = "stopped"


def _evaluate_many(
    ev: Evaluator, items: Sequence[tuple[tuple[int, ...], FloatArray | None]]
) -> list[Evaluation]:
    with single_threaded():
        return [ev.evaluate(key, start, check=False) for key, start in items]


@dataclass
class _Move:
    group: int
    evaluation: Evaluation
    score: float  # criterion after the move, or the LR p-value
    stat: float  # LR statistic (pvalue mode)


class _Stepwise:
    def __init__(
        self,
        problem: SelectionProblem,
        constraints: SelectionConstraints | None,
        criterion: Criterion | str,
        cv: CrossValidation | None,
        n_jobs: int,
        p_enter: float,
        p_remove: float,
    ) -> None:
        for name, p in (("p_enter", p_enter), ("p_remove", p_remove)):
            if not 0.0 < p <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {p!r}")
        self.space = resolve_space(problem, constraints or SelectionConstraints())
        criterion = parse_criterion(criterion, pvalue=True)
        self.pvalue = criterion is Criterion.pvalue
        # p-value selection ranks its audit trail by AIC.
        self.ev = Evaluator(problem, self.space, Criterion.aic if self.pvalue else criterion, cv)
        self.criterion = criterion
        self.n_jobs = n_jobs
        self.p_enter = p_enter
        self.p_remove = p_remove
        self.counts = Counts()
        self.visited: dict[tuple[int, ...], Evaluation] = {}
        self.violations: dict[tuple[int, ...], str] = {}
        self.path: list[PathStep] = []
        self.step = 0
        self.visited_models: set[tuple[int, ...]] = set()

    # ------------------------------------------------------------------ bookkeeping
    def name(self, g: int) -> str:
        return self.space.names[g]

    def log(self, g: int | None, value: float | None, decision: Decision, reason: str) -> None:
        cand = None if g is None else self.name(g)
        self.path.append(PathStep(self.step, cand, value, decision, reason))

    def evaluate(self, keys: list[tuple[int, ...]], base: Evaluation | None) -> list[Evaluation]:
        """Evaluate subsets (cached), warm-started from ``base``."""
        todo = [k for k in keys if k not in self.visited]
        items = []
        for key in todo:
            start = None
            if base is not None and base.fit.ok:
                cols = self.space.columns(key)
                start = warm_start(base.fit.cols, base.fit.params, cols, self.ev.design.n_cols)
            items.append((key, start))
        if not items:
            return [self.visited[k] for k in keys]
        workers = self.n_jobs if len(items) > 1 else 1
        batches = [items] if workers == 1 else [[item] for item in items]
        for results in parallel_map(_evaluate_many, ((self.ev, b) for b in batches), workers):
            for evaluation in results:
                self.visited[evaluation.key] = evaluation
                self.counts.fitted += 1
                if evaluation.status != "ok":
                    self.counts.skip(evaluation.status)
        return [self.visited[k] for k in keys]

    def violation(self, evaluation: Evaluation) -> str:
        key = evaluation.key
        if key not in self.violations:
            reason = self.ev.violation(key, evaluation.fit) if evaluation.fit.ok else ""
            self.violations[key] = reason
            if reason:
                self.counts.constraint += 1
        return self.violations[key]

    # ------------------------------------------------------------------ one step
    def try_move(self, current: Evaluation, direction: Direction, stepwise: bool) -> Evaluation:
        """Take the best admissible move in ``direction``; return the new (or same) model."""
        space = self.space
        key = current.key
        size = len(key)
        if direction == "add":
            groups = [g for g in space.free if g not in key]
            if size >= space.max_size or not groups:
                return current
            keys = [tuple(sorted((*key, g))) for g in groups]
        else:
            groups = [g for g in key if g not in space.forced]
            if size <= space.min_size or not groups:
                return current
            keys = [tuple(k for k in key if k != g) for g in groups]
        self.step += 1
        cur_reason = self.violation(current) if current.fit.ok else current.status
        if direction == "add" and size < space.min_size:
            forced = f"model has fewer than {space.min_size} features"
        elif direction == "remove" and size > space.max_size:
            forced = f"model has more than {space.max_size} features"
        elif cur_reason:
            forced = f"current model is not admissible ({cur_reason})"
        else:
            forced = ""
        moves = []
        failed: list[tuple[int, str]] = []
        for g, evaluation in zip(groups, self.evaluate(keys, current), strict=True):
            if evaluation.status == "ok":
                moves.append(self.score(g, evaluation, current, direction))
            else:
                failed.append((g, evaluation.status))
        moves.sort(key=lambda m: self.preference(m, direction))
        chosen: _Move | None = None
        fallback: _Move | None = None
        verdicts: dict[int, str] = {}
        for move in moves:
            if chosen is not None:
                verdicts[move.group] = "another move is better"
                continue
            if stepwise and move.evaluation.key in self.visited_models:
                verdicts[move.group] = "leads back to a visited model"
                continue
            improves, why = self.improves(move, current, direction)
            if not improves and not forced:
                verdicts[move.group] = why
                continue
            reason = self.violation(move.evaluation)
            if reason and (not cur_reason or fallback is not None):
                verdicts[move.group] = f"constraint: {reason}"
            elif reason:
                # The current model breaks a constraint too: keep as a last resort.
                fallback = move
            else:
                chosen = move
        if chosen is None:
            chosen = fallback
        elif fallback is not None:
            verdicts[fallback.group] = "a feasible move is better"
        if chosen is not None:
            decision: Decision = "added" if direction == "add" else "removed"
            why = forced or self.improves(chosen, current, direction)[1]
            self.log(chosen.group, chosen.score, decision, why)
        for move in moves:
            if move.group in verdicts:
                self.log(move.group, move.score, "rejected", verdicts[move.group])
        for g, status in failed:
            self.log(g, None, "rejected", f"fit failed: {status}")
        if chosen is None:
            return current
        self.visited_models.add(chosen.evaluation.key)
        return chosen.evaluation

    def score(
        self, g: int, evaluation: Evaluation, current: Evaluation, direction: Direction
    ) -> _Move:
        if not self.pvalue:
            return _Move(g, evaluation, evaluation.value, math.nan)
        if direction == "add":
            lr = 2.0 * (evaluation.llf - current.llf)
        else:
            lr = 2.0 * (current.llf - evaluation.llf)
        lr = max(lr, 0.0)
        return _Move(g, evaluation, float(special.chdtrc(self.space.sizes[g], lr)), lr)

    def preference(self, move: _Move, direction: Direction) -> tuple[float, float, int, int]:
        n_params = move.evaluation.n_params
        if not self.pvalue:
            return (move.score, 0.0, n_params, move.group)
        if direction == "add":
            return (move.score, -move.stat, n_params, move.group)
        return (-move.score, move.stat, -n_params, move.group)

    def improves(self, move: _Move, current: Evaluation, direction: Direction) -> tuple[bool, str]:
        if self.pvalue:
            if direction == "add":
                ok = move.score < self.p_enter
                rel = "<" if ok else ">="
                return ok, f"LR p-value {move.score:.4g} {rel} p_enter={self.p_enter}"
            ok = move.score > self.p_remove
            rel = ">" if ok else "<="
            return ok, f"LR p-value {move.score:.4g} {rel} p_remove={self.p_remove}"
        cur = current.value
        ok = move.score < cur and not _close(move.score, cur)
        rel = "improves on" if ok else "does not improve on"
        return ok, f"{self.criterion} {move.score:.6g} {rel} {cur:.6g}"

    # ------------------------------------------------------------------ drivers
    def start(self, key: tuple[int, ...]) -> Evaluation:
        self.visited_models = {key}
        current = self.evaluate([key], None)[0]
        names = ", ".join(self.name(g) for g in key) or "intercept only"
        value = current.value if not self.pvalue else None
        self.path.append(PathStep(0, None, value, "added", f"starting model: {names}"))
        return current

    def run(
        self,
        mode: Literal["forward", "backward", "stepwise"],
        on_round: Callable[[int], None] | None = None,
    ) -> Evaluation:
        """Move until no move helps; ``on_round(n)`` after each of the ``n`` rounds."""
        space = self.space
        if mode == "backward":
            current = self.start(tuple(sorted((*space.forced, *space.free))))
        else:
            current = self.start(space.forced)
        limit = 4 * (len(space.free) + 1)
        for done in range(1, limit + 1):
            if mode == "forward":
                nxt = self.try_move(current, "add", False)
                moved = nxt is not current
            elif mode == "backward":
                nxt = self.try_move(current, "remove", False)
                moved = nxt is not current
            else:
                nxt = self.try_move(current, "add", True)
                moved = nxt is not current
                while True:
                    after = self.try_move(nxt, "remove", True)
                    if after is nxt:
                        break
                    moved = True
                    nxt = after
            current = nxt
            if on_round is not None:
                on_round(done)
            if not moved:
                break
        reason = self.violation(current) if current.fit.ok else current.status
        if reason:
            reason = f"no admissible move; the model still breaks a constraint ({reason})"
        self.log(None, None, _STOPPED, reason or "no admissible move improves the model")
        return current

    def final_value(self, current: Evaluation) -> float:
        if not self.pvalue:
            return current.value
        removable = [g for g in current.key if g not in self.space.forced]
        if not removable:
            return math.nan
        keys = [tuple(k for k in current.key if k != g) for g in removable]
        worst = 0.0
        for g, evaluation in zip(removable, self.evaluate(keys, current), strict=True):
            if evaluation.status == "ok":
                worst = max(worst, self.score(g, evaluation, current, "remove").score)
        return worst


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _select(
    mode: Literal["forward", "backward", "stepwise"],
    problem: SelectionProblem,
    constraints: SelectionConstraints | None,
    criterion: Criterion | str,
    n_jobs: int,
    cv: CrossValidation | None,
    p_enter: float,
    p_remove: float,
    top_n: int,
    progress: Progress,
) -> SelectionResult:
    started = time.perf_counter()
    check_common(top_n, n_jobs)
    search = _Stepwise(problem, constraints, criterion, cv, n_jobs, p_enter, p_remove)
    reporter = Reporter(progress, len(search.space.free) + 1, mode, unit="round")
    try:
        # a round adds (or removes) one feature: at most len(free) + 1 rounds for forward and
        # backward; a stepwise search that swaps features stays just short of full until done
        current = search.run(mode, lambda n: reporter.update(min(n, reporter.total - 1)))
        reporter.update(reporter.total)
    finally:
        reporter.close()
    if current.status != "ok":
        raise ValueError(
            f"{mode} selection ended on a model that cannot be fitted: {current.status}"
        )
    value = search.final_value(current)
    feasible = [
        e.entry()
        for e in list(search.visited.values())
        if e.status == "ok" and not search.violation(e)
    ]
    return build_result(
        strategy=mode,
        criterion=search.criterion,
        evaluator=search.ev,
        selected=current.key,
        criterion_value=value,
        entries=rank_entries(feasible),
        top_n=top_n,
        counts=search.counts,
        total=len(search.visited),
        path=search.path,
        started=started,
    )


def select_forward(
    problem: SelectionProblem,
    constraints: SelectionConstraints | None = None,
    criterion: Criterion | str = Criterion.aic,
    n_jobs: int = 1,
    cv: CrossValidation | None = None,
    p_enter: float = 0.05,
    top_n: int = 10,
    progress: Progress = "auto",
) -> SelectionResult:
    """Forward selection: start from the forced-in features, add the best group each step.

    Parameters
    ----------
    problem, constraints, cv, n_jobs, top_n, progress
        As for :func:`~credit_glm.selection.select_exhaustive`.
    criterion : Criterion or {"aic", "bic", "cv_auc", "cv_logloss", "pvalue"}
        ``"pvalue"`` adds the group with the smallest likelihood-ratio p-value while it is
        below ``p_enter``.
    p_enter : float
        Entry threshold for ``criterion="pvalue"``.

    Returns
    -------
    SelectionResult
        With the decision ``path``; ``top`` ranks the feasible models visited (by AIC for
        ``"pvalue"``).
    """
    return _select(
        "forward", problem, constraints, criterion, n_jobs, cv, p_enter, 1.0, top_n, progress
    )


def select_backward(
    problem: SelectionProblem,
    constraints: SelectionConstraints | None = None,
    criterion: Criterion | str = Criterion.aic,
    n_jobs: int = 1,
    cv: CrossValidation | None = None,
    p_remove: float = 0.10,
    top_n: int = 10,
    progress: Progress = "auto",
) -> SelectionResult:
    """Backward elimination: start from every non-excluded feature, drop the worst group.

    ``criterion="pvalue"`` removes the group with the largest likelihood-ratio p-value while
    it is above ``p_remove``. Other parameters as for :func:`select_forward`.
    """
    return _select(
        "backward", problem, constraints, criterion, n_jobs, cv, 1.0, p_remove, top_n, progress
    )


def select_stepwise(
    problem: SelectionProblem,
    constraints: SelectionConstraints | None = None,
    criterion: Criterion | str = Criterion.aic,
    n_jobs: int = 1,
    cv: CrossValidation | None = None,
    p_enter: float = 0.05,
    p_remove: float = 0.10,
    top_n: int = 10,
    progress: Progress = "auto",
) -> SelectionResult:
    """Bidirectional stepwise: forward steps, each followed by every improving removal.

    Starts from the forced-in features; never revisits a model (cycle guard). For
    ``criterion="pvalue"`` use ``p_remove >= p_enter``. Other parameters as for
    :func:`select_forward`.
    """
    return _select(
        "stepwise",
        problem,
        constraints,
        criterion,
        n_jobs,
        cv,
        p_enter,
        p_remove,
        top_n,
        progress,
    )
