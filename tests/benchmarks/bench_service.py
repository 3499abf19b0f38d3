"""Throughput and latency of the scoring service against bare-Flask floors (not a test).

Runs wrk on loopback against the real server (``python -m credit_glm mode=serve``: gunicorn,
full validation, Prometheus metrics, health signals, one JSON log line per request) and, in the
same run, against bare Flask endpoints under identical gunicorn settings
(:func:`credit_glm.service.gunicorn_app.gunicorn_options` of the same ``serving`` values): the
floors. ``/predict`` of the floor returns a constant; ``/predict/batch`` of the floor parses the
body with the standard ``json`` module and returns a constant prediction per row, encoded with
``json.dumps``. Both servers receive the same bodies: one row (the card's self-check row) and
1,000 distinct rows (the German credit data set, typed as that row); the service also the same
1,000 rows with ``"reason_codes": false`` (no reason records in the response). Rounds alternate
floor and service, single and batch; medians of the undisturbed rounds are reported.

Before that, in a separate process with multiprocess metrics, two in-process comparisons that
justify the service's code: the request-body parser (msgspec fast path against the standard
module alone, :mod:`credit_glm.service.body`) and the bulk histogram observation
(:func:`credit_glm.service.metrics.observe_many` against ``observe`` per value).

Targets: ``/predict`` at least 85% of the floor's requests/s with a p99 no worse than twice the
floor's; ``/predict/batch`` at least the batch floor's rows/s.

Usage (needs ``wrk``: ``apt-get install -y wrk``)::

    python tests/benchmarks/bench_service.py [--duration 6] [--connections 16] [--workers 2]
        [--threads 1] [--rounds 5] [--model models/glm_model.json] [--variant NAME=DIR ...]
        [--scrape-flood 16]

``--variant NAME=DIR`` also serves the ``credit_glm`` package found in ``DIR`` (put first on
``PYTHONPATH``: e.g. ``git archive <commit> | tar -x -C DIR``, with ``conf/``), with a card that
package trains itself (an older package may not read a newer card), and measures its
``/predict`` and ``/predict/batch`` in the same alternating rounds, so two implementations are
compared in one run on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

_LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
end
"""


_JSON = "application/json"


