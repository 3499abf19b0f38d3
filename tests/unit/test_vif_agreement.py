"""One GVIF: the selection constraint max_vif, the diagnostics and the evaluation gate agree,
with and without frequency weights, and the weighted GVIF is the one of the repeated rows."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from credit_glm.collinearity import generalized_vif
from credit_glm.config import (
    ColumnConfig,
    ColumnType,
    DataConfig,
    EvaluationConfig,
    FeatureConfig,
    FeaturesConfig,
    TargetConfig,
    Transform,
)
from credit_glm.diagnostics import collinearity_report
from credit_glm.evaluation import gate_failures
from credit_glm.features import design_matrix, fit_feature_spec
from credit_glm.selection import SelectionConstraints, SelectionProblem
from credit_glm.selection.engine import Evaluator
from credit_glm.selection.problem import resolve_space

DATA = DataConfig(
    name="t",
    path="t.csv",
    target=TargetConfig(column="y", event="1"),
    columns={
        "income": ColumnConfig(type=ColumnType.float),
        "age": ColumnConfig(type=ColumnType.float),
        "grade": ColumnConfig(type=ColumnType.category),
        "y": ColumnConfig(type=ColumnType.int),
    },
)
FEATURES = FeaturesConfig(
    name="t",
    features={
        "income": FeatureConfig(),
        "age": FeatureConfig(),
        "grade": FeatureConfig(transform=Transform.onehot),
    },
)


def _frame(n: int = 300, seed: int = 11) -> tuple[pd.DataFrame, np.ndarray]:
    """Correlated features, and integer weights that favour rows where they correlate most."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 3, size=n)
    income = 0.8 * level + rng.normal(size=n)
    age = 0.6 * income + rng.normal(size=n)
    y = (rng.random(n) < 0.3).astype(int)
    weights = np.where(np.abs(income - age) < 0.7, 4.0, 1.0) + rng.integers(0, 2, size=n)
    frame = pd.DataFrame(
        {
            "income": income,
            "age": age,
            "grade": pd.Categorical(np.array(["a", "b", "c"])[level]),
            "y": y,
        }
    )
    return frame, weights


def _gvif_by_determinants(x: np.ndarray, cols: list[int]) -> float:
    """Fox & Monette's det(R_JJ) det(R_-J-J) / det(R) typed literally (np.corrcoef, det)."""
    r = np.corrcoef(x[:, 1:], rowvar=False)
    own = [c - 1 for c in cols]
    rest = [c for c in range(r.shape[0]) if c not in own]
    return float(
        np.linalg.det(r[np.ix_(own, own)]) * np.linalg.det(r[np.ix_(rest, rest)]) / np.linalg.det(r)
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_selection_constraint_diagnostics_and_gate_agree(weighted: bool) -> None:
    frame, w = _frame()
    weights = w if weighted else None
    spec = fit_feature_spec(FEATURES, DATA, frame)
    X = design_matrix(spec, frame)
    groups = spec.groups()
    problem = SelectionProblem(X, frame["y"].to_numpy(float), groups, weights=weights)
    report = collinearity_report(X, spec, weights)["features"]
    # the independent figure: the rows repeated as often as their weight, unweighted
    expanded = X if weights is None else np.repeat(X, weights.astype(int), axis=0)
    every = tuple(range(len(groups)))
    engine_vif = {}
    for limit in (1.05, 1.2, 1.5, 10.0):
        space = resolve_space(problem, SelectionConstraints(max_vif=limit))
        evaluator = Evaluator(problem, space, "aic")
        gvif = evaluator.gvif(every)
        for g, (name, cols) in enumerate(groups):
            engine_vif[name] = gvif[g] ** (1.0 / len(cols))
            reference = _gvif_by_determinants(expanded, list(cols)) ** (1.0 / len(cols))
            assert report[name]["vif"] == pytest.approx(engine_vif[name], rel=1e-12)
            assert engine_vif[name] == pytest.approx(reference, rel=1e-9)
        vif = {name: report[name]["vif"] for name, _ in groups}
        gate = gate_failures(EvaluationConfig(max_vif=limit), {}, "test", vif=vif)
        assert bool(gate) is bool(evaluator.vif_violation(every)), limit
    assert min(engine_vif.values()) < 1.2 < max(engine_vif.values())  # the limits split them


def test_weights_change_the_gvif() -> None:
    # the weights matter here, so a path that dropped them would fail the test above
    frame, w = _frame()
    spec = fit_feature_spec(FEATURES, DATA, frame)
    X = design_matrix(spec, frame)
    plain = collinearity_report(X, spec)["features"]
    weighted = collinearity_report(X, spec, w)["features"]
    assert abs(plain["age"]["vif"] - weighted["age"]["vif"]) > 0.05


def test_weighted_gvif_of_every_submodel_is_that_of_the_repeated_rows() -> None:
    frame, w = _frame(seed=12)
    X = design_matrix(fit_feature_spec(FEATURES, DATA, frame), frame)
    expanded = np.repeat(X, w.astype(int), axis=0)
    named = {"income": [1], "age": [2], "grade": [3, 4]}
    for size in (2, 3):
        for names in itertools.combinations(named, size):
            cols = [c for n in names for c in named[n]]
            sub = X[:, [0, *cols]]
            local = {}
            pos = 1
            for n in names:
                local[n] = list(range(pos, pos + len(named[n])))
                pos += len(named[n])
            got = generalized_vif(sub, local, weights=w)
            ref = expanded[:, [0, *cols]]
            for n in names:
                assert got[n].gvif == pytest.approx(_gvif_by_determinants(ref, local[n]), rel=1e-9)
    zero = w.copy()
    zero[:10] = 0.0
    dropped = generalized_vif(X, {"income": [1], "age": [2], "grade": [3, 4]}, weights=zero)
    kept = generalized_vif(X[10:], {"income": [1], "age": [2], "grade": [3, 4]}, weights=w[10:])
    for n in named:
        assert dropped[n].gvif == pytest.approx(kept[n].gvif, rel=1e-12)
