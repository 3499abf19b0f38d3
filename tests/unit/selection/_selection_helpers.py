"""Synthetic problems and a statsmodels brute force for the selection-engine tests."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from scipy import special

from credit_glm.selection import SelectionConstraints, SelectionProblem

SM_LINKS = {
    "logit": sm.families.links.Logit,
    "probit": sm.families.links.Probit,
    "cloglog": sm.families.links.CLogLog,
}


def synthetic_problem(
    n: int = 400,
    seed: int = 0,
    weighted: bool = False,
    link: str = "logit",
    expected_signs: Mapping[str, int] | None = None,
) -> SelectionProblem:
    """Six groups: x1, x2 (correlated with x1), x3 (weak), cat (3 dummies), x5, x6 (noise)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = 0.8 * x1 + 0.6 * rng.normal(size=n)
    x3 = rng.normal(size=n)
    cat = rng.integers(0, 4, size=n)
    dummies = np.column_stack([(cat == level).astype(float) for level in (1, 2, 3)])
    x5 = rng.normal(size=n)
    x6 = rng.normal(size=n)
    eta = -0.4 + 0.6 * x1 + 0.6 * x2 - 0.15 * x3 + np.array([0.0, 0.6, -0.4, 1.0])[cat]
    eta = eta + 0.08 * x5
    if link == "logit":
        prob = special.expit(eta)
    elif link == "probit":
        prob = special.ndtr(0.6 * eta)
    else:
        prob = -np.expm1(-np.exp(0.6 * eta - 0.3))
    y = (rng.random(n) < prob).astype(float)
    X = np.column_stack([np.ones(n), x1, x2, x3, dummies, x5, x6])
    groups = (
        ("x1", (1,)),
        ("x2", (2,)),
        ("x3", (3,)),
        ("cat", (4, 5, 6)),
        ("x5", (7,)),
        ("x6", (8,)),
    )
    weights = rng.integers(1, 4, size=n).astype(float) if weighted else None
    return SelectionProblem(X, y, groups, weights, link, dict(expected_signs or {}))


def many_groups_problem(seed: int, n: int = 600, m: int = 10) -> SelectionProblem:
    """``m`` single-column groups ``v1..vm`` with decreasing effects (some zero)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, m))])
    effects = [1.0, -0.8, 0.5, 0.3, 0.2, 0.1, 0.0, 0.0, 0.05, 0.0, 0.15, 0.0]
    beta = np.array([-0.3, *effects[:m]])
    y = (rng.random(n) < special.expit(X @ beta)).astype(float)
    groups = tuple((f"v{j}", (j,)) for j in range(1, m + 1))
    return SelectionProblem(X, y, groups)


@dataclass(frozen=True)
class SmFit:
    key: tuple[int, ...]
    llf: float
    aic: float
    bic: float
    params: np.ndarray
    pvalues: np.ndarray
    n_params: int


def sm_fit(problem: SelectionProblem, key: Sequence[int]) -> SmFit:
    """statsmodels GLM of the groups ``key`` (intercept first, groups in index order)."""
    cols = [0] + [c for g in sorted(key) for c in problem.groups[g][1]]
    family = sm.families.Binomial(SM_LINKS[problem.link]())
    model = sm.GLM(problem.y, problem.X[:, cols], family=family, freq_weights=problem.weights)
    res = model.fit()
    n_obs = problem.y.shape[0] if problem.weights is None else float(problem.weights.sum())
    k = len(cols)
    return SmFit(
        key=tuple(sorted(key)),
        llf=float(res.llf),
        aic=float(res.aic),
        bic=float(-2.0 * res.llf + k * math.log(n_obs)),
        params=np.asarray(res.params),
        pvalues=np.asarray(res.pvalues),
        n_params=k,
    )


def all_sm_fits(problem: SelectionProblem) -> dict[tuple[int, ...], SmFit]:
    """Every subset of the groups fitted with statsmodels."""
    out = {}
    m = len(problem.groups)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for size in range(m + 1):
            for key in itertools.combinations(range(m), size):
                out[key] = sm_fit(problem, key)
    return out


def gvif_adjusted(problem: SelectionProblem, key: Sequence[int]) -> dict[int, float]:
    """GVIF^(1/df) per group from det(R_jj) det(R_-j) / det(R) (Fox & Monette 1992)."""
    key = sorted(key)
    if len(key) < 2:
        return {g: 1.0 for g in key}
    cols = [c for g in key for c in problem.groups[g][1]]
    corr = np.corrcoef(problem.X[:, cols], rowvar=False)
    out = {}
    pos = 0
    for g in key:
        size = len(problem.groups[g][1])
        own = list(range(pos, pos + size))
        rest = [i for i in range(len(cols)) if i not in own]
        gvif = (
            np.linalg.det(corr[np.ix_(own, own)])
            * np.linalg.det(corr[np.ix_(rest, rest)])
            / np.linalg.det(corr)
        )
        out[g] = float(gvif ** (1.0 / size))
        pos += size
    return out


def feasible(problem: SelectionProblem, fit: SmFit, constraints: SelectionConstraints) -> bool:
    """Whether a statsmodels fit satisfies ``constraints`` (brute-force reference)."""
    names = problem.group_names
    key = fit.key
    size = len(key)
    if any(names.index(g) not in key for g in constraints.force_in):
        return False
    if any(names.index(g) in key for g in constraints.exclude):
        return False
    if size < constraints.min_features:
        return False
    if constraints.max_features is not None and size > constraints.max_features:
        return False
    if constraints.max_pvalue is not None and np.any(fit.pvalues[1:] > constraints.max_pvalue):
        return False
    if constraints.enforce_expected_signs:
        pos = 1
        for g in key:
            size_g = len(problem.groups[g][1])
            sign = problem.expected_signs.get(names[g])
            if sign is not None and np.any(fit.params[pos : pos + size_g] * sign <= 0):
                return False
            pos += size_g
    if constraints.max_vif is not None:
        if any(v > constraints.max_vif for v in gvif_adjusted(problem, key).values()):
            return False
    return True


def rank_reference(items: Sequence[tuple[float, int, tuple[int, ...]]]) -> list[tuple[int, ...]]:
    """Keys best first: by value, ties (1e-9 relative) by fewer columns then smaller key."""
    by_value = sorted(items)
    ranked: list[tuple[int, ...]] = []
    i = 0
    while i < len(by_value):
        j = i + 1
        while j < len(by_value) and abs(by_value[j][0] - by_value[i][0]) <= 1e-9 * max(
            1.0, abs(by_value[i][0])
        ):
            j += 1
        ranked.extend(key for _, _, key in sorted(by_value[i:j], key=lambda t: (t[1], t[2])))
        i = j
    return ranked


def brute_force(
    problem: SelectionProblem,
    fits: Mapping[tuple[int, ...], SmFit],
    constraints: SelectionConstraints,
    criterion: str,
) -> list[tuple[tuple[str, ...], float]]:
    """Feasible subsets (names, criterion) best first, from statsmodels fits."""
    items = []
    for key, fit in fits.items():
        if feasible(problem, fit, constraints):
            value = fit.aic if criterion == "aic" else fit.bic
            items.append((value, fit.n_params, key))
    values = {key: value for value, _, key in items}
    names = problem.group_names
    return [(tuple(names[g] for g in key), values[key]) for key in rank_reference(items)]