def distinct_rows(card: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """``n`` distinct rows of the German credit data set, as the card's self-check row types
    them (its columns; integers where it has integers)."""
    import csv

    import credit_glm.datasets

    template = card["self_check"]["features"]
    path = Path(credit_glm.datasets.__file__).parent / "german_credit.csv"
    with path.open(newline="") as fh:
        rows = [
            {k: int(r[k]) if isinstance(v, int) else r[k] for k, v in template.items()}
            for r in csv.DictReader(fh)
        ]
    unique = list({json.dumps(r, sort_keys=True): r for r in rows}.values())
    if len(unique) < n:
        raise RuntimeError(f"the data set has {len(unique)} distinct rows, not {n}")
    return unique[:n]


def micro(card_path: Path) -> None:
    """In-process comparisons (run in a child with ``PROMETHEUS_MULTIPROC_DIR`` set)."""
    import timeit

    import numpy as np

    from credit_glm.service import metrics as m
    from credit_glm.service.body import exact_json, parse_json

    card = json.loads(card_path.read_text())
    single = json.dumps({"features": card["self_check"]["features"]}).encode()
    batch = json.dumps({"instances": distinct_rows(card, 1000)}).encode()

    def best(fn: Any, number: int) -> float:
        return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6

    for name, raw, number in (("1 row", single, 5000), ("1,000 rows", batch, 20)):
        exact = best(lambda raw=raw: exact_json(raw, 1101), number)
        fast = best(lambda raw=raw: parse_json(raw, 1101), number)
        print(
            f"parse {name:<10} ({len(raw):>7} bytes): standard json {exact:8.1f} us, "
            f"service {fast:8.1f} us ({exact / fast:.1f}x)"
        )
    p = np.random.default_rng(0).random(1000)
    histogram = m.Histogram("bench_pd", "bench", buckets=m.PD_BUCKETS)

    def per_value() -> None:
        for v in p.tolist():
            histogram.observe(v)

    one = best(per_value, 5)
    bulk = best(lambda: m.observe_many(histogram, p), 5)
    print(
        f"observe 1,000 scores, multiprocess: observe per value {one:8.1f} us, "
        f"observe_many {bulk:8.1f} us ({one / bulk:.0f}x)",
        flush=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _train(workdir: Path, env: dict[str, str] | None = None) -> Path:
    """The default German credit model, trained by the ``credit_glm`` that ``env`` imports."""
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "credit_glm",
            "verbose=false",
            f"paths.models_dir={workdir / 'models'}",
            f"hydra.run.dir={workdir / 'outputs' / 'train'}",
        ],
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    return workdir / "models" / "glm_model.json"


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of a process and of each of its children (the workers)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    return {p: _cpu_seconds(p) for p in pids}


def _niced(pid: int) -> bool:
    """Whether a process runs at a lower priority (the service's admin process does)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16]) > 0
    except (OSError, IndexError, ValueError):
        return False


def _busy_seconds() -> float:
    """CPU time the whole machine spent busy (all CPUs), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wrk(
    url: str, body: Path, lua: Path, seconds: int, connections: int, server_pid: int | None = None
) -> dict[str, Any]:
    cpu0 = _process_cpu(server_pid) if server_pid else {}
    busy0, wrk0, wall0 = _busy_seconds(), _children_cpu_seconds(), time.monotonic()
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(lua),
            url,
        ],
        env={**os.environ, "BENCH_BODY": str(body)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    errors = sum(result[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
    result["errors"] = errors
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    if server_pid:
        cpu1 = _process_cpu(server_pid)
        per_process = {p: cpu1[p] - cpu0.get(p, 0.0) for p in cpu1}
        used = sum(per_process.values())
        result["cpu_us"] = used / max(result["requests"], 1) * 1e6
        # gunicorn workers accept keep-alive connections in a race: all of wrk's may land on
        # one worker, leaving a CPU idle. Such a run measures one worker, not the server.
        workers = sorted(
            v for p, v in per_process.items() if p != server_pid and not _niced(p)
        )  # not the admin process
        result["balance"] = workers[0] / workers[-1] if workers and workers[-1] > 0 else 1.0
        # CPU the machine spent on anything but this server and wrk (other users' jobs)
        ours = used + _children_cpu_seconds() - wrk0
        capacity = (os.cpu_count() or 1) * (time.monotonic() - wall0)
        result["foreign"] = max(_busy_seconds() - busy0 - ours, 0.0) / capacity
    return result


# ---------------------------------------------------------------------------------------------
# the floor: a bare Flask endpoint under the service's own gunicorn settings
# ---------------------------------------------------------------------------------------------
def run_floor(port: int, workers: int, threads: int, reuse_port: bool) -> None:
    from flask import Flask, Response, request
    from gunicorn.app.base import BaseApplication

    from credit_glm.config import ServingConfig
    from credit_glm.service.gunicorn_app import gunicorn_options

    app = Flask("floor")
    prediction = {"probability_of_default": 0.25, "decision": "decline"}
    constant = json.dumps(prediction)

    @app.post("/predict")
    def predict() -> Response:
        return Response(constant, mimetype="application/json")

    @app.post("/predict/batch")
    def batch() -> Response:
        rows = json.loads(request.get_data())["instances"]
        return Response(json.dumps({"predictions": [prediction] * len(rows)}), mimetype=_JSON)

    @app.get("/ready")
    def ready() -> Response:
        return Response("{}", mimetype="application/json")

    settings = ServingConfig(port=port, workers=workers, threads=threads, reuse_port=reuse_port)

    class Floor(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Floor().run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch-connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="alternating floor / /predict runs; the median is reported",
    )
    parser.add_argument("--model", type=Path, help="a model card (default: train one)")
    parser.add_argument(
        "--max-foreign",
        type=float,
        default=0.1,
        help="discard a round when other processes used more than this share "
        "of the CPUs during it (a shared machine)",
    )
    parser.add_argument(
        "--reuse-port",
        choices=["true", "false"],
        default="true",
        help="serving.reuse_port for both servers (default: true, as serving)",
    )
    parser.add_argument(
        "--scrape-flood",
        type=int,
        default=0,
        metavar="N",
        help="also measure /predict while N connections scrape /metrics on "
        "the admin port as fast as they can (same run, alternating)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also measure the credit_glm package in DIR (same rounds)",
    )
    parser.add_argument("--floor-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--micro", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_server:
        run_floor(args.port, args.workers, args.threads, args.reuse_port == "true")
        return 0
    if args.micro:
        micro(args.micro)
        return 0
    # a SIGTERM stops the servers too (the finally below), not only this script
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        work = Path(tmp)
        card_path = args.model.resolve() if args.model else _train(work)
        card = json.loads(card_path.read_text())
        row = card["self_check"]["features"]
        single = work / "single.json"
        single.write_text(json.dumps({"features": row}))
        batch = work / "batch.json"
        batch.write_text(json.dumps({"instances": distinct_rows(card, 1000)}))
        # the same rows, asking for no reason records (what a bulk client that needs only the
        # probabilities sends): the floor ignores the member
        batch_lean = work / "batch_lean.json"
        batch_lean.write_text(
            json.dumps({"instances": distinct_rows(card, 1000), "reason_codes": False})
        )
        lua = work / "post.lua"
        lua.write_text(_LUA)
        (work / "metrics-micro").mkdir()
        subprocess.run(
            [sys.executable, __file__, "--micro", str(card_path)],
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics-micro")},
            check=True,
        )

        svc_port, floor_port = _free_port(), _free_port()
        svc_log = open(work / "service.log", "wb")  # noqa: SIM115 - closed below
        service = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "credit_glm",
                "mode=serve",
                f"serving.port={svc_port}",
                f"serving.model_path={card_path}",
                f"serving.workers={args.workers}",
                f"serving.threads={args.threads}",
                "serving.drain_seconds=0",
                f"serving.reuse_port={args.reuse_port}",
                "serving.admin_port=0",
                f"hydra.run.dir={work / 'outputs' / 'serve'}",
            ],
            cwd=work,
            stdout=svc_log,
            stderr=subprocess.STDOUT,
        )
        variants: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
        for spec in args.variant:
            name, _, src = spec.partition("=")
            port = _free_port()
            env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
            # a card of the variant's own format, trained by the variant's own code
            variant_card = _train(work / f"train-{name}", env)
            variants[name] = (
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "credit_glm",
                        "mode=serve",
                        f"serving.port={port}",
                        f"serving.model_path={variant_card}",
                        f"serving.workers={args.workers}",
                        f"serving.threads={args.threads}",
                        "serving.drain_seconds=0",
                        f"serving.reuse_port={args.reuse_port}",
                        "serving.admin_port=0",
                        f"serving.metrics_dir={work / ('metrics-' + name)}",
                        f"hydra.run.dir={work / 'outputs' / name}",
                    ],
                    cwd=work,
                    env=env,
                    stdout=svc_log,
                    stderr=subprocess.STDOUT,
                ),
                f"http://127.0.0.1:{port}",
            )
        floor = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--floor-server",
                "--port",
                str(floor_port),
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--reuse-port",
                args.reuse_port,
            ],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            svc = f"http://127.0.0.1:{svc_port}"
            flr = f"http://127.0.0.1:{floor_port}"
            _wait_ready(f"{svc}/ready", service)
            _wait_ready(f"{flr}/ready", floor)
            for proc, url in variants.values():
                _wait_ready(f"{url}/ready", proc)
                _wrk(f"{url}/predict", single, lua, args.warmup, args.connections)
            for url, body in (
                (f"{flr}/predict", single),
                (f"{svc}/predict", single),
                (f"{flr}/predict/batch", batch),
                (f"{svc}/predict/batch", batch),
                (f"{svc}/predict/batch", batch_lean),
            ):
                _wrk(url, body, lua, args.warmup, args.connections)
            for _proc, url in variants.values():
                _wrk(f"{url}/predict/batch", batch, lua, args.warmup, args.batch_connections)
            # each round: (name, url, pid, body, connections) in this order, alternating
            plan = [
                ("floor", flr, floor.pid, single, args.connections),
                ("predict", svc, service.pid, single, args.connections),
                *[
                    ("predict " + name, url, proc.pid, single, args.connections)
                    for name, (proc, url) in variants.items()
                ],
                ("batch floor", flr, floor.pid, batch, args.batch_connections),
                ("batch", svc, service.pid, batch, args.batch_connections),
                ("batch lean", svc, service.pid, batch_lean, args.batch_connections),
                *[
                    ("batch " + name, url, proc.pid, batch, args.batch_connections)
                    for name, (proc, url) in variants.items()
                ],
            ]
            results: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in plan}
            attempts = 0
            while len(results["floor"]) < args.rounds and attempts < 4 * args.rounds:
                attempts += 1
                runs = {
                    name: _wrk(
                        f"{url}/predict{'/batch' if body in (batch, batch_lean) else ''}",
                        body,
                        lua,
                        args.duration,
                        connections,
                        pid,
                    )
                    for name, url, pid, body, connections in plan
                }
                clean = (
                    max(r["foreign"] for r in runs.values()) <= args.max_foreign
                    and min(r["balance"] for r in runs.values()) >= 0.5
                )
                f, p, fb, pb = runs["floor"], runs["predict"], runs["batch floor"], runs["batch"]
                print(
                    f"round {attempts}: floor {f['rps']:.0f} req/s ({f['cpu_us']:.0f} us "
                    f"server CPU/req), /predict {p['rps']:.0f} req/s ({p['cpu_us']:.0f} us) "
                    f"= {p['rps'] / f['rps']:.0%}; batch floor {fb['rps'] * 1000:.0f} rows/s, "
                    f"/predict/batch {pb['rps'] * 1000:.0f} rows/s = {pb['rps'] / fb['rps']:.0%}"
                    f" (reason_codes false: {runs['batch lean']['rps'] / fb['rps']:.0%}); "
                    f"other jobs <= {max(r['foreign'] for r in runs.values()):.0%} of the CPUs, "
                    f"worker balance >= {min(r['balance'] for r in runs.values()):.2f}"
                    f"{'' if clean else ' -> discarded'}",
                    flush=True,
                )
                for name in variants:
                    v, vb = runs["predict " + name], runs["batch " + name]
                    print(
                        f"  variant {name}: /predict {v['rps']:.0f} req/s ({v['cpu_us']:.0f} us)"
                        f", /predict/batch {vb['rps'] * 1000:.0f} rows/s",
                        flush=True,
                    )
                if clean:
                    for name, r in runs.items():
                        results[name].append(r)
            if not results["floor"]:
                print(
                    "every round was disturbed by other jobs on this machine; no result",
                    file=sys.stderr,
                )
                return 3
            flood: list[tuple[float, float, float]] = []
            if args.scrape_flood:
                found = re.search(r"admin on (http://\S+)", (work / "service.log").read_text())
                assert found, "the service named no admin address"
                for _round in range(3):
                    alone = _wrk(f"{svc}/predict", single, lua, args.duration, args.connections)
                    scrapers = subprocess.Popen(
                        [
                            "wrk",
                            "-t1",
                            f"-c{args.scrape_flood}",
                            f"-d{args.duration + 2}s",
                            f"{found.group(1)}/metrics",
                        ],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    time.sleep(1)
                    flooded = _wrk(f"{svc}/predict", single, lua, args.duration, args.connections)
                    out, _ = scrapers.communicate()
                    scrapes = re.search(r"Requests/sec:\s+([\d.]+)", out)
                    flood.append(
                        (alone["rps"], flooded["rps"], float(scrapes.group(1)) if scrapes else 0.0)
                    )
                    print(
                        f"scrape flood {_round + 1}: /predict {alone['rps']:.0f} req/s alone, "
                        f"{flooded['rps']:.0f} req/s beside {args.scrape_flood} scraping "
                        f"connections ({flood[-1][2]:.0f} scrapes/s)",
                        flush=True,
                    )
        finally:
            for proc, _url in variants.values():
                _stop(proc)
            _stop(service)
            _stop(floor)
            svc_log.close()

    def med(runs: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    def line(label: str, runs: list[dict[str, Any]], rows: int) -> None:
        rps = med(runs, "rps")
        print(
            f"{label:<34}{rps:>9.1f}{med(runs, 'p50_us') / 1e3:>8.2f}"
            f"{med(runs, 'p99_us') / 1e3:>8.2f}{rps * rows:>10.0f}{med(runs, 'cpu_us'):>12.0f}"
        )

    floors, predicts = results["floor"], results["predict"]
    floor_rps, predict_rps = med(floors, "rps"), med(predicts, "rps")
    floor_p99, predict_p99 = med(floors, "p99_us"), med(predicts, "p99_us")
    batch_floor_rows = med(results["batch floor"], "rps") * 1000
    rows_per_s = med(results["batch"], "rps") * 1000
    errors = sum(r["errors"] for runs in results.values() for r in runs)
    print(
        f"wrk -t1 -c{args.connections} -d{args.duration:g}s (batch: -c{args.batch_connections}), "
        f"gunicorn gthread workers={args.workers} threads={args.threads} "
        f"reuse_port={args.reuse_port}, {os.cpu_count()} CPUs, "
        f"median of {len(floors)} alternating rounds in which other jobs used at most "
        f"{max(r['foreign'] for runs in results.values() for r in runs):.0%} of the CPUs"
    )
    print(f"{'endpoint':<34}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'rows/s':>10}{'CPU us/req':>12}")
    line("floor (bare Flask, constant)", floors, 1)
    line("/predict (1 row)", predicts, 1)
    for name in variants:
        line("/predict " + name, results["predict " + name], 1)
    line("batch floor (json parse, const)", results["batch floor"], 1000)
    line("/predict/batch (1,000 rows)", results["batch"], 1000)
    line("  ... reason_codes: false", results["batch lean"], 1000)
    for name in variants:
        line("/predict/batch " + name, results["batch " + name], 1000)
    for name in variants:
        v_rps = med(results["predict " + name], "rps")
        vb_rows = med(results["batch " + name], "rps") * 1000
        print(
            f"variant {name}: /predict {v_rps / floor_rps:.0%} of the floor, "
            f"{v_rps / predict_rps - 1:+.1%} req/s against /predict above; "
            f"batch {vb_rows / batch_floor_rows:.0%} of the batch floor, "
            f"{vb_rows / rows_per_s - 1:+.1%} rows/s"
        )
    ratio = predict_rps / floor_rps
    p99_ratio = predict_p99 / floor_p99
    batch_ratio = rows_per_s / batch_floor_rows
    print(
        f"/predict throughput = {ratio:.1%} of the floor (target >= 85%): "
        f"{'PASS' if ratio >= 0.85 else 'FAIL'}"
    )
    print(
        f"/predict p99 = {p99_ratio:.2f}x the floor's (target <= 2x): "
        f"{'PASS' if p99_ratio <= 2 else 'FAIL'}"
    )
    print(
        f"/predict/batch = {rows_per_s:,.0f} rows/s = {batch_ratio:.1%} of the batch floor's "
        f"{batch_floor_rows:,.0f} (target >= 100%): {'PASS' if batch_ratio >= 1 else 'FAIL'}"
    )
    lean_ratio = med(results["batch lean"], "rps") * 1000 / batch_floor_rows
    print(
        f"/predict/batch with reason_codes false = {lean_ratio:.1%} of the batch floor's "
        f"(target >= 100%): {'PASS' if lean_ratio >= 1 else 'FAIL'}"
    )
    if flood:
        alone_rps = statistics.median(a for a, _, _ in flood)
        flooded_rps = statistics.median(b for _, b, _ in flood)
        print(
            f"/predict beside a {args.scrape_flood}-connection /metrics flood on the admin "
            f"port: {flooded_rps:.0f} req/s = {flooded_rps / alone_rps:.0%} of {alone_rps:.0f} "
            "alone (median of 3 alternating pairs)"
        )
    print(f"non-2xx responses and socket errors: {errors}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
