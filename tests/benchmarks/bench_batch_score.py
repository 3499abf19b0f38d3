"""Benchmark of ``mode=score`` on synthetic portfolios (not a pytest test).

Run from the repository root::

    python tests/benchmarks/bench_batch_score.py                       # 1M and 5M rows
    python tests/benchmarks/bench_batch_score.py --rows 1000000 --formats parquet

For each size and format, a seeded German-credit-schema portfolio
(:mod:`credit_glm.portfolio`) is written once, then, each in a fresh process:

- the floor: the whole file read by pyarrow (``pyarrow.parquet.read_table`` /
  ``pyarrow.csv.read_csv``), nothing else;
- ``python -m credit_glm mode=score`` on it (the default model, trained here first), local
  engine, and with ``--dask`` also on a 2-process LocalCluster.

Printed: rows/s of each against the floor's (target: scoring >= 50% of the read floor) and the
peak resident set of each process (target: the same at 1M and 5M rows).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from credit_glm.portfolio import write_portfolio  # noqa: E402

_READ = """
import sys, pyarrow.csv as c, pyarrow.parquet as q
p = sys.argv[1]
t = q.read_table(p) if p.endswith(".parquet") else c.read_csv(p)
print(t.num_rows)
"""


def run_measured(
    args: list[str], cwd: Path, extra_env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout+stderr of one process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["CI"] = "true"
    env.update(extra_env or {})
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed ({proc.returncode}):\n{out[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/credit_glm_bench_score"))
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--dask", action="store_true", help="also score on a LocalCluster")
    args = parser.parse_args()
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    if not (work / "models" / "glm_model.json").exists():
        run_measured([py, "-m", "credit_glm", "hydra.run.dir=outputs/train"], work)
    rows_out = []
    for n in args.rows:
        for fmt in args.formats:
            path = work / f"portfolio_{n}.{fmt}"
            if not path.exists():
                t = time.perf_counter()
                write_portfolio(path, n, seed=1, id_column=None)
                print(f"wrote {path} in {time.perf_counter() - t:.1f} s", flush=True)
            floor_s, floor_mb, _ = run_measured([py, "-c", _READ, str(path)], work)
            runs = {"local": []}
            if args.dask:
                runs["dask"] = ["score.engine=dask", "score.workers=2"]
            for engine, extra in runs.items():
                out = work / f"scores_{engine}_{n}.{'parquet' if engine == 'dask' else fmt}"
                wall, mb, _ = run_measured(
                    [py, "-m", "credit_glm", "mode=score", "hydra.run.dir=outputs/score",
                     f"data.path={path}", f"score.output_path={out}",
                     f"score.chunk_rows={args.chunk_rows}", "score.max_reject_share=1", *extra],
                    work,
                )  # fmt: skip
                summary = json.loads((work / "outputs/score/metrics.json").read_text())
                job = summary["seconds"]
                row = {
                    "rows": n,
                    "format": fmt,
                    "engine": engine,
                    "read_floor_rows_per_s": n / floor_s,
                    "score_rows_per_s_process": n / wall,
                    "score_rows_per_s_job": n / job,
                    "share_of_floor_process": floor_s / wall,
                    "share_of_floor_job": floor_s / job,
                    "peak_rss_mib_score": mb,
                    "peak_rss_mib_read_floor": floor_mb,
                    "scored": summary["rows"]["scored"],
                    "rejected": summary["rows"]["rejected"],
                }
                rows_out.append(row)
                print(
                    f"{n:>9,} {fmt:<7} {engine:<5} floor {n / floor_s:>10,.0f} rows/s "
                    f"({floor_mb:,.0f} MiB) | score {n / wall:>10,.0f} rows/s process, "
                    f"{n / job:>10,.0f} job = {floor_s / wall:.2f}x / {floor_s / job:.2f}x floor "
                    f"| peak {mb:,.0f} MiB",
                    flush=True,
                )
    print(json.dumps(rows_out, indent=1))


if __name__ == "__main__":
    main()
