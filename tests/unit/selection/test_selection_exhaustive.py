"""Exhaustive search equals a statsmodels brute force, under every constraint."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from credit_glm.config import Criterion
from credit_glm.selection import (
    CrossValidation,
    NoFeasibleSubsetError,
    SelectionConstraints,
    SelectionProblem,
    SelectionResult,
    select_exhaustive,
)
from credit_glm.selection.solver import BinomialDesign
from tests.unit.selection._selection_helpers import (
    all_sm_fits,
    brute_force,
    gvif_adjusted,
    many_groups_problem,
    rank_reference,
    synthetic_problem,
)

SIGNS = {"x3": 1, "x2": 1}

CONSTRAINTS = {
    "none": SelectionConstraints(),
    "force_in": SelectionConstraints(force_in=("x6",)),
    "exclude": SelectionConstraints(exclude=("x1", "x5")),
    "min_features": SelectionConstraints(min_features=4),
    "max_features": SelectionConstraints(max_features=2),
    "max_vif": SelectionConstraints(max_vif=2.0),
    "max_pvalue": SelectionConstraints(max_pvalue=0.05),
    "expected_signs": SelectionConstraints(enforce_expected_signs=True),
    "combined": SelectionConstraints(
        force_in=("x3",), min_features=2, max_features=3, max_vif=2.0, max_pvalue=0.5
    ),
}


@pytest.fixture(scope="module")
def problem() -> SelectionProblem:
    # Seed chosen so that every constraint changes the best subset (x1 and x2 are
    # correlated, x3 is weak and negative).
    return synthetic_problem(n=400, seed=7, expected_signs=SIGNS)


@pytest.fixture(scope="module")
def sm_fits(problem: SelectionProblem) -> dict[tuple[int, ...], object]:
    return all_sm_fits(problem)  # type: ignore[return-value]


def _check_against_brute_force(
    result: SelectionResult, expected: list[tuple[tuple[str, ...], float]], top_n: int
) -> None:
    assert result.selected == expected[0][0]
    assert result.criterion_value == pytest.approx(expected[0][1], abs=1e-6)
    assert len(result.top) == min(top_n, len(expected))
    for got, (names, value) in zip(result.top, expected, strict=False):
        assert got.features == names
        assert got.criterion_value == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize("criterion", ["aic", "bic"])
@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_exhaustive_equals_brute_force(
    problem: SelectionProblem, sm_fits: dict, name: str, criterion: str
) -> None:
    constraints = CONSTRAINTS[name]
    if name != "expected_signs":
        constraints = SelectionConstraints(
            **{**constraints.__dict__, "enforce_expected_signs": False}
        )
    expected = brute_force(problem, sm_fits, constraints, criterion)
    assert expected, "the scenario must leave feasible subsets"
    for top_n in (1, 5):
        result = select_exhaustive(
            problem, constraints, criterion=criterion, top_n=top_n, progress=None
        )
        _check_against_brute_force(result, expected, top_n)
        counts = result.counts
        assert counts.fitted + counts.pruned == counts.total_subsets


@pytest.mark.parametrize("link", ["probit", "cloglog"])
def test_weighted_non_logit_equals_brute_force(link: str) -> None:
    problem = synthetic_problem(n=300, seed=8, weighted=True, link=link)
    fits = all_sm_fits(problem)
    expected = brute_force(problem, fits, SelectionConstraints(), "bic")
    result = select_exhaustive(problem, criterion="bic", top_n=3, progress=None)
    _check_against_brute_force(result, expected, 3)


@pytest.mark.parametrize("criterion", ["aic", "bic"])
def test_branch_and_bound_prunes_exactly(criterion: str) -> None:
    problem = many_groups_problem(21)
    design = BinomialDesign(problem.X, problem.y)
    penalty = 2.0 if criterion == "aic" else float(np.log(problem.y.shape[0]))
    items = []
    for size in range(11):
        for key in itertools.combinations(range(10), size):
            cols = np.array([0, *(g + 1 for g in key)], dtype=np.intp)
            fit = design.fit(cols)
            items.append((-2.0 * fit.llf + penalty * cols.shape[0], cols.shape[0], key))
    values = {key: value for value, _, key in items}
    ranked = rank_reference(items)
    for top_n in (1, 10):
        result = select_exhaustive(problem, criterion=criterion, top_n=top_n, progress=None)
        assert result.counts.pruned > 0
        assert [t.features for t in result.top] == [
            tuple(f"v{g + 1}" for g in key) for key in ranked[:top_n]
        ]
        for got, key in zip(result.top, ranked, strict=False):
            assert got.criterion_value == pytest.approx(values[key], abs=1e-6)


def test_n_jobs_does_not_change_the_result() -> None:
    problem = many_groups_problem(4)
    one = select_exhaustive(problem, top_n=5, n_jobs=1, progress=None).to_dict()
    two = select_exhaustive(problem, top_n=5, n_jobs=2, progress=None).to_dict()
    one.pop("wall_time")
    two.pop("wall_time")
    assert one == two


def test_separated_subsets_are_skipped_and_counted() -> None:
    base = synthetic_problem(n=300, seed=6)
    leak = base.y.copy()  # a dummy equal to the response separates it perfectly
    X = np.column_stack([base.X, leak])
    groups = (*base.groups, ("leak", (X.shape[1] - 1,)))
    problem = SelectionProblem(X, base.y, groups)
    result = select_exhaustive(problem, top_n=5, progress=None)
    assert "leak" not in result.selected
    assert all("leak" not in t.features for t in result.top)
    assert result.counts.skipped_separated > 0
    json.dumps(result.to_dict())


def test_max_subsets_refusal_names_the_limit() -> None:
    problem = many_groups_problem(1)
    with pytest.raises(ValueError, match="max_subsets"):
        select_exhaustive(problem, max_subsets=1000, progress=None)
    result = select_exhaustive(
        problem, SelectionConstraints(max_features=3), max_subsets=1000, progress=None
    )
    assert result.counts.total_subsets == 1 + 10 + 45 + 120


def test_no_feasible_subset_is_an_error(problem: SelectionProblem) -> None:
    constraints = SelectionConstraints(force_in=("x3",), max_pvalue=1e-12)
    with pytest.raises(NoFeasibleSubsetError, match="breaking a constraint"):
        select_exhaustive(problem, constraints, progress=None)


@pytest.mark.parametrize("criterion", [Criterion.cv_auc, Criterion.cv_logloss])
def test_cross_validated_exhaustive_is_deterministic(
    problem: SelectionProblem, criterion: Criterion
) -> None:
    cv = CrossValidation(n_splits=4, seed=7)
    first = select_exhaustive(problem, criterion=criterion, cv=cv, top_n=3, progress=None)
    again = select_exhaustive(problem, criterion=criterion, cv=cv, top_n=3, progress=None)
    a, b = first.to_dict(), again.to_dict()
    a.pop("wall_time")
    b.pop("wall_time")
    assert a == b
    assert first.counts.fitted == first.counts.total_subsets == 64
    assert first.criterion == criterion.value
    if criterion is Criterion.cv_auc:
        assert -1.0 <= first.criterion_value <= -0.5
    holdout = CrossValidation(holdout=0.3, seed=7)
    other = select_exhaustive(problem, criterion=criterion, cv=holdout, top_n=3, progress=None)
    assert other.criterion_value != first.criterion_value


def test_progress_callback_reaches_total(problem: SelectionProblem) -> None:
    seen: list[tuple[int, int]] = []
    result = select_exhaustive(problem, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (result.counts.total_subsets, result.counts.total_subsets)


def test_all_forced_is_a_single_model() -> None:
    problem = synthetic_problem(seed=2)
    forced = SelectionConstraints(force_in=problem.group_names)
    result = select_exhaustive(problem, forced, progress=None)
    assert result.selected == problem.group_names
    assert result.counts.total_subsets == result.counts.fitted == 1


def test_cross_validated_exhaustive_ignores_n_jobs() -> None:
    problem = many_groups_problem(5, n=300, m=9)
    cv = CrossValidation(n_splits=3, seed=1)
    one = select_exhaustive(problem, criterion="cv_auc", cv=cv, n_jobs=1, progress=None).to_dict()
    two = select_exhaustive(problem, criterion="cv_auc", cv=cv, n_jobs=2, progress=None).to_dict()
    one.pop("wall_time")
    two.pop("wall_time")
    assert one == two


def test_max_vif_pruning_is_exact() -> None:
    # Correlated single columns and a 2-column group: GVIF pruning of branches whose
    # fixed groups already break max_vif must not lose any feasible subset.
    rng = np.random.default_rng(12)
    n, m = 500, 8
    latent = rng.normal(size=(n, 3))
    Z = latent @ rng.normal(size=(3, m)) + rng.normal(size=(n, m))
    X = np.column_stack([np.ones(n), Z])
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(Z[:, 0] - 0.5 * Z[:, 3])))).astype(float)
    groups = (("g12", (1, 2)), *((f"v{j}", (j,)) for j in range(3, m + 1)))
    problem = SelectionProblem(X, y, groups)
    constraints = SelectionConstraints(max_vif=1.6)
    design = BinomialDesign(X, y)
    items = []
    for size in range(len(groups) + 1):
        for key in itertools.combinations(range(len(groups)), size):
            if any(v > 1.6 for v in gvif_adjusted(problem, key).values()):
                continue
            cols = np.array([0] + [c for g in key for c in groups[g][1]], dtype=np.intp)
            fit = design.fit(cols)
            items.append((-2.0 * fit.llf + 2.0 * cols.shape[0], cols.shape[0], key))
    ranked = rank_reference(items)
    result = select_exhaustive(problem, constraints, top_n=5, progress=None)
    assert result.counts.pruned > 0
    assert [t.features for t in result.top] == [
        tuple(groups[g][0] for g in key) for key in ranked[:5]
    ]
