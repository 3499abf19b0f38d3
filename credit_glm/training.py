"""The training pipeline: config and a table in, a frozen model with its evidence out.

``train(config, frame)`` is pure: it reads no file and writes none. The command line, the Python
API (:mod:`credit_glm.api`) and the tests all call it, so there is one way a model is made:

validate (schema) → outcome → split → freeze features → select → fit (statsmodels) → metrics,
diagnostics, gates → model card.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from credit_glm.config import AppConfig, ColumnType, DataConfig
from credit_glm.config import WrongSign as WrongSignPolicy
from credit_glm.errors import ConfigError, DataError, ModelFitError, ValidationFailed
from credit_glm.evaluation import gate_failures
from credit_glm.features import ModelSpec, design_matrix, fit_feature_spec
from credit_glm.jsonable import json_safe
from credit_glm.sign_gate import wrong_signs
from credit_glm.split import Split, split_rows
from credit_glm.transforms import FitOutcome

if TYPE_CHECKING:
    from credit_glm.glm import GLMFit
    from credit_glm.scoring import ScoringModel

# The fitting stack (statsmodels, scipy.stats, pandera) is imported by the functions that use
# it: the artifact store and the model card import this module for its types, and the service
# loads cards without fitting anything.

__all__ = [
    "SelectionOutcome",
    "TrainedModel",
    "candidate_spec",
    "outcome_vector",
    "sample_metrics",
    "train",
]


@dataclass(frozen=True)
class SelectionOutcome:
    """Which features the selection step kept, and its audit trail (JSON-serialisable)."""

    strategy: str
    selected: tuple[str, ...]
    audit: dict[str, Any] = field(default_factory=dict)


# The selection step: (config, spec, X_train, y_train, weights) -> outcome. The default keeps
# every feature; the selection engine registers the search strategies here.
Selector = Callable[
    [AppConfig, ModelSpec, np.ndarray, np.ndarray, "np.ndarray | None"], SelectionOutcome
]


def keep_all(
    config: AppConfig, spec: ModelSpec, X: np.ndarray, y: np.ndarray, weights: np.ndarray | None
) -> SelectionOutcome:
    return SelectionOutcome(strategy="none", selected=spec.feature_names)


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model and everything known about it. ``card`` is the JSON model card body."""

    config: AppConfig
    spec: ModelSpec
    fit: GLMFit
    scorer: ScoringModel
    selection: SelectionOutcome
    metrics: dict[str, Any]
    diagnostics: dict[str, Any]
    gate_failures: tuple[str, ...]
    train_scores: np.ndarray
    self_check: dict[str, Any]
    timings: dict[str, float]
    # per feature its attributes' points (credit_glm.points_table); empty without a scale
    points_table: tuple[dict[str, Any], ...] = ()

    @property
    def passed(self) -> bool:
        return not self.gate_failures


def outcome_vector(frame: pd.DataFrame, data: DataConfig) -> np.ndarray:
    """1 where the target equals the declared event value, else 0."""
    target = data.target.column
    col = frame[target]
    declared = data.columns.get(target)
    if declared is not None and declared.type in (ColumnType.float, ColumnType.int):
        try:
            event = float(data.target.event)
        except ValueError:
            raise DataError(
                f"data.target.event={data.target.event!r} is not a number, but "
                f"{target!r} is numeric"
            ) from None
        values = col.to_numpy(dtype="float64", na_value=np.nan)
        return np.asarray(values == event, dtype=float)
    return np.asarray(col.astype(str).to_numpy() == str(data.target.event), dtype=float)


def sample_metrics(y: np.ndarray, p: np.ndarray, config: AppConfig) -> dict[str, Any]:
    """Discrimination, calibration and the decision at the cut-off for one sample."""
    from credit_glm import metrics as m
    from credit_glm.validation_stats import grade_table

    ev = config.evaluation
    out: dict[str, Any] = dict(m.binary_metrics(y, p, groups=ev.calibration_groups))
    out["calibration"] = m.calibration_table(y, p, groups=ev.calibration_groups)
    out["grades"] = [row.to_dict() for row in grade_table(y, p, ev.grades)]
    out["decision"] = {
        "cutoff": ev.decision.threshold,
        **m.confusion_at_cutoff(y, p, ev.decision.threshold),
    }
    return out


def _check_outcome(y: np.ndarray, data: DataConfig) -> None:
    events = int(y.sum())
    if events == 0 or events == y.size:
        seen = "only events" if events else "no events"
        raise DataError(
            f"target {data.target.column!r} has one class only ({seen} with event value "
            f"{data.target.event!r} in {y.size} rows): a model needs both defaults and non-defaults"
        )


def _self_check_row(frame: pd.DataFrame, spec: ModelSpec) -> dict[str, Any]:
    return {col: json_safe(frame[col].iloc[0]) for col in spec.columns}


_FEATURES_SOURCE = "training data (features)"


