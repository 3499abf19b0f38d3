"""Each transform's faces against independent computations: the new scale and standardize
against hand arithmetic and the ``statistics`` module, the per-record apply against the
vectorised one bit for bit, the SQL hooks executed in SQLite against the Python values, the JSON
Schema fragments (checked with ``jsonschema``) against what the transform encodes, and the
health counts against counts by hand."""

from __future__ import annotations

import json
import math
import sqlite3
import statistics
import struct
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from credit_glm.errors import ConfigError, SchemaViolation
from credit_glm.features import (
    MISSING_LEVEL,
    FeatureSpec,
    ModelSpec,
    design_matrix,
    fit_feature_spec,
)
from credit_glm.transforms import TRANSFORMS, HealthSignals, level_text
from credit_glm.transforms.base import sql_identifier
from credit_glm.transforms.levels import factorized_text

DATA = DataConfig(
    name="t",
    path="t.csv",
    target=TargetConfig(column="y", event="1"),
    columns={
        "x": ColumnConfig(type=ColumnType.float, nullable=True),
        "amount": ColumnConfig(type=ColumnType.float, min=0),
        "income": ColumnConfig(type=ColumnType.float, nullable=True),
        "colour": ColumnConfig(type=ColumnType.category, nullable=True),
        "k": ColumnConfig(type=ColumnType.int),
        "y": ColumnConfig(type=ColumnType.int),
    },
)
TRAIN = pd.DataFrame(
    {
        "x": [1.0, np.nan, 3.0, 10.0, 5.0, -2.0],
        "amount": [0.0, 9.0, 99.0, 20.0, 50.0, 7.5],
        "income": [52_000.0, 31_500.0, np.nan, 75_250.0, 18_000.0, 44_100.0],
        "colour": ["red", "blue", "red", "green", None, "teal"],
        "k": [1, 2, 3, 1, 2, 1],
        "y": [0, 1, 0, 1, 0, 1],
    }
)


def _spec(**feats: FeatureConfig) -> ModelSpec:
    return fit_feature_spec(FeaturesConfig(name="t", features=feats), DATA, TRAIN)


def _every_transform() -> ModelSpec:
    return _spec(
        n=FeatureConfig(column="x", missing=MissingPolicy.median),
        c=FeatureConfig(column="x", transform=Transform.clip, lower=0.0, upper=6.0),
        l=FeatureConfig(column="amount", transform=Transform.log1p, missing=MissingPolicy.mean),
        s=FeatureConfig(
            column="income",
            transform=Transform.scale,
            divisor=1000,
            missing=MissingPolicy.value,
            fill_value=40_000.0,
        ),
        z=FeatureConfig(column="amount", transform=Transform.standardize),
        b=FeatureConfig(
            column="x", transform=Transform.bins, cuts=[0.0, 4.0], missing=MissingPolicy.level
        ),
        o=FeatureConfig(
            column="colour",
            transform=Transform.onehot,
            missing=MissingPolicy.level,
            merge={"cool": ["blue", "teal"]},
            unseen=UnseenPolicy.map,
        ),
        e=FeatureConfig(column="colour", transform=Transform.onehot, missing=MissingPolicy.level),
        k=FeatureConfig(column="k", transform=Transform.onehot),
    )


SPEC = _every_transform()
COEFS = {
    f.name: [0.25 * (i + 1) - 0.9 * j for j in range(len(f.terms))]
    for i, f in enumerate(SPEC.features)
}


def _bits(v: float) -> bytes:
    return struct.pack("<d", v)


def test_the_registry_holds_every_declared_transform() -> None:
    assert set(TRANSFORMS) == {t.value for t in Transform}
    assert all(t.name == name for name, t in TRANSFORMS.items())


def test_scale_divides_by_the_declared_divisor() -> None:
    spec = _spec(
        income=FeatureConfig(
            transform=Transform.scale, divisor=1000, missing=MissingPolicy.value, fill_value=1.5e4
        )
    )
    assert spec.terms == ("Intercept", "income/1000")
    X = design_matrix(spec, TRAIN)
    expected = [(1.5e4 if math.isnan(v) else v) / 1000 for v in TRAIN["income"]]
    assert X[:, 1].tolist() == expected  # one IEEE division each, as written by hand


