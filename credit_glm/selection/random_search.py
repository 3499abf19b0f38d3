"""Random subset search: a seeded sample of subsets, each fitted with the lean solver.

All subsets are drawn up front from ``numpy.random.default_rng(seed)`` — a size uniform in
``[min_size, max_size]``, then that many features uniformly without replacement (forced-in
features always included) — and deduplicated in draw order. They are evaluated in fixed
chunks, so the result is the same for every ``n_jobs``.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from credit_glm.config import Criterion

from ._runtime import Progress, Reporter, build_result, check_common, parallel_map
from .criteria import CrossValidation, parse_criterion
from .engine import Counts, Entry, Evaluator, rank_entries
from .exhaustive import NoFeasibleSubsetError, _run_chunk
from .problem import SearchSpace, SelectionConstraints, SelectionProblem, resolve_space
from .result import SelectionResult

__all__ = ["draw_subsets", "select_random"]

_CHUNK = 64


def draw_subsets(
    space: SearchSpace, n_iter: int, min_size: int, max_size: int, seed: int
) -> list[tuple[int, ...]]:
    """The distinct subsets (sorted group indices) of ``n_iter`` seeded draws, in draw order."""
    rng = np.random.default_rng(seed)
    free = np.asarray(space.free, dtype=np.intp)
    n_forced = len(space.forced)
    seen: dict[tuple[int, ...], None] = {}
    for _ in range(n_iter):
        size = int(rng.integers(min_size, max_size + 1))
        picked = rng.choice(free, size=size - n_forced, replace=False) if free.size else free
        key = tuple(sorted((*space.forced, *(int(g) for g in picked))))
        seen.setdefault(key, None)
    return list(seen)


def select_random(
    problem: SelectionProblem,
    constraints: SelectionConstraints | None = None,
    criterion: Criterion | str = Criterion.aic,
    n_iter: int = 1000,
    min_size: int | None = None,
    max_size: int | None = None,
    seed: int = 0,
    top_n: int = 10,
    n_jobs: int = 1,
    cv: CrossValidation | None = None,
    progress: Progress = "auto",
) -> SelectionResult:
    """Best of ``n_iter`` random subsets.

    Parameters
    ----------
    problem, constraints, criterion, top_n, n_jobs, cv, progress
        As for :func:`~credit_glm.selection.select_exhaustive`.
    n_iter : int
        Subsets drawn (duplicates are fitted once).
    min_size, max_size : int, optional
        Range of the number of features drawn; default and limits: the constraints' size
        limits.
    seed : int
        Seed of the generator; the same seed gives the same result.

    Returns
    -------
    SelectionResult
        ``counts.total_subsets`` is the number of distinct subsets drawn.
    """
    started = time.perf_counter()
    criterion = parse_criterion(criterion)
    check_common(top_n, n_jobs)
    if not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter must be an integer >= 1, got {n_iter!r}")
    space = resolve_space(problem, constraints or SelectionConstraints())
    lo = space.min_size if min_size is None else min_size
    hi = space.max_size if max_size is None else max_size
    if not space.min_size <= lo <= hi <= space.max_size:
        raise ValueError(
            f"min_size={lo} and max_size={hi} must satisfy {space.min_size} <= min_size <= "
            f"max_size <= {space.max_size} (the size limits of the constraints)"
        )
    ev = Evaluator(problem, space, criterion, cv)
    keys = draw_subsets(space, n_iter, lo, hi, seed)
    chunks = [keys[i : i + _CHUNK] for i in range(0, len(keys), _CHUNK)]
    entries: list[Entry] = []
    counts = Counts()
    reporter = Reporter(progress, len(keys), "random")
    try:
        results = parallel_map(_run_chunk, ((ev, top_n, chunk) for chunk in chunks), n_jobs)
        for ranking, chunk_counts in results:
            entries = rank_entries(itertools.chain(entries, ranking))[:top_n]
            counts.add(chunk_counts)
            reporter.update(counts.fitted)
    finally:
        reporter.close()
    if not entries:
        raise NoFeasibleSubsetError(
            f"none of the {len(keys)} random subsets could be selected: {counts.why_skipped()}"
        )
    return build_result(
        strategy="random",
        criterion=criterion,
        evaluator=ev,
        selected=entries[0].key,
        criterion_value=entries[0].value,
        entries=entries,
        top_n=top_n,
        counts=counts,
        total=len(keys),
        started=started,
    )
