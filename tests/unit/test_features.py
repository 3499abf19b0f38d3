"""Frozen feature specs and the design matrix, checked by hand-built matrices."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from credit_glm.config import (
    ColumnConfig,
    ColumnType,
    DataConfig,
    FeatureConfig,
    FeaturesConfig,
    MissingPolicy,
    TargetConfig,
    Transform,
    UnseenPolicy,
)
from credit_glm.errors import ConfigError, ValidationFailed
from credit_glm.features import MISSING_LEVEL, ModelSpec, design_matrix, fit_feature_spec

DATA = DataConfig(
    name="t",
    path="t.csv",
    target=TargetConfig(column="y", event="1"),
    columns={
        "x": ColumnConfig(type=ColumnType.float, nullable=True),
        "amount": ColumnConfig(type=ColumnType.float, min=0),
        "colour": ColumnConfig(type=ColumnType.category, nullable=True),
        "y": ColumnConfig(type=ColumnType.int),
    },
)
TRAIN = pd.DataFrame(
    {
        "x": [1.0, np.nan, 3.0, 10.0, 5.0],
        "amount": [0.0, 9.0, 99.0, 20.0, 50.0],
        "colour": ["red", "blue", "red", "green", None],
        "y": [0, 1, 0, 1, 0],
    }
)


def _features(**feats: FeatureConfig) -> FeaturesConfig:
    return FeaturesConfig(name="t", features=feats)


def test_numeric_clip_log_and_fills() -> None:
    spec = fit_feature_spec(
        _features(
            x=FeatureConfig(
                transform=Transform.clip, lower=2, upper=6, missing=MissingPolicy.median
            ),
            amount=FeatureConfig(transform=Transform.log1p),
        ),
        DATA,
        TRAIN,
    )
    assert spec.terms == ("Intercept", "x", "log1p(amount)")
    X = design_matrix(spec, TRAIN)
    median = float(np.nanmedian([1.0, 3.0, 10.0, 5.0]))  # 4.0, fitted on the training sample
    expected_x = [2.0, median, 3.0, 6.0, 5.0]
    np.testing.assert_array_equal(X[:, 0], 1.0)
    np.testing.assert_allclose(X[:, 1], expected_x)
    np.testing.assert_allclose(X[:, 2], [np.log(1 + a) for a in TRAIN["amount"]])


def test_bins_with_reference_and_labels() -> None:
    spec = fit_feature_spec(
        _features(
            amount=FeatureConfig(transform=Transform.bins, cuts=[10, 50], reference="[10, 50)"),
        ),
        DATA,
        TRAIN,
    )
    assert spec.terms == ("Intercept", "amount[-inf, 10)", "amount[50, inf)")
    X = design_matrix(spec, {"amount": [0.0, 10.0, 49.9, 50.0]})
    np.testing.assert_array_equal(X[:, 1:], [[1, 0], [0, 0], [0, 0], [0, 1]])


def test_onehot_reference_missing_level_unseen_map_and_merge() -> None:
    spec = fit_feature_spec(
        _features(
            colour=FeatureConfig(
                transform=Transform.onehot,
                reference="red",
                missing=MissingPolicy.level,
                unseen=UnseenPolicy.map,
                unseen_level="blue",
                merge={"warm": ["green"]},
            ),
        ),
        DATA,
        TRAIN,
    )
    assert spec.terms == ("Intercept", f"colour[{MISSING_LEVEL}]", "colour[blue]", "colour[warm]")
    X = design_matrix(spec, {"colour": ["red", None, "blue", "green", "purple"]})
    np.testing.assert_array_equal(X[:, 1:], [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]])


def test_unseen_and_missing_errors_name_column_rows_and_values() -> None:
    spec = fit_feature_spec(
        _features(
            colour=FeatureConfig(transform=Transform.onehot, missing=MissingPolicy.level),
            x=FeatureConfig(),
        ),
        DATA,
        TRAIN.fillna({"x": 0.0}),
    )
    with pytest.raises(ValidationFailed) as err:
        design_matrix(spec, {"colour": ["red", "purple"], "x": [None, 1.0]})
    by_col = {v.column: v for v in err.value.violations}
    assert by_col["colour"].values == ("purple",) and by_col["colour"].rows == (1,)
    assert "not seen in training" in by_col["colour"].rule
    assert by_col["x"].rows == (0,) and "missing" in by_col["x"].rule


def test_spec_round_trips_through_json_and_frames_equal_dicts() -> None:
    spec = fit_feature_spec(
        _features(
            x=FeatureConfig(missing=MissingPolicy.mean),
            colour=FeatureConfig(transform=Transform.onehot, missing=MissingPolicy.level),
            amount=FeatureConfig(transform=Transform.bins, cuts=[10.0]),
        ),
        DATA,
        TRAIN,
    )
    again = ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    as_dict = {c: TRAIN[c].tolist() for c in TRAIN.columns}
    np.testing.assert_array_equal(design_matrix(again, as_dict), design_matrix(spec, TRAIN))
    assert spec.groups() == (("x", (1,)), ("colour", (2, 3, 4)), ("amount", (5,)))


@pytest.mark.parametrize(
    ("feature", "key"),
    [
        (FeatureConfig(transform=Transform.onehot, reference="purple"), "reference"),
        (FeatureConfig(transform=Transform.numeric, column="nope"), "features.features.f"),
        (FeatureConfig(transform=Transform.log1p, column="colour"), "transform"),
        (FeatureConfig(transform=Transform.bins, column="amount", cuts=[1000.0]), "cuts"),
    ],
)
def test_bad_feature_declarations(feature: FeatureConfig, key: str) -> None:
    if feature.column is None:
        feature.column = "colour"
    with pytest.raises(ConfigError) as err:
        fit_feature_spec(_features(f=feature), DATA, TRAIN)
    assert key in err.value.key