def _at_frame_rows(
    err: ValidationFailed, positions: np.ndarray, source: str = _FEATURES_SOURCE
) -> ValidationFailed:
    """``err`` with rows of a split sample turned back into rows of the frame ``train`` got."""
    violations = [
        replace(v, rows=tuple(sorted(int(positions[r]) for r in v.rows))) for v in err.violations
    ]
    return ValidationFailed(violations, source)


def _every_row(spec: ModelSpec, frame: pd.DataFrame, first: ValidationFailed) -> ValidationFailed:
    """The feature problems of the whole frame (both samples), rows counted in the frame."""
    try:
        design_matrix(spec, frame)
    except ValidationFailed as err:
        return ValidationFailed(err.violations, _FEATURES_SOURCE)
    return first


def _column_description(data: DataConfig, column: str) -> str:
    declared = data.columns.get(column)
    return declared.description if declared is not None and declared.description else ""


def _information_prefilter(
    config: AppConfig, spec: ModelSpec
) -> tuple[ModelSpec, dict[str, float]]:
    """``spec`` without the features whose information value is below ``selection.min_iv``
    (only features with an IV, the ``woe`` ones, are filtered) or whose binning found a single
    bin (a constant WoE: no information, and collinear with the intercept), and those
    features' IVs."""
    from credit_glm.transforms.woe import Woe

    min_iv = config.selection.min_iv
    low = {
        f.name: f.iv
        for f in spec.features
        if f.iv is not None and (Woe.single_bin(f) or (min_iv is not None and f.iv < min_iv))
    }
    if not low:
        return spec, {}
    forced = sorted(set(low) & set(config.selection.force_in))
    if forced:
        raise ConfigError(
            "selection.min_iv",
            f"features {forced} are forced in but carry too little information (a single "
            f"bin, or an information value below selection.min_iv={min_iv}): "
            + ", ".join(f"{n}={low[n]:.4f}" for n in forced),
        )
    kept = [n for n in spec.feature_names if n not in low]
    if not kept:
        raise ConfigError(
            "selection.min_iv",
            f"no feature has more than one bin and an information value of at least {min_iv}",
        )
    return spec.subset(kept), {n: float(v) for n, v in low.items() if v is not None}


def candidate_spec(
    config: AppConfig, train_frame: pd.DataFrame, y: np.ndarray, weights: np.ndarray | None
) -> tuple[ModelSpec, dict[str, float]]:
    """The features selection chooses from: every declared feature fitted on the training
    rows, less those :func:`_information_prefilter` leaves out (returned with their IVs)."""
    full_spec = fit_feature_spec(
        config.features, config.data, train_frame, FitOutcome(event=y, weight=weights)
    )
    return _information_prefilter(config, full_spec)


