"""Reason codes against a brute force from the points table: per applicant every feature's points
by hand (an attribute's points looked up by its label, a continuous feature's points per unit
times its transformed value), shortfalls against the reference points, sorted by
``(-shortfall, spec index)``; and the reason table's fit, texts, ties and config errors on small
tables computed by hand."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_glm.config import ReasonCode, ReasonMethod, ReasonsConfig
from credit_glm.errors import ConfigError
from credit_glm.model_card import build_card
from credit_glm.reasons import ReasonTable
from credit_glm.schema import build_schema, validate_frame
from credit_glm.scorecard import Scorecard
from credit_glm.training import TrainedModel, train
from tests.conftest import compose_config

TOL = 1e-9


@pytest.fixture(scope="module")
def trained(german_frame: pd.DataFrame) -> TrainedModel:
    cfg = compose_config(["reasons.max=3"])
    cfg.reasons.codes = {
        "duration_in_month": ReasonCode(code="D01", text="Loan of {label} months"),
        "purpose": ReasonCode(code="P01"),
    }
    cfg.features.features["housing"].description = "Housing situation"
    return train(cfg, german_frame)


@pytest.fixture(scope="module")
def frame(trained: TrainedModel, german_frame: pd.DataFrame) -> pd.DataFrame:
    data = trained.config.data
    return validate_frame(german_frame, build_schema(data, "training"), data)


def _hand_points(row: dict[str, Any], table_row: dict[str, Any], f: Any) -> tuple[float, str]:
    """One applicant's points on one feature and its attribute label, by hand."""
    value = row[f.column]
    if table_row["kind"] == "attributes":
        label = dict(f.merge).get(str(value), str(value))
        by_label = {a["label"]: a["points"] for a in table_row["attributes"]}
        return by_label[label], label
    x = float(value)
    t = {
        "numeric": lambda v: v,
        "log1p": math.log1p,
        "clip": lambda v: min(max(v, f.lower), f.upper),
    }[f.transform](x)
    return table_row["points_per_unit"] * t, f"{x:g}"


def test_reasons_are_the_brute_force_from_the_points_table(
    trained: TrainedModel, frame: pd.DataFrame
) -> None:
    card = json.loads(json.dumps(build_card(trained, "x", "0" * 64, 1000, "2026-01-01")))
    section = card["scorecard"]
    table = section["points_table"]
    features = trained.spec.features
    # under method: max, every training attribute's points and every continuous maximum
    reference = [
        max(a["points"] for a in r["attributes"]) if r["kind"] == "attributes" else r["max_points"]
        for r in table
    ]
    assert trained.scorer.reasons is not None
    np.testing.assert_allclose(trained.scorer.reasons.reference_points, reference, rtol=0, atol=TOL)
    ex = trained.scorer.explain(frame)
    assert ex.reason_codes is not None and ex.points is not None
    codes = {"duration_in_month": "D01", "purpose": "P01"}
    n_reasons = 0
    for i, row in enumerate(frame.to_dict("records")):
        hand = [_hand_points(row, r, f) for r, f in zip(table, features, strict=True)]
        np.testing.assert_allclose(ex.points[i], [p for p, _ in hand], rtol=0, atol=TOL)
        shortfall = [ref - p for ref, (p, _) in zip(reference, hand, strict=True)]
        expected = sorted(
            (j for j in range(len(features)) if shortfall[j] > TOL),
            key=lambda j: (-shortfall[j], j),
        )[:3]
        got = ex.reason_codes[i]
        assert len(got) == len(expected)
        n_reasons += len(got)
        for reason, j in zip(got, expected, strict=True):
            f = features[j]
            # the same feature, or one within rounding of it
            assert (
                reason["feature"] == f.name
                or abs(
                    shortfall[j] - shortfall[trained.spec.feature_names.index(reason["feature"])]
                )
                < TOL
            )
            k = trained.spec.feature_names.index(reason["feature"])
            name, label = features[k].name, hand[k][1]
            assert reason["code"] == codes.get(name, name)
            assert reason["shortfall"] == pytest.approx(shortfall[k], abs=TOL)
            assert reason["points"] == ex.points[i, k]
            if name == "duration_in_month":
                assert reason["text"] == f"Loan of {label} months"
            elif name == "housing":
                assert reason["text"] == f"Housing situation: {label}"
            else:  # no feature description: the column's, from the data schema
                column = trained.config.data.columns[features[k].column]
                assert column.description
                assert reason["text"] == f"{column.description}: {label}"
    assert n_reasons > 2000  # most applicants have three reasons


