"""Batch scoring's edge: stream a CSV or Parquet file in chunks, write scores and rejects.

:func:`score_file` reads ``data.path`` chunk by chunk (pyarrow's streaming CSV reader, or a
Parquet file's batches), scores each with :meth:`credit_glm.batch_scoring.BatchScorer.score`
and appends the results to two files. Memory stays flat whatever the file's size: one chunk,
its outputs and the writers' buffers.

Nothing is half-written: both outputs are written under temporary names in their target
directories and renamed into place only when the whole input has been read. An interrupted
run (an error, Ctrl-C, a kill) leaves no file at either final path; a run whose reject share
exceeds ``score.max_reject_share`` publishes its rejects (to be read) but not its scores.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from credit_glm.atomic_files import fsync_directory, partial_path
from credit_glm.batch_scoring import REJECTS_SCHEMA, BatchScorer, ScoredChunk
from credit_glm.config import DataConfig, ScoreConfig
from credit_glm.errors import DataError
from credit_glm.selection._runtime import interactive_terminal
from credit_glm.tables import csv_header, file_format, read_chunks, resolve_path

__all__ = [
    "ScoreCounts",
    "ScoringPlan",
    "parquet_options",
    "plan_input",
    "prefetched",
    "rejects_path_for",
    "score_file",
]


@dataclass
class ScoreCounts:
    """Rows read, scored and rejected, and how long it took."""

    read: int = 0
    scored: int = 0
    rejected: int = 0
    seconds: float = 0.0
    rejects_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def reject_share(self) -> float:
        return self.rejected / self.read if self.read else 0.0

    def add(self, read: int, scored: int, rejected: int, rules: Sequence[str]) -> None:
        self.read += read
        self.scored += scored
        self.rejected += rejected
        for r in rules:
            self.rejects_by_rule[r] = self.rejects_by_rule.get(r, 0) + 1


def rejects_path_for(output: Path) -> Path:
    """Where the rejects go by default: next to the output, ``<stem>.rejects<suffix>``."""
    return output.with_name(f"{output.stem}.rejects{output.suffix}")


@dataclass(frozen=True)
class ScoringPlan:
    """What a scoring run reads and writes, checked before anything is written."""

    path: Path
    fmt: str
    columns: list[str]  # the declared columns the file holds, in file order
    rows: int | None  # known up front for Parquet
    output: Path
    rejects: Path


def plan_input(
    batch: BatchScorer, data: DataConfig, data_path: str, config: ScoreConfig
) -> ScoringPlan:
    """The input's columns and the two output paths, for either engine.

    Refuses a missing or unreadable file, one without a required column or (a strict schema)
    with a column nobody declared, and outputs that collide. Outcome columns (target, weight,
    date) of the training schema are ignored, so a labelled file can be scored.

    Raises
    ------
    DataError
        Any of those; nothing has been written.
    """
    path = resolve_path(data_path)
    if not path.is_file():
        raise DataError(f"data.path: file {data_path!r} not found")
    fmt = file_format(path, data.format.value)
    try:
        if fmt == "parquet":
            meta = pq.ParquetFile(path)
            present, rows = list(meta.schema_arrow.names), meta.metadata.num_rows
        else:
            present, rows = csv_header(path), None
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"data.path: cannot read {data_path!r} as {fmt}: {err}") from None
    unknown = [c for c in batch.validator.unknown_columns(present) if c not in data.outcome_columns]
    if unknown and data.strict:
        raise DataError(
            f"data.path: {data_path!r} has column(s) {unknown} the schema does not declare "
            "(data.strict: true)"
        )
    missing = batch.validator.missing_columns(present)
    if missing:
        raise DataError(f"data.path: {data_path!r} lacks the required column(s) {missing}")
    columns = [c for c in present if c in batch.validator.table.columns]
    output = Path(config.output_path).expanduser()
    rejects = Path(config.rejects_path).expanduser() if config.rejects_path else None
    rejects = rejects or rejects_path_for(output)
    if output.resolve() == rejects.resolve() or path.resolve() in (
        output.resolve(),
        rejects.resolve(),
    ):
        raise DataError(
            "score.output_path, score.rejects_path and data.path must be three different files"
        )
    return ScoringPlan(path, fmt, columns, rows, output, rejects)


def prefetched(chunks: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """``chunks`` read ahead by a thread, at most ``depth`` held: Arrow parses while numpy
    scores (both release the GIL), so reading and scoring overlap on two cores. An error of
    the reader is raised here, in order."""
    import queue
    import threading

    held: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def read() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        held.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            held.put(done)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer, re-raised there
            held.put(err)

    reader = threading.Thread(target=read, name="score-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = held.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=5)


def _scored_in_order(
    batch: BatchScorer, chunks: Iterator[pa.RecordBatch], threads: int
) -> Iterator[ScoredChunk]:
    """Each chunk scored, in input order, by ``threads`` threads (numpy and Arrow release
    the GIL in their loops); at most ``threads + 1`` chunks in flight. A chunk's first row is
    known when it is read, so its output does not depend on which thread scores it."""
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    pending: deque[Future[ScoredChunk]] = deque()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="score") as pool:
        first = 1
        try:
            for chunk in chunks:
                arrays = {name: chunk.column(i) for i, name in enumerate(chunk.schema.names)}
                pending.append(pool.submit(batch.score, arrays, first))
                first += chunk.num_rows
                while len(pending) > threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """How scores and rejects are written to Parquet: Parquet's dictionary encoding for the
    dictionary-encoded text columns only (written straight from their codes; hashing a
    column of distinct floats or row numbers into a dictionary is wasted work), and no Arrow
    schema in the file's metadata, so a reader sees those columns as plain text, as in a CSV."""
    return {
        "use_dictionary": [f.name for f in schema if pa.types.is_dictionary(f.type)],
        "store_schema": False,
    }


