"""The points scale as a face of the one scorer, on the German credit data: the score against
the textbook formula (Siddiqi 2006, ch. 6: ``base_score + pdo * log2(odds / base_odds)``), the
points summing to it exactly, the score ranking applicants as the probability of default does,
the same bits alone, in any batch and after a card round-trip, the points table against the
coefficients, and the card's ``scorecard`` section under ``model_sha256``."""

from __future__ import annotations

import csv
import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_glm.artifact import POINTS_TABLE_NAME, load_card, write_artifacts
from credit_glm.config import Rounding, ScorecardConfig
from credit_glm.errors import ValidationFailed
from credit_glm.model_card import build_card, card_problem, model_sha256, seal_card
from credit_glm.report import format_points_table
from credit_glm.schema import build_schema, validate_frame
from credit_glm.scorecard import Scorecard, round_points
from credit_glm.scoring import ScoringModel
from credit_glm.training import TrainedModel, train
from tests.conftest import compose_config


@pytest.fixture(scope="module")
def trained(german_frame: pd.DataFrame) -> TrainedModel:
    return train(compose_config(), german_frame)


@pytest.fixture(scope="module")
def rounded(german_frame: pd.DataFrame) -> TrainedModel:
    return train(compose_config(["scorecard.rounding=integer", "scorecard.pdo=40"]), german_frame)


@pytest.fixture(scope="module")
def frame(trained: TrainedModel, german_frame: pd.DataFrame) -> pd.DataFrame:
    data = trained.config.data
    return validate_frame(german_frame, build_schema(data, "training"), data)


def _card(trained: TrainedModel) -> dict[str, Any]:
    return build_card(trained, "builtin://german_credit.csv", "0" * 64, 1000, "2026-01-01")


def _records(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    plain = frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None)
    return [
        {c: v.item() if isinstance(v, np.generic) else v for c, v in zip(columns, row, strict=True)}
        for row in plain.itertuples(index=False)
    ]


def test_round_points_rounds_half_away_from_zero() -> None:
    x = np.array([2.5, -2.5, 0.49999, -0.5, 1.5, 3.0, -7.2])
    assert round_points(x).tolist() == [3.0, -3.0, 0.0, -1.0, 2.0, 3.0, -7.0]


def test_the_score_is_the_textbook_scale_of_the_odds(
    trained: TrainedModel, frame: pd.DataFrame
) -> None:
    cfg = trained.config.scorecard
    ex = trained.scorer.explain(frame)
    p = ex.probability_of_default
    assert ex.score is not None
    # base_score points at good:bad odds base_odds:1, pdo more per doubling of the odds
    expected = cfg.base_score + cfg.pdo * np.log2(((1 - p) / p) / cfg.base_odds)
    np.testing.assert_allclose(ex.score, expected, rtol=0, atol=1e-8)
    odds_at_base = np.array([1.0 / (1.0 + cfg.base_odds)])  # PD at odds base_odds:1
    scale = Scorecard.from_config(cfg)
    assert scale.offset - scale.factor * math.log(odds_at_base[0] / (1 - odds_at_base[0])) == (
        pytest.approx(cfg.base_score, abs=1e-9)
    )


def test_points_sum_exactly_to_the_score(
    trained: TrainedModel, rounded: TrainedModel, frame: pd.DataFrame
) -> None:
    for model in (trained, rounded):
        ex = model.scorer.explain(frame)
        assert ex.points is not None and ex.score is not None and ex.base_points is not None
        for score, points in zip(ex.score.tolist(), ex.points.tolist(), strict=True):
            total = ex.base_points
            for p in points:  # in spec order, one after another
                total += p
            assert total == score
    ex = rounded.scorer.explain(frame)
    assert ex.points is not None and ex.base_points is not None
    assert np.all(ex.points == np.round(ex.points)) and ex.base_points == round(ex.base_points)


def test_the_score_ranks_applicants_as_the_probability_of_default(
    trained: TrainedModel, frame: pd.DataFrame
) -> None:
    """Fails if the points had the wrong sign or the intercept were mishandled."""
    ex = trained.scorer.explain(frame)
    eta = trained.scorer.linear_predictor(frame)
    assert ex.score is not None
    riskier = eta[:, None] > eta[None, :] + 1e-9  # i riskier than j
    assert riskier.sum() > 100_000
    assert np.all((ex.score[:, None] < ex.score[None, :])[riskier])


def test_explain_is_the_same_bits_alone_in_any_batch_after_reload_and_per_record(
    trained: TrainedModel, rounded: TrainedModel, frame: pd.DataFrame
) -> None:
    for model in (trained, rounded):
        scorer = model.scorer
        whole = scorer.explain(frame)
        assert whole.score is not None and whole.points is not None
        assert whole.reason_codes is not None
        assert np.array_equal(whole.probability_of_default, scorer.predict(frame))
        n = len(frame)
        order = np.random.default_rng(3).permutation(n)
        start, size = 0, 1
        while start < n:
            rows = order[start : start + size]
            part = scorer.explain(frame.iloc[rows])
            assert part.score is not None and part.points is not None
            assert np.array_equal(part.score, whole.score[rows])
            assert np.array_equal(part.points, whole.points[rows])
            assert part.reason_codes == [whole.reason_codes[i] for i in rows]
            start, size = start + size, size + 7
        card = json.loads(json.dumps(_card(model)))
        for again in (ScoringModel.from_card(card), pickle.loads(pickle.dumps(scorer))):
            other = again.explain(frame)
            assert other.score is not None and np.array_equal(other.score, whole.score)
            assert other.reason_codes == whole.reason_codes
        for i, record in enumerate(_records(frame, scorer.spec.columns)):
            one = scorer.explain_record(record)
            assert repr(one) == repr(whole.row(i))  # repr tells every double apart, -0.0 too
            assert one["probability_of_default"] == scorer.predict_record(record)
            assert type(one["score"]) is float
            assert all(type(v) is float for v in one["points"].values())


