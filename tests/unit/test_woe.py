"""The ``woe`` transform against independent computations: its bins' counts, event rates, WoE
and IV recomputed by hand from the training rows (pandas group-bys), its per-record apply
against the vectorised one bit for bit, its SQL executed in SQLite, its JSON Schema fragment
against what it encodes; the frozen bins round-trip through the card and retrain with
``bins: fixed``; the sign gate and ``selection.min_iv`` through ``train``."""

from __future__ import annotations

import math
import sqlite3
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_glm.config import (
    BinningMode,
    ColumnConfig,
    ColumnType,
    DataConfig,
    FeatureConfig,
    FeaturesConfig,
    MissingPolicy,
    TargetConfig,
    Transform,
    UnseenPolicy,
    WoeTrend,
)
from credit_glm.errors import ConfigError, ModelFitError, SchemaViolation
from credit_glm.features import MISSING_LEVEL, FeatureSpec, ModelSpec, fit_feature_spec
from credit_glm.training import outcome_vector, train
from credit_glm.transforms import FitOutcome
from credit_glm.transforms.base import sql_identifier
from credit_glm.transforms.woe import UNSEEN_BIN
from tests.conftest import compose_config
from tests.unit.test_transforms import LEVELS, NUMBERS, _bits

RNG = np.random.default_rng(20261202)
N = 600
X = np.round(RNG.normal(40.0, 12.0, N), 1)
X[RNG.random(N) < 0.05] = np.nan
COLOUR = RNG.choice(["red", "blue", "teal", "green", "grey"], N, p=[0.3, 0.25, 0.2, 0.15, 0.1])
COLOUR = np.where(RNG.random(N) < 0.04, None, COLOUR)
RISK = {"red": 0.6, "blue": -0.2, "teal": 0.1, "green": -0.8, "grey": 0.0, None: 0.3}
ETA = -1.0 + 0.05 * np.nan_to_num(X - 40.0) + np.array([RISK[c] for c in COLOUR])
Y = (RNG.random(N) < 1.0 / (1.0 + np.exp(-ETA))).astype(int)
TRAIN = pd.DataFrame({"x": X, "colour": COLOUR, "y": Y})
DATA = DataConfig(
    name="w",
    path="w.csv",
    target=TargetConfig(column="y", event="1"),
    columns={
        "x": ColumnConfig(type=ColumnType.float, nullable=True),
        "colour": ColumnConfig(type=ColumnType.category, nullable=True),
        "y": ColumnConfig(type=ColumnType.int),
    },
)
EVENT = TRAIN["y"].to_numpy(dtype=float)


def _spec(**feats: FeatureConfig) -> ModelSpec:
    return fit_feature_spec(
        FeaturesConfig(name="w", features=feats), DATA, TRAIN, FitOutcome(event=EVENT)
    )


SPEC = _spec(
    fixed=FeatureConfig(
        column="x", transform=Transform.woe, cuts=[30.0, 45.0], missing=MissingPolicy.level
    ),
    auto=FeatureConfig(column="x", transform=Transform.woe, missing=MissingPolicy.level),
    filled=FeatureConfig(column="x", transform=Transform.woe, missing=MissingPolicy.median),
    groups=FeatureConfig(
        column="colour",
        transform=Transform.woe,
        groups=[["red"], ["blue", "teal"], ["green", "grey"]],
        missing=MissingPolicy.level,
        unseen=UnseenPolicy.map,
    ),
    cats=FeatureConfig(column="colour", transform=Transform.woe, missing=MissingPolicy.level),
)
BY_NAME = {f.name: f for f in SPEC.features}


def _woe_by_hand(events: np.ndarray, non_events: np.ndarray, a: float) -> np.ndarray:
    """WoE_i = ln(%event_i / %non-event_i) with ``a`` pseudo-rows per bin split at the
    population event share (``credit_glm.binning``'s stated smoothing), computed here from
    the formula alone."""
    p = events.sum() / (events.sum() + non_events.sum())
    e = events + a * p
    ne = non_events + a * (1 - p)
    return np.log((e / e.sum()) / (ne / ne.sum()))


