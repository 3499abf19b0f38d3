"""Benchmark of the feature-selection engine on the German credit data (not a pytest test).

Run from the repository root::

    python tests/benchmarks/bench_selection.py           # 12 and 20 features
    python tests/benchmarks/bench_selection.py --quick   # 12 features only

Exhaustive best subset by AIC over the first 12 features (4,096 subsets including the
intercept-only model) is timed for the engine (branch and bound) and for a plain loop of
``statsmodels.api.Logit(y, X[:, cols]).fit(disp=0)`` over every subset, BLAS pinned to one
thread; both must find the same best subset (target: engine >= 20x faster). Then all 20
features (1,048,576 subsets), exact, with two workers (target: < 60 s); the statsmodels time
for 20 features is estimated from its per-fit time at 12 features.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from credit_glm.selection import (  # noqa: E402
    SelectionConstraints,
    SelectionProblem,
    _runtime,
    select_exhaustive,
)
from credit_glm.selection.solver import BinomialDesign  # noqa: E402

CSV = Path(__file__).resolve().parents[2] / "credit_glm" / "datasets" / "german_credit.csv"
NUMERIC = {
    "duration_in_month",
    "credit_amount",
    "age_in_years",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
}


def german_problem(n_features: int) -> SelectionProblem:
    """The first ``n_features`` features of the German credit data as a selection problem.

    Built exactly as training builds it: the shipped schema and features YAML
    (``conf/data/german_credit.yaml``, ``conf/features/german_credit.yaml``), the pandera schema,
    the frozen feature spec and :func:`credit_glm.features.design_matrix`, on all 1,000 rows.
    Event: ``creditability == "bad"``.
    """
    from omegaconf import OmegaConf

    from credit_glm.config import DataConfig, FeaturesConfig
    from credit_glm.features import design_matrix, fit_feature_spec
    from credit_glm.schema import build_schema, validate_frame
    from credit_glm.training import outcome_vector

    def load(path: Path, schema: type) -> Any:
        raw = OmegaConf.load(path)
        raw.pop("defaults", None)
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))

    conf = Path(__file__).resolve().parents[2] / "conf"
    data = load(conf / "data" / "german_credit.yaml", DataConfig)
    features = load(conf / "features" / "german_credit.yaml", FeaturesConfig)
    raw_frame = pd.read_csv(CSV, dtype=str, keep_default_na=False, na_values=data.na_values)
    frame = validate_frame(raw_frame, build_schema(data), data)
    spec = fit_feature_spec(features, data, frame)
    spec = spec.subset(spec.feature_names[:n_features])
    return SelectionProblem(design_matrix(spec, frame), outcome_vector(frame, data), spec.groups())


def all_subsets(m: int) -> list[tuple[int, ...]]:
    return [key for size in range(m + 1) for key in itertools.combinations(range(m), size)]


def columns_of(problem: SelectionProblem, key: tuple[int, ...]) -> list[int]:
    return [0] + [c for g in key for c in problem.groups[g][1]]


def best_by_aic(results: list[tuple[float, int, tuple[int, ...]]]) -> tuple[int, ...]:
    """Smallest AIC; ties (1e-9 relative) to fewer columns, then the smaller key."""
    low = min(value for value, _, _ in results)
    tied = [r for r in results if abs(r[0] - low) <= 1e-9 * max(1.0, abs(low))]
    return min(tied, key=lambda r: (r[1], r[2]))[2]


def statsmodels_loop(problem: SelectionProblem) -> tuple[tuple[int, ...], float, int]:
    """Every subset with statsmodels' Logit; returns (best key, seconds, fits)."""
    keys = all_subsets(len(problem.groups))
    results = []
    start = time.perf_counter()
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key in keys:
            cols = columns_of(problem, key)
            res = sm.Logit(problem.y, problem.X[:, cols]).fit(disp=0)
            results.append((float(res.aic), len(cols), key))
    return best_by_aic(results), time.perf_counter() - start, len(keys)


def lean_loop(problem: SelectionProblem) -> tuple[tuple[int, ...], float, int]:
    """Every subset with the engine's solver, cold starts, no pruning."""
    keys = all_subsets(len(problem.groups))
    design = BinomialDesign(problem.X, problem.y)
    results = []
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        for key in keys:
            cols = np.asarray(columns_of(problem, key), dtype=np.intp)
            fit = design.fit(cols)
            results.append((-2.0 * fit.llf + 2.0 * cols.shape[0], cols.shape[0], key))
    return best_by_aic(results), time.perf_counter() - start, len(keys)


