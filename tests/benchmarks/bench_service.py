"""Throughput and latency of the scoring service against a bare-Flask floor (not a test).

Runs wrk on loopback against the real server (``python -m credit_glm mode=serve``: gunicorn,
full validation, Prometheus metrics, health signals, one JSON log line per request) and, in the
same run, against a bare Flask endpoint returning a constant under identical gunicorn settings
(:func:`credit_glm.service.gunicorn_app.gunicorn_options` of the same ``serving`` values): the
floor. Both receive the same POST body. Then ``/predict/batch`` with 1,000 rows.

Targets: ``/predict`` at least 70% of the floor's requests/s with a p99 no worse than twice the
floor's; ``/predict/batch`` at least 100,000 rows/s.

Usage (needs ``wrk``: ``apt-get install -y wrk``)::

    python tests/benchmarks/bench_service.py [--duration 10] [--connections 8] [--workers 2]
        [--threads 1] [--rounds 3] [--model models/glm_model.json] [--variant NAME=DIR ...]
        [--scrape-flood 16]

``--variant NAME=DIR`` also serves the ``credit_glm`` package found in ``DIR`` (put first on
``PYTHONPATH``: e.g. ``git archive <commit> | tar -x -C DIR``) and measures its ``/predict`` and
``/predict/batch`` in the same alternating rounds, so two implementations are compared in one
run on one machine.
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


def _train(workdir: Path) -> Path:
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
    from flask import Flask, Response
    from gunicorn.app.base import BaseApplication

    from credit_glm.config import ServingConfig
    from credit_glm.service.gunicorn_app import gunicorn_options

    app = Flask("floor")
    constant = json.dumps({"probability_of_default": 0.25, "decision": "decline"})

    @app.post("/predict")
    def predict() -> Response:
        return Response(constant, mimetype="application/json")

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
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_server:
        run_floor(args.port, args.workers, args.threads, args.reuse_port == "true")
        return 0
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
        batch.write_text(json.dumps({"instances": [row] * 1000}))
        lua = work / "post.lua"
        lua.write_text(_LUA)

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
            variants[name] = (
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "credit_glm",
                        "mode=serve",
                        f"serving.port={port}",
                        f"serving.model_path={card_path}",
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
        by_variant: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        batch_by_variant: dict[str, dict[str, Any]] = {}
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
                (f"{svc}/predict/batch", batch),
            ):
                _wrk(url, body, lua, args.warmup, args.connections)
            floors, predicts = [], []
            attempts = 0
            while len(floors) < args.rounds and attempts < 4 * args.rounds:
                attempts += 1
                f = _wrk(f"{flr}/predict", single, lua, args.duration, args.connections, floor.pid)
                p = _wrk(
                    f"{svc}/predict", single, lua, args.duration, args.connections, service.pid
                )
                v = {
                    name: _wrk(
                        f"{url}/predict", single, lua, args.duration, args.connections, proc.pid
                    )
                    for name, (proc, url) in variants.items()
                }
                runs = [f, p, *v.values()]
                clean = (
                    max(r["foreign"] for r in runs) <= args.max_foreign
                    and min(r["balance"] for r in runs) >= 0.5
                )
                for name, r in v.items():
                    print(
                        f"  variant {name}: /predict {r['rps']:.0f} req/s "
                        f"({r['cpu_us']:.0f} us), other jobs {r['foreign']:.0%}, balance "
                        f"{r['balance']:.2f}",
                        flush=True,
                    )
                print(
                    f"round {attempts}: floor {f['rps']:.0f} req/s ({f['cpu_us']:.0f} us "
                    f"server CPU/req), /predict {p['rps']:.0f} req/s ({p['cpu_us']:.0f} us); "
                    f"other jobs used {f['foreign']:.0%} / {p['foreign']:.0%} of the CPUs, "
                    f"worker balance {f['balance']:.2f} / {p['balance']:.2f}"
                    f"{'' if clean else ' -> discarded'}",
                    flush=True,
                )
                if clean:
                    floors.append(f)
                    predicts.append(p)
                    for name, r in v.items():
                        by_variant[name].append(r)
            if not floors:
                print(
                    "every round was disturbed by other jobs on this machine; no result",
                    file=sys.stderr,
                )
                return 3
            for attempt in range(1, 9):
                batch_result = _wrk(
                    f"{svc}/predict/batch",
                    batch,
                    lua,
                    args.duration,
                    args.batch_connections,
                    service.pid,
                )
                clean = (
                    batch_result["foreign"] <= args.max_foreign and batch_result["balance"] >= 0.5
                )
                print(
                    f"batch {attempt}: {batch_result['rps'] * 1000:.0f} rows/s; other jobs "
                    f"used {batch_result['foreign']:.0%} of the CPUs, worker balance "
                    f"{batch_result['balance']:.2f}{'' if clean else ' -> discarded'}",
                    flush=True,
                )
                if clean:
                    break
            for name, (proc, url) in variants.items():
                for _attempt in range(8):
                    result = _wrk(
                        f"{url}/predict/batch",
                        batch,
                        lua,
                        args.duration,
                        args.batch_connections,
                        proc.pid,
                    )
                    if result["foreign"] <= args.max_foreign and result["balance"] >= 0.5:
                        break
                batch_by_variant[name] = result
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

    floor_rps, predict_rps = med(floors, "rps"), med(predicts, "rps")
    floor_p99, predict_p99 = med(floors, "p99_us"), med(predicts, "p99_us")
    rows_per_s = batch_result["rps"] * 1000
    errors = sum(r["errors"] for r in [*floors, *predicts, batch_result])
    print(
        f"wrk -t1 -c{args.connections} -d{args.duration:g}s, gunicorn gthread "
        f"workers={args.workers} threads={args.threads} reuse_port={args.reuse_port}, "
        f"{os.cpu_count()} CPUs, "
        f"median of {len(floors)} undisturbed alternating rounds; batch: "
        f"-c{args.batch_connections}"
    )
    print(f"{'endpoint':<30}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'rows/s':>10}{'CPU us/req':>12}")
    print(
        f"{'floor (bare Flask, constant)':<30}{floor_rps:>9.0f}"
        f"{med(floors, 'p50_us') / 1e3:>8.2f}{floor_p99 / 1e3:>8.2f}{floor_rps:>10.0f}"
        f"{med(floors, 'cpu_us'):>12.0f}"
    )
    print(
        f"{'/predict (1 row)':<30}{predict_rps:>9.0f}"
        f"{med(predicts, 'p50_us') / 1e3:>8.2f}{predict_p99 / 1e3:>8.2f}{predict_rps:>10.0f}"
        f"{med(predicts, 'cpu_us'):>12.0f}"
    )
    print(
        f"{'/predict/batch (1,000 rows)':<30}{batch_result['rps']:>9.1f}"
        f"{batch_result['p50_us'] / 1e3:>8.2f}{batch_result['p99_us'] / 1e3:>8.2f}"
        f"{rows_per_s:>10.0f}{batch_result['cpu_us']:>12.0f}"
    )
    for name, runs in by_variant.items():
        vb = batch_by_variant[name]
        print(
            f"{'/predict ' + name:<30}{med(runs, 'rps'):>9.0f}"
            f"{med(runs, 'p50_us') / 1e3:>8.2f}{med(runs, 'p99_us') / 1e3:>8.2f}"
            f"{med(runs, 'rps'):>10.0f}{med(runs, 'cpu_us'):>12.0f}"
        )
        print(
            f"{'/predict/batch ' + name:<30}{vb['rps']:>9.1f}{vb['p50_us'] / 1e3:>8.2f}"
            f"{vb['p99_us'] / 1e3:>8.2f}{vb['rps'] * 1000:>10.0f}{vb['cpu_us']:>12.0f}"
        )
        print(
            f"variant {name}: /predict {med(runs, 'rps') / floor_rps:.0%} of the floor, "
            f"{med(runs, 'rps') / predict_rps - 1:+.1%} req/s against /predict above; "
            f"batch {vb['rps'] / batch_result['rps'] - 1:+.1%} rows/s"
        )
        errors += sum(r["errors"] for r in [*runs, vb])
    ratio = predict_rps / floor_rps
    p99_ratio = predict_p99 / floor_p99
    print(
        f"/predict throughput = {ratio:.0%} of the floor (target >= 70%): "
        f"{'PASS' if ratio >= 0.7 else 'FAIL'}"
    )
    print(
        f"/predict p99 = {p99_ratio:.2f}x the floor's (target <= 2x): "
        f"{'PASS' if p99_ratio <= 2 else 'FAIL'}"
    )
    print(
        f"/predict/batch = {rows_per_s:,.0f} rows/s (target >= 100,000): "
        f"{'PASS' if rows_per_s >= 100_000 else 'FAIL'}"
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
