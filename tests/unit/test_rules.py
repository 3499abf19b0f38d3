"""The rule table: every face of a rule says the same thing.

A rule's scalar check agrees with its vectorised check, a column's JSON-schema fragment accepts
exactly the JSON values its type rule and value rules accept (checked by ``jsonschema``, an
independent implementation of JSON Schema), a fast path accepts only values the full path
accepts unchanged, and pandera's schema and the request validator are built from the table.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import credit_glm
from credit_glm.config import ColumnConfig, ColumnType, DataConfig, TargetConfig
from credit_glm.errors import ConfigError
from credit_glm.rules import (
    SIGNALS,
    ColumnRules,
    Finite,
    Maximum,
    Minimum,
    OneOf,
    Refused,
    Signal,
    column_rules,
    rule_table,
)
from credit_glm.schema import build_schema
from credit_glm.service.validation import RecordValidator, SchemaCompileError


def _data() -> DataConfig:
    return DataConfig(
        name="small",
        path="x.csv",
        target=TargetConfig(column="y", event="1"),
        id_column="id",
        weight_column="w",
        columns={
            "id": ColumnConfig(type=ColumnType.category),
            "age": ColumnConfig(type=ColumnType.int, min=18, max=100),
            "income": ColumnConfig(type=ColumnType.float, nullable=True, min=0),
            "ratio": ColumnConfig(type=ColumnType.float, min=-1.5, max=2.5),
            "count": ColumnConfig(type=ColumnType.int, nullable=True),
            "home": ColumnConfig(type=ColumnType.category, categories=["own", "rent"]),
            "note": ColumnConfig(type=ColumnType.category, nullable=True),
            "flag": ColumnConfig(type=ColumnType.bool),
            "w": ColumnConfig(type=ColumnType.float, min=0),
            "y": ColumnConfig(type=ColumnType.int, min=0, max=1),
        },
    )


COLUMNS = {n: column_rules(n, c) for n, c in _data().columns.items() if n not in ("w", "y")}

JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(-200, 200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-200, 200).map(lambda x: float(round(x))),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=6),
    st.sampled_from(["own", "rent", "boat", "", "24"]),
    st.lists(st.integers(), max_size=1),
    st.dictionaries(st.text(max_size=1), st.integers(), max_size=1),
)


def _accepts(column: ColumnRules, value: Any) -> bool:
    """The full scalar path: the type rule reads ``value``, then every value rule holds."""
    x = column.type.read(value)
    if isinstance(x, Refused):
        return False
    if x is None:
        return column.nullable
    return all(rule.scalar(x) for rule in column.checks)


def test_roles_decide_what_is_required() -> None:
    data = _data()
    training = rule_table(data)
    assert set(training.columns) == set(data.columns)
    assert set(training.required) == set(data.columns)
    inference = rule_table(data, "inference", required=["age", "home"])
    # the target and the weight are outcomes, not inputs; the id is accepted, never required
    assert set(inference.columns) == set(data.columns) - {"y", "w"}
    assert set(inference.required) == {"age", "home"}
    assert not inference.columns["id"].required
    everything = rule_table(data, "inference")
    assert set(everything.required) == set(data.columns) - {"y", "w", "id"}
    assert training.strict and training.name == "small:training"


def test_a_declaration_without_columns_is_refused() -> None:
    with pytest.raises(ConfigError, match="data.columns"):
        rule_table(DataConfig(name="none", path="x.csv", target=TargetConfig("y", "1")))


def test_a_column_s_rules_follow_its_declaration() -> None:
    age = COLUMNS["age"]
    assert [r.name for r in age.checks] == ["finite", "min", "max"]
    assert (age.minimum, age.maximum, age.allowed) == (18, 100, None)
    assert [r.name for r in COLUMNS["home"].checks] == ["categories"]
    assert COLUMNS["home"].allowed == ("own", "rent")
    assert COLUMNS["flag"].checks == () and COLUMNS["note"].checks == ()
    assert COLUMNS["age"].rule("max") == Maximum(100)
    assert COLUMNS["age"].rule("categories") is None


@settings(max_examples=200, deadline=None)
@given(
    # both faces see coerced, non-null values (pandera leaves nulls out of a check)
    values=st.lists(
        st.one_of(st.floats(allow_nan=False), st.integers(-(2**60), 2**60)), min_size=1
    ),
    bound=st.floats(-1e6, 1e6),
)
def test_scalar_and_vectorised_checks_agree(values: list[float], bound: float) -> None:
    series = pd.Series(values, dtype="float64")
    for rule in (Finite(), Minimum(bound), Maximum(bound)):
        mask = rule.vector(series).tolist()
        assert mask == [rule.scalar(float(v)) for v in values], rule


def test_category_scalar_and_vectorised_checks_agree() -> None:
    rule = OneOf(("own", "rent"))
    values = ["own", "Own", "rent", "", "rent "]
    assert rule.vector(pd.Series(values, dtype="str")).tolist() == [rule.scalar(v) for v in values]
    assert [rule.scalar(v) for v in values] == [True, False, True, False, False]


def test_bounds_of_a_value_rule_are_inclusive() -> None:
    assert Minimum(18).scalar(18) and not Minimum(18).scalar(17.999)
    assert Maximum(2.5).scalar(2.5) and not Maximum(2.5).scalar(math.nextafter(2.5, 3))
    assert not Finite().scalar(math.inf) and not Finite().scalar(math.nan)


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_json_schema_accepts_exactly_what_the_rules_accept(name: str) -> None:
    column = COLUMNS[name]
    check = jsonschema.Draft202012Validator(column.json_schema())

    @settings(max_examples=300, deadline=None)
    @given(value=JSON_VALUES)
    def agree(value: Any) -> None:
        assert check.is_valid(value) == _accepts(column, value), value

    agree()


def test_json_schema_of_an_int_column_is_whole_and_64_bit() -> None:
    assert COLUMNS["age"].json_schema() == {"type": "integer", "minimum": 18, "maximum": 100}
    assert COLUMNS["count"].json_schema() == {
        "type": ["integer", "null"],
        "minimum": -(2**63),
        "maximum": 2**63 - 1,
    }
    assert COLUMNS["home"].json_schema() == {"type": "string", "enum": ["own", "rent"]}


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_the_fast_paths_accept_only_what_the_full_path_accepts_unchanged(name: str) -> None:
    column = COLUMNS[name]
    one = column.type.as_sent(column)
    many = column.type.column_as_sent(column)

    @settings(max_examples=300, deadline=None)
    @given(values=st.lists(JSON_VALUES, min_size=1, max_size=4))
    def sound(values: list[Any]) -> None:
        for v in values:
            if one(v):
                assert _accepts(column, v) and column.type.read(v) == v, v
        if many(values):
            assert all(_accepts(column, v) for v in values), values

    sound()


def test_every_rule_feeds_its_health_counter() -> None:
    assert SIGNALS == {
        "required": Signal.missing,
        "not_nullable": Signal.missing,
        "finite": Signal.out_of_range,
        "min": Signal.out_of_range,
        "max": Signal.out_of_range,
        "categories": Signal.unknown_category,
    }


def test_pandera_schema_is_built_from_the_table() -> None:
    data = _data()
    schema = build_schema(data, "inference", required=["age"])
    table = rule_table(data, "inference", required=["age"])
    assert list(schema.columns) == list(table.columns)
    for name, column in schema.columns.items():
        rules = table.columns[name]
        assert [c.name for c in column.checks] == [r.name for r in rules.checks]
        assert (column.nullable, column.required) == (rules.nullable, rules.required)
    validator = RecordValidator.from_schema(schema, ["age"])
    assert validator.rules == dict(table.columns)


def test_a_schema_that_says_more_than_its_table_is_not_compiled() -> None:
    import pandera.pandas as pa

    data = _data()
    schema = build_schema(data, "inference", required=["age"])
    extra = schema.update_column("age", checks=[pa.Check.less_than(50)])
    with pytest.raises(SchemaCompileError, match="'age'"):
        RecordValidator.from_schema(extra, ["age"])
    bare = pa.DataFrameSchema({"age": pa.Column("Int64", coerce=True)})
    with pytest.raises(SchemaCompileError, match="rule table"):
        RecordValidator.from_schema(bare, ["age"])


def test_the_table_and_the_validator_import_without_pandera_or_pandas() -> None:
    # (and credit_glm.schema without pandera)
    # what these two modules import themselves: the package root (whatever it imports) is
    # stood in for by a bare package of the same directory
    root = Path(credit_glm.__file__).parent
    code = (
        "import sys, types\n"
        "package = types.ModuleType('credit_glm')\n"
        f"package.__path__ = [{str(root)!r}]\n"
        "sys.modules['credit_glm'] = package\n"
        "import credit_glm.rules, credit_glm.service.validation\n"
        "heavy = {'pandera', 'pandas', 'statsmodels', 'scipy'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "import credit_glm.schema\n"  # pandera loads when a schema is built, not before
        "assert 'pandera' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_integer_a_float_cannot_hold_takes_the_full_path() -> None:
    column = COLUMNS["income"]
    one = column.type.as_sent(column)
    assert one(2**53) and not one(2**53 + 1) and not one(-(2**53) - 1)
    assert column.type.read(2**53 + 1) == float(2**53 + 1) != 2**53 + 1