def test_standardize_freezes_the_training_mean_and_sample_sd() -> None:
    spec = _spec(z=FeatureConfig(column="amount", transform=Transform.standardize))
    (f,) = spec.features
    amounts = TRAIN["amount"].tolist()
    assert f.mean == pytest.approx(statistics.fmean(amounts), rel=1e-15)
    assert f.sd == pytest.approx(statistics.stdev(amounts), rel=1e-15)  # ddof=1
    assert f.terms == ("standardize(z)",)
    later = {"amount": [0.0, 1000.0]}  # scored with the frozen training statistics
    got = design_matrix(spec, later)[:, 1]
    np.testing.assert_allclose(
        got, [(a - statistics.fmean(amounts)) / statistics.stdev(amounts) for a in later["amount"]]
    )


def test_standardize_refuses_a_constant_column() -> None:
    frame = TRAIN.assign(amount=4.0)
    with pytest.raises(ConfigError) as err:
        fit_feature_spec(
            FeaturesConfig(
                name="t",
                features={"z": FeatureConfig(column="amount", transform=Transform.standardize)},
            ),
            DATA,
            frame,
        )
    assert err.value.key == "features.features.z.transform"


@pytest.mark.parametrize(
    ("feature", "key"),
    [
        (FeatureConfig(transform=Transform.scale), "divisor"),
        (FeatureConfig(transform=Transform.scale, divisor=0.0), "divisor"),
        (FeatureConfig(transform=Transform.scale, divisor=math.inf), "divisor"),
        (FeatureConfig(transform=Transform.numeric, divisor=10.0), "divisor"),
        (FeatureConfig(transform=Transform.standardize, missing=MissingPolicy.level), "missing"),
        (FeatureConfig(transform=Transform.scale, divisor=2.0, reference="a"), "reference"),
    ],
)
def test_bad_scale_and_standardize_declarations(feature: FeatureConfig, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        FeaturesConfig(name="t", features={"f": feature})
    assert err.value.key == f"features.features.f.{key}"


def test_new_fields_round_trip_and_old_specs_write_none_of_them() -> None:
    again = ModelSpec.from_dict(json.loads(json.dumps(SPEC.to_dict())))
    assert again == SPEC
    written = {f["name"]: f for f in SPEC.to_dict()["features"]}
    assert written["s"]["divisor"] == 1000.0 and "mean" not in written["s"]
    assert {"mean", "sd"} <= set(written["z"]) and "divisor" not in written["z"]
    assert not {"divisor", "mean", "sd"} & set(written["n"])  # a card as before


_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5, -1.0, float("nan")]),
    st.sampled_from(["a", "b", "1", "True", "0", ""]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_JSON_SCALARS, max_size=30))
def test_a_plain_sequence_is_factorized_as_pandas_factorizes_its_array(values: list[Any]) -> None:
    # the service's columns are lists (factorized by dict, no pandas); batch and training
    # columns are arrays and Series (pd.factorize): each row gets the same text either way
    array = np.empty(len(values), dtype=object)
    array[:] = values
    for keys, texts in (factorized_text(values), factorized_text(array)):
        assert keys.dtype == np.intp
        assert [None if k < 0 else texts[k] for k in keys.tolist()] == [
            level_text(v) for v in values
        ]
        assert None not in texts  # a missing value is code -1, not a text


def test_text_levels_keep_true_apart_from_one() -> None:
    values = [1, True, "1", 1.0, None, False, 0, float("nan"), "True"]
    keys, texts = factorized_text(values)
    assert [None if k < 0 else texts[k] for k in keys] == [level_text(v) for v in values]
    assert [level_text(v) for v in values] == [
        "1",
        "True",
        "1",
        "1",
        None,
        "False",
        "0",
        None,
        "True",
    ]


# ---------------------------------------------------------------------------------------------
# per-record apply == vectorised apply, bit for bit
# ---------------------------------------------------------------------------------------------
NUMBERS = st.one_of(
    st.floats(-20, 2e5),
    st.integers(-20, 20),
    st.sampled_from(
        [None, math.nan, math.inf, -math.inf, -1, -1.0, -0.0, 0.0, -0.5, 4.0, 6.0, 1e300, True]
    ),
)
LEVELS = st.sampled_from(
    [
        "red",
        "blue",
        "teal",
        "cool",
        "green",
        "purple",
        MISSING_LEVEL,
        None,
        1,
        2,
        3,
        4,
        1.0,
        2.5,
        True,
        "1",
        "3",
    ]
)


def _values_for(f: FeatureSpec) -> st.SearchStrategy[Any]:
    return LEVELS if f.transform == "onehot" else NUMBERS


