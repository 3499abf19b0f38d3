"""The app's hot route: ``POST /predict`` is answered before Flask, with the same body,
headers and error answers as Flask's own route, and every other request still reaches Flask."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from credit_glm.config import ServingConfig
from credit_glm.service.app import create_app
from credit_glm.service.model import ServedModel, served_model_from_card


@pytest.fixture(scope="module")
def card(trained_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((trained_dir / "models" / "glm_model.json").read_text())
    return loaded


@pytest.fixture
def app(card: dict[str, Any]) -> Flask:
    settings = ServingConfig()
    return create_app(served_model_from_card(card, settings), settings)


def _flask_only(app: Flask) -> FlaskClient:
    """A client of the same app with the hot route pointed elsewhere: every request goes
    through Flask's own dispatch (the bookkeeping around it unchanged)."""
    hot = app.wsgi_app.app  # type: ignore[attr-defined]
    assert hot.path == "/predict"
    hot.path = "/not-hot"
    return app.test_client()


def test_the_hot_route_answers_as_flasks_route(app: Flask, card: dict[str, Any]) -> None:
    dispatched: list[str] = []
    app.before_request(lambda: dispatched.append("flask") and None)
    body = {"features": card["self_check"]["features"]}
    hot = app.test_client().post("/predict", json=body, headers={"X-Request-ID": "r-1"})
    assert dispatched == []  # Flask never saw it
    via_flask = _flask_only(app).post("/predict", json=body, headers={"X-Request-ID": "r-2"})
    assert dispatched == ["flask"]
    assert hot.status_code == via_flask.status_code == 200
    assert hot.content_type == via_flask.content_type == "application/json"
    assert hot.headers["Content-Length"] == str(len(hot.data))
    assert hot.headers["X-Request-ID"] == "r-1"
    mine = hot.get_json()
    theirs = via_flask.get_json()
    assert (mine.pop("request_id"), theirs.pop("request_id")) == ("r-1", "r-2")
    assert mine == theirs
    assert mine["probability_of_default"] == card["self_check"]["probability_of_default"]


def test_the_hot_routes_errors_are_the_problems_flask_gives(
    app: Flask, card: dict[str, Any]
) -> None:
    bad = {"features": {**card["self_check"]["features"], "duration_in_month": -5}}
    hot = app.test_client().post("/predict", json=bad)
    wrong_type = app.test_client().post("/predict", data="{}", content_type="text/plain")
    assert wrong_type.status_code == 415
    via_flask = _flask_only(app).post("/predict", json=bad)
    assert hot.status_code == via_flask.status_code == 422
    assert hot.content_type == via_flask.content_type == "application/problem+json"
    assert {k: v for k, v in hot.get_json().items() if k != "request_id"} == {
        k: v for k, v in via_flask.get_json().items() if k != "request_id"
    }


def test_other_methods_and_paths_still_reach_flask(app: Flask) -> None:
    client = app.test_client()
    get = client.get("/predict")
    assert get.status_code == 405 and get.headers["Allow"] == "OPTIONS, POST"
    options = client.options("/predict")
    assert options.status_code == 200 and options.get_json() == {"allow": ["OPTIONS", "POST"]}
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.post("/predict/").status_code in (308, 404)


def test_an_unexpected_error_is_a_logged_internal_problem(
    app: Flask, card: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(self: ServedModel, record: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(ServedModel, "explain_record", broken)
    monkeypatch.setattr(ServedModel, "predict_record", broken)
    with caplog.at_level(logging.ERROR, logger="credit_glm.service"):
        reply = app.test_client().post(
            "/predict", json={"features": card["self_check"]["features"]}
        )
    assert reply.status_code == 500
    problem = reply.get_json()
    assert problem["type"].endswith(":internal") and problem["instance"] == "/predict"
    assert "boom" not in reply.get_data(as_text=True)  # no traceback or message leaks
    assert any("unhandled error in POST /predict" in r.getMessage() for r in caplog.records)
