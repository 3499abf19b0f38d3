"""Every kind of bad input gets a JSON 4xx naming the rule; none gets a 500 or kills a worker."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credit_glm.config import MAX_BATCH_ROWS_LIMIT, MAX_BODY_BYTES_LIMIT, MAX_ERRORS_LIMIT
from tests.api.conftest import WORKERS, Reply, Server, start_server
from tests.conftest import run_cli

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


def _raw_predict(server: Server, text: str, path: str = "/predict") -> Reply:
    return server.call("POST", path, text.encode(), {"Content-Type": "application/json"})


def _parse_response(data: bytes) -> Reply:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    length = int(headers.get("content-length", len(body)))
    return Reply(int(lines[0].split()[1]), headers, body[:length])


def _raw_exchange(port: int, *parts: bytes, pause: float = 0.0, abort: bool = False) -> bytes:
    """Send ``parts`` on one connection (``pause`` seconds apart) and read until it closes;
    with ``abort`` the client closes its side after the last part without waiting."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for part in parts:
            sock.sendall(part)
            time.sleep(pause)
        if abort:
            sock.shutdown(socket.SHUT_WR)
            return b""
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def _chunked_head(path: str = "/predict") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()


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
    server: Server, good_row: dict[str, Any], change: str, field: str, rule: str, value: Any
) -> None:
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
def test_nan_and_infinity_are_422(server: Server, good_row: dict[str, Any], literal: str) -> None:
    text = str(good_row).replace("'", '"')
    text = text.replace(f'"{INT_FIELD}": {good_row[INT_FIELD]}', f'"{INT_FIELD}": {literal}')
    body = _problem(_raw_predict(server, '{"features": ' + text + "}"), 422)
    rule = "not_nullable" if literal == "NaN" else "type"  # pandas reads NaN as missing
    assert _errors(body) == {(INT_FIELD, rule)}
    assert body["errors"][0]["value"] == literal


def test_every_problem_of_a_request_is_listed_at_once(
    server: Server, good_row: dict[str, Any]
) -> None:
    features = {**good_row, INT_FIELD: 0, CATEGORY_FIELD: "spaceship", "extra": 1}
    del features["age_in_years"]
    body = _problem(server.post_json("/predict", {"features": features}), 422)
    assert _errors(body) == {
        (INT_FIELD, "min"),
        (CATEGORY_FIELD, "categories"),
        ("extra", "unknown_field"),
        ("age_in_years", "required"),
    }
    assert body["error_count"] == 4


def test_a_batch_with_bad_rows_is_rejected_whole_with_every_bad_row(
    server: Server, good_row: dict[str, Any]
) -> None:
    rows: list[Any] = [dict(good_row) for _ in range(30)]
    rows[3][INT_FIELD] = 6.9
    rows[17][CATEGORY_FIELD] = "spaceship"
    rows[17]["age_in_years"] = 200
    rows[29] = "not an object"
    body = _problem(server.post_json("/predict/batch", {"instances": rows}), 422)
    assert body["invalid_rows"] == [3, 17, 29]
    got = {(e["row"], e["field"], e["rule"]) for e in body["errors"]}
    assert got == {
        (3, INT_FIELD, "type"),
        (17, CATEGORY_FIELD, "categories"),
        (17, "age_in_years", "max"),
        (29, "", "not_an_object"),
    }
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
def test_the_envelope_is_checked(
    server: Server, payload: Any, errors: set[tuple[str, str]]
) -> None:
    body = _problem(server.post_json("/predict", payload), 422)
    assert errors <= _errors(body)


@pytest.mark.parametrize(
    "text", ["{", "{'features': 1}", "", "[1,]", "\u00ff\u00fe", "[" * 100_000, "1" * 5000]
)
def test_malformed_json_is_400(server: Server, text: str) -> None:
    body = _problem(_raw_predict(server, text), 400)
    assert body["type"] == "urn:credit-glm:problem:malformed-json"


