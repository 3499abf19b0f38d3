"""The compiled request validator agrees with pandera, the source of truth.

For generated good and bad records (wrong JSON types, nulls, NaN, infinities, out-of-range and
non-integral numbers, integers beyond 64 bits, unknown categories, missing and extra fields,
non-objects), the validator and pandera reject the same records, on the same fields, for the
same rules. The reference is independent of the validator: pandera's own failure cases on a
one-row frame of the record (object columns, ``coerce=True``, as ``validate_frame`` runs it),
after the one rule pandas cannot see, the JSON type of each declared column, taken from the
declaration (``ColumnType``), not from the compiled validator. For accepted records the two
also give the same design matrix, so they score identically.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandera.errors import SchemaError, SchemaErrors

from credit_glm.config import ColumnConfig, ColumnType, DataConfig, ServingConfig, TargetConfig
from credit_glm.errors import ValidationFailed
from credit_glm.features import design_matrix
from credit_glm.rules import ColumnRules, rule_table
from credit_glm.schema import build_schema
from credit_glm.service.model import ServedModel, served_model_from_card
from credit_glm.service.validation import LISTED_UNKNOWN_FIELDS, RecordValidator

pytestmark = pytest.mark.slow

Errors = set[tuple[str, str]]

_SCHEMAS: dict[tuple[int, tuple[str, ...]], Any] = {}


def _rule_of(check: str) -> str:
    # pandera's own checks; the schema's value checks are named by their rule
    for prefix, rule in (("coerce_dtype", "type"), ("dtype(", "type")):
        if check.startswith(prefix):
            return rule
    if check in ("not_nullable", "finite", "min", "max", "categories"):
        return check
    return f"unmapped:{check}"


def _json_type_ok(kind: ColumnType, value: Any) -> bool:
    """The JSON type of a declared column (None is left to pandera's nullability)."""
    if value is None:
        return True
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return {
        ColumnType.float: number,
        ColumnType.int: number,
        ColumnType.category: isinstance(value, str),
        ColumnType.bool: isinstance(value, bool),
        ColumnType.date: isinstance(value, str),
    }[kind]


def pandera_errors(record: Any, data: DataConfig, required: tuple[str, ...]) -> Errors:
    """(field, rule) of every rule pandera says ``record`` breaks."""
    if not isinstance(record, dict):
        return {("", "not_an_object")}
    key = (id(data), tuple(required))
    if key not in _SCHEMAS:
        _SCHEMAS[key] = (data, build_schema(data, "inference", required=required))
    schema = _SCHEMAS[key][1]
    declared = set(schema.columns)
    errors: Errors = set()
    frame_values: dict[str, Any] = {}
    for name, value in record.items():
        if name in declared and not _json_type_ok(data.columns[name].type, value):
            errors.add((name, "type"))
        else:
            frame_values[name] = value
    frame = pd.DataFrame({k: pd.Series([v], dtype=object) for k, v in frame_values.items()})
    try:
        schema.validate(frame, lazy=True)
    except (SchemaErrors, SchemaError) as err:
        cases = err.failure_cases
        coerce_failed = {
            str(c)
            for c, chk in zip(cases["column"], cases["check"], strict=True)
            if str(chk).startswith("coerce_dtype")
        }
        for column, check, case in zip(
            cases["column"], cases["check"], cases["failure_case"], strict=True
        ):
            check = str(check)
            if check == "column_in_schema":
                errors.add((str(case), "unknown_field"))
            elif check == "column_in_dataframe":
                if str(case) not in record:  # a JSON-type failure is not a missing field
                    errors.add((str(case), "required"))
            elif str(column) in coerce_failed:
                errors.add((str(column), "type"))
            else:
                errors.add((str(column), _rule_of(check)))
    return errors


# ---------------------------------------------------------------------------------------------
# two schemas: the trained model's (int and category columns) and one with every column type
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Case:
    data: DataConfig
    required: tuple[str, ...]
    validator: RecordValidator


def _every_type() -> DataConfig:
    cols = {
        "f": ColumnConfig(type=ColumnType.float, min=0, max=10, nullable=True),
        "g": ColumnConfig(type=ColumnType.float),
        "i": ColumnConfig(type=ColumnType.int, nullable=True),
        "j": ColumnConfig(type=ColumnType.int, min=-5, max=5),
        "b": ColumnConfig(type=ColumnType.bool),
        "d": ColumnConfig(type=ColumnType.date, nullable=True),
        "c": ColumnConfig(type=ColumnType.category),
        "k": ColumnConfig(type=ColumnType.category, categories=["a", "b c"], nullable=True),
        "y": ColumnConfig(type=ColumnType.category, categories=["bad", "good"]),
    }
    return DataConfig(name="every_type", path="-", target=TargetConfig("y", "bad"), columns=cols)


def _case(data: DataConfig, required: tuple[str, ...]) -> Case:
    # compiled from the rule table itself (the served model's goes through its pandera schema)
    table = rule_table(data, "inference", required=required)
    return Case(data, required, RecordValidator.from_table(table, required))


@pytest.fixture(scope="module")
def served(card: dict[str, Any]) -> ServedModel:
    return served_model_from_card(card, ServingConfig())


@pytest.fixture(scope="module", params=["trained model", "every column type"])
def case(request: pytest.FixtureRequest, served: ServedModel) -> Case:
    if request.param == "trained model":
        return Case(served.data, served.scorer.spec.columns, served.validator)
    return _case(_every_type(), ("f", "g", "i", "j", "b", "c", "k"))


# ---------------------------------------------------------------------------------------------
# generated records
# ---------------------------------------------------------------------------------------------
def _good_value(rule: ColumnRules) -> st.SearchStrategy[Any]:
    if rule.kind == "category":
        return st.sampled_from(rule.allowed) if rule.allowed else st.text(max_size=10)
    if rule.kind == "int":
        lo = int(rule.minimum) if rule.minimum is not None else -(2**40)
        hi = int(rule.maximum) if rule.maximum is not None else 2**40
        return st.one_of(st.integers(lo, hi), st.integers(lo, hi).map(float))
    if rule.kind == "float":
        return st.one_of(
            st.floats(rule.minimum, rule.maximum, allow_nan=False, allow_infinity=False),
            st.integers(-5, 5),
        )
    if rule.kind == "bool":
        return st.booleans()
    return st.one_of(
        st.dates().map(lambda d: d.isoformat()),
        st.sampled_from(
            ["2020-01-01T10:00:00Z", "01/02/2020", "tomorrow", "2262-04-12", "NaT", "", "1e3"]
        ),
    )


SPECIAL_VALUES: list[Any] = [
    None,
    math.nan,
    math.inf,
    -math.inf,
    6.9,
    -0.5,
    0.0,
    24.0,
    -1,
    0,
    11,
    1e300,
    2.0**63,
    -(2.0**63),
    2**63,
    2**63 - 1,
    -(2**63),
    -(2**63) - 1,
    10**30,
    10**400,
    True,
    False,
    "24",
    "",
    "nan",
    "\ud800",
    "no checking account",
    "b c",
    "2020-01-01",
    [],
    [1],
    {},
    {"a": 1},
]
BAD_VALUES = st.one_of(
    st.sampled_from(SPECIAL_VALUES),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.booleans(),
)


@st.composite
def records(draw: st.DrawFn, validator: RecordValidator) -> Any:
    if draw(st.integers(0, 40)) == 0:
        return draw(
            st.one_of(
                st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)
            )
        )
    rules = validator.rules
    record = {
        name: draw(_good_value(rule))
        for name, rule in rules.items()
        if rule.required or draw(st.booleans())
    }
    names = sorted(rules)
    for name in draw(st.lists(st.sampled_from(names), max_size=4)):
        record[name] = draw(BAD_VALUES)
    for name in draw(st.lists(st.sampled_from(names), max_size=2)):
        record.pop(name, None)
    extras = draw(
        st.lists(
            st.one_of(
                st.text(min_size=1, max_size=8), st.sampled_from(["creditability", "y", "features"])
            ),
            max_size=2,
        )
    )
    for name in extras:
        if name not in rules:
            record[name] = draw(BAD_VALUES)
    return record


