"""Benchmark of in-process scoring through the one scorer (not a pytest test).

Run from the repository root::

    python tests/benchmarks/bench_scoring.py               # 1,000,000 rows
    python tests/benchmarks/bench_scoring.py --rows 200000

The default German credit model is trained once; the embedded data, typed by its schema, is
resampled with a fixed seed to ``--rows`` rows. Each way of scoring is timed (best of
``--repeat``) and its peak memory measured in separate runs on the same frame (tracemalloc, and
the resident-set high-water mark, which also counts Arrow's buffers):

- the one scorer, :meth:`credit_glm.scoring.ScoringModel.predict` (per-feature contributions
  summed elementwise; no design matrix);
- the baseline, the old way: ``design_matrix`` + ``X @ params`` + the inverse link.

Targets: >= 1,000,000 rows/s, peak < 3x the frame's memory (``memory_usage(deep=True)``).
Then the latencies the service sees: one record through the per-record path, the vectorised
path on a one-row batch and the old way on one row; a 1,000-row batch of plain lists (the
service's columns) through the scorer and the old way.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from credit_glm.features import design_matrix  # noqa: E402
from credit_glm.links import inverse_link  # noqa: E402
from credit_glm.schema import build_schema, validate_frame  # noqa: E402
from credit_glm.scoring import ScoringModel  # noqa: E402
from credit_glm.training import train  # noqa: E402
from tests.conftest import GERMAN_CSV, compose_config  # noqa: E402


def old_way(scorer: ScoringModel, frame: Any) -> np.ndarray:
    """The scoring path before the one scorer: a design matrix and BLAS."""
    return inverse_link(scorer.link, design_matrix(scorer.spec, frame) @ scorer.params)


def best_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def traced_peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def rss_peak(fn: Callable[[], object]) -> int | None:
    """Peak resident memory above the start, in bytes (Linux: VmHWM reset through clear_refs;
    counts what tracemalloc does not see, such as Arrow's buffers). None where unavailable."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        base = _status_kib("VmRSS")
    except OSError:
        return None
    fn()
    return (_status_kib("VmHWM") - base) * 1024


def median_latency(fn: Callable[[], object], calls: int) -> float:
    fn()
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def _plain(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    return v.item() if isinstance(v, np.generic) else v


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()

    raw = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False, na_values=[""])
    config = compose_config()
    scorer = train(config, raw).scorer
    typed = validate_frame(raw, build_schema(config.data, "training"), config.data)
    typed = typed[list(scorer.spec.columns)]
    frame = typed.sample(n=args.rows, replace=True, random_state=args.seed).reset_index(drop=True)
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    print(
        f"frame: {len(frame):,} rows x {frame.shape[1]} columns, "
        f"{frame_bytes / 2**20:,.0f} MiB (deep); model: {len(scorer.spec.features)} features, "
        f"{len(scorer.spec.terms)} terms, link {scorer.link.value}"
    )

    new = scorer.predict(frame)
    old = old_way(scorer, frame)
    print(f"max |one scorer - old way| over the frame: {float(np.max(np.abs(new - old))):.2e}")

    print(f"\nin-process scoring, best of {args.repeat}:")
    rates: dict[str, float] = {}
    for name, fn in (
        ("one scorer (contributions)", lambda: scorer.predict(frame)),
        ("baseline: design_matrix + X @ b", lambda: old_way(scorer, frame)),
    ):
        seconds = best_time(fn, args.repeat)
        rss = rss_peak(fn)
        peak = traced_peak(fn)
        rates[name] = len(frame) / seconds
        rss_text = "n/a" if rss is None else f"{rss / 2**20:,.0f} MiB = {rss / frame_bytes:.2f}x"
        print(
            f"  {name:<34} {seconds:7.3f} s  {len(frame) / seconds:>12,.0f} rows/s  "
            f"peak traced {peak / 2**20:,.0f} MiB = {peak / frame_bytes:.2f}x the frame, "
            f"peak RSS {rss_text}"
        )
    ratio = rates["one scorer (contributions)"] / rates["baseline: design_matrix + X @ b"]
    print(f"  one scorer / baseline: {ratio:.2f}x the rows/s")

    records = [
        {c: _plain(v) for c, v in zip(typed.columns, row, strict=True)}
        for row in typed.itertuples(index=False)
    ]
    record = records[7]
    one_row = {c: [v] for c, v in record.items()}
    print("\none record, median of 5,000 calls:")
    for name, fn in (
        ("per-record path (predict_record)", lambda: scorer.predict_record(record)),
        ("vectorised path on one row", lambda: scorer.predict(one_row)),
        ("baseline: design_matrix on one row", lambda: old_way(scorer, one_row)),
    ):
        print(f"  {name:<36} {median_latency(fn, 5000) * 1e6:8.1f} us")

    batch = records[:1000]
    columns = {c: [r[c] for r in batch] for c in typed.columns}
    print("\n1,000 rows as plain lists (the service's columns), median of 200 calls:")
    for name, fn in (
        ("one scorer", lambda: scorer.predict(columns)),
        ("baseline: design_matrix + X @ b", lambda: old_way(scorer, columns)),
    ):
        print(f"  {name:<36} {median_latency(fn, 200) * 1e3:8.3f} ms")


if __name__ == "__main__":
    main()
