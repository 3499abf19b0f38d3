"""Scores and reason codes over HTTP: a WoE scorecard trained by the real CLI, reloaded from its
card and served by gunicorn (2 workers) answers every German credit applicant with the
probability, score and reasons the one scorer computes in Python from the reloaded card, bit
for bit (JSON carries each float's shortest round-trip text), on ``/predict`` and in a batch;
the OpenAPI document lists the new fields, and every answer obeys it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest

from credit_glm.artifact import load_card
from credit_glm.jsonable import json_safe
from credit_glm.schema import build_schema, data_config_from_dict, validate_frame
from credit_glm.scoring import ScoringModel
from tests.api.conftest import Server, start_server
from tests.conftest import GERMAN_CSV, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def woe_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("woe")
    result = run_cli(
        ["features=woe_auto", "selection=stepwise", "hydra.run.dir=outputs/run"], work, 300
    )
    assert result.returncode == 0, result.stderr
    return work / "models" / "glm_model.json"


@pytest.fixture(scope="module")
def woe_server(tmp_path_factory: pytest.TempPathFactory, woe_card: Path) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("woe-server"), woe_card, "serving.workers=2")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def applicants(woe_card: Path) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    card = load_card(woe_card)
    data = data_config_from_dict(card["schema"])
    raw = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False, na_values=[""])
    frame = validate_frame(raw, build_schema(data, "training"), data, "german credit")
    columns = ScoringModel.from_card(card).spec.columns
    records = [{c: json_safe(row[c]) for c in columns} for _, row in frame.iterrows()]
    return frame.reset_index(drop=True), records


def _python(card_path: Path, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """What the reloaded card's scorer says of each row, as the API would write it."""
    scorer = ScoringModel.from_card(load_card(card_path))
    explained = scorer.explain(frame)
    return [explained.row(i) for i in range(len(frame))]


def test_every_applicant_gets_the_python_score_and_reasons(
    woe_server: Server, woe_card: Path, applicants: tuple[pd.DataFrame, list[dict[str, Any]]]
) -> None:
    frame, records = applicants
    expected = _python(woe_card, frame)
    got: list[dict[str, Any]] = []
    for start in range(0, len(records), 250):
        reply = woe_server.post_json("/predict/batch", {"instances": records[start : start + 250]})
        assert reply.status == 200, reply.body[:500]
        got.extend(reply.json()["predictions"])
    assert len(got) == len(expected) == 1000
    for g, e in zip(got, expected, strict=True):
        assert g["probability_of_default"] == e["probability_of_default"]
        assert g["score"] == e["score"]
        assert g["reason_codes"] == e["reason_codes"]
    assert any(g["reason_codes"] for g in got)
    assert all(len(g["reason_codes"]) <= 4 for g in got)
    for i in range(0, 1000, 37):  # one at a time, through the per-record path
        one = woe_server.post_json("/predict", {"features": records[i]})
        assert one.status == 200, one.body[:500]
        body = one.json()
        assert body["probability_of_default"] == expected[i]["probability_of_default"]
        assert body["score"] == expected[i]["score"]
        assert body["reason_codes"] == expected[i]["reason_codes"]


def test_the_openapi_document_lists_score_and_reasons_and_answers_obey_it(
    woe_server: Server, applicants: tuple[pd.DataFrame, list[dict[str, Any]]]
) -> None:
    doc = woe_server.call("GET", "/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "score" in schemas["PredictResponse"]["required"]
    assert "reason_codes" in schemas["PredictResponse"]["properties"]
    assert schemas["BatchRequest"]["properties"]["reason_codes"]["type"] == "boolean"
    _, records = applicants
    resolver = {"components": doc["components"]}
    single = woe_server.post_json("/predict", {"features": records[3]}).json()
    batch = woe_server.post_json("/predict/batch", {"instances": records[:20]}).json()
    for body, name in ((single, "PredictResponse"), (batch, "BatchResponse")):
        schema = {**schemas[name], **resolver}
        jsonschema.Draft202012Validator(json.loads(json.dumps(schema))).validate(body)


def test_reason_codes_false_leaves_the_reasons_out_and_the_scores_as_they_were(
    woe_server: Server, woe_card: Path, applicants: tuple[pd.DataFrame, list[dict[str, Any]]]
) -> None:
    frame, records = applicants
    expected = _python(woe_card, frame.iloc[:200].reset_index(drop=True))
    full = woe_server.post_json("/predict/batch", {"instances": records[:200]})
    lean = woe_server.post_json(
        "/predict/batch", {"instances": records[:200], "reason_codes": False}
    )
    assert full.status == lean.status == 200, lean.body[:500]
    assert len(lean.body) * 4 < len(full.body)  # the reason records are most of a response
    for g, e in zip(lean.json()["predictions"], expected, strict=True):
        assert set(g) == {"probability_of_default", "decision", "score"}
        assert (g["probability_of_default"], g["score"]) == (
            e["probability_of_default"],
            e["score"],
        )
    one = woe_server.post_json("/predict", {"features": records[5], "reason_codes": False})
    assert one.status == 200, one.body[:500]
    assert "reason_codes" not in one.json()
    assert one.json()["score"] == expected[5]["score"]
    kept = woe_server.post_json("/predict", {"features": records[5], "reason_codes": True})
    assert kept.json()["reason_codes"] == expected[5]["reason_codes"]
    doc = woe_server.call("GET", "/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for body, name in ((one.json(), "PredictResponse"), (lean.json(), "BatchResponse")):
        schema = {**schemas[name], "components": doc["components"]}
        jsonschema.Draft202012Validator(json.loads(json.dumps(schema))).validate(body)


@pytest.mark.parametrize("value", ["no", 0, None, [True]])
def test_reason_codes_must_be_a_boolean(
    woe_server: Server, applicants: tuple[pd.DataFrame, list[dict[str, Any]]], value: Any
) -> None:
    _, records = applicants
    for path, body in (
        ("/predict", {"features": records[0], "reason_codes": value}),
        ("/predict/batch", {"instances": records[:2], "reason_codes": value}),
    ):
        reply = woe_server.post_json(path, body)
        assert reply.status == 422, reply.body[:500]
        problem = reply.json()
        assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("reason_codes", "type")]