class _Writer:
    """Appends tables to a temporary file beside ``path``; :meth:`publish` renames it there."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.temp = partial_path(path)
        self.fmt = file_format(path)
        self._writer: Any = (
            pq.ParquetWriter(self.temp, schema, **parquet_options(schema))
            if self.fmt == "parquet"
            else pacsv.CSVWriter(self.temp, schema)
        )

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def publish(self) -> Path:
        self.close()
        with open(self.temp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(self.temp, self.path)
        fsync_directory(self.path.parent)
        return self.path

    def discard(self) -> None:
        self.close()
        self.temp.unlink(missing_ok=True)


def _progress(enabled: bool, total: int | None) -> Any:
    """A tqdm bar in rows on a terminal; None in CI, when piped or when switched off."""
    if not enabled or not interactive_terminal():
        return None
    from tqdm import tqdm  # type: ignore[import-untyped]

    return tqdm(total=total, unit=" rows", unit_scale=True, desc="scoring", file=sys.stderr)


def score_file(
    batch: BatchScorer, data: DataConfig, data_path: str, config: ScoreConfig
) -> tuple[ScoreCounts, Path, Path | None]:
    """Score ``data_path`` chunk by chunk into ``config.output_path`` and its rejects file.

    Returns the counts, the rejects path and the scores path (None when the reject share
    exceeded ``config.max_reject_share``: the scores are then not published).

    Raises
    ------
    DataError
        The input is missing, unreadable, lacks a required column or (strict schema) holds
        an undeclared one; nothing is written.
    """
    plan = plan_input(batch, data, data_path, config)
    path, fmt, columns = plan.path, plan.fmt, plan.columns
    output, rejects = plan.output, plan.rejects
    counts = ScoreCounts()
    started = time.perf_counter()
    scores_out = _Writer(output, batch.output_schema)
    rejects_out = _Writer(rejects, REJECTS_SCHEMA)
    bar = _progress(config.progress, plan.rows)
    chunks = read_chunks(
        path, fmt, columns, data, config.chunk_rows, dictionary=batch.validator.text_columns
    )
    try:
        for scored in _scored_in_order(batch, prefetched(chunks), config.threads):
            scores_out.write(scored.scores)
            rejects_out.write(scored.rejects)
            counts.add(
                scored.n_read,
                scored.n_scored,
                scored.n_rejected,
                scored.rejects.column("rule").to_pylist(),
            )
            if bar is not None:
                bar.update(scored.n_read)
        counts.seconds = time.perf_counter() - started
        if counts.read == 0:
            raise DataError(f"data.path: file {data_path!r} has a header but no rows")
        published_rejects = rejects_out.publish()
        if counts.reject_share > config.max_reject_share:
            scores_out.discard()
            return counts, published_rejects, None
        return counts, published_rejects, scores_out.publish()
    except pa.ArrowInvalid as err:
        raise DataError(f"data.path: cannot read {data_path!r} as {fmt}: {err}") from None
    finally:
        if bar is not None:
            bar.close()
        scores_out.discard()
        rejects_out.discard()
