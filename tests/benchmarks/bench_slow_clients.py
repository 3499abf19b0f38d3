"""The buffering worker against gunicorn's stock gthread worker, in one run (not a test).

Starts the real service twice with the same ``serving`` settings: with
:class:`credit_glm.service.worker.BufferingWorker` (the default) and with gunicorn's own
``gthread`` worker (``CREDIT_GLM_STOCK_WORKER=1``). Then, alternating between the two:

1. ``/predict`` throughput and latency with wrk, on kept-alive connections and with a new
   connection per request (``Connection: close``); the median of ``--rounds`` rounds;
2. the slow-client attack of issue 9 (:mod:`tests.api.slow_clients`: 2 stalled bodies, 4
   unfinished header blocks, 100 slowloris connections at a byte every 0.5-1 s, each reopened
   when closed) while 4 well-behaved clients send ``/predict``: the share of their requests
   answered 200 within 3 s, and their p99.

Usage (needs ``wrk``)::

    python tests/benchmarks/bench_slow_clients.py [--duration 6] [--rounds 3]
        [--attack-seconds 15] [--workers 2] [--threads 1] [--model models/glm_model.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench_service import _LUA, _free_port, _stop, _train, _wait_ready, _wrk  # noqa: E402

from tests.api.slow_clients import run_attack  # noqa: E402

WORKERS = {"buffering": {}, "stock gthread": {"CREDIT_GLM_STOCK_WORKER": "1"}}


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--attack-seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", type=Path, help="a model card (default: train one)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-slow-") as tmp:
        work = Path(tmp)
        card_path = args.model.resolve() if args.model else _train(work)
        row = json.loads(card_path.read_text())["self_check"]["features"]
        single = work / "single.json"
        single.write_text(json.dumps({"features": row}))
        keep_lua, close_lua = work / "keep.lua", work / "close.lua"
        keep_lua.write_text(_LUA)
        close_lua.write_text(
            _LUA.replace(
                'wrk.method = "POST"', 'wrk.method = "POST"\nwrk.headers["Connection"] = "close"'
            )
        )
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        logs = []
        try:
            for name, env in WORKERS.items():
                port = _free_port()
                log = open(work / f"{name.split()[0]}.log", "wb")  # noqa: SIM115 - closed below
                logs.append(log)
                proc = subprocess.Popen(
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
                        "serving.admin_port=null",
                        f"hydra.run.dir={work / 'outputs' / name.split()[0]}",
                    ],
                    cwd=work,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    env={**os.environ, **env},
                )
                servers[name] = (proc, port)
            for proc, port in servers.values():
                _wait_ready(f"http://127.0.0.1:{port}/ready", proc)
                _wrk(f"http://127.0.0.1:{port}/predict", single, keep_lua, 2, args.connections)
            runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for rnd in range(1, args.rounds + 1):
                for mode, lua in (("keep-alive", keep_lua), ("new connection", close_lua)):
                    for name, (proc, port) in servers.items():
                        r = _wrk(
                            f"http://127.0.0.1:{port}/predict",
                            single,
                            lua,
                            args.duration,
                            args.connections,
                            proc.pid,
                        )
                        runs.setdefault((name, mode), []).append(r)
                        print(
                            f"round {rnd} {mode:<15} {name:<14} {r['rps']:>7.0f} req/s "
                            f"p99 {r['p99_us'] / 1e3:6.2f} ms, errors {r['errors']}, "
                            f"other jobs {r['foreign']:.0%} of the CPUs",
                            flush=True,
                        )
            attacks = {}
            for name, (_proc, port) in servers.items():
                attacks[name] = run_attack(port, single.read_bytes(), args.attack_seconds)
                a = attacks[name]
                print(
                    f"attack on {name}: {a.good_ok}/{a.good_total} good requests in 3 s", flush=True
                )
        finally:
            for proc, _port in servers.values():
                _stop(proc)
            for log in logs:
                log.close()

    def med(name: str, mode: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[(name, mode)]))

    print(
        f"\nwrk -t1 -c{args.connections} -d{args.duration}s, median of {args.rounds} "
        f"alternating rounds; gunicorn workers={args.workers} threads={args.threads}, "
        f"serving defaults (header_timeout/body_timeout 10 s), {os.cpu_count()} CPUs"
    )
    print(
        f"{'worker':<15}{'connections':<16}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'CPU us/req':>12}"
    )
    for mode in ("keep-alive", "new connection"):
        for name in WORKERS:
            print(
                f"{name:<15}{mode:<16}{med(name, mode, 'rps'):>8.0f}"
                f"{med(name, mode, 'p50_us') / 1e3:>8.2f}{med(name, mode, 'p99_us') / 1e3:>8.2f}"
                f"{med(name, mode, 'cpu_us'):>12.0f}"
            )
        ratio = med("buffering", mode, "rps") / med("stock gthread", mode, "rps")
        print(f"{'':<15}{mode:<16} buffering / stock throughput = {ratio:.2f}")
    print(
        f"\nattack ({args.attack_seconds:g} s: 2 stalled bodies, 4 unfinished header blocks, "
        "100 slowloris; 4 good clients, a new connection per request)"
    )
    print(f"{'worker':<15}{'good in 3 s':>14}{'share':>8}{'p99 s':>8}{'attack 408s':>13}")
    for name, a in attacks.items():
        print(
            f"{name:<15}{f'{a.good_ok}/{a.good_total}':>14}{a.good_share:>8.1%}"
            f"{_p99(a.good_latencies):>8.2f}{sum(a.closed_with_408.values()):>13}"
        )
    errors = sum(
        r["errors"]
        for r in runs[("buffering", "keep-alive")] + runs[("buffering", "new connection")]
    )
    return 0 if errors == 0 and attacks["buffering"].good_share >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