def train(
    config: AppConfig,
    frame: pd.DataFrame,
    selector: Selector = keep_all,
) -> TrainedModel:
    """Train a model as ``config`` says on ``frame`` (the raw table, validated here).

    Raises
    ------
    ValidationFailed, DataError, ConfigError, ModelFitError
        Each naming what is wrong. Gate failures do not raise: they are in the result.
    """
    from credit_glm import metrics as m
    from credit_glm.diagnostics import coefficient_table, collinearity_report, fit_statistics
    from credit_glm.glm import fit_glm
    from credit_glm.points_table import points_table
    from credit_glm.reasons import ReasonTable, check_reason_codes
    from credit_glm.schema import build_schema, compact_text, release_freed_text, validate_frame
    from credit_glm.scorecard import Scorecard
    from credit_glm.scoring import ScoringModel

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    check_reason_codes(config.reasons, config.features.features)
    data = config.data
    if len(frame) == 0:
        raise DataError("the training data has no rows")
    frame = validate_frame(frame, build_schema(data, "training"), data, "training data")
    frame = compact_text(frame, data).reset_index(drop=True)
    release_freed_text()
    y = outcome_vector(frame, data)
    _check_outcome(y, data)
    weights = None
    if data.weight_column:
        weights = frame[data.weight_column].to_numpy(dtype="float64", na_value=np.nan)
        if not np.all(weights > 0):
            raise DataError(f"weight column {data.weight_column!r} must be positive everywhere")
    dates = frame[data.date_column] if data.date_column else None
    split: Split = split_rows(y, config.split, dates)
    train_frame = frame.iloc[split.train].reset_index(drop=True)
    test_frame = frame.iloc[split.test].reset_index(drop=True)
    y_train, y_test = y[split.train], y[split.test]
    w_train = None if weights is None else weights[split.train]
    timings["validate_split"] = time.perf_counter() - t0

    full_spec, below_iv = candidate_spec(config, train_frame, y_train, w_train)
    try:
        X_full = design_matrix(full_spec, train_frame)
    except ValidationFailed as err:
        raise _every_row(full_spec, frame, _at_frame_rows(err, split.train)) from None
    t1 = time.perf_counter()
    selection = selector(config, full_spec, X_full, y_train, w_train)
    timings["selection"] = time.perf_counter() - t1
    spec = full_spec.subset(selection.selected)
    # the design of the selected features: X_full's when selection kept every term, else built
    # anew after X_full is released (one design matrix held at a time)
    X_train = X_full if spec.terms == full_spec.terms else None
    del X_full
    if X_train is None:
        X_train = design_matrix(spec, train_frame)

    t2 = time.perf_counter()
    fit = fit_glm(X_train, y_train, spec.terms, config.glm, w_train, sources=spec.term_sources())
    dropped_for_sign: list[dict[str, Any]] = []
    while wrong := wrong_signs(spec, fit.params, X_train, y_train, w_train, fit.zvalues):
        if config.selection.wrong_sign is not WrongSignPolicy.drop or len(spec.features) == 1:
            raise ModelFitError(
                "sign gate: "
                + "; ".join(w.message() for w in wrong)
                + " (selection.wrong_sign=drop drops such features, the worst first, and refits)"
            )
        worst = max(wrong, key=lambda w: abs(w.coefficient if w.z is None else w.z))
        dropped_for_sign.append(worst.to_dict())
        spec = spec.subset([n for n in spec.feature_names if n != worst.feature])
        X_train = design_matrix(spec, train_frame)
        fit = fit_glm(
            X_train, y_train, spec.terms, config.glm, w_train, sources=spec.term_sources()
        )
    timings["fit"] = time.perf_counter() - t2
    collinearity = collinearity_report(X_train, spec, w_train)
    # The design matrix is not needed past this point; statsmodels' results hold it (and
    # every per-row array) until their data are removed, as the saved artifact has them.
    del X_train
    if hasattr(fit.results, "remove_data"):
        fit.results.remove_data()
    if below_iv or dropped_for_sign:
        audit = dict(selection.audit)
        if below_iv:
            audit["low_information"] = below_iv
        if dropped_for_sign:
            audit["dropped_for_sign"] = dropped_for_sign
        selection = replace(selection, selected=spec.feature_names, audit=audit)
    scorer = ScoringModel(spec=spec, params=fit.params, link=config.glm.link)
    # the points scale and the reasons' reference points, from the training contributions
    scorecard = Scorecard.from_config(config.scorecard)
    train_contributions = scorer.contributions(train_frame)
    # a feature's own description, else its column's in the data schema
    descriptions = {
        name: f.description or _column_description(data, f.column or name)
        for name, f in config.features.features.items()
    }
    reasons = ReasonTable.fit(
        train_contributions, scorecard, spec.feature_names, config.reasons, descriptions, w_train
    )
    scorer = replace(scorer, scorecard=scorecard, reasons=reasons)
    table = points_table(scorer, scorecard.points(train_contributions))
    del train_contributions
    p_train = scorer.predict(train_frame)

    metrics: dict[str, Any] = {
        "train": sample_metrics(y_train, p_train, config),
        "test": None,
        "stability": None,
    }
    psi_value: float | None = None
    if split.test.size:
        try:
            p_test = scorer.predict(test_frame)
        except ValidationFailed as err:
            raise _at_frame_rows(err, split.test, "training data (test sample, features)") from None
        metrics["test"] = sample_metrics(y_test, p_test, config)
        psi = m.population_stability_index(p_train, p_test, bins=config.evaluation.psi_bins)
        psi_value = psi.value
        metrics["stability"] = {
            "psi_train_test": psi.value,
            "edges": [float(e) for e in psi.edges],
            "train_share": [float(s) for s in psi.expected_share],
            "test_share": [float(s) for s in psi.actual_share],
        }
    diagnostics: dict[str, Any] = {
        "fit": fit_statistics(fit),
        "coefficients": coefficient_table(fit),
        "collinearity": collinearity,
        "split": {
            "method": config.split.method.value,
            "train_rows": int(split.train.size),
            "test_rows": int(split.test.size),
            "train_events": int(y_train.sum()),
            "test_events": int(y_test.sum()),
        },
    }
    gated_sample = "test" if metrics["test"] is not None else "train"
    vif = {k: v["vif"] for k, v in diagnostics["collinearity"]["features"].items()}
    pvalues = {row["term"]: row["p_value"] for row in diagnostics["coefficients"]}
    failures = gate_failures(
        config.evaluation,
        metrics[gated_sample],
        gated_sample,
        psi=psi_value,
        vif=vif,
        pvalues=pvalues,
    )
    self_row = _self_check_row(train_frame, spec)
    self_check = {
        "features": self_row,
        "probability_of_default": scorer.predict_record(self_row),
    }
    timings["total"] = time.perf_counter() - t0
    return TrainedModel(
        config=config,
        spec=spec,
        fit=fit,
        scorer=scorer,
        selection=selection,
        metrics=metrics,
        diagnostics=diagnostics,
        gate_failures=tuple(failures),
        train_scores=p_train,
        self_check=self_check,
        timings=timings,
        points_table=tuple(table),
    )
