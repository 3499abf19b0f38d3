"""Random search is reproducible from its seed and independent of n_jobs."""

from __future__ import annotations

import pytest

from credit_glm.selection import SelectionConstraints, select_exhaustive, select_random
from credit_glm.selection.problem import resolve_space
from credit_glm.selection.random_search import draw_subsets
from tests.unit.selection._selection_helpers import many_groups_problem, synthetic_problem


def _plain(result) -> dict:
    data = result.to_dict()
    data.pop("wall_time")
    return data


def test_same_seed_same_result() -> None:
    problem = synthetic_problem(seed=4)
    first = select_random(problem, n_iter=40, seed=11, progress=None)
    second = select_random(problem, n_iter=40, seed=11, progress=None)
    assert _plain(first) == _plain(second)


def test_n_jobs_does_not_change_the_result() -> None:
    problem = many_groups_problem(3)
    one = select_random(problem, n_iter=300, seed=3, n_jobs=1, progress=None)
    two = select_random(problem, n_iter=300, seed=3, n_jobs=2, progress=None)
    assert one.counts.total_subsets > 128  # several chunks
    assert _plain(one) == _plain(two)


def test_draws_respect_sizes_and_forced_features() -> None:
    problem = synthetic_problem(seed=4)
    space = resolve_space(problem, SelectionConstraints(force_in=("x6",), exclude=("x5",)))
    subsets = draw_subsets(space, 300, 2, 3, seed=9)
    assert len(subsets) == len(set(subsets))
    assert all(5 in key and 4 not in key and 2 <= len(key) <= 3 for key in subsets)
    assert draw_subsets(space, 300, 2, 3, seed=10) != subsets


def test_enough_draws_find_the_exhaustive_optimum() -> None:
    problem = synthetic_problem(seed=4)
    best = select_exhaustive(problem, criterion="bic", top_n=5, progress=None)
    found = select_random(problem, criterion="bic", n_iter=2000, seed=0, top_n=5, progress=None)
    assert found.counts.total_subsets == 64
    assert [t.features for t in found.top] == [t.features for t in best.top]
    assert found.criterion_value == pytest.approx(best.criterion_value, abs=1e-9)


def test_size_range_is_checked() -> None:
    problem = synthetic_problem(seed=4)
    with pytest.raises(ValueError, match="max_size"):
        select_random(problem, SelectionConstraints(max_features=2), max_size=4, progress=None)