def test_invalid_utf8_is_400(server: Server) -> None:
    reply = server.call(
        "POST", "/predict", b'{"features": "\xff\xfe"}', {"Content-Type": "application/json"}
    )
    _problem(reply, 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(
    server: Server, good_row: dict[str, Any], content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    reply = server.call("POST", "/predict", b'{"features": {}}', headers)
    body = _problem(reply, 415)
    assert body["type"] == "urn:credit-glm:problem:unsupported-media-type"


def test_body_over_the_limit_is_413(server: Server) -> None:
    big = b'{"features": {"x": "' + b"a" * 1_100_000 + b'"}}'
    body = _problem(server.call("POST", "/predict", big, {"Content-Type": "application/json"}), 413)
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
        conn.request(
            "POST",
            "/predict/batch",
            body=chunks(),
            encode_chunked=True,
            headers={"Content-Type": "application/json"},
        )
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


def test_long_paths_and_names_are_not_echoed_whole(
    server: Server, good_row: dict[str, Any]
) -> None:
    body = _problem(server.call("GET", "/" + "x" * 3000), 404)
    assert len(body["instance"]) <= 200
    # past gunicorn's request-line limit gunicorn answers itself, as problem JSON too
    body = _problem(server.call("GET", "/" + "x" * 5000), 414)
    assert len(body["detail"]) <= 200
    body = _problem(server.post_json("/predict", {"features": {**good_row, "k" * 5000: 1}}), 422)
    assert all(len(e["field"]) <= 100 for e in body["errors"])


# --- attacker-made 500s: each is a 4xx now --------------------------------------------------
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_a_lone_surrogate_key_is_a_422_echoed_as_its_escape(server: Server, path: str) -> None:
    envelope = "features" if path == "/predict" else "instances"
    member = "{}" if path == "/predict" else "[]"
    marker = f"surrogate-{envelope}"
    reply = server.call(
        "POST",
        path,
        f'{{"{envelope}": {member}, "\\ud800": 1}}'.encode(),
        {"Content-Type": "application/json", "X-Request-ID": marker},
    )
    body = _problem(reply, 422)
    reply.body.decode("utf-8")  # strict UTF-8: no lone surrogate was written
    assert ("\\ud800", "unknown_field") in _errors(body)
    line = {r["request_id"]: r for r in server.request_log(expect=[marker])}[marker]
    assert line["status"] == 422


def test_lone_surrogates_in_fields_and_values_are_echoed_safely(
    server: Server, good_row: dict[str, Any]
) -> None:
    # json.dumps writes a lone surrogate as its \u escape
    features = {**good_row, "purpose": "\udfff\ud800", "\ud800x": 1}
    body = _problem(server.post_json("/predict", {"features": features}), 422)
    by_field = {e["field"]: e for e in body["errors"]}
    assert by_field["purpose"]["rule"] == "type"
    assert by_field["purpose"]["value"] == "\\udfff\\ud800"
    assert by_field["\\ud800x"]["rule"] == "unknown_field"


def test_an_invalid_chunk_size_is_a_400(server: Server) -> None:
    reply = _parse_response(_raw_exchange(server.port, _chunked_head(), b"zz\r\n{}\r\n0\r\n\r\n"))
    _problem(reply, 400)


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_client_aborting_its_upload_is_no_5xx(server: Server, framing: str) -> None:
    if framing == "chunked":
        parts = [_chunked_head(), b'10\r\n{"features": {"a']
    else:
        parts = [
            b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            b"application/json\r\nContent-Length: 1000\r\n\r\n",
            b'{"features": {',
        ]
    _raw_exchange(server.port, *parts, pause=0.05, abort=True)
    assert server.call("GET", "/health").status == 200  # and nothing was logged as an error


@pytest.fixture(scope="module")
def streaming_server(tmp_path_factory: pytest.TempPathFactory, card_path: Path) -> Iterator[Server]:
    """A server with gunicorn's own gthread worker (``CREDIT_GLM_STOCK_WORKER=1``), which
    hands the app a body still arriving: body-reading errors then reach the app itself."""
    before = os.environ.get("CREDIT_GLM_STOCK_WORKER")
    os.environ["CREDIT_GLM_STOCK_WORKER"] = "1"  # read by the server at start (cli_env)
    try:
        srv = start_server(
            tmp_path_factory.mktemp("streaming"),
            card_path,
            "serving.workers=1",
            "serving.threads=2",
        )
    finally:
        if before is None:
            del os.environ["CREDIT_GLM_STOCK_WORKER"]
        else:
            os.environ["CREDIT_GLM_STOCK_WORKER"] = before
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_the_app_counts_an_aborted_upload_as_the_client_s_4xx(
    streaming_server: Server, framing: str
) -> None:
    marker = f"abort-{framing}"
    if framing == "chunked":
        head = _chunked_head().replace(b"\r\n\r\n", f"\r\nX-Request-ID: {marker}\r\n\r\n".encode())
        parts = [head, b'10\r\n{"features": {"a']
    else:
        parts = [
            b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            b"\r\nContent-Length: 1000\r\nX-Request-ID: " + marker.encode() + b"\r\n\r\n",
            b'{"features": {',
        ]
    _raw_exchange(streaming_server.port, *parts, pause=0.2, abort=True)
    line = {r["request_id"]: r for r in streaming_server.request_log(expect=[marker])}[marker]
    assert line["status"] == 400 and line["error"] == "client_aborted"


def test_the_app_answers_an_invalid_chunk_size_with_a_400(streaming_server: Server) -> None:
    reply = _parse_response(
        _raw_exchange(streaming_server.port, _chunked_head(), b"zz\r\n{}\r\n0\r\n\r\n")
    )
    body = _problem(reply, 400)
    assert "chunk" in body["detail"]


def test_the_streaming_server_logged_no_error(streaming_server: Server) -> None:
    assert streaming_server.call("GET", "/health").status == 200
    log = streaming_server.error_log()
    assert "Traceback" not in log and '"level": "error"' not in log
    statuses = {line["status"] for line in streaming_server.request_log()}
    assert not any(s >= 500 for s in statuses)


# --- duplicate keys, content codings, charsets, OPTIONS -------------------------------------
def test_duplicate_keys_are_a_400_naming_the_key(server: Server, good_row: dict[str, Any]) -> None:
    row = json.dumps(good_row)
    # an invalid value shadowed by a valid one must not pass
    shadowed = '{"features": ' + row[:-1] + ', "duration_in_month": 0, "duration_in_month": 12}}'
    body = _problem(_raw_predict(server, shadowed), 400)
    assert body["type"] == "urn:credit-glm:problem:duplicate-key"
    assert body["key"] == "duration_in_month" and "duration_in_month" in body["detail"]
    twice = '{"instances": [' + row + '], "instances": [' + row + "]}"
    body = _problem(_raw_predict(server, twice, "/predict/batch"), 400)
    assert body["key"] == "instances"


def test_a_content_encoding_other_than_identity_is_415(
    server: Server, good_row: dict[str, Any]
) -> None:
    data = json.dumps({"features": good_row}).encode()
    reply = server.call(
        "POST",
        "/predict",
        gzip.compress(data),
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    body = _problem(reply, 415)
    assert "gzip" in body["detail"]
    assert reply.headers["accept-encoding"] == "identity"
    identity = server.call(
        "POST",
        "/predict",
        data,
        {"Content-Type": "application/json", "Content-Encoding": "identity"},
    )
    assert identity.status == 200


@pytest.mark.parametrize(
    ("charset", "status"), [("latin-1", 415), ("utf-16", 415), ("UTF-8", 200), ('"utf-8"', 200)]
)
def test_a_charset_other_than_utf8_is_415(
    server: Server, good_row: dict[str, Any], charset: str, status: int
) -> None:
    reply = server.call(
        "POST",
        "/predict",
        json.dumps({"features": good_row}).encode(),
        {"Content-Type": f"application/json; charset={charset}"},
    )
    if status == 415:
        assert charset in _problem(reply, 415)["detail"]
    else:
        assert reply.status == 200, reply.body[:300]


@pytest.mark.parametrize(
    ("path", "methods"),
    [("/predict", {"POST", "OPTIONS"}), ("/health", {"GET", "HEAD", "OPTIONS"})],
)
def test_options_is_answered_in_json(server: Server, path: str, methods: set[str]) -> None:
    reply = server.call("OPTIONS", path)
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert set(reply.json()["allow"]) == methods
    assert {m.strip() for m in reply.headers["allow"].split(",")} == methods
    _problem(server.call("OPTIONS", "/nowhere"), 404)


# --- bounded work -----------------------------------------------------------------------------
def test_fifty_thousand_unknown_keys_are_one_error(server: Server) -> None:
    features = {f"k{i:06d}": 1 for i in range(50_000)}
    reply = server.post_json("/predict", {"features": features})
    body = _problem(reply, 422)
    unknown = [e for e in body["errors"] if e["rule"] == "unknown_field"]
    assert len(unknown) == 1
    assert unknown[0]["count"] == 50_000 and unknown[0]["pointer"] == "/features"
    assert unknown[0]["fields"] == ["k000000", "k000001", "k000002", "k000003", "k000004"]
    assert "50000 unknown fields" in unknown[0]["message"]
    assert body["error_count"] >= 50_000
    assert len(reply.body) < 10_000  # nothing like one entry per key
    top = _problem(server.post_json("/predict/batch", {"instances": [], **features}), 422)
    assert [e["count"] for e in top["errors"] if e["rule"] == "unknown_field"] == [50_000]


def test_a_body_of_more_objects_than_any_valid_request_is_refused_while_parsing(
    server: Server, good_row: dict[str, Any]
) -> None:
    text = json.dumps({"features": {**good_row, "purpose": [{}] * 5000}})
    body = _problem(_raw_predict(server, text), 422)
    assert body["type"] == "urn:credit-glm:problem:too-many-objects"
    assert body["max_objects"] == 1000 + 100 + 1  # rows, listed errors, the envelope
    assert "serving.max_batch_rows" in body["detail"]
    # a few nested objects are still each field's type error
    body = _problem(server.post_json("/predict", {"features": {**good_row, "purpose": {}}}), 422)
    assert _errors(body) == {("purpose", "type")}


def test_validation_stops_at_max_errors(server: Server, good_row: dict[str, Any]) -> None:
    def wrong(value: Any) -> Any:
        return 10**6 if isinstance(value, int) else "not a category"

    rows = [{k: wrong(v) for k, v in good_row.items()} for _ in range(1000)]
    body = _problem(server.post_json("/predict/batch", {"instances": rows}), 422)
    assert len(body["errors"]) == 100  # serving.max_errors
    assert body["errors_truncated"] is True and body["validation_complete"] is False
    assert body["error_count"] >= 100
    assert body["detail"].startswith("at least") and "serving.max_errors (100)" in body["detail"]
    assert body["invalid_rows"] == list(range(len(body["invalid_rows"])))
    assert len(body["invalid_rows"]) < 1000
    # few errors: every one is listed and validation is complete
    rows = [dict(good_row) for _ in range(1000)]
    rows[998]["age_in_years"] = 500
    body = _problem(server.post_json("/predict/batch", {"instances": rows}), 422)
    assert body["error_count"] == 1 and "validation_complete" not in body
    assert "errors_truncated" not in body


def test_request_timeout_is_a_503_and_frees_the_worker(
    tmp_path: Path, card_path: Path, good_row: dict[str, Any]
) -> None:
    srv = start_server(
        tmp_path,
        card_path,
        "serving.workers=1",
        "serving.threads=1",
        "serving.request_timeout=0.000001",
    )
    try:
        rows = [dict(good_row) for _ in range(1000)]
        for _ in range(3):  # the one thread is free again after each
            reply = srv.post_json("/predict/batch", {"instances": rows})
            body = _problem(reply, 503)
            assert body["type"] == "urn:credit-glm:problem:timeout"
            assert "serving.request_timeout" in body["detail"]
            assert int(reply.headers["retry-after"]) >= 1
        assert srv.call("GET", "/ready").status == 200
        rid = reply.headers["x-request-id"]
        line = {r["request_id"]: r for r in srv.request_log(expect=[rid])}[rid]
        assert line["status"] == 503 and line["error"] == "timeout"
        assert "Traceback" not in srv.error_log()
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("key", "limit"),
    [
        ("max_body_bytes", MAX_BODY_BYTES_LIMIT),
        ("max_batch_rows", MAX_BATCH_ROWS_LIMIT),
        ("max_errors", MAX_ERRORS_LIMIT),
    ],
)
def test_limits_above_their_upper_bound_are_refused_by_the_cli(
    tmp_path: Path, card_path: Path, key: str, limit: int
) -> None:
    result = run_cli(
        [
            "mode=serve",
            f"serving.model_path={card_path}",
            f"serving.{key}={limit + 1}",
            f"hydra.run.dir={tmp_path / 'outputs'}",
        ],
        tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"serving.{key}" in result.stderr
    assert str(limit) in result.stderr
    assert "Traceback" not in result.stderr


def test_no_worker_died_and_the_server_is_still_ready(
    server: Server, good_row: dict[str, Any]
) -> None:
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