def _fast_errors(validator: RecordValidator, record: Any) -> Errors:
    _, errors = validator.validate_one(record)
    return {(e.field, e.rule) for e in errors}


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def test_validator_rejects_exactly_what_pandera_rejects(case: Case) -> None:
    @_settings(150)
    @given(record=records(case.validator))
    def check(record: Any) -> None:
        expected = pandera_errors(record, case.data, case.required)
        assert _fast_errors(case.validator, record) == expected
        if case.validator.fast_ok(record):
            assert not expected

    check()


def test_every_special_value_in_every_field_agrees_with_pandera(case: Case) -> None:
    base = {n: _example(r) for n, r in case.validator.rules.items() if r.required}
    assert (
        _fast_errors(case.validator, base)
        == pandera_errors(base, case.data, case.required)
        == set()
    )
    seen: set[str] = set()
    # one field of each kind of rule set: the rules are compiled per column kind
    kinds: dict[tuple[str, bool, bool], str] = {}
    for name, rule in case.validator.rules.items():
        kinds.setdefault((rule.kind, rule.nullable, rule.allowed is None), name)
    for name in kinds.values():
        for value in SPECIAL_VALUES:
            record = {**base, name: value}
            expected = pandera_errors(record, case.data, case.required)
            assert _fast_errors(case.validator, record) == expected, (name, value)
            seen.update(rule for _, rule in expected)
    if case.data.name == "every_type":
        assert seen == {"type", "not_nullable", "finite", "min", "max", "categories"}


