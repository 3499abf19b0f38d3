"""Plumbing shared by the strategies: argument checks, progress, parallel map, results."""

from __future__ import annotations

import itertools
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from credit_glm.config import Criterion

from .criteria import information_criterion
from .engine import Counts, Entry, Evaluator, rank_entries
from .result import PathStep, RankedSubset, SelectionCounts, SelectionResult

__all__ = [
    "Progress",
    "Reporter",
    "build_result",
    "check_common",
    "interactive_terminal",
    "parallel_map",
    "warm_start",
]

ProgressCallback = Callable[[int, int], None]
#: ``"auto"``: a tqdm bar on a terminal outside CI; a callable gets ``(done, total)``;
#: ``None``: silent.
Progress = ProgressCallback | Literal["auto"] | None
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
T = TypeVar("T")

#: Seconds of work done in-process before tasks go to worker processes (see parallel_map).
INLINE_SECONDS = 1.0


def check_common(top_n: int, n_jobs: int) -> None:
    """Validate the arguments every strategy takes."""
    if not isinstance(top_n, int) or top_n < 1:
        raise ValueError(f"top_n must be an integer >= 1, got {top_n!r}")
    if not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")


def interactive_terminal() -> bool:
    """Whether a progress bar may be drawn: stderr is a terminal and ``CI`` is unset.

    A pipe, a file, a CI log (every CI service sets ``CI``) or a container's log stream gets
    no bar: carriage-return redraws would fill it with hundreds of partial lines.
    """
    return sys.stderr.isatty() and "CI" not in os.environ


class Reporter:
    """Reports ``(done, total)`` to a callback, or to a tqdm bar on an interactive terminal.

    The bar (rate and time left, on stderr) only appears where :func:`interactive_terminal`
    holds, so logs of batch and CI runs stay clean. It is removed when the work ends. The
    strategies report in coarse steps (a chunk of subsets, a branch, a stepwise round), so
    every update is drawn: on a fast machine a search of a few updates still shows its rate.
    """

    def __init__(self, progress: Progress, total: int, desc: str, unit: str = "subset") -> None:
        self.total = total
        self._callback: ProgressCallback | None = None
        self._bar: Any = None
        if callable(progress):
            self._callback = progress
        elif progress == "auto" and interactive_terminal():
            from tqdm import tqdm  # type: ignore[import-untyped]

            self._bar = tqdm(
                total=total,
                desc=desc,
                unit=unit,
                leave=False,
                mininterval=0,
                miniters=1,
                dynamic_ncols=True,
            )
        elif progress not in (None, "auto"):
            raise ValueError("progress must be a callable, 'auto' or None")

    def update(self, done: int) -> None:
        """Report that ``done`` of ``total`` units are finished."""
        if self._callback is not None:
            self._callback(done, self.total)
        if self._bar is not None:
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        """Remove the bar, if any."""
        if self._bar is not None:
            self._bar.close()


def parallel_map(
    func: Callable[..., T],
    tasks: Iterable[tuple[Any, ...]],
    n_jobs: int,
    inline_seconds: float | None = None,
) -> Iterator[T]:
    """``func(*task)`` for every task, in task order.

    With ``n_jobs == 1`` the tasks run here. Otherwise they also start here, and only the
    tasks still left after ``inline_seconds`` (default :data:`INLINE_SECONDS`) go to joblib
    (loky) worker processes: starting
    workers costs about a second each, more than many whole searches. The tasks are
    independent and ``func`` pins BLAS to one thread itself, so where a task runs never
    changes its result.
    """
    budget = INLINE_SECONDS if inline_seconds is None else inline_seconds
    pending = iter(tasks)
    if n_jobs != 1 and budget > 0:
        started = time.perf_counter()
        for task in pending:
            yield func(*task)
            if time.perf_counter() - started > budget:
                break
    first = next(pending, None)
    if first is None:
        return
    if n_jobs == 1:
        yield func(*first)
        for task in pending:
            yield func(*task)
        return
    runner = Parallel(n_jobs=n_jobs, return_as="generator", batch_size=1)
    yield from runner(delayed(func)(*task) for task in itertools.chain([first], pending))


def single_threaded() -> Any:
    """Context pinning BLAS/OpenMP pools to one thread (parallelism is across subsets)."""
    return threadpool_limits(limits=1)


def warm_start(
    prev_cols: IntArray | None, prev_params: FloatArray | None, cols: IntArray, n_columns: int
) -> FloatArray | None:
    """Coefficients of a previous fit carried over to ``cols`` (zeros for new columns)."""
    if prev_cols is None or prev_params is None:
        return None
    full = np.zeros(n_columns)
    full[prev_cols] = prev_params
    return full[cols]


def build_result(
    *,
    strategy: str,
    criterion: Criterion,
    evaluator: Evaluator,
    selected: Sequence[int],
    criterion_value: float,
    entries: Iterable[Entry],
    top_n: int,
    counts: Counts,
    total: int,
    path: Sequence[PathStep] = (),
    started: float,
) -> SelectionResult:
    """Assemble the immutable result; the selected model is refitted from a cold start."""
    space = evaluator.space
    key = tuple(sorted(selected))
    with single_threaded():
        fit = evaluator.fit(key)
    n_obs = evaluator.design.sum_w
    llf = fit.llf if fit.ok else math.nan
    top = tuple(
        RankedSubset(
            features=tuple(space.names[g] for g in e.key),
            criterion_value=e.value,
            n_params=e.n_params,
            llf=e.llf,
        )
        for e in rank_entries(entries)[:top_n]
    )
    return SelectionResult(
        strategy=strategy,
        criterion=criterion.value,
        selected=tuple(space.names[g] for g in key),
        columns=tuple(int(c) for c in space.columns(key)),
        criterion_value=float(criterion_value),
        llf=float(llf),
        aic=float(information_criterion(Criterion.aic, llf, fit.k, n_obs)),
        bic=float(information_criterion(Criterion.bic, llf, fit.k, n_obs)),
        path=tuple(path),
        top=top,
        counts=SelectionCounts(
            total_subsets=total,
            fitted=counts.fitted,
            pruned=counts.pruned,
            skipped_nonconverged=counts.nonconverged,
            skipped_separated=counts.separated,
            skipped_singular=counts.singular,
            skipped_constraint=counts.constraint,
            extra_fits=counts.extra_fits,
        ),
        wall_time=time.perf_counter() - started,
    )
