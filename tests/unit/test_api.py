"""The Python API's estimator contract, and its errors on ordinary data (ids, missing values).

The data is the README's example portfolio (``tests/data/applications.csv``: an id column, a
nullable income, rare purposes), read as a user would, with ``pd.read_csv``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit_glm import GLMModelSelector, ModelConfig
from credit_glm.api import NotFittedError
from credit_glm.artifact import load_card
from credit_glm.config import Criterion, SelectionConfig
from credit_glm.errors import ConfigError, ModelFitError, ValidationFailed
from credit_glm.feature_selection import select_features
from credit_glm.features import design_matrix
from credit_glm.scoring import ScoringModel
from credit_glm.training import train

DATA = Path(__file__).resolve().parents[1] / "data" / "applications.csv"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.read_csv(DATA)


def _config(**kw: object) -> ModelConfig:
    base: dict[str, object] = {
        "target_column": "default_flag",
        "id_column": "application_id",
        "missing": "impute",
    }
    return ModelConfig(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fitted(frame: pd.DataFrame) -> GLMModelSelector:
    return GLMModelSelector(_config()).fit(frame)


def test_constructor_only_stores_the_config() -> None:
    config = _config()
    selector = GLMModelSelector(config)
    assert vars(selector) == {"config": config}


def test_fit_returns_self_and_learned_state_ends_in_underscore(frame: pd.DataFrame) -> None:
    selector = GLMModelSelector(_config())
    assert selector.fit(frame) is selector
    learned = set(vars(selector)) - {"config"}
    assert learned and all(name.endswith("_") for name in learned)
    assert {"model_", "card_", "metrics_", "spec_", "scorer_", "config_"} <= learned
    assert selector.metrics_["test"]["auc"] > 0.7


def test_fit_mutates_neither_the_config_nor_the_frame(frame: pd.DataFrame) -> None:
    config = _config(selection=SelectionConfig(strategy="forward"))
    config_before = copy.deepcopy(config)
    data = frame.copy()
    GLMModelSelector(config).fit(data)
    assert config == config_before
    pd.testing.assert_frame_equal(data, frame)


def test_a_declared_schema_is_not_mutated(frame: pd.DataFrame, fitted: GLMModelSelector) -> None:
    declared = copy.deepcopy(fitted.config_.data)
    before = copy.deepcopy(declared)
    config = _config(data=declared, event_value=7)
    selector = GLMModelSelector(config).fit(frame)
    assert declared == before
    assert selector.config_.data.target.event == before.target.event


def test_the_id_column_is_carried_not_modelled(fitted: GLMModelSelector) -> None:
    assert "application_id" not in fitted.spec_.columns
    assert fitted.config_.data.id_column == "application_id"
    assert set(fitted.spec_.columns) == {
        "utilisation",
        "income",
        "months_on_book",
        "region",
        "delinquencies",
        "purpose",
    }


def test_selection_settings_are_honoured_as_in_the_cli(
    frame: pd.DataFrame, fitted: GLMModelSelector
) -> None:
    selection = SelectionConfig(strategy="backward", criterion="bic")  # type: ignore[arg-type]
    selector = GLMModelSelector(_config(selection=selection)).fit(frame)
    assert selector.model_.selection.strategy == "backward"
    assert selector.config_.selection.criterion is Criterion.bic  # a str becomes the enum
    assert selection.criterion == "bic" and type(selection.criterion) is str  # untouched
    # the same pipeline the CLI runs: train(config, table, select_features)
    table = frame.drop(columns=[]).assign(
        application_id=frame["application_id"].astype(str),
        region=frame["region"].astype(str),
        purpose=frame["purpose"].astype(str),
    )
    direct = train(selector.config_, table, select_features)
    assert selector.selected_features_ == direct.selection.selected
    assert len(selector.selected_features_) < len(fitted.selected_features_)
    np.testing.assert_array_equal(selector.model_.fit.params, direct.fit.params)


def test_predict_proba_scores_through_the_card_scorer(
    frame: pd.DataFrame, fitted: GLMModelSelector, tmp_path: Path
) -> None:
    new = frame.drop(columns=["default_flag"]).head(50)
    p = fitted.predict_proba(new)
    assert p.shape == (50,) and np.all((p > 0) & (p < 1))
    fitted.save_model(tmp_path / "glm_model.joblib")
    card = load_card(tmp_path / "glm_model.json")
    table = new.assign(region=new["region"].astype(str), purpose=new["purpose"].astype(str))
    np.testing.assert_array_equal(ScoringModel.from_card(card).predict(table), p)
    # the training rows score as the fit itself predicted them (same scorer as the CLI)
    np.testing.assert_allclose(
        fitted.predict_proba(frame.head(5)),
        fitted.model_.scorer.predict(table.head(5)),
        rtol=0,
        atol=1e-15,
    )


def test_predict_and_save_before_fit_raise_a_clear_error(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    selector = GLMModelSelector(_config())
    with pytest.raises(
        NotFittedError,
        match=r"not fitted yet: call fit\(frame\) before "
        r"predict_proba\(\)",
    ):
        selector.predict_proba(frame)
    with pytest.raises(NotFittedError, match=r"before save_model\(\)"):
        selector.save_model(tmp_path / "glm_model.joblib")


def test_save_model_writes_the_pair(fitted: GLMModelSelector, tmp_path: Path) -> None:
    path = fitted.save_model(tmp_path / "models" / "glm_model.joblib")
    assert path == tmp_path / "models" / "glm_model.joblib" and path.is_file()
    card = load_card(tmp_path / "models" / "glm_model.json")
    assert card["model_version"] == fitted.card_["model_version"]


def test_a_text_identifier_is_refused_naming_the_column_and_the_option(frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError) as err:
        GLMModelSelector(_config(id_column=None)).fit(frame)
    msg = str(err.value)
    assert "'application_id'" in msg and "2000 distinct values" in msg
    assert "ModelConfig(id_column='application_id')" in msg


def test_a_serial_number_is_refused(frame: pd.DataFrame) -> None:
    data = frame.assign(row_no=np.arange(100, 100 + len(frame)))
    with pytest.raises(ConfigError, match=r"'row_no' holds 2000 distinct consecutive integers"):
        GLMModelSelector(_config()).fit(data)


def test_an_id_column_among_the_predictors_is_refused(frame: pd.DataFrame) -> None:
    config = _config(predictors=["utilisation", "application_id"])
    with pytest.raises(ConfigError, match=r"'application_id' is the id column"):
        GLMModelSelector(config).fit(frame)


def test_missing_values_are_reported_at_the_rows_of_the_file(frame: pd.DataFrame) -> None:
    with pytest.raises(ValidationFailed) as err:
        GLMModelSelector(_config(missing="error")).fit(frame)
    missing_rows = np.flatnonzero(frame["income"].isna().to_numpy())  # rows of the file
    (violation,) = err.value.violations
    assert violation.column == "income"
    assert violation.count == len(missing_rows)
    assert list(violation.rows) == missing_rows[:5].tolist()
    msg = str(err.value)
    assert "training data (features)" in msg and "ModelConfig(missing='impute')" in msg
    assert f"at rows {', '.join(str(r) for r in missing_rows[:5])}" in msg


def test_a_rank_deficient_design_names_the_term_and_the_column(frame: pd.DataFrame) -> None:
    data = frame.assign(utilisation_pct=frame["utilisation"] * 100)
    with pytest.raises(ModelFitError) as err:
        GLMModelSelector(_config()).fit(data)
    msg = str(err.value)
    assert "rank-deficient" in msg
    assert "'utilisation_pct' from feature 'utilisation_pct' (column 'utilisation_pct')" in msg


def test_predict_proba_names_the_column_and_row_of_a_bad_value(
    fitted: GLMModelSelector, frame: pd.DataFrame
) -> None:
    new = frame.head(10).copy()
    new.loc[6, "utilisation"] = np.nan
    with pytest.raises(ValidationFailed) as err:
        fitted.predict_proba(new)
    (violation,) = err.value.violations
    assert violation.column == "utilisation" and violation.rows == (6,)


@pytest.mark.parametrize(
    ("key", "value"),
    [("missing", "drop"), ("split", "random"), ("max_levels", 1), ("link", "probti")],
)
def test_model_config_checks_its_choices(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"ModelConfig.{key}"):
        _config(**{key: value})


def test_a_mistyped_choice_in_a_config_group_names_the_key(frame: pd.DataFrame) -> None:
    selection = SelectionConfig(criterion="aicc")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"selection.criterion: must be one of aic, bic"):
        GLMModelSelector(_config(selection=selection)).fit(frame)


def test_a_declared_schema_without_features_uses_its_declared_columns(
    frame: pd.DataFrame, fitted: GLMModelSelector
) -> None:
    declared = copy.deepcopy(fitted.config_.data)
    selector = GLMModelSelector(_config(data=declared, id_column=None)).fit(
        frame.assign(region=frame["region"].astype(str), purpose=frame["purpose"].astype(str))
    )
    assert set(selector.spec_.columns) == set(fitted.spec_.columns)
    with pytest.raises(ConfigError, match=r"\['extra'\] are not declared in data.columns"):
        GLMModelSelector(_config(data=declared, predictors=["utilisation", "extra"])).fit(
            frame.assign(extra=1.0)
        )


def test_separation_names_the_suspect_term_and_its_column(frame: pd.DataFrame) -> None:
    data = frame.copy()
    data.loc[data["purpose"] == "retraining", "default_flag"] = 0  # a level with no defaults
    with pytest.raises(ModelFitError) as err:
        GLMModelSelector(_config()).fit(data)
    msg = str(err.value)
    assert "separation" in msg
    assert "purpose[retraining] from feature 'purpose' (column 'purpose')" in msg


def test_fit_and_predict_proba_agree_with_a_direct_statsmodels_fit(frame: pd.DataFrame) -> None:
    import statsmodels.api as sm

    selector = GLMModelSelector(_config(split="none")).fit(frame)  # every row trains
    table = frame.assign(region=frame["region"].astype(str), purpose=frame["purpose"].astype(str))
    X = design_matrix(selector.spec_, table)
    y = frame["default_flag"].to_numpy(dtype=float)
    reference = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    terms = selector.spec_.terms
    np.testing.assert_allclose(
        [selector.coefficients_[t] for t in terms], reference.params, rtol=1e-7, atol=1e-9
    )
    p = selector.predict_proba(frame.drop(columns=["default_flag"]))
    np.testing.assert_allclose(p, reference.predict(X), rtol=1e-9, atol=1e-12)
