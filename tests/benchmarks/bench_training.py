"""Benchmark of training on large synthetic portfolios (not a pytest test).

Run from the repository root::

    python tests/benchmarks/bench_training.py --rows 1000000 5000000 --baseline fcbab14

For each size, a seeded German-credit-schema portfolio (:mod:`credit_glm.portfolio`) is
written once as CSV; ``python -m credit_glm data.path=FILE`` (the default features and
selection) then trains on it in a fresh process. Printed: wall time, peak resident set, the
design matrix (training rows x terms x 8 bytes), and the peak above the fixed cost of a
training process (the peak of the same command on the 1,000-row German data, same run).

``--baseline REF`` runs the same commands with the package of git revision ``REF`` first on
``PYTHONPATH`` (exported into the work directory), for a same-run comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from credit_glm.portfolio import write_portfolio  # noqa: E402
from tests.benchmarks.bench_batch_score import export_revision, run_measured  # noqa: E402


def _train(work: Path, tag: str, data: str, env: dict[str, str]) -> tuple[float, float, dict]:  # type: ignore[type-arg]
    run_dir, models = f"outputs/{tag}", f"models_{tag}"
    wall, mib, _ = run_measured(
        [sys.executable, "-m", "credit_glm", f"data.path={data}", f"hydra.run.dir={run_dir}",
         f"paths.models_dir={models}", "verbose=false"],
        work,
        env,
    )  # fmt: skip
    card = json.loads((work / models / "glm_model.json").read_text())
    return wall, mib, card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/credit_glm_bench_training"))
    parser.add_argument("--baseline", help="a git revision to compare with, in the same run")
    args = parser.parse_args()
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    versions: dict[str, dict[str, str]] = {"this tree": {}}
    if args.baseline:
        source = export_revision(args.baseline, work / f"src_{args.baseline}")
        versions[args.baseline] = {"PYTHONPATH": str(source)}
    out = []
    for version, env in versions.items():
        slug = version.replace(" ", "_")
        _, fixed, _ = _train(work, f"{slug}_german", "builtin://german_credit.csv", env)
        for n in args.rows:
            path = work / f"portfolio_{n}.csv"
            if not path.exists():
                write_portfolio(path, n, seed=1, id_column=None)
            wall, mib, card = _train(work, f"{slug}_{n}", str(path), env)
            terms = len(card["coefficients"])
            train_rows = card["diagnostics"]["split"]["train_rows"]
            design = train_rows * terms * 8 / 2**20
            row = {
                "version": version,
                "rows": n,
                "train_rows": train_rows,
                "terms": terms,
                "wall_s": round(wall, 1),
                "peak_rss_mib": round(mib),
                "fixed_cost_mib": round(fixed),
                "design_matrix_mib": round(design),
                "peak_over_design": round(mib / design, 2),
                "peak_above_fixed_over_design": round((mib - fixed) / design, 2),
                "intercept": card["coefficients"]["Intercept"]["estimate"],
            }
            out.append(row)
            print(
                f"{version:>10}: {n:>9,} rows ({train_rows:,} training, {terms} terms): "
                f"{wall:.1f} s, peak {mib:,.0f} MiB = {mib / design:.1f}x the design matrix "
                f"({design:,.0f} MiB); {(mib - fixed) / design:.2f}x above the fixed "
                f"{fixed:,.0f} MiB of a training process",
                flush=True,
            )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
