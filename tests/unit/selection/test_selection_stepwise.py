"""Forward, backward and stepwise selection recover strong effects and obey constraints."""

from __future__ import annotations

import numpy as np
import pytest

from credit_glm.selection import (
    SelectionConstraints,
    SelectionProblem,
    select_backward,
    select_forward,
    select_stepwise,
)
from tests.unit.selection._selection_helpers import synthetic_problem

STRATEGIES = [select_forward, select_backward, select_stepwise]
TRUE = ("a", "cat", "d")


@pytest.fixture(scope="module")
def strong() -> SelectionProblem:
    """n=3000, 8 groups; a, cat (3 columns) and d have effects of size >= 1."""
    rng = np.random.default_rng(2024)
    n = 3000
    cols = {name: rng.normal(size=n) for name in "abdefgh"}
    level = rng.integers(0, 4, size=n)
    dummies = np.column_stack([(level == k).astype(float) for k in (1, 2, 3)])
    eta = -0.5 + 1.0 * cols["a"] - 1.2 * cols["d"] + np.array([0.0, 1.0, -1.0, 1.5])[level]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    X = np.column_stack([np.ones(n), cols["a"], cols["b"], dummies, *(cols[c] for c in "defgh")])
    groups = (
        ("a", (1,)),
        ("b", (2,)),
        ("cat", (3, 4, 5)),
        ("d", (6,)),
        ("e", (7,)),
        ("f", (8,)),
        ("g", (9,)),
        ("h", (10,)),
    )
    return SelectionProblem(X, y, groups)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("criterion", ["bic", "pvalue"])
def test_recovers_true_support(strong: SelectionProblem, strategy, criterion: str) -> None:
    kwargs = {"p_enter": 0.01} if strategy is select_forward and criterion == "pvalue" else {}
    if strategy is select_backward and criterion == "pvalue":
        kwargs = {"p_remove": 0.01}
    if strategy is select_stepwise and criterion == "pvalue":
        kwargs = {"p_enter": 0.01, "p_remove": 0.02}
    result = strategy(strong, criterion=criterion, progress=None, **kwargs)
    assert result.selected == TRUE
    assert result.path[0].reason.startswith("starting model")
    assert result.path[-1].decision == "stopped"
    assert {step.decision for step in result.path} <= {"added", "removed", "rejected", "stopped"}


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda f: f.__name__)
def test_aic_keeps_the_true_support(strong: SelectionProblem, strategy) -> None:
    result = strategy(strong, criterion="aic", progress=None)
    assert set(TRUE) <= set(result.selected)
    assert result.criterion_value == pytest.approx(result.aic, abs=1e-9)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda f: f.__name__)
def test_constraints_apply_inside(strong: SelectionProblem, strategy) -> None:
    constraints = SelectionConstraints(force_in=("h",), exclude=("a",), max_features=3)
    result = strategy(strong, constraints, criterion="bic", progress=None)
    assert "h" in result.selected and "a" not in result.selected
    assert len(result.selected) <= 3
    added = [s.candidate for s in result.path if s.decision == "added" and s.candidate]
    removed = [s.candidate for s in result.path if s.decision == "removed"]
    assert "a" not in added and "h" not in removed


def test_moves_that_break_max_vif_are_not_taken() -> None:
    # x1 and x2 are correlated (VIF about 2.8); both matter, but max_vif=2 allows only one.
    problem = synthetic_problem(n=2000, seed=1)
    free = select_forward(problem, criterion="bic", progress=None)
    assert {"x1", "x2"} <= set(free.selected)
    capped = select_forward(
        problem, SelectionConstraints(max_vif=2.0), criterion="bic", progress=None
    )
    assert not {"x1", "x2"} <= set(capped.selected)
    reasons = [s.reason for s in capped.path if s.decision == "rejected"]
    assert any(r.startswith("constraint: max_vif") for r in reasons)
    assert capped.counts.skipped_constraint > 0


def test_backward_starts_by_meeting_max_features(strong: SelectionProblem) -> None:
    result = select_backward(
        strong, SelectionConstraints(max_features=2), criterion="aic", progress=None
    )
    assert len(result.selected) == 2
    assert set(result.selected) <= set(TRUE)


def test_stepwise_is_the_same_for_any_n_jobs(strong: SelectionProblem) -> None:
    one = select_stepwise(strong, criterion="aic", n_jobs=1, progress=None).to_dict()
    two = select_stepwise(strong, criterion="aic", n_jobs=2, progress=None).to_dict()
    one.pop("wall_time")
    two.pop("wall_time")
    assert one == two


def test_bad_thresholds_are_refused(strong: SelectionProblem) -> None:
    with pytest.raises(ValueError, match="p_enter"):
        select_forward(strong, criterion="pvalue", p_enter=0.0, progress=None)
    with pytest.raises(ValueError, match="criterion"):
        select_forward(strong, criterion="r2", progress=None)