def _bins_by_hand(f: FeatureSpec) -> pd.DataFrame:
    """Rows, events and non-events of each of ``f``'s bins, by a pandas group-by."""
    col = TRAIN[f.column]
    if f.groups is None:
        x = col.astype(float)
        if f.fill is not None:
            x = x.fillna(f.fill)
        edges = [-math.inf, *f.cuts, math.inf]
        label = pd.cut(x, edges, right=False, labels=False).astype("Int64")
        label = label.fillna(len(f.cuts) + 1)
    else:
        where = {v: i for i, g in enumerate(f.groups) for v in g}
        label = col.map(lambda v: where[v] if isinstance(v, str) else len(f.groups or ()))
    table = pd.DataFrame({"bin": label.astype(int), "y": TRAIN["y"]})
    out = (
        table.groupby("bin")["y"]
        .agg(["size", "sum"])
        .reindex(range(len(f.bin_table or ()) - (0 if f.groups is None else 1)), fill_value=0)
    )
    return pd.DataFrame(
        {"rows": out["size"], "events": out["sum"], "non": out["size"] - out["sum"]}
    )


@pytest.mark.parametrize("name", ["fixed", "auto", "filled", "groups", "cats"])
def test_bins_counts_woe_and_iv_equal_a_computation_by_hand(name: str) -> None:
    f = BY_NAME[name]
    assert f.bin_table is not None and f.smoothing is not None and f.iv is not None
    hand = _bins_by_hand(f)
    n = len(hand)
    table = f.bin_table[:n]
    assert [r[1] for r in table] == hand["rows"].tolist()
    assert [r[2] for r in table] == hand["events"].astype(float).tolist()
    assert [r[3] for r in table] == hand["non"].astype(float).tolist()
    woe = _woe_by_hand(hand["events"].to_numpy(float), hand["non"].to_numpy(float), f.smoothing)
    np.testing.assert_allclose([r[4] for r in table], woe, rtol=1e-12, atol=1e-12)
    e, ne = hand["events"].to_numpy(float), hand["non"].to_numpy(float)
    p = e.sum() / (e.sum() + ne.sum())
    es, nes = e + f.smoothing * p, ne + f.smoothing * (1 - p)
    iv = float(((es / es.sum() - nes / nes.sum()) * woe).sum())
    assert f.iv == pytest.approx(iv, rel=1e-12)
    if f.groups is not None:
        assert f.bin_table[-1] == (UNSEEN_BIN, 0, 0.0, 0.0, 0.0)
    assert f.terms == (f"woe({name})",) and f.expected_sign == 1


def test_auto_bins_are_monotonic_and_respect_the_constraints() -> None:
    for trend in (WoeTrend.ascending, WoeTrend.descending, WoeTrend.auto):
        f = _spec(
            a=FeatureConfig(
                column="x", transform=Transform.woe, trend=trend, max_bins=5, min_bin_share=0.08
            )
        ).features[0]
        assert f.bin_table is not None
        bins = f.bin_table[: len(f.cuts) + 1]
        rates = [e / (e + ne) for _, _, e, ne, _ in bins]
        present = int(TRAIN["x"].notna().sum())
        assert len(bins) <= 5 and all(n >= 0.08 * present for _, n, *_ in bins)
        if trend is not WoeTrend.descending:  # x raises the risk: the data's trend ascends
            assert len(bins) >= 2 and all(a < b for a, b in zip(rates, rates[1:], strict=False))
        else:  # against the data: a falling rate, or no split at all
            assert all(a > b for a, b in zip(rates, rates[1:], strict=False))
            assert f.transformer.single_bin(f) == (len(bins) == 1)  # type: ignore[attr-defined]
        if trend is WoeTrend.auto:
            assert f.trend == "ascending"


def test_category_groups_cover_every_training_category_once() -> None:
    f = BY_NAME["cats"]
    assert f.groups is not None
    members = [v for g in f.groups for v in g]
    assert sorted(members) == sorted({c for c in COLOUR if c is not None})


# ---------------------------------------------------------------------------------------------
# the faces: record == vectorised, SQL == Python, JSON Schema == what is encoded
# ---------------------------------------------------------------------------------------------
COEF = 0.8125


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_the_record_apply_is_the_vectorised_apply(name: str) -> None:
    f = BY_NAME[name]
    compiled = f.transformer.compile(f, [COEF])
    values_of = NUMBERS if f.groups is None else st.one_of(LEVELS, st.sampled_from(COLOUR.tolist()))

    @settings(max_examples=200, deadline=None)
    @given(values=st.lists(values_of, min_size=1, max_size=8))
    def check(values: list[Any]) -> None:
        batch = compiled.contribution(values, [])
        for i, v in enumerate(values):
            one = compiled.record(v)
            problems: list[SchemaViolation] = []
            alone = compiled.contribution([v], problems)
            if problems:
                assert one is None
                continue
            assert _bits(alone[0]) == _bits(batch[i])
            if one is not None:
                assert _bits(one) == _bits(alone[0])

    check()


