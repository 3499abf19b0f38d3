"""The pandera schema built from the YAML declaration."""

from __future__ import annotations

import pandas as pd
import pytest

from credit_glm.config import AppConfig, ColumnConfig, ColumnType, DataConfig, TargetConfig
from credit_glm.errors import ValidationFailed
from credit_glm.rules import NOT_NULLABLE, rule_table
from credit_glm.schema import (
    build_schema,
    data_config_from_dict,
    data_config_to_dict,
    validate_frame,
)


def _small() -> DataConfig:
    return DataConfig(
        name="small",
        path="x.csv",
        target=TargetConfig(column="y", event="1"),
        columns={
            "age": ColumnConfig(type=ColumnType.int, min=18, max=100),
            "income": ColumnConfig(type=ColumnType.float, nullable=True, min=0),
            "home": ColumnConfig(type=ColumnType.category, categories=["own", "rent"]),
            "y": ColumnConfig(type=ColumnType.int, min=0, max=1),
        },
    )


def test_german_credit_validates_and_coerces(
    app_config: AppConfig, german_frame: pd.DataFrame
) -> None:
    out = validate_frame(german_frame, build_schema(app_config.data), app_config.data)
    assert len(out) == 1000
    assert str(out["duration_in_month"].dtype) == "Int64"


def test_every_violation_reported_at_once() -> None:
    data = _small()
    frame = pd.DataFrame(
        {
            "age": ["30", "6.9", "abc", "15"],
            "income": ["100", "-5", None, "inf"],
            "home": ["own", "boat", "rent", None],
            "y": ["0", "1", "0", "1"],
            "extra": ["a", "b", "c", "d"],
        }
    )
    with pytest.raises(ValidationFailed) as err:
        validate_frame(frame, build_schema(data), data)
    found = {(v.column, v.rule.split(" ")[0]): v for v in err.value.violations}
    assert ("extra", "strict") in found
    # 6.9 is not silently truncated to 6; 'abc' is not a number
    age = found[("age", "type")]
    assert set(age.values) == {"6.9", "abc"} and set(age.rows) == {1, 2}
    assert found[("income", "min")].values == (-5.0,) and found[("income", "min")].rows == (1,)
    assert found[("income", "finite")].rows == (3,)
    assert found[("home", "categories")].values == ("boat",)
    assert found[("home", "nullable=false")].rows == (3,)
    text = str(err.value)
    assert "'boat'" in text and "min 0" in text


def test_the_report_names_each_rule_by_its_rule_table_text() -> None:
    data = _small()
    frame = pd.DataFrame(
        {
            "age": ["15", "101", "40"],
            "income": ["1", "2", "3"],
            "home": ["own", "rent", "boat"],
            "y": ["0", "1", None],
        }
    )
    with pytest.raises(ValidationFailed) as err:
        validate_frame(frame, build_schema(data), data)
    columns = rule_table(data).columns
    expected = {
        ("age", columns["age"].rule("min")),
        ("age", columns["age"].rule("max")),
        ("home", columns["home"].rule("categories")),
    }
    texts = {(c, r.text) for c, r in expected if r is not None}
    found = {(v.column, v.rule) for v in err.value.violations}
    assert found == texts | {("y", NOT_NULLABLE.text)}
    assert texts == {
        ("age", "min 18"),
        ("age", "max 100"),
        ("home", "categories (allowed: 'own', 'rent')"),
    }


def test_inference_role_ignores_target_and_requires_model_columns() -> None:
    data = _small()
    schema = build_schema(data, "inference", required=["age"])
    out = validate_frame(pd.DataFrame({"age": [40]}), schema, data)
    assert out["age"].tolist() == [40]
    with pytest.raises(ValidationFailed) as err:
        validate_frame(pd.DataFrame({"income": [1.0]}), schema, data)
    assert err.value.violations[0].column == "age"


def test_declaration_round_trips_through_plain_data() -> None:
    data = _small()
    again = data_config_from_dict(data_config_to_dict(data))
    assert again == data