def peak_rss_mib() -> float:
    """Peak resident memory of this process and of its (finished) children, MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = func()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 12-feature part")
    args = parser.parse_args()
    header = ("run", "wall [s]", "fitted", "pruned", "extra fits", "peak RSS [MiB]", "speed-up")
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []

    def engine(problem: SelectionProblem, label: str, baseline: float, **kwargs: Any) -> Any:
        result, wall = timed(lambda: select_exhaustive(problem, progress=None, **kwargs))
        c = result.counts
        assert c.fitted + c.pruned == c.total_subsets
        rows.append(
            (
                label,
                f"{wall:.2f}",
                str(c.fitted),
                str(c.pruned),
                str(c.extra_fits),
                f"{peak_rss_mib():.0f}",
                f"{baseline / wall:.0f}x",
            )
        )
        return result, wall

    p12 = german_problem(12)
    sm_best, sm_time, sm_fits = statsmodels_loop(p12)
    per_fit = sm_time / sm_fits
    rows.append(
        (
            "12 feat: statsmodels Logit loop",
            f"{sm_time:.2f}",
            str(sm_fits),
            "0",
            "0",
            f"{peak_rss_mib():.0f}",
            "1x",
        )
    )
    lean_best, lean_time, _ = lean_loop(p12)
    assert lean_best == sm_best, (lean_best, sm_best)
    rows.append(
        (
            "12 feat: lean solver, every subset, cold",
            f"{lean_time:.2f}",
            str(sm_fits),
            "0",
            "0",
            f"{peak_rss_mib():.0f}",
            f"{sm_time / lean_time:.1f}x",
        )
    )
    result, wall_12 = engine(p12, "12 feat: engine n_jobs=1 top_n=10", sm_time)
    assert tuple(p12.group_names.index(g) for g in result.selected) == sm_best
    engine(p12, "12 feat: engine n_jobs=2 top_n=10", sm_time, n_jobs=2)
    engine(p12, "12 feat: engine n_jobs=1 top_n=1", sm_time, top_n=1)
    tracemalloc.start()
    select_exhaustive(p12, progress=None)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    speedup_12 = sm_time / wall_12
    notes.append(
        f"12 features: best subset identical to the statsmodels loop (AIC "
        f"{result.criterion_value:.4f}): " + ", ".join(result.selected)
    )
    notes.append(
        f"12 features: engine (n_jobs=1, top_n=10) {speedup_12:.0f}x faster than statsmodels "
        f"(target >= 20x: {'met' if speedup_12 >= 20 else 'MISSED'})"
    )
    notes.append(f"tracemalloc peak of one 12-feature engine run: {traced / 2**20:.1f} MiB")

    if not args.quick:
        p20 = german_problem(20)
        total = 2 ** len(p20.groups)
        estimate = per_fit * total
        rows.append(
            (
                "20 feat: statsmodels loop (estimate)",
                f"{estimate:.0f}",
                str(total),
                "0",
                "0",
                "-",
                "1x",
            )
        )
        result, wall_20 = engine(p20, "20 feat: engine n_jobs=2 top_n=10", estimate, n_jobs=2)
        engine(p20, "20 feat: engine n_jobs=1 top_n=10", estimate)
        engine(p20, "20 feat: engine n_jobs=1 top_n=1", estimate, top_n=1)
        inline = _runtime.INLINE_SECONDS
        _runtime.INLINE_SECONDS = 0.0  # every task in a worker process
        try:
            engine(p20, "20 feat: n_jobs=2, all in workers (+start)", estimate, n_jobs=2)
            engine(p20, "20 feat: n_jobs=2, all in workers (warm)", estimate, n_jobs=2)
        finally:
            _runtime.INLINE_SECONDS = inline
        engine(p20, "20 feat: engine BIC n_jobs=1 top_n=10", estimate, criterion="bic")
        vif = SelectionConstraints(max_vif=2.0)
        engine(p20, "20 feat: engine max_vif=2 n_jobs=1", estimate, constraints=vif)
        notes.append(
            f"20 features: best subset (AIC {result.criterion_value:.4f}): "
            + ", ".join(result.selected)
        )
        notes.append(
            f"20 features exact, n_jobs=2, top_n=10: {wall_20:.2f} s "
            f"(target < 60 s: {'met' if wall_20 < 60 else 'MISSED'}); statsmodels estimated "
            f"from {per_fit * 1e3:.2f} ms per fit"
        )

    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"German credit, exhaustive AIC unless noted, {os.cpu_count()} CPUs")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells))
    for note in notes:
        print("- " + note)


if __name__ == "__main__":
    main()
