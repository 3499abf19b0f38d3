"""Benchmark of ``mode=score`` on synthetic portfolios (not a pytest test).

Run from the repository root::

    python tests/benchmarks/bench_batch_score.py                       # 1M and 5M rows
    python tests/benchmarks/bench_batch_score.py --rows 1000000 --formats parquet
    python tests/benchmarks/bench_batch_score.py --baseline REV   # also REV's package, same run

For each size and format, a seeded German-credit-schema portfolio
(:mod:`credit_glm.portfolio`) is written once, then, each in a fresh process:

- the floor: the whole file read by pyarrow (``pyarrow.parquet.read_table`` /
  ``pyarrow.csv.read_csv``), nothing else;
- ``python -m credit_glm mode=score`` on it (the default model, trained here first), local
  engine, and with ``--dask`` also on a 2-process LocalCluster.

Both are also run on a 1,000-row file of the same kind (median of three runs): their fixed
cost (interpreter, imports; for ``mode=score`` also Hydra's composition, the model card and
publishing the outputs), paid once per run whatever the file's size. Printed: rows/s of each
against the floor's, three ways: per process (fixed cost included), the job alone
(``metrics.json``'s seconds: reading, validating, scoring and writing) against the floor's
process, and the marginal rate of each (rows over the time beyond its fixed cost; target:
scoring >= 50% of the read floor); and the peak resident set of each process (target: the
same at 1M and 5M rows).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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


def export_revision(ref: str, into: Path) -> Path:
    """The package (and its configs) at git revision ``ref``, unpacked into ``into``: put
    first on ``PYTHONPATH`` to run that revision in the same run as this tree."""
    if not (into / "credit_glm").is_dir():
        into.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, "credit_glm", "conf"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


# Runs a Python command (``-m MODULE ARGS`` or ``-c CODE ARGS``) as the interpreter would and
# writes its own peak resident set (VmHWM, kB) to $BENCH_PEAK_FILE at exit. The rusage of
# wait4 cannot be used: Linux carries the parent's high-water mark across fork and exec into
# the child's ru_maxrss, so every child of this script (which holds the portfolios it wrote)
# would report at least this script's size.
_PEAK_PROBE = """
import atexit, os, runpy, sys

def _peak():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(kb)

atexit.register(_peak)
flag, target, *rest = sys.argv[1:]
if flag == "-m":
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *rest]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
"""


def run_measured(
    args: list[str], cwd: Path, extra_env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB, the process's own) and stdout+stderr of one Python
    command ``[python, "-m" | "-c", ...]``."""
    python, flag, *rest = args
    if flag not in ("-m", "-c"):
        raise ValueError(f"not a python -m/-c command: {args}")
    peak_file = cwd / ".bench_peak_kb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["CI"] = "true"
    env["BENCH_PEAK_FILE"] = str(peak_file)
    env.update(extra_env or {})
    peak_file.unlink(missing_ok=True)
    started = time.perf_counter()
    proc = subprocess.run(
        [python, "-c", _PEAK_PROBE, flag, *rest],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    return seconds, int(peak_file.read_text()) / 1024, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/credit_glm_bench_score"))
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--dask", action="store_true", help="also score on a LocalCluster")
    parser.add_argument("--baseline", help="a git revision to score with too, in the same run")
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
            small = work / f"portfolio_1000.{fmt}"
            if not small.exists():
                write_portfolio(small, 1000, seed=1, id_column=None)
            floor_s, floor_mb, _ = run_measured([py, "-c", _READ, str(path)], work)
            floor_fixed = statistics.median(
                run_measured([py, "-c", _READ, str(small)], work)[0] for _ in range(3)
            )
            runs: dict[str, tuple[list[str], dict[str, str]]] = {"local": ([], {})}
            if args.dask:
                runs["dask"] = (["score.engine=dask", "score.workers=2"], {})
            if args.baseline:
                source = export_revision(args.baseline, work / f"src_{args.baseline}")
                runs[f"local@{args.baseline}"] = ([], {"PYTHONPATH": str(source)})
            for engine, (extra, env) in runs.items():
                suffix = "parquet" if engine == "dask" else fmt

                def score(
                    data: Path, out: Path, extra: list[str], env: dict[str, str]
                ) -> tuple[float, float]:
                    wall, mb, _ = run_measured(
                        [py, "-m", "credit_glm", "mode=score", "hydra.run.dir=outputs/score",
                         f"data.path={data}", f"score.output_path={out}",
                         f"score.chunk_rows={args.chunk_rows}", "score.max_reject_share=1",
                         *extra],
                        work,
                        env,
                    )  # fmt: skip
                    return wall, mb

                tag = engine.replace("@", "_")
                fixed = statistics.median(
                    score(small, work / f"scores_{tag}_1000.{suffix}", extra, env)[0]
                    for _ in range(3)
                )
                wall, mb = score(path, work / f"scores_{tag}_{n}.{suffix}", extra, env)
                summary = json.loads((work / "outputs/score/metrics.json").read_text())
                job = summary["seconds"]
                floor_marginal = n / (floor_s - floor_fixed)
                score_marginal = n / (wall - fixed)
                row = {
                    "rows": n,
                    "format": fmt,
                    "engine": engine,
                    "read_floor_rows_per_s": n / floor_s,
                    "read_floor_fixed_s": floor_fixed,
                    "read_floor_marginal_rows_per_s": floor_marginal,
                    "score_rows_per_s_process": n / wall,
                    "score_rows_per_s_job": n / job,
                    "score_fixed_s": fixed,
                    "score_marginal_rows_per_s": score_marginal,
                    "share_of_floor_process": floor_s / wall,
                    "share_of_floor_job": floor_s / job,
                    "share_of_floor_marginal": score_marginal / floor_marginal,
                    "peak_rss_mib_score": mb,
                    "peak_rss_mib_read_floor": floor_mb,
                    "scored": summary["rows"]["scored"],
                    "rejected": summary["rows"]["rejected"],
                }
                rows_out.append(row)
                print(
                    f"{n:>9,} {fmt:<7} {engine:<14} floor {n / floor_s:>10,.0f} rows/s "
                    f"(fixed {floor_fixed:.2f} s, marginal {floor_marginal:,.0f}; "
                    f"{floor_mb:,.0f} MiB) | score {n / wall:>9,.0f} process, "
                    f"{n / job:>9,.0f} job, "
                    f"{score_marginal:>9,.0f} marginal (fixed {fixed:.2f} s) = "
                    f"{floor_s / wall:.2f}x / {floor_s / job:.2f}x / "
                    f"{score_marginal / floor_marginal:.2f}x floor | peak {mb:,.0f} MiB",
                    flush=True,
                )
    print(json.dumps(rows_out, indent=1))


if __name__ == "__main__":
    main()