def test_unseen_and_missing_bins() -> None:
    groups, cats, fixed = BY_NAME["groups"], BY_NAME["cats"], BY_NAME["fixed"]
    t = groups.transformer
    assert t.encode(groups, ["purple"], []).tolist() == [0.0]  # unseen: map -> no evidence
    problems: list[SchemaViolation] = []
    cats.transformer.encode(cats, ["purple", "red"], problems)  # unseen: error
    assert (
        problems and problems[0].column == "colour" and "not seen in training" in problems[0].rule
    )
    assert problems[0].rows == (0,)
    missing_woe = fixed.bin_table[-1][4] if fixed.bin_table else None
    assert fixed.bin_table is not None and fixed.bin_table[-1][0] == MISSING_LEVEL
    assert fixed.transformer.encode(fixed, [None, float("nan")], []).tolist() == [missing_woe] * 2


SQL_VALUES: list[dict[str, Any]] = [
    {"x": v, "colour": c}
    for v, c in zip(
        [None, 10.0, 29.99, 30.0, 44.9, 45.0, 80.0, -1e9, 1e9, 40.0],
        [None, "red", "blue", "teal", "green", "grey", "purple", "red", None, "blue"],
        strict=True,
    )
]


def test_sql_computes_the_python_values_in_sqlite() -> None:
    db = sqlite3.connect(":memory:")
    db.execute('CREATE TABLE t ("x" REAL, "colour" TEXT)')
    db.executemany("INSERT INTO t VALUES (:x, :colour)", SQL_VALUES)
    for f in SPEC.features:
        t = f.transformer
        col = sql_identifier(f.column)
        exprs = [*t.sql(f, col), t.contribution_sql(f, col, [COEF])]
        got = db.execute(f"SELECT {', '.join(exprs)} FROM t ORDER BY rowid").fetchall()
        compiled = t.compile(f, [COEF])
        for row, (woe_sql, contribution_sql) in zip(SQL_VALUES, got, strict=True):
            problems: list[SchemaViolation] = []
            woe = t.encode(f, [row[f.column]], problems)
            if problems:
                assert woe_sql is None and contribution_sql is None, (f.name, row)
                continue
            assert woe_sql == float(woe[0]), (f.name, row)  # the same double, not close
            assert contribution_sql == float(compiled.contribution([row[f.column]], [])[0])


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_the_json_schema_fragment_admits_exactly_what_is_encoded(name: str) -> None:
    f = BY_NAME[name]
    t = f.transformer
    candidates = (
        [None, -5.0, 0.0, 44.5, 1e6]
        if f.groups is None
        else [None, "red", "blue", "teal", "green", "grey", "purple"]
    )
    for value in candidates:
        problems: list[SchemaViolation] = []
        t.encode(f, [value], problems)
        valid = jsonschema.Draft202012Validator(t.json_schema(f)).is_valid(value)
        assert valid == (not problems), (name, value)


def test_the_frozen_bins_round_trip_and_retrain_as_fixed_bins() -> None:
    again = ModelSpec.from_dict(SPEC.to_dict())
    assert again == SPEC
    auto, cats = BY_NAME["auto"], BY_NAME["cats"]
    refit = _spec(
        auto=FeatureConfig(
            column="x",
            transform=Transform.woe,
            bins=BinningMode.fixed,
            cuts=list(auto.cuts),
            missing=MissingPolicy.level,
        ),
        cats=FeatureConfig(
            column="colour",
            transform=Transform.woe,
            bins=BinningMode.fixed,
            groups=[list(g) for g in cats.groups or ()],
            missing=MissingPolicy.level,
        ),
    )
    assert refit.features[0].bin_table == auto.bin_table
    assert refit.features[1].bin_table == cats.bin_table