def _table(method: ReasonMethod, weights: np.ndarray | None = None, **kw: Any) -> ReasonTable:
    contributions = np.array([[0.1, -0.2, 0.0], [-0.3, 0.2, 0.0], [0.2, 0.1, -0.5]])
    return ReasonTable.fit(
        contributions,
        Scorecard(base_score=600, base_odds=50, pdo=20),
        ("a", "b", "c"),
        ReasonsConfig(method=method, **kw),
        weights=weights,
    )


def test_reference_points_are_the_most_or_the_weighted_mean_points() -> None:
    factor = 20 / math.log(2)
    hand_max = [0.3 * factor, 0.2 * factor, 0.5 * factor]  # -factor * the least contribution
    np.testing.assert_allclose(_table(ReasonMethod.max).reference_points, hand_max, rtol=1e-12)
    w = np.array([1.0, 2.0, 5.0])
    hand_mean = [
        -factor * (0.1 * 1 - 0.3 * 2 + 0.2 * 5) / 8,
        -factor * (-0.2 * 1 + 0.2 * 2 + 0.1 * 5) / 8,
        -factor * (-0.5 * 5) / 8,
    ]
    np.testing.assert_allclose(_table(ReasonMethod.mean, w).reference_points, hand_mean, rtol=1e-12)


def test_ranking_breaks_ties_in_spec_order_skips_no_shortfall_and_stops_at_max() -> None:
    table = ReasonTable.fit(
        np.zeros((1, 4)),
        Scorecard(base_score=600, base_odds=50, pdo=20),
        ("a", "b", "c", "d"),
        ReasonsConfig(max=2),
    )
    points = np.array([[-5.0, -7.0, -5.0, 0.0], [-1.0, -1.0, -1.0, -1.0], [0.0, 0.0, 0.0, 0.0]])
    order, shortfall = table.rank(points)
    assert order.tolist() == [[1, 0], [0, 1], [-1, -1]]
    assert shortfall[0].tolist() == [5.0, 7.0, 5.0, 0.0]
    assert ReasonTable.from_dict(json.loads(json.dumps(table.to_dict()))) == table
    none = ReasonTable.fit(
        np.zeros((1, 2)), Scorecard(600, 50, 20), ("a", "b"), ReasonsConfig(max=0)
    )
    assert none.rank(np.array([[-1.0, -2.0]]))[0].shape == (1, 0)


def test_a_code_for_an_undeclared_feature_is_a_config_error(german_frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError) as err:
        _table(ReasonMethod.max, codes={"nope": ReasonCode(code="N1")})
    assert err.value.key == "reasons.codes.nope"
    cfg = compose_config()
    cfg.reasons.codes = {"duraton_in_month": ReasonCode(code="D01")}
    with pytest.raises(ConfigError) as early:
        train(cfg, german_frame)
    assert early.value.key == "reasons.codes.duraton_in_month"


@settings(max_examples=300, deadline=None)
@given(
    points=st.lists(
        st.one_of(st.integers(-3, 3).map(float), st.floats(-50, 50)), min_size=4, max_size=4
    ),
    max_reasons=st.integers(0, 5),
)
def test_the_one_row_ranking_is_the_vectorised_ranking(
    points: list[float], max_reasons: int
) -> None:
    table = ReasonTable.fit(
        np.array([[-0.1, 0.0, 0.05, -0.02]]),
        Scorecard(600, 50, 20),
        ("a", "b", "c", "d"),
        ReasonsConfig(max=max_reasons),
    )
    order, shortfall = table.rank(np.array([points]))
    expected = [(j, float(shortfall[0, j])) for j in order[0].tolist() if j >= 0]
    assert repr(table.rank_record(points)) == repr(expected)
