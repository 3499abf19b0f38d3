"""The selection step of training: from ``selection`` config to the engine and back.

:func:`select_features` is the :data:`credit_glm.training.Selector` for every strategy. It turns
the typed :class:`~credit_glm.config.SelectionConfig` into the engine's problem, constraints and
criterion, runs the strategy on the training design matrix, and returns the kept features with
the engine's full audit trail (path or top-N subsets, counts, timings). The winner is then refitted
with statsmodels by :func:`credit_glm.training.train` for the diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from credit_glm.config import AppConfig, Criterion, SelectionConfig
from credit_glm.errors import ConfigError, ModelFitError
from credit_glm.features import ModelSpec
from credit_glm.selection import (
    CrossValidation,
    NoFeasibleSubsetError,
    SelectionConstraints,
    SelectionProblem,
    SelectionResult,
    select_backward,
    select_exhaustive,
    select_forward,
    select_random,
    select_stepwise,
)
from credit_glm.split import stratified_holdout
from credit_glm.training import SelectionOutcome, keep_all

__all__ = ["SearchSample", "select_features"]


def _check_names(key: str, names: list[str], spec: ModelSpec) -> None:
    unknown = sorted(set(names) - set(spec.feature_names))
    if unknown:
        raise ConfigError(
            f"selection.{key}", f"{unknown} are not features (known: {list(spec.feature_names)})"
        )


def _run(
    config: AppConfig, problem: SelectionProblem, constraints: SelectionConstraints
) -> SelectionResult:
    sel = config.selection
    criterion = sel.criterion
    cv = None
    if sel.criterion in (Criterion.cv_auc, Criterion.cv_logloss):
        cv = CrossValidation(
            n_splits=max(sel.cv_folds, 2),
            seed=sel.seed,
            holdout=sel.holdout_size if sel.cv_folds == 1 else None,
        )
    if sel.criterion is Criterion.pvalue and sel.strategy in ("exhaustive", "random"):
        raise ConfigError(
            "selection.criterion",
            f"pvalue is a stepwise criterion; {sel.strategy} needs aic, bic, cv_auc or cv_logloss",
        )
    progress: Literal["auto"] | None = "auto" if sel.progress else None
    if sel.strategy == "exhaustive":
        return select_exhaustive(
            problem,
            constraints,
            criterion=criterion,
            cv=cv,
            progress=progress,
            top_n=sel.top_n,
            max_subsets=sel.max_subsets,
            n_jobs=sel.n_jobs,
        )
    if sel.strategy == "random":
        # subset sizes come from the constraints (min_features / max_features)
        return select_random(
            problem,
            constraints,
            criterion=criterion,
            cv=cv,
            progress=progress,
            n_iter=sel.n_iter,
            seed=sel.seed,
            top_n=sel.top_n,
            n_jobs=sel.n_jobs,
        )
    if sel.strategy == "forward":
        return select_forward(
            problem,
            constraints,
            criterion=criterion,
            cv=cv,
            progress=progress,
            p_enter=sel.p_enter,
            top_n=sel.top_n,
            n_jobs=sel.n_jobs,
        )
    if sel.strategy == "backward":
        return select_backward(
            problem,
            constraints,
            criterion=criterion,
            cv=cv,
            progress=progress,
            p_remove=sel.p_remove,
            top_n=sel.top_n,
            n_jobs=sel.n_jobs,
        )
    return select_stepwise(
        problem,
        constraints,
        criterion=criterion,
        cv=cv,
        progress=progress,
        p_enter=sel.p_enter,
        p_remove=sel.p_remove,
        top_n=sel.top_n,
        n_jobs=sel.n_jobs,
    )


def select_features(
    config: AppConfig,
    spec: ModelSpec,
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
) -> SelectionOutcome:
    """Run the configured strategy on the training design matrix ``X`` of ``spec``.

    Raises
    ------
    ConfigError
        Unknown feature names in ``force_in``/``exclude``, or a criterion the strategy lacks.
    ModelFitError
        No subset both fits and meets the constraints.
    ValueError
        Raised by the engine for a search larger than ``selection.max_subsets``; reported as
        a :class:`ConfigError` naming that key.
    """
    sel = config.selection
    if sel.strategy == "none":
        return keep_all(config, spec, X, y, weights)
    _check_names("force_in", sel.force_in, spec)
    _check_names("exclude", sel.exclude, spec)
    signs = {f.name: f.expected_sign for f in spec.features if f.expected_sign is not None}
    sample = _search_sample(sel, y)
    if sample is not None:
        X, y = X[sample.rows], y[sample.rows]
        weights = None if weights is None else weights[sample.rows]
    problem = SelectionProblem(
        X=X,
        y=y,
        groups=spec.groups(),
        weights=weights,
        link=config.glm.link.value,
        expected_signs=signs,
    )
    constraints = SelectionConstraints(
        force_in=tuple(sel.force_in),
        exclude=tuple(sel.exclude),
        min_features=sel.min_features,
        max_features=sel.max_features,
        max_vif=sel.max_vif,
        max_pvalue=sel.max_pvalue,
        enforce_expected_signs=sel.enforce_expected_signs,
    )
    try:
        result = _run(config, problem, constraints)
    except NoFeasibleSubsetError as err:
        raise ModelFitError(f"selection found no feasible subset: {err}") from None
    except ValueError as err:
        if "max_subsets" in str(err):
            raise ConfigError("selection.max_subsets", str(err)) from None
        raise ConfigError(f"selection ({sel.strategy})", str(err)) from None
    if not result.selected:
        raise ModelFitError(
            f"selection ({sel.strategy}, {sel.criterion.value}) kept no feature: the "
            "intercept-only model is best; set selection.min_features=1 to require one"
        )
    audit = result.to_dict()
    if sample is not None:
        audit["sample"] = sample.audit()
    return SelectionOutcome(strategy=sel.strategy, selected=result.selected, audit=audit)


@dataclass(frozen=True)
class SearchSample:
    """The training rows the search fitted its candidates on (``selection.sample_rows``)."""

    rows: np.ndarray
    of_rows: int
    events: int
    seed: int

    def audit(self) -> dict[str, Any]:
        return {
            "rows": int(self.rows.size),
            "of_training_rows": self.of_rows,
            "events": self.events,
            "seed": self.seed,
            "method": "stratified by the outcome (selection.sample_rows)",
            "note": "the candidates were fitted on this sample; the final model is fitted on "
            "every training row",
        }


def _search_sample(sel: SelectionConfig, y: np.ndarray) -> SearchSample | None:
    """A stratified sample of ``selection.sample_rows`` rows, or ``None`` when every row is
    used (no setting, or no more rows than it)."""
    if sel.sample_rows is None or y.shape[0] <= sel.sample_rows:
        return None
    _, rows = stratified_holdout(y, sel.sample_rows / y.shape[0], sel.seed)
    return SearchSample(
        rows=rows, of_rows=int(y.shape[0]), events=int(y[rows].sum()), seed=sel.seed
    )
