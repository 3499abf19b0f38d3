"""A seeded synthetic portfolio in the German credit schema, for multi-million-row benchmarks.

Every column of ``conf/data/german_credit.yaml`` is drawn from the embedded data's own marginal
distribution (category levels with their frequencies; whole numbers resampled, the credit amount
and the age with a small seeded jitter, kept inside the declared range), and the outcome
``creditability`` from a stated logistic model (:data:`TRUE_MODEL`), so a model trained on a
sample has signal to find. Rows are made in fixed blocks of :data:`BLOCK_ROWS`, each with its
own generator derived from ``(seed, block)``: any row range is the same whether it is made in one
call or many, so a file written in chunks equals one made at once.

Entry point (a data tool, not a modelling job, so it has no Hydra config)::

    python -m credit_glm.portfolio --rows 5000000 --seed 1 --out portfolio.parquet
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from credit_glm.atomic_files import fsync_directory, partial_path
from credit_glm.tables import file_format, resolve_path

__all__ = ["BLOCK_ROWS", "TRUE_MODEL", "make_portfolio", "main", "write_portfolio"]

BLOCK_ROWS: Final = 65_536
TARGET: Final = "creditability"
# the logistic model the outcome is drawn from: P(bad) = 1 / (1 + exp(-eta))
TRUE_MODEL: Final[dict[str, Any]] = {
    "intercept": -1.25,
    "duration_in_month": 0.035,  # per month above 20
    "age_in_years": -0.015,  # per year above 35
    "installment_rate_in_percentage_of_disposable_income": 0.15,  # per point above 3
    "status_of_existing_checking_account": {
        "... < 0 DM": 0.9,
        "0 <= ... < 200 DM": 0.5,
        "... >= 200 DM / salary assignments for at least 1 year": -0.3,
        "no checking account": -0.9,
    },
}
_CENTRES: Final = {
    "duration_in_month": 20,
    "age_in_years": 35,
    "installment_rate_in_percentage_of_disposable_income": 3,
}
_JITTER: Final = {"credit_amount": 0.05, "age_in_years": 0.03}  # sd of a log-normal factor
_BOUNDS: Final = {"credit_amount": (0, 1_000_000), "age_in_years": (18, 120)}


@lru_cache(maxsize=1)
def _source() -> pd.DataFrame:
    return pd.read_csv(
        resolve_path("builtin://german_credit.csv"), dtype=str, keep_default_na=False
    )


def _block(block: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(np.random.SeedSequence([seed, block]))
    source = _source()
    out: dict[str, Any] = {}
    for name in source.columns:
        if name == TARGET:
            continue
        column = source[name]
        if column.str.fullmatch(r"-?\d+").all():
            values = column.astype(np.int64).to_numpy()[rng.integers(0, len(column), BLOCK_ROWS)]
            if name in _JITTER:
                lo, hi = _BOUNDS[name]
                factor = np.exp(rng.normal(0.0, _JITTER[name], BLOCK_ROWS))
                values = np.clip(np.rint(values * factor), lo, hi).astype(np.int64)
            out[name] = values
        else:
            levels, counts = np.unique(column.to_numpy(dtype=object), return_counts=True)
            picks = rng.choice(len(levels), size=BLOCK_ROWS, p=counts / counts.sum())
            out[name] = levels[picks]
    eta = np.full(BLOCK_ROWS, float(TRUE_MODEL["intercept"]))
    for name, centre in _CENTRES.items():
        eta += float(TRUE_MODEL[name]) * (out[name] - centre)
    status = TRUE_MODEL["status_of_existing_checking_account"]
    eta += np.array([status[v] for v in out["status_of_existing_checking_account"]])
    bad = rng.random(BLOCK_ROWS) < 1.0 / (1.0 + np.exp(-eta))
    out[TARGET] = np.where(bad, "bad", "good").astype(object)
    return pd.DataFrame(out)


def make_portfolio(
    n: int, seed: int = 0, start: int = 0, id_column: str | None = "application_id"
) -> pd.DataFrame:
    """Rows ``start`` to ``start + n`` of the portfolio of ``seed``: every German credit
    column, ``creditability`` included, and first an ``id_column`` (row number from 1; none
    when None)."""
    if n < 0 or start < 0:
        raise ValueError("n and start must be >= 0")
    first, last = start // BLOCK_ROWS, (start + n - 1) // BLOCK_ROWS if n else -1
    blocks = [_block(b, seed) for b in range(first, last + 1)]
    columns = list(_source().columns)
    frame = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=columns)
    offset = start - first * BLOCK_ROWS
    frame = frame.iloc[offset : offset + n].reset_index(drop=True)[columns]
    if id_column is not None:
        frame.insert(0, id_column, np.arange(start + 1, start + n + 1, dtype=np.int64))
    return frame


def write_portfolio(
    path: str | Path,
    n: int,
    seed: int = 0,
    chunk_rows: int = 500_000,
    id_column: str | None = "application_id",
) -> Path:
    """Write :func:`make_portfolio` ``(n, seed)`` to ``path`` (Parquet for .parquet/.pq, else
    CSV) in chunks of ``chunk_rows``, under a temporary name renamed at the end."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = partial_path(path)
    parquet = file_format(path) == "parquet"
    writer: Any = None
    try:
        for start in range(0, n, chunk_rows):
            table = pa.Table.from_pandas(
                make_portfolio(min(chunk_rows, n - start), seed, start, id_column),
                preserve_index=False,
            )
            if writer is None:
                writer = (
                    pq.ParquetWriter(temp, table.schema)
                    if parquet
                    else pacsv.CSVWriter(temp, table.schema)
                )
            writer.write_table(table)
        if writer is None:
            raise ValueError("a portfolio needs at least one row")
        writer.close()
        writer = None
        os.replace(temp, path)
        fsync_directory(path.parent)
        return path
    finally:
        if writer is not None:
            writer.close()
        temp.unlink(missing_ok=True)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m credit_glm.portfolio",
        description="Write a seeded synthetic portfolio in the German credit schema.",
    )
    parser.add_argument("--rows", type=_positive, required=True)
    parser.add_argument("--out", type=Path, required=True, help="a .csv or .parquet file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk-rows", type=_positive, default=500_000)
    parser.add_argument(
        "--id-column",
        default="application_id",
        help="the id column's name; '' for none (the German schema declares none)",
    )
    args = parser.parse_args(argv)
    path = write_portfolio(args.out, args.rows, args.seed, args.chunk_rows, args.id_column or None)
    print(f"{args.rows} rows written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