@pytest.mark.parametrize("feature", SPEC.features, ids=lambda f: f.name)
def test_the_record_apply_is_the_vectorised_apply(feature: FeatureSpec) -> None:
    compiled = feature.transformer.compile(feature, COEFS[feature.name])

    @settings(max_examples=200, deadline=None)
    @given(values=st.lists(_values_for(feature), min_size=1, max_size=8))
    def check(values: list[Any]) -> None:
        batch = compiled.contribution(values, [])
        for i, v in enumerate(values):
            one = compiled.record(v)
            problems: list[SchemaViolation] = []
            alone = compiled.contribution([v], problems)
            if problems:
                assert one is None  # a refused value is never scored by the record path
                continue
            assert _bits(alone[0]) == _bits(batch[i])  # not one bit from the batch around it
            if one is not None:
                assert _bits(one) == _bits(alone[0])

    check()


# ---------------------------------------------------------------------------------------------
# SQL, executed in SQLite
# ---------------------------------------------------------------------------------------------
SQL_ROWS: list[dict[str, Any]] = [
    {"x": 1.0, "amount": 0.0, "income": 52_000.0, "colour": "red", "k": 1},
    {"x": None, "amount": 9.5, "income": None, "colour": None, "k": 2},
    {"x": -3.0, "amount": 250.0, "income": 1234.5, "colour": "teal", "k": 3},
    {"x": 4.0, "amount": 20.0, "income": 0.0, "colour": "purple", "k": 3},
    {"x": 9.0, "amount": 1e6, "income": 18_000.0, "colour": "blue", "k": 7},
    {"x": 0.0, "amount": 3.0, "income": -5.0, "colour": "green", "k": 1},
]


def _python_row(f: FeatureSpec, row: dict[str, Any]) -> tuple[list[float] | None, float | None]:
    t = f.transformer
    problems: list[SchemaViolation] = []
    encoded = t.encode(f, [row[f.column]], problems)
    if problems:
        return None, None
    block = t.design_block(f, encoded)[0].tolist()
    return block, float(t.compile(f, COEFS[f.name]).contribution([row[f.column]], [])[0])


def test_sql_hooks_compute_the_python_values_in_sqlite() -> None:
    db = sqlite3.connect(":memory:")
    db.execute(
        'CREATE TABLE t ("x" REAL, "amount" REAL, "income" REAL, "colour" TEXT, "k" INTEGER)'
    )
    db.executemany("INSERT INTO t VALUES (:x, :amount, :income, :colour, :k)", SQL_ROWS)
    for f in SPEC.features:
        t = f.transformer
        col = sql_identifier(f.column)
        exprs = [*t.sql(f, col), t.contribution_sql(f, col, COEFS[f.name])]
        got = db.execute(f"SELECT {', '.join(exprs)} FROM t ORDER BY rowid").fetchall()
        for row, sql_values in zip(SQL_ROWS, got, strict=True):
            block, contribution = _python_row(f, row)
            if block is None:
                assert all(v is None for v in sql_values), (f.name, row)
                continue
            np.testing.assert_allclose(
                [*sql_values], [*block, contribution], rtol=1e-12, atol=1e-12, err_msg=f.name
            )


# ---------------------------------------------------------------------------------------------
# JSON Schema fragments and health signals
# ---------------------------------------------------------------------------------------------
CANDIDATES: dict[str, list[Any]] = {
    "x": [None, -5.0, 0.0, 3.5, 1e6],
    "amount": [None, -1.0, -0.999, 0.0, 50.0],
    "income": [None, 0.0, 52_000.0],
    "colour": [None, "red", "blue", "teal", "cool", "green", "purple"],
    "k": [None, "1", "2", "3", "4"],
}


@pytest.mark.parametrize("feature", SPEC.features, ids=lambda f: f.name)
def test_the_json_schema_fragment_admits_exactly_what_the_transform_encodes(
    feature: FeatureSpec,
) -> None:
    t = feature.transformer
    schema = t.json_schema(feature)
    for value in CANDIDATES[feature.column]:
        problems: list[SchemaViolation] = []
        t.encode(feature, [value], problems)
        valid = jsonschema.Draft202012Validator(schema).is_valid(value)
        assert valid == (not problems), (feature.name, value, schema)
    assert t.accepts_missing(feature) == (not _refuses([None], feature))


def _refuses(values: list[Any], f: FeatureSpec) -> bool:
    problems: list[SchemaViolation] = []
    f.transformer.encode(f, values, problems)
    return bool(problems)


