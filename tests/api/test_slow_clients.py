"""Slow clients cannot starve the others: requests are read whole off the scoring threads,
under ``serving.header_timeout`` / ``serving.body_timeout``, and a client past them gets a 408
problem and is disconnected. Every attack is bounded in connections and time, on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Server, start_server
from tests.api.slow_clients import run_attack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory, card_path: Path) -> Iterator[Server]:
    """2 workers x 1 thread: two blocked threads would stop all scoring."""
    srv = start_server(
        tmp_path_factory.mktemp("slow"),
        card_path,
        "serving.workers=2",
        "serving.threads=1",
        "serving.header_timeout=2",
        "serving.body_timeout=2",
        "serving.keepalive=2",
    )
    try:
        yield srv
    finally:
        srv.stop()


def _request(good_row: dict[str, Any]) -> tuple[bytes, bytes]:
    body = json.dumps({"features": good_row}).encode()
    head = (
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    return head, body


def _read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _problem(answer: bytes) -> tuple[str, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    parsed: dict[str, Any] = json.loads(body)
    return head.decode("latin-1"), parsed


def test_scoring_goes_on_beside_stalled_and_slowloris_clients(
    small_server: Server, good_row: dict[str, Any]
) -> None:
    body = json.dumps({"features": good_row}).encode()
    result = run_attack(
        small_server.port,
        body,
        duration=8.0,
        stalled_bodies=2,
        open_headers=4,
        slowloris=100,
        good_clients=4,
        bound=3.0,
    )
    assert result.good_total >= 20
    assert result.good_share >= 0.95, result.good_failures[:5]
    # every attack connection the server ended was answered 408 first; with 2 s deadlines over
    # 9 s, each of the 106 was ended (and reopened) at least once
    for kind, opened in (("stalled_body", 2), ("open_headers", 4), ("slowloris", 100)):
        assert result.closed.get(kind, 0) >= opened, (kind, result.closed)
        assert result.closed_with_408.get(kind, 0) == result.closed[kind], kind
    assert result.other_answers == []
    assert "Traceback" not in small_server.error_log()


def test_a_stalled_body_gets_a_408_problem_and_is_closed(
    small_server: Server, good_row: dict[str, Any]
) -> None:
    head, body = _request(good_row)
    stalled = head.replace(
        b"Content-Length: %d" % len(body), b"Content-Length: %d" % (len(body) + 1000)
    )
    with socket.create_connection(("127.0.0.1", small_server.port)) as sock:
        sock.sendall(stalled + body)
        answer = _read_until_closed(sock, timeout=15)  # returns once the server closes
    status, problem = _problem(answer)
    assert status.startswith("HTTP/1.1 408 ")
    assert "content-type: application/problem+json" in status.lower()
    assert problem["status"] == 408
    assert "serving.body_timeout" in problem["detail"]


def test_an_unfinished_header_block_gets_a_408_problem(small_server: Server) -> None:
    with socket.create_connection(("127.0.0.1", small_server.port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer = _read_until_closed(sock, timeout=15)
    status, problem = _problem(answer)
    assert status.startswith("HTTP/1.1 408 ")
    assert "serving.header_timeout" in problem["detail"]


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(small_server: Server) -> None:
    with socket.create_connection(("127.0.0.1", small_server.port)) as sock:
        assert _read_until_closed(sock, timeout=15) == b""


def test_a_body_over_the_limit_is_refused_before_it_is_sent(small_server: Server) -> None:
    with socket.create_connection(("127.0.0.1", small_server.port)) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n"
        )
        answer = _read_until_closed(sock, timeout=15)
    status, problem = _problem(answer)
    assert status.startswith("HTTP/1.1 413 ")
    assert "serving.max_body_bytes" in problem["detail"]


def test_pipelined_and_kept_alive_requests_are_all_answered(
    small_server: Server, good_row: dict[str, Any]
) -> None:
    head, body = _request(good_row)
    with socket.create_connection(("127.0.0.1", small_server.port)) as sock:
        sock.sendall((head + body) * 3)  # three requests in one write
        sock.settimeout(15)
        data = b""
        while data.count(b"probability_of_default") < 3:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        # the connection stays open for a fourth, sent in pieces
        sock.sendall(head)
        time.sleep(0.2)
        sock.sendall(body)
        while data.count(b"probability_of_default") < 4:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    assert data.count(b"HTTP/1.1 200 ") == 4


def test_expect_100_continue_and_a_chunked_body(
    small_server: Server, good_row: dict[str, Any]
) -> None:
    head, body = _request(good_row)
    with socket.create_connection(("127.0.0.1", small_server.port)) as sock:
        sock.settimeout(15)
        sock.sendall(head[:-2] + b"Expect: 100-continue\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 200 ") and b"HTTP/1.1 100" not in reply
    chunked = (
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
        b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    half = len(body) // 2
    pieces = [b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:half], body[half:])]
    with socket.create_connection(("127.0.0.1", small_server.port)) as sock:
        sock.settimeout(15)
        sock.sendall(chunked + pieces[0])
        time.sleep(0.2)
        sock.sendall(pieces[1] + b"0\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
