"""The Python API: ``ModelConfig`` and ``GLMModelSelector``, an estimator over a DataFrame.

::

    from credit_glm import ModelConfig, GLMModelSelector
    config = ModelConfig(target_column="default_flag", id_column="application_id",
                         missing="impute")
    selector = GLMModelSelector(config).fit(frame)
    selector.save_model("models/glm_model.joblib")   # writes glm_model.json next to it
    print(selector.metrics_["test"]["auc"])
    pd_ = selector.predict_proba(new_frame)

It drives the same code as the command line: :class:`ModelConfig` becomes the typed
:class:`~credit_glm.config.AppConfig` (with a data schema and features inferred from the frame
unless given), :func:`credit_glm.training.train` fits with the CLI's selection step
(:func:`credit_glm.feature_selection.select_features`), and :meth:`GLMModelSelector.predict_proba`
scores through :class:`~credit_glm.scoring.ScoringModel` built from the model card, as
``mode=evaluate`` does.

The estimator contract (Buitinck et al. 2013, "API design for machine learning software"): the
constructor only stores the config; :meth:`~GLMModelSelector.fit` validates, learns and returns
``self``; learned state ends in ``_``; neither the config nor the frame passed in is modified;
predicting before fitting raises :class:`~credit_glm.errors.NotFittedError`.

Rows named in errors are 0-based positions in the frame passed in: for a frame read with
``pd.read_csv`` that is the data row of the file (the first row under the header is row 0).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from credit_glm.artifact import CARD_NAME, PICKLE_NAME, write_artifacts
from credit_glm.config import (
    AppConfig,
    ColumnConfig,
    ColumnType,
    CovType,
    Criterion,
    DataConfig,
    EvaluationConfig,
    FeatureConfig,
    FeaturesConfig,
    GLMConfig,
    Link,
    MissingPolicy,
    SelectionConfig,
    ServingConfig,
    SplitConfig,
    SplitMethod,
    TargetConfig,
    Transform,
    _choice,
)
from credit_glm.errors import ConfigError, CreditGLMError, ValidationFailed
from credit_glm.model_card import build_card, canonical_json, sha256_hex
from credit_glm.schema import build_schema, validate_frame
from credit_glm.scoring import ScoringModel
from credit_glm.training import train

__all__ = ["GLMModelSelector", "ModelConfig", "NotFittedError", "infer_data_config"]

_SOURCE = "<in-memory DataFrame>"
_MISSING_CHOICES = ("error", "impute")
_SPLIT_CHOICES = ("stratified", "none")


class NotFittedError(CreditGLMError, RuntimeError):
    """A :class:`GLMModelSelector` was asked to predict or save before :meth:`fit`."""


def _no_gates() -> EvaluationConfig:
    return EvaluationConfig(min_auc=None, max_psi=None, max_vif=None)


@dataclass
class ModelConfig:
    """Options of a programmatic training run: the CLI's config groups in keyword form.

    Parameters
    ----------
    target_column, event_value
        The outcome column and its value that is the modelled event (default).
    predictors
        Columns used as features; ``None``: every column but the target and the id column.
    id_column
        A row identifier: declared in the schema and carried, never a predictor.
    missing
        What an inferred feature does with a missing value: ``error`` (the row is reported) or
        ``impute`` (numeric: the training median; text: a level of its own).
    max_levels
        A text column with more distinct values is refused as a predictor (an identifier?).
    selection, glm, evaluation
        As the CLI's ``selection``, ``glm`` and ``evaluation`` groups (no gates by default).
    data, features
        A declared schema and declared features instead of the inferred ones.
    """

    target_column: str
    predictors: list[str] | None = None
    event_value: Any = 1
    id_column: str | None = None
    missing: str = "error"  # error | impute
    max_levels: int = 50
    test_size: float = 0.2
    max_iterations: int = 100
    link: str = "logit"
    seed: int = 42
    split: str = "stratified"  # stratified | none
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    evaluation: EvaluationConfig = field(default_factory=_no_gates)
    glm: GLMConfig | None = None
    data: DataConfig | None = None  # a declared schema (else inferred from the frame)
    features: FeaturesConfig | None = None  # declared features (else numeric as is, text one-hot)

    def __post_init__(self) -> None:
        if self.missing not in _MISSING_CHOICES:
            raise ConfigError(
                "ModelConfig.missing",
                f"must be one of {', '.join(_MISSING_CHOICES)}, got {self.missing!r}",
            )
        if self.split not in _SPLIT_CHOICES:
            raise ConfigError(
                "ModelConfig.split",
                f"must be one of {', '.join(_SPLIT_CHOICES)}, got {self.split!r}",
            )
        _choice("ModelConfig.link", Link, self.link)
        if self.max_levels < 2:
            raise ConfigError("ModelConfig.max_levels", "must be at least 2")
        if self.id_column is not None and self.id_column == self.target_column:
            raise ConfigError("ModelConfig.id_column", "is the target column")


def _predictor_names(frame: pd.DataFrame, config: ModelConfig) -> list[str]:
    outcome = {config.target_column, config.id_column}
    if config.predictors is None:
        return [str(c) for c in frame.columns if c not in outcome]
    for key, column in (("target_column", config.target_column), ("id_column", config.id_column)):
        if column is not None and column in config.predictors:
            raise ConfigError(
                "ModelConfig.predictors",
                f"{column!r} is the {key.replace('_column', '')} column "
                f"(ModelConfig.{key}); leave it out of predictors",
            )
    return list(config.predictors)


def _is_text(col: pd.Series) -> bool:
    return bool(ptypes.is_bool_dtype(col) or not ptypes.is_numeric_dtype(col))


def _looks_like_row_number(col: pd.Series) -> bool:
    """An integer column holding n distinct consecutive values: a row number or a serial id."""
    values = col.dropna()
    if len(values) < 3 or not ptypes.is_integer_dtype(values):
        return False
    return bool(values.is_unique and int(values.max()) - int(values.min()) + 1 == len(values))


def _refuse_identifier(name: str, col: pd.Series, config: ModelConfig) -> None:
    options = (
        f"pass ModelConfig(id_column={name!r}) to carry it without modelling it, or "
        "leave it out of ModelConfig.predictors"
    )
    if _is_text(col):
        levels = int(col.dropna().astype(str).nunique())
        if levels > config.max_levels:
            raise ConfigError(
                f"ModelConfig.predictors ({name})",
                f"column {name!r} is text with {levels} distinct values in {len(col)} rows, "
                f"more than max_levels={config.max_levels}: one-hot encoding it would give one "
                f"term per value (an identifier?); {options}, or raise ModelConfig.max_levels",
            )
    elif _looks_like_row_number(col):
        raise ConfigError(
            f"ModelConfig.predictors ({name})",
            f"column {name!r} holds {len(col.dropna())} distinct consecutive integers (a row "
            f"number or serial identifier?); {options}",
        )


def infer_data_config(frame: pd.DataFrame, config: ModelConfig) -> DataConfig:
    """A schema for ``frame``: numeric columns as float, others as category with observed levels.

    The target is never nullable; a predictor is nullable when the frame has a missing value in
    it. Identifier-like predictors are refused (see :class:`ModelConfig` ``max_levels``).

    Raises
    ------
    ConfigError
        A named column is absent, or a predictor looks like an identifier.
    """
    predictors = _predictor_names(frame, config)
    columns: dict[str, ColumnConfig] = {}
    names = [*predictors, config.target_column]
    if config.id_column is not None:
        names.append(config.id_column)
    for name in names:
        if name not in frame.columns:
            key = (
                "ModelConfig.target_column"
                if name == config.target_column
                else "ModelConfig.id_column"
                if name == config.id_column
                else "ModelConfig.predictors"
            )
            raise ConfigError(
                key,
                f"column {name!r} is not in the data (columns: {[str(c) for c in frame.columns]})",
            )
        col = frame[name]
        if name in predictors:
            _refuse_identifier(name, col, config)
        nullable = name != config.target_column and bool(col.isna().any())
        if name == config.id_column or _is_text(col):
            levels = sorted({str(v) for v in col.dropna().unique()})
            columns[name] = ColumnConfig(
                type=ColumnType.category,
                nullable=nullable,
                categories=None if name == config.id_column else levels,
            )
        else:
            columns[name] = ColumnConfig(type=ColumnType.float, nullable=nullable)
    return DataConfig(
        name="dataframe",
        path=_SOURCE,
        target=TargetConfig(column=config.target_column, event=str(config.event_value)),
        id_column=config.id_column,
        columns=columns,
        strict=False,
    )


def _feature_columns(frame: pd.DataFrame, config: ModelConfig, data: DataConfig) -> list[str]:
    """The predictors: as listed, else every column of the frame (inferred schema) or of the
    declaration (declared schema) but the target, id, weight and date columns."""
    if config.predictors is not None or config.data is None:
        names = _predictor_names(frame, config)
    else:
        special = {
            data.target.column,
            data.id_column,
            data.weight_column,
            data.date_column,
            config.id_column,
        }
        names = [c for c in data.columns if c not in special]
    undeclared = [c for c in names if c not in data.columns]
    if undeclared:
        raise ConfigError(
            "ModelConfig.predictors", f"{undeclared} are not declared in data.columns ({data.name})"
        )
    return names


def _infer_features(data: DataConfig, predictors: list[str], missing: str) -> FeaturesConfig:
    feats = {}
    for name in predictors:
        text = data.columns[name].type in (ColumnType.category, ColumnType.bool)
        policy = MissingPolicy.error
        if missing == "impute":
            policy = MissingPolicy.level if text else MissingPolicy.median
        feats[name] = FeatureConfig(
            transform=Transform.onehot if text else Transform.numeric, missing=policy
        )
    return FeaturesConfig(name="dataframe", features=feats)


def _as_declared(frame: pd.DataFrame, data: DataConfig, inferred: bool) -> pd.DataFrame:
    """``frame`` with positions as the index; text columns of an inferred schema as ``str``.

    A strict declared schema sees every column (an undeclared one is an error, as in the CLI);
    otherwise only the declared columns are kept.
    """
    keep = (
        list(frame.columns)
        if data.strict and not inferred
        else [c for c in frame.columns if c in data.columns]
    )
    out = frame.loc[:, keep].reset_index(drop=True)
    if inferred:
        for name, col in data.columns.items():
            if col.type is ColumnType.category and name in out.columns:
                out[name] = out[name].map(lambda v: None if pd.isna(v) else str(v))
    return out


def _with_hint(err: ValidationFailed, hint: str) -> ValidationFailed:
    violations = [
        dataclasses.replace(v, rule=f"{v.rule}; {hint}") if "missing value" in v.rule else v
        for v in err.violations
    ]
    return ValidationFailed(violations, err.source)


class GLMModelSelector:
    """Train a credit-risk GLM from a DataFrame, exactly as ``python -m credit_glm`` does.

    Learned attributes (after :meth:`fit`): ``model_`` (the
    :class:`~credit_glm.training.TrainedModel`), ``config_`` (the typed
    :class:`~credit_glm.config.AppConfig` that ran), ``spec_`` (the frozen feature spec),
    ``selected_features_``, ``coefficients_``, ``metrics_``, ``diagnostics_``, ``card_`` (the
    model card) and ``scorer_`` (the :class:`~credit_glm.scoring.ScoringModel` built from it).
    """

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def _app_config(self, frame: pd.DataFrame) -> tuple[AppConfig, bool]:
        cfg = copy.deepcopy(self.config)  # nothing of the caller's is modified
        if cfg.target_column not in frame.columns:
            raise ConfigError(
                "ModelConfig.target_column", f"column {cfg.target_column!r} is not in the data"
            )
        inferred = cfg.data is None
        data = cfg.data if cfg.data is not None else infer_data_config(frame, cfg)
        if data.target.column != cfg.target_column:
            raise ConfigError(
                "ModelConfig.target_column",
                f"{cfg.target_column!r} disagrees with data.target.column {data.target.column!r}",
            )
        features = cfg.features
        if features is None:
            features = _infer_features(data, _feature_columns(frame, cfg, data), cfg.missing)
        glm = cfg.glm or GLMConfig(
            link=_choice("ModelConfig.link", Link, cfg.link), max_iter=cfg.max_iterations
        )
        # dataclasses built in Python take a str where Hydra would have made the enum
        glm.link = _choice("glm.link", Link, glm.link)
        glm.cov_type = _choice("glm.cov_type", CovType, glm.cov_type)
        cfg.selection.criterion = _choice("selection.criterion", Criterion, cfg.selection.criterion)
        split = SplitConfig(method=SplitMethod(cfg.split), test_size=cfg.test_size, seed=cfg.seed)
        app = AppConfig(
            data=data,
            features=features,
            selection=cfg.selection,
            glm=glm,
            split=split,
            evaluation=cfg.evaluation,
            serving=ServingConfig(),
        )
        return app, inferred

    def fit(self, frame: pd.DataFrame) -> GLMModelSelector:
        """Validate ``frame``, select features and fit, as the CLI's ``mode=train`` does.

        Gates (``evaluation``) that fail do not raise: see ``model_.gate_failures``.

        Raises
        ------
        ConfigError, ValidationFailed, DataError, ModelFitError
            Each naming the key, column, term and rows involved.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"fit() takes a pandas DataFrame, got {type(frame).__name__}")
        from credit_glm.feature_selection import select_features  # the engine: loaded on use

        app, inferred = self._app_config(frame)
        table = _as_declared(frame, app.data, inferred)
        try:
            model = train(app, table, select_features)
        except ValidationFailed as err:
            if inferred and self.config.missing == "error":
                raise _with_hint(
                    err,
                    "pass ModelConfig(missing='impute') to fill it (numeric: "
                    "the training median; text: a level of its own)",
                ) from None
            raise
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        frame_hash = pd.util.hash_pandas_object(table, index=True).to_numpy()
        digest = sha256_hex(canonical_json(np.asarray(frame_hash).tolist()))
        self.card_ = build_card(model, _SOURCE, digest, len(table), created)
        self.model_ = model
        self.config_ = model.config
        self.inferred_schema_ = inferred
        self.spec_ = model.spec
        self.selected_features_ = model.selection.selected
        self.coefficients_ = model.scorer.coefficients
        self.metrics_ = model.metrics
        self.diagnostics_ = model.diagnostics
        self.scorer_ = ScoringModel.from_card(self.card_)
        return self

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                f"this GLMModelSelector is not fitted yet: call fit(frame) before {method}()"
            )

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of default for each row of ``frame`` (a 1-D array, in row order).

        The frame is checked against the model's schema (inference role: the target may be
        absent) and scored by the model card's :class:`~credit_glm.scoring.ScoringModel`.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValidationFailed
            A value the schema or the feature spec refuses, naming the column and the rows.
        """
        self._check_fitted("predict_proba")
        data = self.config_.data
        table = _as_declared(frame, data, self.inferred_schema_)
        table = table.drop(columns=[c for c in data.outcome_columns if c in table.columns])
        schema = build_schema(data, "inference", required=self.spec_.columns)
        table = validate_frame(table, schema, data, "data to score")
        try:
            return self.scorer_.predict(table)
        except ValidationFailed as err:
            raise ValidationFailed(err.violations, "data to score (features)") from None

    def save_model(self, path: str | Path) -> Path:
        """Write ``glm_model.joblib`` and ``glm_model.json`` into the directory of ``path``.

        ``path`` may name the joblib file (as in ``models/glm_model.joblib``) or the directory.
        """
        self._check_fitted("save_model")
        path = Path(path)
        directory = path.parent if path.suffix in (".joblib", ".json") else path
        if path.suffix and path.name not in (PICKLE_NAME, CARD_NAME):
            raise ValueError(f"the artifact files are named {PICKLE_NAME} and {CARD_NAME}")
        pickle_path, _, self.card_ = write_artifacts(self.model_, self.card_, directory)
        return pickle_path
