"""``score.engine=dask``: the same chunk scorer mapped over Dask partitions.

The input is read as Dask partitions (``dask.dataframe.read_csv`` with every cell as text,
as the training reader reads it, or ``read_parquet``); each partition is scored, in slices of
``score.chunk_rows``, by :meth:`credit_glm.batch_scoring.BatchScorer.score`, the one function
the local engine calls too, and written by its worker as one part of two Parquet datasets:
``score.output_path`` (the scores) and ``score.rejects_path`` (the rejects), each a directory
of ``part-NNNNN.parquet`` files in partition order. Scores are bit-identical to the local
engine's: every operation is elementwise, so neither the partitioning nor the worker changes
a row's numbers.

``score.scheduler: local`` starts a ``LocalCluster`` of ``score.workers`` processes (one thread
each); an address (``tcp://scheduler:8786``) uses a running cluster, whose workers must see the
input and output paths (a shared filesystem or object store). Both datasets are written under
temporary names beside their targets and renamed into place when every partition is done.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from credit_glm.atomic_files import partial_path
from credit_glm.batch_io import ScoreCounts, parquet_options, plan_input
from credit_glm.batch_scoring import REJECTS_SCHEMA, BatchScorer
from credit_glm.config import DataConfig, ScoreConfig
from credit_glm.errors import ConfigError, DataError

__all__ = ["score_on_dask", "score_partition"]


def _arrays(frame: pd.DataFrame) -> dict[str, pa.Array]:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return {name: table.column(name).combine_chunks() for name in table.column_names}


def score_partition(
    frame: pd.DataFrame,
    batch: BatchScorer,
    first_row: int,
    chunk_rows: int,
    scores_dir: str,
    rejects_dir: str,
    number: int,
) -> tuple[int, int, int, dict[str, int]]:
    """Score one partition whose first row is the input's ``first_row`` (from 1); write its
    scores and rejects as part ``number`` of the two datasets. Returns (read, scored,
    rejected, rejects by rule)."""
    counts = ScoreCounts()
    scores, rejects = [], []
    for start in range(0, len(frame), chunk_rows):
        part = frame.iloc[start : start + chunk_rows]
        done = batch.score(_arrays(part), first_row + start)
        scores.append(done.scores)
        rejects.append(done.rejects)
        counts.add(
            done.n_read, done.n_scored, done.n_rejected, done.rejects.column("rule").to_pylist()
        )
    name = f"part-{number:05d}.parquet"
    scored = pa.concat_tables(scores) if scores else batch.output_schema.empty_table()
    refused = pa.concat_tables(rejects) if rejects else REJECTS_SCHEMA.empty_table()
    pq.write_table(scored, os.path.join(scores_dir, name), **parquet_options(scored.schema))
    pq.write_table(refused, os.path.join(rejects_dir, name), **parquet_options(refused.schema))
    return counts.read, counts.scored, counts.rejected, counts.rejects_by_rule


def _read(
    path: Path, fmt: str, columns: list[str], data: DataConfig, partitions: int | None
) -> Any:
    import dask.dataframe as dd

    if fmt == "parquet":
        # a partition per row group: a file's size never lands on one worker
        frame = dd.read_parquet(str(path), columns=columns, split_row_groups=True)
    else:
        frame = dd.read_csv(
            str(path),
            usecols=columns,
            dtype=str,
            keep_default_na=False,
            na_values=list(data.na_values),
        )
    if partitions is not None:
        frame = frame.repartition(npartitions=partitions)
    return frame


def _replace_dir(temp: Path, final: Path) -> None:
    """Move the finished dataset ``temp`` to ``final`` (replacing an earlier one)."""
    old = None
    if final.exists():
        if not final.is_dir():
            raise DataError(f"{final}: a Dask run writes a directory of Parquet parts here")
        old = final.with_name(f".{final.name}.{os.getpid()}.old")
        os.replace(final, old)
    os.replace(temp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _client(config: ScoreConfig) -> tuple[Any, Any]:
    import logging

    from distributed import Client, LocalCluster

    # the cluster's own start/stop chatter stays out of the job's log
    for name in ("distributed", "bokeh", "tornado"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if config.scheduler == "local":
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=config.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        return Client(cluster), cluster  # type: ignore[no-untyped-call]
    return Client(config.scheduler), None  # type: ignore[no-untyped-call]


def score_on_dask(
    batch: BatchScorer, data: DataConfig, data_path: str, config: ScoreConfig
) -> tuple[ScoreCounts, Path, Path | None]:
    """:func:`credit_glm.batch_io.score_file` on Dask: the same outputs, as Parquet datasets.

    Raises
    ------
    ConfigError
        Dask is not installed (the ``dask`` extra).
    DataError
        As :func:`~credit_glm.batch_io.score_file`.
    """
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ConfigError(
            "score.engine", "dask needs the dask extra: pip install 'credit-glm[dask]'"
        ) from None
    import time

    from dask.base import compute
    from dask.delayed import delayed

    plan = plan_input(batch, data, data_path, config)
    path, fmt, columns = plan.path, plan.fmt, plan.columns
    output, rejects = plan.output, plan.rejects
    temps = [partial_path(p) for p in (output, rejects)]
    started = time.perf_counter()
    client, cluster = _client(config)
    try:
        for t in temps:
            shutil.rmtree(t, ignore_errors=True)
            t.mkdir(parents=True)
        frame = _read(path, fmt, columns, data, config.partitions)
        lengths = frame.map_partitions(len).compute()
        parts = frame.to_delayed()
        first, tasks = 1, []
        for number, (part, n) in enumerate(zip(parts, lengths, strict=True)):
            tasks.append(
                delayed(score_partition)(
                    part,
                    batch,
                    first,
                    config.chunk_rows,
                    str(temps[0]),
                    str(temps[1]),
                    number,
                )
            )
            first += int(n)
        counts = ScoreCounts()
        done = compute(*tasks)  # type: ignore[no-untyped-call]
        for read, scored, rejected, rules in done:
            counts.read += read
            counts.scored += scored
            counts.rejected += rejected
            for rule, k in rules.items():
                counts.rejects_by_rule[rule] = counts.rejects_by_rule.get(rule, 0) + k
        counts.seconds = time.perf_counter() - started
        if counts.read == 0:
            raise DataError(f"data.path: file {data_path!r} has a header but no rows")
        _replace_dir(temps[1], rejects)
        if counts.reject_share > config.max_reject_share:
            return counts, rejects, None
        _replace_dir(temps[0], output)
        return counts, rejects, output
    except (ValueError, pa.ArrowInvalid) as err:
        raise DataError(f"data.path: cannot score {data_path!r} on Dask: {err}") from None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        for t in temps:
            shutil.rmtree(t, ignore_errors=True)