def test_explain_record_reports_what_explain_reports(
    trained: TrainedModel, frame: pd.DataFrame
) -> None:
    record = _records(frame.head(1), trained.spec.columns)[0]
    record["purpose"] = "yacht"
    with pytest.raises(ValidationFailed) as err:
        trained.scorer.explain_record(record)
    assert [v.column for v in err.value.violations] == ["purpose"]


def test_the_points_table_is_the_coefficients_on_the_scale(trained: TrainedModel) -> None:
    card = _card(trained)
    section = card["scorecard"]
    cfg = trained.config.scorecard
    factor = cfg.pdo / math.log(2)
    assert section["base_points"] == pytest.approx(
        cfg.base_score - factor * math.log(cfg.base_odds) - factor * trained.fit.params[0],
        abs=1e-9,
    )
    coefs = trained.scorer.coefficients
    assert [row["feature"] for row in section["points_table"]] == list(trained.spec.feature_names)
    for row, f in zip(section["points_table"], trained.spec.features, strict=True):
        assert row["min_points"] <= row["max_points"]
        if f.transform == "onehot":
            assert {a["label"] for a in row["attributes"]} == set(f.known_levels)
            for a in row["attributes"]:
                b = coefs.get(f"{f.name}[{a['label']}]", 0.0)  # the reference: no term
                assert a["points"] == pytest.approx(-factor * b, abs=1e-9)
        else:
            assert row["points_per_unit"] == pytest.approx(-factor * coefs[row["term"]])
    assert format_points_table(card).count("\n") >= sum(
        len(r.get("attributes", [])) + 1 for r in section["points_table"]
    )


def test_the_points_table_csv_is_the_cards_table(trained: TrainedModel, tmp_path: Path) -> None:
    _, card_path, card = write_artifacts(trained, _card(trained), tmp_path)
    with open(tmp_path / POINTS_TABLE_NAME, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert float(rows[0]["points"]) == card["scorecard"]["base_points"]
    expected = [
        (r["feature"], a["label"], a["points"])
        for r in card["scorecard"]["points_table"]
        for a in r.get("attributes", [])
    ]
    got = [(r["feature"], r["attribute"], float(r["points"])) for r in rows if r["points"]][1:]
    assert got == expected
    assert load_card(card_path) == card


def test_an_edited_scale_fails_verification_and_an_old_card_still_loads(
    trained: TrainedModel, frame: pd.DataFrame
) -> None:
    card = json.loads(json.dumps(_card(trained)))
    assert card_problem(card) is None
    edited = json.loads(json.dumps(card))
    edited["scorecard"]["scale"]["pdo"] = 21.0
    assert model_sha256(edited) != card["model_sha256"]
    assert "not the recorded model_sha256" in str(card_problem(edited))
    stripped = {k: v for k, v in card.items() if k != "scorecard"}
    assert "not the recorded model_sha256" in str(card_problem(stripped))
    old = seal_card(stripped)  # a card written before the section existed
    assert card_problem(old) is None
    scorer = ScoringModel.from_card(old)
    assert scorer.scorecard is None and scorer.reasons is None
    ex = scorer.explain(frame)
    assert ex.score is None and ex.points is None and ex.reason_codes is None
    assert np.array_equal(ex.probability_of_default, trained.scorer.predict(frame))


@settings(max_examples=500, deadline=None)
@given(
    contribution=st.one_of(
        st.floats(-1e6, 1e6),
        st.integers(-400, 400).map(lambda k: k / 2 / (40 / math.log(2))),  # near half points
        st.sampled_from([0.0, -0.0, 5e-324, -1e-300]),
    ),
    rounding=st.sampled_from(list(Rounding)),
)
def test_the_one_row_points_are_the_vectorised_points(
    contribution: float, rounding: Rounding
) -> None:
    scale = Scorecard(base_score=600, base_odds=50, pdo=40, rounding=rounding)
    batch = scale.points(np.array([1.0, contribution]))[1]
    unrounded = scale.unrounded_points(np.array([contribution, 2.0]))[0]
    assert repr(scale.record_points(contribution)) == repr(float(batch))
    assert repr(scale.record_points(contribution, rounded=False)) == repr(float(unrounded))


def test_the_scale_round_trips() -> None:
    scale = Scorecard.from_config(
        ScorecardConfig(base_score=500, base_odds=20, pdo=50, rounding=Rounding.integer)
    )
    assert Scorecard.from_dict(json.loads(json.dumps(scale.to_dict()))) == scale