def _example(rule: ColumnRules) -> Any:
    return {
        "category": (rule.allowed or ("x",))[0],
        "int": int(rule.minimum or 0),
        "float": float(rule.minimum or 0),
        "bool": True,
        "date": "2020-01-01",
    }[rule.kind]


def test_batches_agree_row_by_row_with_pandera(case: Case) -> None:
    @_settings(60)
    @given(batch=st.lists(records(case.validator), min_size=1, max_size=3))
    def check(batch: list[Any]) -> None:
        cols, rows, errors, complete = case.validator.to_columns(batch)
        got = {(e.row, e.field, e.rule) for e in errors}
        expected = {
            (i, f, r)
            for i, rec in enumerate(batch)
            for f, r in pandera_errors(rec, case.data, case.required)
        }
        assert got == expected
        assert rows == [i for i in range(len(batch)) if not any(e[0] == i for e in expected)]
        assert all(len(v) == len(rows) for v in cols.values())
        assert complete

    check()


def test_validation_stopped_at_max_errors_agrees_on_the_rows_it_checked(case: Case) -> None:
    @_settings(60)
    @given(
        batch=st.lists(records(case.validator), min_size=1, max_size=8),
        max_errors=st.integers(1, 6),
    )
    def check(batch: list[Any], max_errors: int) -> None:
        full = case.validator.to_columns(batch)
        cols, rows, errors, complete = case.validator.to_columns(batch, max_errors=max_errors)
        if complete:
            assert (errors, rows, cols) == (full.errors, full.rows, full.columns)
            return
        # stopped at the row that reached max_errors: up to it, exactly the full run's errors
        assert len(errors) >= max_errors
        last = max(e.row for e in errors if e.row is not None)
        assert last < len(batch) - 1
        assert errors == [e for e in full.errors if e.row is not None and e.row <= last]
        assert rows == [r for r in full.rows if r <= last]

    check()


