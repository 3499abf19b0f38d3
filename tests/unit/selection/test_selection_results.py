"""Inputs are validated; results are immutable, JSON-serialisable audit trails."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import statsmodels.api as sm

from credit_glm.config import Criterion
from credit_glm.metrics import log_loss, roc_auc, weighted_auc, weighted_log_loss
from credit_glm.selection import (
    CrossValidation,
    SelectionConstraints,
    SelectionProblem,
    select_exhaustive,
    select_stepwise,
)
from credit_glm.selection.criteria import make_folds
from tests.unit.selection._selection_helpers import synthetic_problem


def test_result_is_frozen_and_json_ready() -> None:
    problem = synthetic_problem(seed=1)
    result = select_stepwise(problem, criterion="pvalue", progress=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.selected = ()  # type: ignore[misc]
    data = json.loads(json.dumps(result.to_dict()))
    assert data["strategy"] == "stepwise"
    assert data["selected"] == list(result.selected)
    assert data["columns"][0] == 0
    assert data["counts"]["fitted"] == result.counts.fitted
    assert all(
        step["decision"] in {"added", "removed", "rejected", "stopped"} for step in data["path"]
    )


def test_selected_names_follow_input_order() -> None:
    problem = synthetic_problem(seed=7)
    result = select_exhaustive(problem, progress=None)
    order = [problem.group_names.index(name) for name in result.selected]
    assert order == sorted(order)
    assert result.bic == pytest.approx(
        -2.0 * result.llf + len(result.columns) * math.log(problem.y.shape[0])
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"groups": (("a", (0,)),)}, "outside"),
        ({"groups": (("a", (1,)), ("b", (1,)))}, "belongs to both"),
        ({"groups": (("a", (1,)), ("a", (2,)))}, "twice"),
        ({"link": "log"}, "link"),
        ({"expected_signs": {"zz": 1}}, "unknown group"),
        ({"expected_signs": {"a": 2}}, r"\+1 or -1"),
        ({"weights": -np.ones(5)}, "non-negative"),
    ],
)
def test_problem_validation(kwargs: dict, match: str) -> None:
    X = np.column_stack([np.ones(5), np.arange(5.0), np.arange(5.0) ** 2])
    base = {"X": X, "y": np.array([0.0, 1.0, 0.0, 1.0, 1.0]), "groups": (("a", (1,)), ("b", (2,)))}
    with pytest.raises(ValueError, match=match):
        SelectionProblem(**{**base, **kwargs})


def test_constraint_validation() -> None:
    with pytest.raises(ValueError, match="both forced in and excluded"):
        SelectionConstraints(force_in=("a",), exclude=("a",))
    with pytest.raises(ValueError, match="max_features"):
        SelectionConstraints(min_features=3, max_features=2)
    problem = synthetic_problem(seed=1)
    with pytest.raises(ValueError, match="unknown features"):
        select_exhaustive(problem, SelectionConstraints(force_in=("nope",)), progress=None)
    with pytest.raises(ValueError, match="size limits"):
        select_exhaustive(
            problem,
            SelectionConstraints(force_in=("x1", "x2", "x3"), max_features=2),
            progress=None,
        )


def test_folds_are_seeded_and_stratified() -> None:
    y = (np.random.default_rng(0).random(103) < 0.3).astype(float)
    folds = make_folds(y, CrossValidation(n_splits=4, seed=5))
    again = make_folds(y, CrossValidation(n_splits=4, seed=5))
    other = make_folds(y, CrossValidation(n_splits=4, seed=6))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other, strict=True))
    tests = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tests), np.arange(103))
    events = [int(y[test].sum()) for _, test in folds]
    assert max(events) - min(events) <= 1


def test_weighted_metrics_match_replicated_rows() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(60) < 0.4).astype(float)
    p = np.round(rng.random(60), 1)  # ties on purpose
    w = rng.integers(1, 4, size=60).astype(float)
    rep = np.repeat(np.arange(60), w.astype(int))
    yr, pr = y[rep], p[rep]
    pos, neg = pr[yr == 1], pr[yr == 0]
    pairwise = ((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean()
    assert weighted_auc(y, p, w) == pytest.approx(pairwise, abs=1e-12)
    assert roc_auc(y, p, weights=w) == pytest.approx(pairwise, abs=1e-12)
    q = np.clip(pr, 1e-15, 1 - 1e-15)
    by_hand = -np.mean(yr * np.log(q) + (1 - yr) * np.log(1 - q))
    assert weighted_log_loss(y, p, w) == pytest.approx(by_hand, abs=1e-12)
    assert log_loss(y, p, weights=w) == pytest.approx(by_hand, abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("criterion", [Criterion.cv_auc, Criterion.cv_logloss])
def test_cross_validated_criterion_is_the_models_own_metric(
    criterion: Criterion, weighted: bool
) -> None:
    # the fold score is the AUC / log loss the model card reports (credit_glm.metrics), of a
    # statsmodels refit on the other folds: one metric, wherever it is computed
    base = synthetic_problem(seed=4)
    rng = np.random.default_rng(9)
    w = rng.integers(1, 4, size=base.y.shape[0]).astype(float) if weighted else None
    problem = SelectionProblem(base.X, base.y, base.groups, weights=w)
    cv = CrossValidation(n_splits=3, seed=2)
    result = select_exhaustive(problem, criterion=criterion, cv=cv, top_n=1, progress=None)
    cols = list(result.columns)
    scores = []
    for train, test in make_folds(problem.y, cv):
        fw = None if w is None else w[train]
        ref = sm.GLM(
            problem.y[train],
            problem.X[train][:, cols],
            family=sm.families.Binomial(),
            freq_weights=fw,
        ).fit(tol=1e-12)
        prob = ref.predict(problem.X[test][:, cols])
        tw = None if w is None else w[test]
        if criterion is Criterion.cv_auc:
            scores.append(-roc_auc(problem.y[test], prob, weights=tw))
        else:
            scores.append(log_loss(problem.y[test], prob, weights=tw))
    assert result.criterion == criterion.value
    assert result.criterion_value == pytest.approx(float(np.mean(scores)), rel=1e-7)


@pytest.mark.parametrize("name", ["auc", "log_loss", "r2"])
def test_only_the_configured_criterion_names_are_accepted(name: str) -> None:
    with pytest.raises(ValueError, match="cv_auc, cv_logloss"):
        select_exhaustive(synthetic_problem(seed=1), criterion=name, progress=None)
