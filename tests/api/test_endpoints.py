"""Every endpoint of the real server, over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Server

pytestmark = pytest.mark.slow


def test_health_is_alive(server: Server) -> None:
    reply = server.call("GET", "/health")
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert reply.json() == {"status": "ok"}


def test_ready_once_the_self_check_passed(server: Server, card: dict[str, Any]) -> None:
    reply = server.call("GET", "/ready")
    assert reply.status == 200
    assert reply.json() == {
        "status": "ready",
        "ready": True,
        "model_version": card["model_version"],
    }


def test_predict_scores_one_applicant(
    server: Server, card: dict[str, Any], good_row: dict[str, Any]
) -> None:
    reply = server.post_json("/predict", {"features": good_row})
    assert reply.status == 200, reply.body
    body = reply.json()
    recorded = card["self_check"]["probability_of_default"]
    assert body["probability_of_default"] == pytest.approx(recorded, rel=0, abs=1e-12)
    assert body["model_version"] == card["model_version"]
    assert body["cutoff"] == card["decision"]["cutoff"]
    assert body["decision"] == ("decline" if recorded >= card["decision"]["cutoff"] else "accept")
    assert body["request_id"] == reply.headers["x-request-id"]
    assert len(body["request_id"]) == 32


def test_a_client_request_id_is_kept(server: Server, good_row: dict[str, Any]) -> None:
    reply = server.post_json("/predict", {"features": good_row}, {"X-Request-ID": "abc-123.x"})
    assert reply.json()["request_id"] == reply.headers["x-request-id"] == "abc-123.x"
    unsafe = server.post_json("/predict", {"features": good_row}, {"X-Request-ID": "a b" * 50})
    assert unsafe.json()["request_id"] != "a b" * 50


def test_batch_returns_predictions_in_input_order(server: Server, good_row: dict[str, Any]) -> None:
    rows = [{**good_row, "duration_in_month": d, "age_in_years": 20 + d} for d in range(1, 41)]
    reply = server.post_json("/predict/batch", {"instances": rows})
    assert reply.status == 200, reply.body
    predictions = reply.json()["predictions"]
    assert len(predictions) == len(rows)
    for row, prediction in zip(rows, predictions, strict=True):
        single = server.post_json("/predict", {"features": row}).json()
        # bit for bit: a row's probability does not depend on the batch around it
        assert prediction["probability_of_default"] == single["probability_of_default"]
        assert prediction["decision"] == single["decision"]


def test_model_info_is_the_model_card(server: Server, card: dict[str, Any]) -> None:
    reply = server.admin_call("GET", "/model/info")  # the scoring port has a public summary
    assert reply.status == 200
    info = reply.json()
    for key in (
        "model_version",
        "model_sha256",
        "config_sha256",
        "coefficients",
        "schema",
        "feature_spec",
        "metrics",
        "decision",
        "selected_features",
    ):
        assert info[key] == card[key], key
    assert info["features"]["columns"] == [f["column"] for f in card["feature_spec"]["features"]]
    assert info["serving"] == {
        "cutoff": card["decision"]["cutoff"],
        "cutoff_source": "card",
        "reject_extra_fields": True,
    }


def test_openapi_describes_every_field_from_the_schema(
    server: Server, card: dict[str, Any]
) -> None:
    reply = server.call("GET", "/openapi.json")
    assert reply.status == 200
    doc = reply.json()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {
        "/health",
        "/ready",
        "/predict",
        "/predict/batch",
        "/model/info",
        "/openapi.json",
    }
    features = doc["components"]["schemas"]["Features"]
    assert features["additionalProperties"] is False
    declared = card["schema"]["columns"]
    target = card["target"]["column"]
    assert set(features["properties"]) == set(declared) - {target}
    assert set(features["required"]) == {f["column"] for f in card["feature_spec"]["features"]}
    for name, prop in features["properties"].items():
        col = declared[name]
        if col["type"] == "int":
            assert prop["type"] == "integer"
            assert prop["minimum"] == col["min"] and prop["maximum"] == col["max"]
        elif col["type"] == "category":
            assert prop["type"] == "string"
            assert set(prop["enum"]) <= set(col["categories"])
    batch = doc["components"]["schemas"]["BatchRequest"]["properties"]["instances"]
    assert batch["maxItems"] == 1000 and batch["minItems"] == 1


def test_metrics_is_prometheus_text(server: Server) -> None:
    reply = server.admin_call("GET", "/metrics")  # the admin port's
    assert reply.status == 200
    assert reply.content_type.startswith("text/plain; version=0.0.4")
    assert b"credit_glm_http_requests_total" in reply.body
    openmetrics = server.admin_call(
        "GET", "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert openmetrics.content_type.startswith("application/openmetrics-text")
    assert openmetrics.body.rstrip().endswith(b"# EOF")


def test_head_and_options_are_answered(server: Server) -> None:
    assert server.call("HEAD", "/health").status == 200
    options = server.call("OPTIONS", "/predict")
    assert options.status == 200
    assert "POST" in options.headers["allow"]
    assert options.content_type == "application/json"  # like every response, never HTML
    assert "POST" in options.json()["allow"]


def test_one_json_log_line_per_request_without_feature_values(
    server: Server, good_row: dict[str, Any]
) -> None:
    marker = "log-line-check-1"
    server.post_json("/predict", {"features": good_row}, {"X-Request-ID": marker})
    server.call("GET", "/nowhere", headers={"X-Request-ID": marker + "-404"})
    lines = {ln["request_id"]: ln for ln in server.request_log(expect=[marker, marker + "-404"])}
    line = lines[marker]
    assert line["endpoint"] == "/predict" and line["status"] == 200
    assert line["method"] == "POST" and line["latency_ms"] > 0 and line["pid"] > 0
    assert lines[marker + "-404"]["status"] == 404
    assert lines[marker + "-404"]["error"] == "not_found"
    text = server.stdout.read_text(encoding="utf-8")
    assert str(good_row["purpose"]) not in text  # no feature values by default
    # Hydra's root handlers were taken over: nothing of the service goes to its run log
    hydra_log = server.workdir / "outputs" / "__main__.log"
    assert not hydra_log.exists() or marker not in hydra_log.read_text(encoding="utf-8")
    for raw in server.error_log().splitlines():
        if raw.startswith("{"):
            json.loads(raw)  # gunicorn's own log is JSON lines too