def test_health_signals_count_missing_unseen_and_out_of_range() -> None:
    by_name = {f.name: f for f in SPEC.features}
    x = [None, -3.0, 2.0, 9.0, 6.0, np.nan]
    clip = by_name["c"]
    assert clip.transformer.health(clip, x) == HealthSignals(missing=2, out_of_range=2)
    log = by_name["l"]
    assert log.transformer.health(log, [-1.0, -2.0, 0.0, None]) == HealthSignals(
        missing=1, out_of_range=2
    )
    colour = ["red", "purple", None, "blue", "mauve", "cool"]
    mapped = by_name["o"]  # blue merges into cool, a known level; purple and mauve are unseen
    assert mapped.transformer.health(mapped, colour) == HealthSignals(missing=1, unseen=2)
    raw = by_name["e"]  # unmerged: cool was never seen either
    assert raw.transformer.health(raw, colour) == HealthSignals(missing=1, unseen=3)


# ---------------------------------------------------------------------------------------------
# attributes: what a discrete feature can score as, and the label of each value
# ---------------------------------------------------------------------------------------------
DISCRETE = [f for f in SPEC.features if f.transform in ("bins", "onehot")]


@pytest.mark.parametrize("feature", DISCRETE, ids=lambda f: f.name)
def test_each_attribute_scores_as_every_training_value_with_its_label(
    feature: FeatureSpec,
) -> None:
    t = feature.transformer
    attributes = t.attributes(feature)
    assert attributes is not None
    labels = [label for label, _ in attributes]
    assert sorted(labels) == sorted(feature.known_levels)  # the reference included, once each
    compiled = t.compile(feature, COEFS[feature.name])
    column = TRAIN[feature.column]
    train_labels = t.attribute_labels(feature, column)
    train_contribution = compiled.contribution(column, [])
    assert set(train_labels) <= set(labels)
    for label, value in attributes:
        assert t.attribute_labels(feature, [value]) == [label]
        one = compiled.contribution([value], [])[0]
        # an indicator's coefficient, or nothing for the reference level
        by_term = feature.levels.index(label) if label in feature.levels else None
        assert one == (0.0 if by_term is None else COEFS[feature.name][by_term])
        rows = [i for i, lbl in enumerate(train_labels) if lbl == label]
        assert all(train_contribution[i] == one for i in rows)


def test_attribute_labels_by_hand() -> None:
    by_name = {f.name: f for f in SPEC.features}
    b, o, n = by_name["b"], by_name["o"], by_name["n"]
    assert b.transformer.attribute_labels(b, TRAIN["x"]) == [
        "[0, 4)",
        MISSING_LEVEL,
        "[0, 4)",
        "[4, inf)",
        "[4, inf)",
        "[-inf, 0)",
    ]
    # merged levels read as the merged level; red and cool tie as most frequent, cool sorts
    # first and is the reference, which an unseen colour maps to
    colours = [*TRAIN["colour"], "purple"]
    assert o.reference == "cool"
    assert o.transformer.attribute_labels(o, colours) == [
        "red",
        "cool",
        "red",
        "green",
        MISSING_LEVEL,
        "cool",
        "cool",
    ]
    assert n.transformer.attributes(n) is None
    assert n.transformer.attribute_labels(n, [1.5, None, math.nan, 2, -0.25]) == [
        "1.5",
        MISSING_LEVEL,
        MISSING_LEVEL,
        "2",
        "-0.25",
    ]


def test_a_bin_below_a_huge_cut_still_gets_a_value_inside_it() -> None:
    f = FeatureSpec(
        name="b",
        column="x",
        transform="bins",
        terms=("b[1e+300, inf)",),
        cuts=(1e300,),
        levels=("[1e+300, inf)",),
        reference="[-inf, 1e+300)",
    )
    attributes = f.transformer.attributes(f)
    assert attributes is not None
    (low, below), (high, at) = attributes
    assert below < 1e300 and at == 1e300
    assert f.transformer.attribute_labels(f, [below, at]) == [low, high]


@pytest.mark.parametrize("feature", SPEC.features, ids=lambda f: f.name)
def test_the_one_value_label_is_the_vectorised_label(feature: FeatureSpec) -> None:
    t = feature.transformer

    @settings(max_examples=200, deadline=None)
    @given(values=st.lists(_values_for(feature), min_size=1, max_size=6))
    def check(values: list[Any]) -> None:
        batch = t.attribute_labels(feature, values)
        for v, label in zip(values, batch, strict=True):
            assert t.attribute_labels(feature, [v]) == [label]  # not one from the batch around
            assert t.attribute_label(feature, v) == label

    check()
