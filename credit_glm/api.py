"""The Python API: ``ModelConfig`` and ``GLMModelSelector``.

::

    from credit_glm import ModelConfig, GLMModelSelector
    config = ModelConfig(target_column="default_flag", predictors=[...], test_size=0.2)
    selector = GLMModelSelector(config)
    selector.prepare_data(frame)
    model = selector.fit()
    selector.save_model("models/glm_model.joblib")   # writes glm_model.json next to it
    print(model.metrics)

It drives the same code as the command line: :class:`ModelConfig` becomes the typed
:class:`~credit_glm.config.AppConfig` (with a data schema and features inferred from the frame
unless given), and :func:`credit_glm.training.train` fits. Pass ``data`` and ``features`` to use
a declared schema instead of the inferred one.
"""

from __future__ import annotations

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
    DataConfig,
    EvaluationConfig,
    FeatureConfig,
    FeaturesConfig,
    GLMConfig,
    Link,
    SelectionConfig,
    ServingConfig,
    SplitConfig,
    SplitMethod,
    TargetConfig,
    Transform,
)
from credit_glm.errors import ConfigError
from credit_glm.model_card import build_card, canonical_json, sha256_hex
from credit_glm.training import TrainedModel, train

__all__ = ["GLMModelSelector", "ModelConfig", "infer_data_config"]


@dataclass
class ModelConfig:
    """Options of a programmatic training run (the CLI's config, in the original API's words)."""

    target_column: str
    predictors: list[str]
    event_value: Any = 1
    test_size: float = 0.2
    max_iterations: int = 100
    link: str = "logit"
    seed: int = 42
    split: str = "stratified"  # stratified | none
    data: DataConfig | None = None  # a declared schema (else inferred from the frame)
    features: FeaturesConfig | None = None  # declared features (else numeric as is, text one-hot)
    evaluation: EvaluationConfig = field(default_factory=lambda: EvaluationConfig(min_auc=None,
                                                                                 max_psi=None,
                                                                                 max_vif=None))
    glm: GLMConfig | None = None


def infer_data_config(frame: pd.DataFrame, config: ModelConfig) -> DataConfig:
    """A schema for ``frame``: numeric columns as float, others as category with observed levels."""
    columns: dict[str, ColumnConfig] = {}
    for name in [*config.predictors, config.target_column]:
        if name not in frame.columns:
            raise ConfigError("predictors", f"column {name!r} is not in the data")
        col = frame[name]
        nullable = bool(col.isna().any())
        if ptypes.is_bool_dtype(col) or not ptypes.is_numeric_dtype(col):
            levels = sorted({str(v) for v in col.dropna().unique()})
            columns[name] = ColumnConfig(type=ColumnType.category, nullable=nullable,
                                         categories=levels)
        else:
            columns[name] = ColumnConfig(type=ColumnType.float, nullable=nullable)
    return DataConfig(
        name="dataframe",
        path="<in-memory DataFrame>",
        target=TargetConfig(column=config.target_column, event=str(config.event_value)),
        columns=columns,
        strict=False,
    )


def _infer_features(data: DataConfig, config: ModelConfig) -> FeaturesConfig:
    feats = {}
    for name in config.predictors:
        kind = data.columns[name].type
        transform = Transform.onehot if kind is ColumnType.category else Transform.numeric
        feats[name] = FeatureConfig(transform=transform)
    return FeaturesConfig(name="dataframe", features=feats)


class GLMModelSelector:
    """Train a credit-risk GLM from a DataFrame, exactly as ``python -m credit_glm`` does."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def prepare_data(self, data: pd.DataFrame) -> GLMModelSelector:
        """Keep the frame and build the typed config (schema, features) for it."""
        cfg = self.config
        data_cfg = cfg.data or infer_data_config(data, cfg)
        if cfg.target_column not in data.columns:
            raise ConfigError("target_column", f"column {cfg.target_column!r} is not in the data")
        if data_cfg.target.column != cfg.target_column:
            raise ConfigError("target_column", "disagrees with data.target.column")
        if cfg.event_value is not None and data_cfg.columns[cfg.target_column].type in (
            ColumnType.float, ColumnType.int
        ):
            data_cfg.target.event = str(cfg.event_value)
        columns = [c for c in data.columns if c in data_cfg.columns]
        self.frame_ = data.loc[:, columns].copy()
        if cfg.data is None:
            # a numeric frame column is declared float: hand it over as numbers, not text
            for name, col in data_cfg.columns.items():
                if col.type is ColumnType.category:
                    self.frame_[name] = self.frame_[name].map(
                        lambda v: None if pd.isna(v) else str(v)
                    )
        glm = cfg.glm or GLMConfig(link=Link(cfg.link), max_iter=cfg.max_iterations)
        split = SplitConfig(
            method=SplitMethod(cfg.split), test_size=cfg.test_size, seed=cfg.seed
        )
        self.app_config_ = AppConfig(
            data=data_cfg,
            features=cfg.features or _infer_features(data_cfg, cfg),
            selection=SelectionConfig(),
            glm=glm,
            split=split,
            evaluation=cfg.evaluation,
            serving=ServingConfig(),
        )
        return self

    def fit(self) -> TrainedModel:
        """Fit; returns the trained model (``.metrics``, ``.diagnostics``, ``.scorer``…)."""
        if not hasattr(self, "app_config_"):
            raise RuntimeError("call prepare_data(frame) before fit()")
        self.model_ = train(self.app_config_, self.frame_)
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        frame_hash = pd.util.hash_pandas_object(self.frame_, index=True).to_numpy()
        digest = sha256_hex(canonical_json(np.asarray(frame_hash).tolist()))
        self.card_ = build_card(self.model_, "<in-memory DataFrame>", digest, len(self.frame_),
                                created)
        return self.model_

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        """Probability of default for each row."""
        if not hasattr(self, "model_"):
            raise RuntimeError("call fit() before predict()")
        return self.model_.scorer.predict(data)

    def save_model(self, path: str | Path) -> Path:
        """Write ``glm_model.joblib`` and ``glm_model.json`` into the directory of ``path``.

        ``path`` may name the joblib file (as in ``models/glm_model.joblib``) or the directory.
        """
        if not hasattr(self, "model_"):
            raise RuntimeError("call fit() before save_model()")
        path = Path(path)
        directory = path.parent if path.suffix in (".joblib", ".json") else path
        if path.suffix and path.name not in (PICKLE_NAME, CARD_NAME):
            raise ValueError(f"the artifact files are named {PICKLE_NAME} and {CARD_NAME}")
        pickle_path, _, self.card_ = write_artifacts(self.model_, self.card_, directory)
        return pickle_path
