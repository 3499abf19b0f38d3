"""Every kind of bad input gets a JSON 4xx naming the rule; none gets a 500 or kills a worker."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import WORKERS, Reply, Server

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"
INT_FIELD = "duration_in_month"  # int, 1..120
CATEGORY_FIELD = "purpose"


def _problem(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, reply.body[:500]
    assert reply.content_type == PROBLEM
    body: dict[str, Any] = reply.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance", "request_id"} <= set(body)
    assert b"Traceback" not in reply.body
    return body


def _errors(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["field"], e["rule"]) for e in body["errors"]}


def _raw_predict(server: Server, text: str) -> Reply:
    return server.call("POST", "/predict", text.encode(), {"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("change", "field", "rule", "value"),
    [
        ("drop", INT_FIELD, "required", None),
        ("extra", "not_a_field", "unknown_field", None),
        ("extra", "creditability", "unknown_field", None),  # the target is no input
        ("set", INT_FIELD, "type", "24"),
        ("set", INT_FIELD, "type", True),
        ("set", INT_FIELD, "type", 6.9),  # never truncated to 6
        ("set", INT_FIELD, "type", 2**64),
        ("set", INT_FIELD, "type", [24]),
        ("set", INT_FIELD, "not_nullable", None),
        ("set", INT_FIELD, "min", 0),
        ("set", INT_FIELD, "max", 121),
        ("set", CATEGORY_FIELD, "categories", "spaceship"),
        ("set", CATEGORY_FIELD, "type", 3),
        ("set", CATEGORY_FIELD, "not_nullable", None),
    ],
)
def test_each_broken_rule_is_a_422_naming_field_rule_and_value(
        server: Server, good_row: dict[str, Any], change: str, field: str, rule: str,
        value: Any) -> None:
    features = dict(good_row)
    if change == "drop":
        del features[field]
    else:
        features[field] = value if change == "set" else 1
    body = _problem(server.post_json("/predict", {"features": features}), 422)
    assert body["type"] == "urn:credit-glm:problem:validation"
    assert _errors(body) == {(field, rule)}
    error = body["errors"][0]
    assert error["pointer"] == f"/features/{field}"
    if change == "set":
        expected = value if not isinstance(value, list) else "<array>"
        expected = str(value) if isinstance(value, int) and value >= 2**63 else expected
        assert error["value"] == expected
    if rule == "categories":
        assert "radio/television" in error["allowed"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_422(server: Server, good_row: dict[str, Any],
                                  literal: str) -> None:
    text = str(good_row).replace("'", '"')
    text = text.replace(f'"{INT_FIELD}": {good_row[INT_FIELD]}', f'"{INT_FIELD}": {literal}')
    body = _problem(_raw_predict(server, '{"features": ' + text + "}"), 422)
    rule = "not_nullable" if literal == "NaN" else "type"  # pandas reads NaN as missing
    assert _errors(body) == {(INT_FIELD, rule)}
    assert body["errors"][0]["value"] == literal


def test_every_problem_of_a_request_is_listed_at_once(server: Server,
                                                     good_row: dict[str, Any]) -> None:
    features = {**good_row, INT_FIELD: 0, CATEGORY_FIELD: "spaceship", "extra": 1}
    del features["age_in_years"]
    body = _problem(server.post_json("/predict", {"features": features}), 422)
    assert _errors(body) == {(INT_FIELD, "min"), (CATEGORY_FIELD, "categories"),
                             ("extra", "unknown_field"), ("age_in_years", "required")}
    assert body["error_count"] == 4


def test_a_batch_with_bad_rows_is_rejected_whole_with_every_bad_row(
        server: Server, good_row: dict[str, Any]) -> None:
    rows: list[Any] = [dict(good_row) for _ in range(30)]
    rows[3][INT_FIELD] = 6.9
    rows[17][CATEGORY_FIELD] = "spaceship"
    rows[17]["age_in_years"] = 200
    rows[29] = "not an object"
    body = _problem(server.post_json("/predict/batch", {"instances": rows}), 422)
    assert body["invalid_rows"] == [3, 17, 29]
    got = {(e["row"], e["field"], e["rule"]) for e in body["errors"]}
    assert got == {(3, INT_FIELD, "type"), (17, CATEGORY_FIELD, "categories"),
                   (17, "age_in_years", "max"), (29, "", "not_an_object")}
    pointers = {e["pointer"] for e in body["errors"]}
    assert f"/instances/3/{INT_FIELD}" in pointers and "/instances/29" in pointers
    assert "predictions" not in body


def test_batch_size_limits(server: Server, good_row: dict[str, Any]) -> None:
    too_many = server.post_json("/predict/batch", {"instances": [good_row] * 1001})
    body = _problem(too_many, 422)
    assert body["type"] == "urn:credit-glm:problem:batch-too-large"
    assert body["max_batch_rows"] == 1000
    empty = _problem(server.post_json("/predict/batch", {"instances": []}), 422)
    assert _errors(empty) == {("instances", "min_items")}


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ([], {("", "type")}),
        ({}, {("features", "required")}),
        ({"features": []}, {("features", "type")}),
        ({"features": {}, "other": 1}, {("other", "unknown_field")}),
    ],
)
def test_the_envelope_is_checked(server: Server, payload: Any,
                                 errors: set[tuple[str, str]]) -> None:
    body = _problem(server.post_json("/predict", payload), 422)
    assert errors <= _errors(body)


@pytest.mark.parametrize(
    "text", ["{", "{'features': 1}", "", "[1,]", "\u00ff\u00fe", "[" * 100_000, "1" * 5000])
def test_malformed_json_is_400(server: Server, text: str) -> None:
    body = _problem(_raw_predict(server, text), 400)
    assert body["type"] == "urn:credit-glm:problem:malformed-json"


def test_invalid_utf8_is_400(server: Server) -> None:
    reply = server.call("POST", "/predict", b'{"features": "\xff\xfe"}',
                        {"Content-Type": "application/json"})
    _problem(reply, 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          None])
def test_wrong_content_type_is_415(server: Server, good_row: dict[str, Any],
                                   content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    reply = server.call("POST", "/predict", b'{"features": {}}', headers)
    body = _problem(reply, 415)
    assert body["type"] == "urn:credit-glm:problem:unsupported-media-type"


def test_body_over_the_limit_is_413(server: Server) -> None:
    big = b'{"features": {"x": "' + b"a" * 1_100_000 + b'"}}'
    body = _problem(server.call("POST", "/predict", big, {"Content-Type": "application/json"}),
                    413)
    assert body["type"] == "urn:credit-glm:problem:payload-too-large"
    assert len(body["detail"]) < 200  # the input is never echoed


def test_chunked_body_over_the_limit_is_413(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"features": {"x": "'
        for _ in range(20):
            yield b"a" * 65_536
        yield b'"}}'

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/predict/batch", body=chunks(), encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()
    _problem(reply, 413)


def test_unknown_route_is_404_and_wrong_method_405(server: Server) -> None:
    body = _problem(server.call("GET", "/predict/nothing"), 404)
    assert body["instance"] == "/predict/nothing"
    reply = server.call("GET", "/predict")
    body = _problem(reply, 405)
    assert "POST" in reply.headers["allow"]
    _problem(server.call("DELETE", "/model/info"), 405)


def test_long_paths_and_names_are_not_echoed_whole(server: Server,
                                                   good_row: dict[str, Any]) -> None:
    body = _problem(server.call("GET", "/" + "x" * 3000), 404)
    assert len(body["instance"]) <= 200
    # past gunicorn's request-line limit gunicorn answers itself, as problem JSON too
    body = _problem(server.call("GET", "/" + "x" * 5000), 414)
    assert len(body["detail"]) <= 200
    body = _problem(server.post_json("/predict", {"features": {**good_row, "k" * 5000: 1}}),
                    422)
    assert all(len(e["field"]) <= 100 for e in body["errors"])


def test_no_worker_died_and_the_server_is_still_ready(server: Server,
                                                      good_row: dict[str, Any]) -> None:
    # runs after the abuse above (tests in a module run in order)
    assert server.call("GET", "/ready").status == 200
    last = server.post_json("/predict", {"features": good_row})
    assert last.status == 200
    log = server.error_log()
    assert log.count("Booting worker") == WORKERS
    assert "Traceback" not in log
    assert '"level": "error"' not in log
    statuses = {line["status"] for line in server.request_log(expect=[last.json()["request_id"]])}
    assert 500 not in statuses
