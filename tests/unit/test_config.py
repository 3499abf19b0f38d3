"""Every config option composes and is typed; bad keys, types and values fail, naming them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from credit_glm.__main__ import config_dir
from credit_glm.config import AppConfig, DataConfig, Link, SplitMethod
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


def test_unknown_option_fails() -> None:
    with pytest.raises(ConfigCompositionException) as err:
        compose_config(["split=bootstrap"])
    assert "bootstrap" in str(err.value)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("split.test_size=1.5", "split.test_size"),
        ("glm.l1_wt=2", "glm.l1_wt"),
        ("glm.on_separation=ignore", "glm.on_separation"),
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