@pytest.mark.parametrize(
    ("feature", "key"),
    [
        (FeatureConfig(transform=Transform.woe, groups=[["red"], ["red", "blue"]]), "groups"),
        (FeatureConfig(transform=Transform.woe, bins=BinningMode.fixed), "bins"),
        (FeatureConfig(transform=Transform.woe, cuts=[1.0], trend=WoeTrend.peak), "trend"),
        (FeatureConfig(transform=Transform.woe, max_bins=1), "max_bins"),
        (FeatureConfig(transform=Transform.numeric, max_bins=4), "max_bins"),
        (FeatureConfig(transform=Transform.woe, expected_sign=-1), "expected_sign"),
    ],
)
def test_bad_woe_declarations_name_the_key(feature: FeatureConfig, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        FeaturesConfig(name="w", features={"f": feature})
    assert err.value.key == f"features.features.f.{key}"


def test_a_group_list_missing_a_training_category_is_refused() -> None:
    with pytest.raises(ConfigError, match="in no group") as err:
        _spec(
            g=FeatureConfig(
                column="colour",
                transform=Transform.woe,
                groups=[["red"], ["blue", "teal"]],
                missing=MissingPolicy.level,
            )
        )
    assert err.value.key == "features.features.g.groups"


# ---------------------------------------------------------------------------------------------
# through train: German credit, the sign gate, min_iv
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def german_woe(german_frame: pd.DataFrame) -> Any:
    return train(compose_config(["features=woe_auto", "selection.wrong_sign=drop"]), german_frame)


def test_german_credit_woe_bins_are_monotonic_where_a_trend_was_asked(german_woe: Any) -> None:
    numeric = [f for f in german_woe.spec.features if f.groups is None]
    assert numeric
    for f in numeric:
        rates = [e / (e + ne) for _, n, e, ne, _ in (f.bin_table or ())[: len(f.cuts) + 1]]
        up = all(a < b for a, b in zip(rates, rates[1:], strict=False))
        down = all(a > b for a, b in zip(rates, rates[1:], strict=False))
        assert (up and f.trend == "ascending") or (down and f.trend == "descending"), f.name
    for f in german_woe.spec.features:
        assert german_woe.fit.params[german_woe.spec.terms.index(f.terms[0])] > 0, f.name
    from credit_glm.model_card import build_card

    card = build_card(german_woe, "builtin://german_credit.csv", "0" * 64, 1000, "now")
    assert card["woe_convention"].startswith("woe = ln(%event / %non-event)")


def test_the_sign_gate_names_the_feature_and_drop_refits_without_it() -> None:
    rng = np.random.default_rng(7)
    n = 800
    a = rng.normal(size=n)
    b = a + 0.05 * rng.normal(size=n)  # b alone points up, but given a it points down
    y = (rng.random(n) < 1 / (1 + np.exp(-(2.0 * a - 1.2 * b)))).astype(int)
    frame = pd.DataFrame({"a": a, "b": b, "y": y})
    base = compose_config(["split=none", "evaluation.max_vif=null", "evaluation.min_auc=null"])
    data = DataConfig(
        name="s",
        path="s.csv",
        target=TargetConfig(column="y", event="1"),
        columns={
            "a": ColumnConfig(type=ColumnType.float),
            "b": ColumnConfig(type=ColumnType.float),
            "y": ColumnConfig(type=ColumnType.int),
        },
    )
    feats = FeaturesConfig(
        name="s", features={"a": FeatureConfig(), "b": FeatureConfig(expected_sign=1)}
    )
    config = base.__class__(**{**base.__dict__, "data": data, "features": feats})
    with pytest.raises(ModelFitError, match=r"feature 'b': the coefficient of 'b' is -") as err:
        train(config, frame)
    assert "univariate direction: positive" in str(err.value)
    config.selection.wrong_sign = config.selection.wrong_sign.__class__("drop")
    trained = train(config, frame)
    assert trained.spec.feature_names == ("a",)
    dropped = trained.selection.audit["dropped_for_sign"]
    assert [d["feature"] for d in dropped] == ["b"] and dropped[0]["coefficient"] < 0
    assert outcome_vector(frame, data).sum() == y.sum()


def test_min_iv_drops_features_below_it(german_frame: pd.DataFrame) -> None:
    config = compose_config(
        ["features=woe_auto", "selection.wrong_sign=drop", "selection.min_iv=0.05"]
    )
    trained = train(config, german_frame)
    below = trained.selection.audit["low_information"]
    assert below and all(v < 0.05 for v in below.values())
    assert all((f.iv or 0.0) >= 0.05 for f in trained.spec.features)
    signs = [d["feature"] for d in trained.selection.audit.get("dropped_for_sign", [])]
    every = set(trained.spec.feature_names) | set(below) | set(signs)
    assert every == set(config.features.features)
    assert not set(below) & set(trained.spec.feature_names)


def test_the_service_counts_unseen_categories_through_the_transforms() -> None:
    from credit_glm.service.health import UnseenLevels

    unseen = UnseenLevels.from_spec(SPEC.features)
    assert [f.name for f in unseen.features] == ["groups"]
    by_hand = sum(1 for v in ["red", "purple", None, "cyan", "teal"] if v in ("purple", "cyan"))
    assert unseen.count({"colour": ["red", "purple", None, "cyan", "teal"]}) == {"colour": by_hand}
