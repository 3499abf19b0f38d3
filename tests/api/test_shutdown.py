"""SIGTERM: /ready turns 503 first, requests keep being served while draining, every request
sent is answered, and the server exits 0."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import http_call, start_server

pytestmark = pytest.mark.slow


def test_sigterm_during_a_burst_loses_no_request(card_path: Path, tmp_path: Path,
                                                 good_row: dict[str, Any]) -> None:
    srv = start_server(tmp_path / "drain", card_path, "serving.workers=2", "serving.threads=2",
                       "serving.drain_seconds=1.5")
    body = json.dumps({"features": good_row}).encode()
    headers = {"Content-Type": "application/json"}
    stop_sending = threading.Event()
    results: list[tuple[float, int, str]] = []  # (time sent, status, error)
    lock = threading.Lock()
    ready_503_at: list[float] = []

    def client() -> None:
        while not stop_sending.is_set():
            sent = time.monotonic()
            try:
                reply = http_call(srv.port, "POST", "/predict", body, headers, timeout=30)
                ok = reply.status == 200 and "probability_of_default" in reply.json()
                outcome = (sent, reply.status, "" if ok else reply.body[:100].decode())
            except OSError as err:
                outcome = (sent, 0, repr(err))
            with lock:
                results.append(outcome)

    def balancer() -> None:
        # what a load balancer does: stop routing once /ready says 503
        while True:
            try:
                if http_call(srv.port, "GET", "/ready", timeout=5).status == 503:
                    ready_503_at.append(time.monotonic())
                    stop_sending.set()
                    return
            except OSError:
                stop_sending.set()
                return
            time.sleep(0.02)

    threads = [threading.Thread(target=client) for _ in range(6)]
    watcher = threading.Thread(target=balancer)
    try:
        for t in threads:
            t.start()
        watcher.start()
        time.sleep(1.0)
        term_at = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        watcher.join(timeout=30)
        for t in threads:
            t.join(timeout=30)
        code = srv.proc.wait(timeout=40)
    finally:
        stop_sending.set()
        srv.stop()
    assert ready_503_at, "/ready never answered 503 before the listeners closed"
    failures = [r for r in results if r[1] != 200 or r[2]]
    assert failures == []
    assert len(results) > 50
    assert any(sent > term_at for sent, _, _ in results)  # served while draining
    assert code == 0
    log = srv.error_log()
    assert "/ready now answers 503" in log
    assert "Traceback" not in log
