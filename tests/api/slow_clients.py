"""A bounded slow-client attack on 127.0.0.1, and well-behaved clients measured beside it.

Shared by ``tests/api/test_slow_clients.py`` and ``tests/benchmarks/bench_slow_clients.py``.
The attackers are driven by one thread over non-blocking sockets (100 slowloris connections
cost one thread, not 100): ``stalled_bodies`` connections send a ``Content-Length`` 1,000
bytes larger than the body they send, ``open_headers`` send an unfinished header block, and
``slowloris`` send a never-ending header block one byte every 0.5-1 s. A connection the server
closes is opened again at once, so the attack stays at full strength for its whole duration.
"""

from __future__ import annotations

import http.client
import random
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field

__all__ = ["AttackResult", "run_attack"]

_ALIVE_SLOWLORIS_HEADER = b"X-Slow: " + b"a" * 60 + b"\r\n"


@dataclass
class _Attacker:
    kind: str
    payload: bytes  # sent at once ("stalled_body", "open_headers") or byte by byte
    sock: socket.socket | None = None
    sent: int = 0
    next_send: float = 0.0
    received: bytes = b""


@dataclass
class AttackResult:
    """What the well-behaved clients got, and how the server ended the attack connections."""

    good_total: int = 0
    good_ok: int = 0  # 200 within the per-request bound
    good_latencies: list[float] = field(default_factory=list)
    good_failures: list[str] = field(default_factory=list)
    # per attacker kind: connections the server closed, and how many of them after a 408
    closed: dict[str, int] = field(default_factory=dict)
    closed_with_408: dict[str, int] = field(default_factory=dict)
    other_answers: list[bytes] = field(default_factory=list)
    open_at_end: int = 0

    @property
    def good_share(self) -> float:
        return self.good_ok / self.good_total if self.good_total else 0.0


def _payloads(body: bytes, kind: str) -> bytes:
    head = b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    if kind == "stalled_body":
        return head + b"Content-Length: %d\r\n\r\n" % (len(body) + 1000) + body
    if kind == "open_headers":
        return head + b"X-Unfinished: yes\r\n"
    return head + _ALIVE_SLOWLORIS_HEADER * 1000  # slowloris: far more than it can send


def _attack_loop(
    port: int,
    attackers: list[_Attacker],
    stop: threading.Event,
    result: AttackResult,
    rng: random.Random,
) -> None:
    sel = selectors.DefaultSelector()

    def connect(a: _Attacker) -> None:
        a.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        a.sock.setblocking(False)
        a.sent, a.received = 0, b""
        if a.kind == "slowloris":
            a.next_send = time.monotonic() + rng.uniform(0.5, 1.0)
            a.sock.send(a.payload[:1])
            a.sent = 1
        else:
            _send_all(a.sock, a.payload)
            a.sent = len(a.payload)
        sel.register(a.sock, selectors.EVENT_READ, a)

    def closed(a: _Attacker) -> None:
        assert a.sock is not None
        sel.unregister(a.sock)
        a.sock.close()
        a.sock = None
        result.closed[a.kind] = result.closed.get(a.kind, 0) + 1
        if a.received.startswith(b"HTTP/1.1 408 "):
            result.closed_with_408[a.kind] = result.closed_with_408.get(a.kind, 0) + 1
        elif a.received:
            result.other_answers.append(a.received[:200])

    for a in attackers:
        connect(a)
    try:
        while not stop.is_set():
            for key, _ in sel.select(timeout=0.05):
                a = key.data
                try:
                    data = a.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    a.received += data
                    continue
                closed(a)
                if not stop.is_set():
                    connect(a)
            now = time.monotonic()
            for a in attackers:
                if (
                    a.kind == "slowloris"
                    and a.sock is not None
                    and now >= a.next_send
                    and a.sent < len(a.payload)
                ):
                    try:
                        a.sock.send(a.payload[a.sent : a.sent + 1])
                        a.sent += 1
                    except OSError:
                        pass  # closed by the server: the read side notices
                    a.next_send = now + rng.uniform(0.5, 1.0)
    finally:
        for a in attackers:
            if a.sock is not None:
                result.open_at_end += 1
                a.sock.close()
        sel.close()


def _send_all(sock: socket.socket, data: bytes) -> None:
    sock.setblocking(True)
    sock.sendall(data)
    sock.setblocking(False)


def _good_client(
    port: int,
    body: bytes,
    bound: float,
    stop: threading.Event,
    result: AttackResult,
    lock: threading.Lock,
) -> None:
    headers = {"Content-Type": "application/json"}
    while not stop.is_set():
        started = time.monotonic()
        failure = ""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=bound)
        try:
            conn.request("POST", "/predict", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200 or b"probability_of_default" not in data:
                failure = f"{resp.status} {data[:100]!r}"
        except OSError as err:
            failure = repr(err)
        finally:
            conn.close()
        elapsed = time.monotonic() - started
        if not failure and elapsed > bound:
            failure = f"took {elapsed:.2f} s"
        with lock:
            result.good_total += 1
            result.good_latencies.append(elapsed)
            if failure:
                result.good_failures.append(failure)
            else:
                result.good_ok += 1
        time.sleep(0.02)


def run_attack(
    port: int,
    body: bytes,
    duration: float,
    *,
    stalled_bodies: int = 2,
    open_headers: int = 4,
    slowloris: int = 100,
    good_clients: int = 4,
    bound: float = 3.0,
    seed: int = 0,
) -> AttackResult:
    """Attack ``127.0.0.1:port`` for ``duration`` seconds while ``good_clients`` threads send
    ``/predict`` requests (one connection each), each counted good if a 200 within ``bound``.

    The attack connections open first (and a second passes) before the good clients start.
    """
    rng = random.Random(seed)
    attackers = [
        _Attacker(kind, _payloads(body, kind))
        for kind, n in (
            ("stalled_body", stalled_bodies),
            ("open_headers", open_headers),
            ("slowloris", slowloris),
        )
        for _ in range(n)
    ]
    result = AttackResult()
    stop_attack, stop_good = threading.Event(), threading.Event()
    lock = threading.Lock()
    attack = threading.Thread(target=_attack_loop, args=(port, attackers, stop_attack, result, rng))
    good = [
        threading.Thread(target=_good_client, args=(port, body, bound, stop_good, result, lock))
        for _ in range(good_clients)
    ]
    attack.start()
    try:
        time.sleep(1.0)
        for t in good:
            t.start()
        time.sleep(duration)
    finally:
        stop_good.set()
        for t in good:
            if t.is_alive():
                t.join(timeout=bound + 5)
        stop_attack.set()
        attack.join(timeout=10)
    return result
