"""Selection on a sample of the training rows (``selection.sample_rows``), final fit on all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_glm.errors import ConfigError
from credit_glm.feature_selection import select_features
from credit_glm.features import FitOutcome, design_matrix, fit_feature_spec
from credit_glm.schema import build_schema, compact_text, validate_frame
from credit_glm.training import outcome_vector, train
from tests.conftest import GERMAN_CSV, compose_config


def german_frame() -> pd.DataFrame:
    return pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False, na_values=[""])


def _problem(overrides: list[str]):  # type: ignore[no-untyped-def]
    config = compose_config(overrides)
    frame = compact_text(
        validate_frame(german_frame(), build_schema(config.data, "training"), config.data),
        config.data,
    )
    y = outcome_vector(frame, config.data).astype(float)
    spec = fit_feature_spec(config.features, config.data, frame, FitOutcome(event=y))
    return config, spec, design_matrix(spec, frame), y


def test_search_runs_on_a_stratified_sample() -> None:
    config, spec, X, y = _problem(["selection=forward", "selection.sample_rows=400"])
    outcome = select_features(config, spec, X, y, None)
    sample = outcome.audit["sample"]
    assert sample["of_training_rows"] == 1000
    # stratified: each class contributes its share of 400, rounded
    events = int(y.sum())
    assert sample["events"] == round(400 / 1000 * events)
    assert sample["rows"] == sample["events"] + round(400 / 1000 * (1000 - events))
    # the search on the sample is the search on those rows: the same strategy run on exactly
    # the rows the seeded stratified draw picks gives the same features
    from credit_glm.split import stratified_holdout

    _, rows = stratified_holdout(y, 400 / 1000, config.selection.seed)
    direct = select_features(compose_config(["selection=forward"]), spec, X[rows], y[rows], None)
    assert outcome.selected == direct.selected


def test_no_sample_when_there_are_fewer_rows() -> None:
    config, spec, X, y = _problem(["selection=forward", "selection.sample_rows=5000"])
    assert "sample" not in select_features(config, spec, X, y, None).audit


def test_final_fit_uses_every_training_row() -> None:
    config = compose_config(["selection=forward", "selection.sample_rows=300"])
    trained = train(config, german_frame(), select_features)
    assert trained.selection.audit["sample"]["rows"] == pytest.approx(300, abs=1)
    assert trained.fit.n_obs == trained.diagnostics["split"]["train_rows"] == 700


def test_sample_rows_must_be_at_least_two() -> None:
    with pytest.raises(ConfigError, match="selection.sample_rows"):
        compose_config(["selection=forward", "selection.sample_rows=1"])


def test_training_holds_text_columns_as_categoricals() -> None:
    config = compose_config([])
    frame = validate_frame(german_frame(), build_schema(config.data, "training"), config.data)
    compact = compact_text(frame, config.data)
    text = [n for n, c in config.data.columns.items() if c.type.value == "category"]
    assert text and all(str(compact[n].dtype) == "category" for n in text)
    for name in frame.columns:
        np.testing.assert_array_equal(
            compact[name].astype(object).to_numpy(), frame[name].astype(object).to_numpy()
        )