def test_many_unknown_fields_are_one_error_and_agree_with_pandera(case: Case) -> None:
    base = {n: _example(r) for n, r in case.validator.rules.items() if r.required}
    for extra in (1, LISTED_UNKNOWN_FIELDS, LISTED_UNKNOWN_FIELDS + 1, 5000):
        record = {**base, **{f"undeclared_{i}": i for i in range(extra)}}
        errors = case.validator.validate_one(record)[1]
        expected = {(f"undeclared_{i}", "unknown_field") for i in range(extra)}
        if extra <= LISTED_UNKNOWN_FIELDS:  # one error per field, as pandera
            assert {(e.field, e.rule) for e in errors} == expected
            if extra <= 2:
                assert pandera_errors(record, case.data, case.required) == expected
        else:
            (error,) = errors
            assert (error.field, error.rule, error.count) == ("", "unknown_field", extra)
            assert error.fields == tuple(f"undeclared_{i}" for i in range(LISTED_UNKNOWN_FIELDS))
        # with a declared field broken too, that error is still reported
        name = next(iter(base))
        broken = {**record, name: []}
        assert (name, "type") in {(e.field, e.rule) for e in case.validator.validate_one(broken)[1]}


def test_clean_batches_take_the_fast_column_path_and_agree(case: Case) -> None:
    @_settings(30)
    @given(
        batch=st.lists(
            st.fixed_dictionaries(
                {
                    n: _good_value(r)
                    for n, r in case.validator.rules.items()
                    if r.required and r.kind != "date"
                }
            ),
            min_size=1,
            max_size=8,
        )
    )
    def check(batch: list[dict[str, Any]]) -> None:
        expected = [pandera_errors(rec, case.data, case.required) for rec in batch]
        fast = case.validator.fast_columns(batch)
        if fast is not None:  # taken only when pandera accepts every row
            assert not any(expected)
        cols, rows, errors, complete = case.validator.to_columns(batch)
        assert {(e.row, e.field, e.rule) for e in errors} == {
            (i, f, r) for i, exp in enumerate(expected) for f, r in exp
        }
        assert complete

    check()


def test_accepted_records_give_pandera_s_design_matrix(served: ServedModel) -> None:
    spec = served.scorer.spec
    schema = build_schema(served.data, "inference", required=spec.columns)

    @_settings(60)
    @given(batch=st.lists(records(served.validator), min_size=1, max_size=6))
    def check(batch: list[Any]) -> None:
        cols, rows, errors, _ = served.validator.to_columns(batch)
        if not rows:
            return
        accepted = [batch[i] for i in rows]
        frame = pd.concat(
            [
                pd.DataFrame({k: pd.Series([v], dtype=object) for k, v in r.items()})
                for r in accepted
            ],
            ignore_index=True,
        )
        validated = schema.validate(frame, lazy=True)
        try:
            expected = design_matrix(spec, validated)
        except ValidationFailed:  # the feature spec refuses: so must the served path
            with pytest.raises(ValidationFailed):
                design_matrix(spec, cols)
            return
        np.testing.assert_array_equal(design_matrix(spec, cols), expected)

    check()


def test_the_fast_column_path_takes_clean_batches(
    served: ServedModel, good_row: dict[str, Any]
) -> None:
    batch = [dict(good_row) for _ in range(50)]
    fast = served.validator.fast_columns(batch)
    assert fast is not None
    assert set(fast) == set(served.scorer.spec.columns)
    for bad_value in (6.9, 24.0, None, "24", True, {}):
        bad = [*batch[:-1], {**good_row, "duration_in_month": bad_value}]
        assert served.validator.fast_columns(bad) is None


def test_a_lenient_schema_ignores_extra_fields_like_pandera(
    card: dict[str, Any], good_row: dict[str, Any]
) -> None:
    lenient = served_model_from_card(card, ServingConfig(reject_extra_fields=False))
    record = {**good_row, "not_declared": 1}
    assert lenient.validator.validate_one(record)[1] == []
    assert pandera_errors(record, lenient.data, lenient.scorer.spec.columns) == set()
