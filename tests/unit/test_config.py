"""Every config option composes and is typed; bad keys, types and values fail, naming them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from credit_glm.__main__ import config_dir
from credit_glm.cli import UnknownKeyError, check_known_keys
from credit_glm.config import (
    AppConfig,
    DataConfig,
    DataFormat,
    FeatureConfig,
    FeaturesConfig,
    FitPolicy,
    GLMConfig,
    Link,
    LogFormat,
    SplitMethod,
    Strategy,
    TargetConfig,
    Transform,
)
from credit_glm.errors import ConfigError
from tests.conftest import compose_config

GROUPS = ["data", "features", "selection", "glm", "split", "evaluation", "serving"]


def _options() -> list[tuple[str, str]]:
    out = []
    for group in GROUPS:
        for path in sorted((Path(config_dir()) / group).glob("*.yaml")):
            out.append((group, path.stem))
    return out


@pytest.mark.parametrize(("group", "option"), _options())
def test_every_option_composes_into_typed_config(group: str, option: str) -> None:
    overrides = [f"{group}={option}"]
    if (group, option) == ("split", "out_of_time"):
        overrides += ["split.cutoff=2020-01-01"]
    cfg = compose_config(overrides)
    assert isinstance(cfg, AppConfig)


def test_default_config() -> None:
    cfg = compose_config()
    assert cfg.glm.link is Link.logit
    assert cfg.split.method is SplitMethod.stratified
    assert cfg.data.target.column == "creditability" and cfg.data.target.event == "bad"
    assert set(cfg.features.features) <= set(cfg.data.columns)


def test_unknown_key_fails_naming_it() -> None:
    with pytest.raises((ConfigCompositionException, ConfigKeyError)) as err:
        compose_config(["glm.lnk=probit"])
    assert "lnk" in str(err.value) or "lnk" in str(err.value.__cause__)


def test_unknown_key_inside_a_column_declaration_fails() -> None:
    schema = OmegaConf.structured(DataConfig)
    with pytest.raises(ConfigKeyError) as err:
        OmegaConf.merge(schema, {"columns": {"age": {"type": "int", "maximum": 3}}})
    assert "maximum" in str(err.value) and "columns.age" in str(err.value)


def test_wrong_type_fails_naming_key() -> None:
    with pytest.raises((ConfigCompositionException, ValidationError)) as err:
        compose_config(["glm.max_iter=abc"])
    text = str(err.value) + str(err.value.__cause__)
    assert "max_iter" in text


def test_unknown_enum_value_lists_choices() -> None:
    with pytest.raises((ConfigCompositionException, ValidationError)) as err:
        compose_config(["glm.link=logistic"])
    text = str(err.value) + str(err.value.__cause__)
    assert "logit" in text and "probit" in text


@pytest.mark.parametrize(
    ("override", "allowed"),
    [
        ("data.format=xlsx", ["auto", "csv", "parquet"]),
        ("selection.strategy=greedy", ["none", "exhaustive", "stepwise", "random"]),
        ("glm.on_nonconvergence=ignore", ["error", "warn"]),
        ("glm.on_separation=ignore", ["error", "warn"]),
        ("serving.log_format=xml", ["json", "text"]),
    ],
)
def test_every_choice_is_an_enum_checked_at_composition(override: str, allowed: list[str]) -> None:
    key, value = override.split("=")
    with pytest.raises(ConfigCompositionException) as err:
        compose_config([override])
    text = str(err.value) + str(err.value.__cause__)
    assert key in text and value in text
    for choice in allowed:
        assert choice in text


def test_choices_compose_as_enum_members() -> None:
    cfg = compose_config(["selection=stepwise", "glm.on_separation=warn", "data.format=csv"])
    assert cfg.selection.strategy is Strategy.stepwise
    assert cfg.glm.on_separation is FitPolicy.warn
    assert cfg.glm.on_nonconvergence is FitPolicy.error
    assert cfg.data.format is DataFormat.csv
    assert cfg.serving.log_format is LogFormat.json


def test_python_api_strings_become_enum_members_or_fail_naming_key() -> None:
    assert GLMConfig(on_separation="warn").on_separation is FitPolicy.warn  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as err:
        GLMConfig(on_nonconvergence="ignore")  # type: ignore[arg-type]
    assert err.value.key == "glm.on_nonconvergence" and "error, warn" in err.value.rule


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("+glm.lnk=probit", "glm.lnk"),
        ("+verbos=false", "verbos"),
        ("+selection.criteria=bic", "selection.criteria"),
        ("+data.columns.age_in_years.maxx=3", "data.columns.age_in_years.maxx"),
        ("+features.features.age_in_years.lowerr=1", "features.features.age_in_years.lowerr"),
        ("+evaluation.decision.cut_off=0.2", "evaluation.decision.cut_off"),
    ],
)
def test_added_keys_no_schema_declares_fail_naming_them(override: str, key: str) -> None:
    with pytest.raises(UnknownKeyError) as err:
        compose_config([override])
    assert err.value.key == key
    assert err.value.exit_code == 1


def test_unknown_key_error_suggests_the_declared_key() -> None:
    with pytest.raises(UnknownKeyError) as err:
        compose_config(["+glm.lnk=probit"])
    assert "did you mean 'link'" in str(err.value)


def test_dict_typed_fields_still_take_user_keys() -> None:
    schema = OmegaConf.structured(FeaturesConfig)
    cfg = OmegaConf.merge(schema, {"name": "x", "features": {"age_again": {"column": "age"}}})
    assert isinstance(cfg, DictConfig)
    check_known_keys(cfg)  # a feature's own name is the user's to choose
    cfg.features.age_again._set_flag("struct", False)
    cfg.features.age_again.colum = "age"
    with pytest.raises(UnknownKeyError) as err:
        check_known_keys(cfg)
    assert err.value.key == "features.age_again.colum"


@pytest.mark.parametrize("value", [True, False])
def test_yaml_boolean_as_event_is_refused_with_a_hint_to_quote(value: bool) -> None:
    with pytest.raises(ConfigError) as err:
        TargetConfig(column="y", event=value)
    assert err.value.key == "data.target.event"
    assert "quote it" in err.value.rule and '"Yes"' in err.value.rule


def test_yaml_boolean_in_categories_is_refused_naming_the_level() -> None:
    schema = OmegaConf.structured(DataConfig)
    yaml = (
        "name: d\npath: d.csv\ntarget: {column: y, event: '1'}\n"
        "columns:\n  owner:\n    type: category\n    categories: [none, Yes]\n"
    )
    cfg = OmegaConf.merge(schema, OmegaConf.create(yaml))
    with pytest.raises(ConfigError) as err:
        OmegaConf.to_object(cfg)
    assert err.value.key == "data.columns.owner.categories[1]"


def test_quoted_text_and_numbers_are_kept_as_text() -> None:
    assert TargetConfig(column="y", event=1).event == "1"
    assert TargetConfig(column="y", event="True").event == "True"  # quoted: the data's text


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("reference", True, "features.features.f.reference"),
        ("unseen_level", False, "features.features.f.unseen_level"),
        ("merge", {"rare": ["a", True]}, "features.features.f.merge.rare[1]"),
        ("merge", {True: ["a"]}, "features.features.f.merge"),
    ],
)
def test_yaml_boolean_in_feature_levels_is_refused(field: str, value: object, key: str) -> None:
    feature = FeatureConfig(column="f", transform=Transform.onehot)
    setattr(feature, field, value)
    with pytest.raises(ConfigError) as err:
        FeaturesConfig(name="x", features={"f": feature})
    assert err.value.key == key
    assert "YAML boolean" in err.value.rule


def test_unknown_option_fails() -> None:
    with pytest.raises(ConfigCompositionException) as err:
        compose_config(["split=bootstrap"])
    assert "bootstrap" in str(err.value)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("split.test_size=1.5", "split.test_size"),
        ("glm.l1_wt=2", "glm.l1_wt"),
        ("evaluation.decision.cutoff=1.2", "evaluation.decision.cutoff"),
        ("data.columns.age_in_years.min=200", "data.columns.age_in_years.min"),
        ("features.features.credit_amount.cuts=[1,2]", "features.features.credit_amount.cuts"),
    ],
)
def test_value_rules_fail_naming_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        compose_config([override])
    assert err.value.key == key


def test_decision_cutoff_is_cost_minimising_by_default() -> None:
    cfg = compose_config()
    # decline when 5 * PD > 1 * (1 - PD), i.e. PD > 1/6
    assert cfg.evaluation.decision.threshold == pytest.approx(1 / 6)
