"""SIGTERM: /ready turns 503 first, requests keep being served while draining, every request
sent is answered, and the server exits 0. Also under new-connection-per-request load that
goes on through the close, signalling the master alone or the whole process group: no
connection the kernel accepted is reset (connections refused once the listeners are closing
are fine), and workers signalled directly drain too."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Server, http_call, start_server

pytestmark = pytest.mark.slow


def test_sigterm_during_a_burst_loses_no_request(
    card_path: Path, tmp_path: Path, good_row: dict[str, Any]
) -> None:
    srv = start_server(
        tmp_path / "drain",
        card_path,
        "serving.workers=2",
        "serving.threads=2",
        "serving.drain_seconds=1.5",
    )
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


def _one_request(port: int, body: bytes) -> tuple[float, str]:
    """``(time sent, outcome)``: ``ok``, ``refused`` (never accepted: fine once the listeners
    are closing) or what went wrong with a request the server had accepted."""
    sent = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        try:
            conn.connect()
        except (ConnectionRefusedError, TimeoutError):
            return sent, "refused"
        except OSError as err:
            return sent, f"lost: connecting: {err!r}"
        try:
            conn.request(
                "POST", "/predict", body=body, headers={"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as err:
            return sent, f"lost: {err!r}"
        if resp.status != 200 or b"probability_of_default" not in data:
            return sent, f"lost: {resp.status} {data[:100]!r}"
        return sent, "ok"
    finally:
        conn.close()


def _load_through_shutdown(
    srv: Server, body: bytes, stop: Callable[[], None], clients: int = 4
) -> tuple[list[tuple[float, str]], float, int]:
    """New-connection-per-request load from ``clients`` threads, across ``stop()`` and until
    the server exits (each thread ends at its first refused connection after the stop, or
    after 40 s); ``(results, time of the stop, exit code)``."""
    results: list[tuple[float, str]] = []
    lock = threading.Lock()
    stopped = threading.Event()
    give_up = time.monotonic() + 40

    def client() -> None:
        while time.monotonic() < give_up and srv.proc.poll() is None:
            outcome = _one_request(srv.port, body)
            with lock:
                results.append(outcome)
            if outcome[1] == "refused" and stopped.is_set():
                return

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    term_at = time.monotonic()
    stop()
    stopped.set()
    code = srv.proc.wait(timeout=45)
    for t in threads:
        t.join(timeout=30)
    return results, term_at, code


@pytest.mark.parametrize("reuse_port", ["true", "false"])
def test_sigterm_to_the_master_resets_no_accepted_connection(
    card_path: Path, tmp_path: Path, good_row: dict[str, Any], reuse_port: str
) -> None:
    srv = start_server(
        tmp_path / "master",
        card_path,
        "serving.workers=2",
        "serving.threads=2",
        "serving.drain_seconds=1",
        f"serving.reuse_port={reuse_port}",
    )
    body = json.dumps({"features": good_row}).encode()
    try:
        results, term_at, code = _load_through_shutdown(
            srv, body, lambda: srv.proc.send_signal(signal.SIGTERM)
        )
    finally:
        srv.stop()
    lost = [outcome for _, outcome in results if outcome.startswith("lost")]
    assert lost == []
    served_after = [s for s, outcome in results if outcome == "ok" and s > term_at]
    assert len(served_after) > 5  # the drain served new connections
    assert code == 0
    assert "Traceback" not in srv.error_log()


def test_sigterm_to_the_process_group_drains_every_worker(
    card_path: Path, tmp_path: Path, good_row: dict[str, Any]
) -> None:
    srv = start_server(
        tmp_path / "group",
        card_path,
        "serving.workers=2",
        "serving.threads=2",
        "serving.drain_seconds=1.5",
        own_session=True,
    )
    body = json.dumps({"features": good_row}).encode()
    ready: list[tuple[float, int]] = []

    def kill_group() -> None:
        os.killpg(srv.proc.pid, signal.SIGTERM)
        for _ in range(5):  # /ready while draining
            try:
                ready.append((time.monotonic(), srv.call("GET", "/ready", timeout=5).status))
            except OSError:
                pass
            time.sleep(0.1)

    try:
        results, term_at, code = _load_through_shutdown(srv, body, kill_group)
    finally:
        srv.stop()
    lost = [outcome for _, outcome in results if outcome.startswith("lost")]
    assert lost == []
    assert ready and all(status == 503 for _, status in ready)
    # the workers kept serving new connections during the drain instead of exiting at once
    assert [s for s, outcome in results if outcome == "ok" and s > term_at + 1.0]
    assert code == 0
    log = srv.error_log()
    assert "this worker's /ready now answers 503" in log
    assert "Traceback" not in log
