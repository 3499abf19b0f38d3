"""The one scorer on the German credit data: statsmodels' probabilities, the same bits alone, in
any batch and after a card round-trip, the decision rule, and the errors of design_matrix."""

from __future__ import annotations

import json
import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest

from credit_glm.errors import ValidationFailed
from credit_glm.features import design_matrix
from credit_glm.model_card import build_card
from credit_glm.schema import build_schema, validate_frame
from credit_glm.scoring import DECISION_RULE, ScoringModel, decision, decisions, declines
from credit_glm.training import TrainedModel, train
from tests.conftest import compose_config


@pytest.fixture(scope="module")
def trained(german_frame: pd.DataFrame) -> TrainedModel:
    return train(compose_config(), german_frame)


@pytest.fixture(scope="module")
def frame(trained: TrainedModel, german_frame: pd.DataFrame) -> pd.DataFrame:
    """The German credit rows typed as the training schema types them."""
    data = trained.config.data
    return validate_frame(german_frame, build_schema(data, "training"), data)


def _records(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    plain = frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None)
    return [
        {c: v.item() if isinstance(v, np.generic) else v for c, v in zip(columns, row, strict=True)}
        for row in plain.itertuples(index=False)
    ]


def test_probabilities_equal_statsmodels(trained: TrainedModel, frame: pd.DataFrame) -> None:
    X = design_matrix(trained.spec, frame)
    reference = np.asarray(trained.fit.results.predict(X), dtype=float)
    np.testing.assert_allclose(trained.scorer.predict(frame), reference, rtol=0, atol=1e-12)
    eta = trained.scorer.linear_predictor(frame)
    np.testing.assert_allclose(eta, X @ trained.fit.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        trained.scorer.contributions(frame).sum(axis=1) + trained.fit.params[0], eta, atol=1e-12
    )


def test_a_row_scores_the_same_bits_alone_in_any_batch_and_after_reload(
    trained: TrainedModel, frame: pd.DataFrame
) -> None:
    scorer = trained.scorer
    whole = scorer.predict(frame)
    n = len(frame)
    slices = 0
    for seed in range(8):  # random partitions into slices of every size 1, 2, 3, ...
        order = np.random.default_rng(seed).permutation(n)
        start, size = 0, 1 + seed
        while start < n:
            rows = order[start : start + size]
            assert np.array_equal(scorer.predict(frame.iloc[rows]), whole[rows])
            start, size, slices = start + size, size + 1, slices + 1
    for step in (2, 3, 7):  # strided views of the frame
        assert np.array_equal(scorer.predict(frame.iloc[1::step]), whole[1::step])
        slices += 1
    assert slices > 300
    records = _records(frame, trained.spec.columns)
    alone = np.array([scorer.predict_record(r) for r in records])
    assert np.array_equal(alone, whole)  # the per-record path, row by row
    as_lists = {c: [r[c] for r in records] for c in trained.spec.columns}
    assert np.array_equal(scorer.predict(as_lists), whole)  # the service's plain lists
    card = build_card(trained, "builtin://german_credit.csv", "0" * 64, n, "2026-01-01")
    assert card["decision"]["rule"] == DECISION_RULE  # the card states the rule the scorer applies
    reloaded = ScoringModel.from_card(json.loads(json.dumps(card)))
    assert np.array_equal(reloaded.predict(frame), whole)
    assert np.array_equal(pickle.loads(pickle.dumps(scorer)).predict(frame), whole)


def test_the_scorer_reports_what_design_matrix_reports(
    trained: TrainedModel, frame: pd.DataFrame
) -> None:
    bad = frame.head(6).copy()
    bad["purpose"] = bad["purpose"].astype(object)
    bad.loc[[1, 4], "purpose"] = "yacht"
    bad.loc[2, "duration_in_month"] = None
    with pytest.raises(ValidationFailed) as expected:
        design_matrix(trained.spec, bad)
    with pytest.raises(ValidationFailed) as got:
        trained.scorer.predict(bad)
    assert got.value.violations == expected.value.violations
    assert {v.column for v in got.value.violations} == {"purpose", "duration_in_month"}
    records = _records(bad, trained.spec.columns)
    with pytest.raises(ValidationFailed) as one:
        trained.scorer.predict_record(records[1])
    assert [v.column for v in one.value.violations] == ["purpose"]


def test_the_decision_rule() -> None:
    p = np.array([0.1, 0.25, 0.2500000001, 0.9])
    assert decisions(p, 0.25) == ["accept", "decline", "decline", "decline"]
    assert declines(p, 0.25).tolist() == [False, True, True, True]
    assert declines(0.25, 0.25) is True and decision(0.2499, 0.25) == "accept"
    assert DECISION_RULE == "decline when probability_of_default >= cutoff"


def test_scale_and_standardize_reparametrise_the_same_model(german_frame: pd.DataFrame) -> None:
    """Dividing a column by 12, or standardizing it, fits the same model: the coefficient is
    12 times (sd times) the plain one, and every probability is the same."""
    key = "features.features.duration_in_month"
    plain = train(compose_config(), german_frame)
    years = train(compose_config([f"{key}.transform=scale", f"{key}.divisor=12"]), german_frame)
    z = train(compose_config([f"{key}.transform=standardize"]), german_frame)
    b = plain.scorer.coefficients["duration_in_month"]
    assert years.scorer.coefficients["duration_in_month/12"] == pytest.approx(12 * b, rel=1e-7)
    (f,) = [f for f in z.spec.features if f.name == "duration_in_month"]
    assert f.sd is not None
    assert z.scorer.coefficients["standardize(duration_in_month)"] == pytest.approx(
        f.sd * b, rel=1e-7
    )
    p = plain.scorer.predict(german_frame)
    np.testing.assert_allclose(years.scorer.predict(german_frame), p, rtol=0, atol=1e-9)
    np.testing.assert_allclose(z.scorer.predict(german_frame), p, rtol=0, atol=1e-9)
    card = build_card(years, "builtin://german_credit.csv", "0" * 64, 1000, "2026-01-01")
    reloaded = ScoringModel.from_card(json.loads(json.dumps(card)))
    assert np.array_equal(reloaded.predict(german_frame), years.scorer.predict(german_frame))
