"""The chunk scorer: the one scorer's numbers for every good row, whatever the chunking, and
every bad row rejected with its field and rule, including a value only a transform refuses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from credit_glm.batch_scoring import BatchScorer
from credit_glm.model_card import build_card
from credit_glm.schema import build_schema, data_config_from_dict, validate_frame
from credit_glm.scoring import ScoringModel, decisions
from credit_glm.training import train
from tests.conftest import compose_config


@pytest.fixture(scope="module")
def card(german_frame: pd.DataFrame) -> dict[str, Any]:
    # age may be missing in a file (the schema allows it); its feature has no missing policy
    config = compose_config(["data.columns.age_in_years.nullable=true"])
    trained = train(config, german_frame)
    return build_card(trained, "builtin://german_credit.csv", "0" * 64, 1000, "2026-01-01")


def _columns(frame: pd.DataFrame) -> dict[str, pa.Array]:
    return {
        c: pa.array([None if pd.isna(v) else v for v in frame[c].tolist()], type=pa.string())
        for c in frame.columns
    }


def _score_in_chunks(batch: BatchScorer, frame: pd.DataFrame, rows: int) -> pa.Table:
    parts = [
        batch.score(_columns(frame.iloc[s : s + rows]), s + 1).scores
        for s in range(0, len(frame), rows)
    ]
    return pa.concat_tables(parts)


def test_scores_are_the_one_scorers_for_every_row(
    card: dict[str, Any], german_frame: pd.DataFrame
) -> None:
    batch = BatchScorer.from_card(card)
    inputs = german_frame.drop(columns=["creditability"])
    done = batch.score(_columns(inputs), 1)
    assert done.n_read == done.n_scored == len(inputs) and done.n_rejected == 0
    scorer = ScoringModel.from_card(card)
    coerced = validate_frame(german_frame, build_schema(data_config_from_dict(card["schema"])))
    expected = scorer.explain(coerced)
    out = done.scores.to_pydict()
    assert out["row"] == list(range(1, len(inputs) + 1))
    np.testing.assert_array_equal(out["probability_of_default"], expected.probability_of_default)
    np.testing.assert_array_equal(out["score"], expected.score)
    assert out["decision"] == decisions(expected.probability_of_default, batch.cutoff)
    assert expected.reason_codes is not None
    for k in range(4):
        want = [r[k]["code"] if len(r) > k else None for r in expected.reason_codes]
        assert out[f"reason_{k + 1}"] == want


@pytest.mark.parametrize("rows", [1, 13, 250])
def test_a_rows_output_does_not_depend_on_its_chunk(
    card: dict[str, Any], german_frame: pd.DataFrame, rows: int
) -> None:
    batch = BatchScorer.from_card(card)
    inputs = german_frame.drop(columns=["creditability"]).iloc[:300]
    whole = batch.score(_columns(inputs), 1).scores
    assert _score_in_chunks(batch, inputs, rows).equals(whole)


def test_bad_rows_are_rejected_and_the_rest_scored_as_alone(
    card: dict[str, Any], german_frame: pd.DataFrame
) -> None:
    batch = BatchScorer.from_card(card)
    inputs = german_frame.drop(columns=["creditability"]).iloc[:20].copy()
    inputs.loc[2, "duration_in_month"] = "12.5"
    inputs.loc[5, "age_in_years"] = None  # the schema allows it; the feature refuses it
    inputs.loc[9, "housing"] = "castle"
    done = batch.score(_columns(inputs), 1)
    assert [(r["row"], r["field"], r["rule"]) for r in done.rejects.to_pylist()] == [
        (3, "duration_in_month", "type"),
        (6, "age_in_years", "feature"),
        (10, "housing", "categories"),
    ]
    assert "missing" in done.rejects.column("detail")[1].as_py()
    good = [i for i in range(20) if i not in (2, 5, 9)]
    assert done.scores.column("row").to_pylist() == [i + 1 for i in good]
    alone = batch.score(_columns(inputs.iloc[good]), 1).scores
    assert done.scores.drop(["row"]).equals(alone.drop(["row"]))
    assert done.n_rejected == 3 and done.n_scored == 17


def test_dictionary_encoded_columns_score_as_their_text(
    card: dict[str, Any], german_frame: pd.DataFrame
) -> None:
    """Category columns as a Parquet reader hands them over (dictionary-encoded, with entries
    no row of the chunk uses, one of them an undeclared level) score as the plain text."""
    batch = BatchScorer.from_card(card)
    inputs = german_frame.drop(columns=["creditability"]).iloc[:200]
    plain = batch.score(_columns(inputs), 1)
    encoded = _columns(inputs)
    for name in batch.validator.text_columns:
        if name in encoded:
            text = encoded[name]
            dictionary = pa.array(["not a level", *sorted(set(text.drop_null().to_pylist()))])
            codes = pc.index_in(text, value_set=dictionary).cast(pa.int32())
            encoded[name] = pa.DictionaryArray.from_arrays(codes, dictionary)
    coded = batch.score(encoded, 1)
    assert coded.n_rejected == plain.n_rejected == 0
    assert coded.scores.equals(plain.scores)
