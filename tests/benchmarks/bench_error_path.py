"""CPU cost per KB of body of rejected requests against accepted ones, in one run (not a test).

The error path must cost at most 3x the valid path per byte of body, so that an attacker
sending invalid bodies ties up no more worker time per byte than a client sending valid ones.
Each request goes through the real app (:func:`credit_glm.service.app.create_app`: the
bookkeeping middleware, body reading, strict JSON parsing, validation, scoring or the problem
body) with Flask's test client, in this process; the cost is the thread's CPU time
(``time.thread_time``), which a busy machine disturbs much less than wall time. The cases are
measured interleaved, round after round, and the median of each is reported:

- ``valid batch``: 1,000 valid rows on ``/predict/batch`` (the reference);
- ``valid predict``: one valid row on ``/predict`` (small bodies cost more per byte);
- ``unknown keys``: ``/predict`` with 50,000 undeclared fields (about 700 KB);
- ``unknown keys per row``: 1,000 rows, each with its fields and 10 undeclared ones;
- ``every field wrong``: 1,000 rows, every field out of range or not a declared category;
- ``wrong types``: 1,000 rows, every field of the wrong JSON type;
- ``duplicate key``: the valid batch with a key repeated in its last row;
- ``bad last row``: 999 valid rows and one invalid one at the end;
- ``empty arrays``: a field holding 340,000 empty arrays (1 MB: the garbage collector's worst
  case, paused during requests);
- ``empty objects``: a field holding 340,000 empty objects (parsing stops past the most objects
  a valid request holds);
- ``rows of arrays``: 250,000 rows, each ``[1]``.

With ``--server`` the same bodies go over HTTP (one kept-alive connection) to the real server
(``python -m credit_glm mode=serve``, one worker, one thread), and the cost is the CPU time the
server's processes spent (``/proc``, 10 ms ticks: ``--requests`` per case and round).

Usage::

    python tests/benchmarks/bench_error_path.py [--rounds 15] [--model models/glm_model.json]
        [--max-errors 100] [--server [--requests 20]]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service import _train  # noqa: E402  (the same trained card for every service benchmark)

TARGET = 3.0


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children (the workers, admin)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def _served(
    card: Path, workdir: Path, max_errors: int
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "credit_glm",
            "mode=serve",
            f"serving.port={port}",
            f"serving.model_path={card}",
            "serving.workers=1",
            "serving.threads=1",
            "serving.admin_port=0",
            "serving.drain_seconds=0",
            f"serving.max_errors={max_errors}",
            f"serving.metrics_dir={workdir / 'metrics'}",
            f"hydra.run.dir={workdir / 'serve'}",
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/ready")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not become ready; see server.log")
            time.sleep(0.2)
        yield proc, port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def _wrong(value: Any) -> Any:
    # out of range for a number, undeclared for a category
    return 10**9 if isinstance(value, int) else "not a declared category"


def _wrong_type(value: Any) -> Any:
    return "24" if isinstance(value, int) else [value]


def cases(row: dict[str, Any]) -> dict[str, tuple[str, bytes, int]]:
    """name -> (path, body, expected status)."""
    rows = [{**row, "duration_in_month": 1 + i % 72} for i in range(1000)]
    batch = json.dumps({"instances": rows})
    last = json.dumps(rows[-1])
    duplicated = batch[: -len(last) - 2] + last[:-1] + ', "duration_in_month": 12}]}'
    return {
        "valid batch": ("/predict/batch", batch.encode(), 200),
        "valid predict": ("/predict", json.dumps({"features": row}).encode(), 200),
        "unknown keys": (
            "/predict",
            json.dumps({"features": {f"k{i:06d}": 1 for i in range(50_000)}}).encode(),
            422,
        ),
        "unknown keys per row": (
            "/predict/batch",
            json.dumps(
                {"instances": [{**r, **{f"extra_{j}": j for j in range(10)}} for r in rows]}
            ).encode(),
            422,
        ),
        "every field wrong": (
            "/predict/batch",
            json.dumps(
                {"instances": [{k: _wrong(v) for k, v in r.items()} for r in rows]}
            ).encode(),
            422,
        ),
        "wrong types": (
            "/predict/batch",
            json.dumps(
                {"instances": [{k: _wrong_type(v) for k, v in r.items()} for r in rows]}
            ).encode(),
            422,
        ),
        "duplicate key": ("/predict/batch", duplicated.encode(), 400),
        "bad last row": (
            "/predict/batch",
            json.dumps({"instances": [*rows[:-1], {**rows[-1], "age_in_years": 500}]}).encode(),
            422,
        ),
        "empty arrays": (
            "/predict",
            ('{"features": {"purpose": [' + ",".join(["[]"] * 340_000) + "]}}").encode(),
            422,
        ),
        "empty objects": (
            "/predict",
            ('{"features": {"purpose": [' + ",".join(["{}"] * 340_000) + "]}}").encode(),
            422,
        ),
        "rows of arrays": (
            "/predict/batch",
            ('{"instances": [' + ",".join(["[1]"] * 250_000) + "]}").encode(),
            422,
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--model", type=Path, help="a model card (default: train one)")
    parser.add_argument("--max-errors", type=int, default=100, help="serving.max_errors")
    parser.add_argument("--server", action="store_true", help="over HTTP, to the real server")
    parser.add_argument(
        "--requests", type=int, default=20, help="with --server: requests per case and round"
    )
    args = parser.parse_args()
    if args.server:
        return _main_server(args)

    from credit_glm.config import ServingConfig
    from credit_glm.service.app import create_app
    from credit_glm.service.model import served_model_from_card

    with tempfile.TemporaryDirectory(prefix="bench-error-path-") as tmp:
        card_path = args.model.resolve() if args.model else _train(Path(tmp))
        card = json.loads(card_path.read_text(encoding="utf-8"))
    settings = ServingConfig(max_errors=args.max_errors)
    app = create_app(served_model_from_card(card, settings), settings)
    client = app.test_client()
    bodies = cases(dict(card["self_check"]["features"]))

    def request(path: str, body: bytes, status: int) -> Callable[[], float]:
        def run() -> float:
            t0 = time.thread_time()
            reply = client.post(path, data=body, content_type="application/json")
            spent = time.thread_time() - t0
            if reply.status_code != status:
                raise RuntimeError(
                    f"{path}: {reply.status_code}, expected {status}: {reply.data[:300]!r}"
                )
            return spent

        return run

    runs = {name: request(*spec) for name, spec in bodies.items()}
    for run in runs.values():  # warm-up
        run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            seconds[name].append(min(run() for _ in range(3)))
    print(
        f"CPU time per request in-process (thread_time; median over {args.rounds} rounds of "
        f"the best of 3), serving.max_errors={args.max_errors}"
    )
    return _report(bodies, seconds)


def _main_server(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-error-path-") as tmp:
        work = Path(tmp)
        card_path = args.model.resolve() if args.model else _train(work)
        card = json.loads(card_path.read_text(encoding="utf-8"))
        bodies = cases(dict(card["self_check"]["features"]))
        with _served(card_path, work, args.max_errors) as (proc, port):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

            def send(path: str, body: bytes, status: int) -> None:
                conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                reply = conn.getresponse()
                data = reply.read()
                if reply.status != status:
                    raise RuntimeError(f"{path}: {reply.status}, expected {status}: {data[:300]!r}")

            for spec in bodies.values():  # warm-up
                send(*spec)
            seconds: dict[str, list[float]] = {name: [] for name in bodies}
            for _ in range(args.rounds):
                for name, spec in bodies.items():
                    before = _server_cpu(proc.pid)
                    for _ in range(args.requests):
                        send(*spec)
                    seconds[name].append((_server_cpu(proc.pid) - before) / args.requests)
            conn.close()
    print(
        f"server CPU time per request over HTTP (1 worker, 1 thread; median over "
        f"{args.rounds} rounds of {args.requests} requests), "
        f"serving.max_errors={args.max_errors}"
    )
    return _report(bodies, seconds)


def _report(bodies: dict[str, tuple[str, bytes, int]], seconds: dict[str, list[float]]) -> int:
    per_kb = {
        name: statistics.median(s) * 1e6 / (len(bodies[name][1]) / 1024)
        for name, s in seconds.items()
    }
    reference = per_kb["valid batch"]
    print(
        f"{'case':24s} {'status':>6s} {'body KB':>9s} {'ms':>8s} {'us/KB':>8s} "
        f"{'x valid batch':>14s}"
    )
    worst = 0.0
    for name, (_, body, status) in bodies.items():
        ratio = per_kb[name] / reference
        if status != 200:
            worst = max(worst, ratio)
        print(
            f"{name:24s} {status:6d} {len(body) / 1024:9.1f} "
            f"{statistics.median(seconds[name]) * 1e3:8.2f} {per_kb[name]:8.2f} {ratio:14.2f}"
        )
    verdict = "OK" if worst <= TARGET else "OVER"
    print(
        f"worst error path: {worst:.2f}x the valid batch per KB (target <= {TARGET:g}x): {verdict}"
    )
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
