"""Reading input tables (CSV or Parquet) and fingerprinting them. An I/O edge."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from credit_glm.config import DataConfig
from credit_glm.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "BUILTIN_PREFIX",
    "TEXT_CHUNK_ROWS",
    "csv_header",
    "file_format",
    "file_sha256",
    "read_chunks",
    "read_table",
    "resolve_path",
]

#: Rows of text parsed at a time when a whole CSV is read: each chunk's strings are encoded
#: (a code per cell) before the next is parsed.
TEXT_CHUNK_ROWS = 65_536

BUILTIN_PREFIX = "builtin://"


def resolve_path(path: str) -> Path:
    """A filesystem path; ``builtin://NAME`` is a data file shipped in ``credit_glm/datasets``."""
    if path.startswith(BUILTIN_PREFIX):
        name = path[len(BUILTIN_PREFIX) :]
        resource = resources.files("credit_glm.datasets").joinpath(name)
        if not resource.is_file():
            raise DataError(f"data.path: no built-in dataset {name!r}")
        return Path(str(resource))
    return Path(path).expanduser()


def file_format(path: Path | str, declared: str = "auto") -> str:
    """``csv`` or ``parquet``: the declared format, else by the suffix (.parquet/.pq)."""
    if declared != "auto":
        return declared
    return "parquet" if Path(path).suffix.lower() in (".parquet", ".pq") else "csv"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file (its first record)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16))
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"data.path: cannot read {str(path)!r} as csv: {err}") from None
    names = list(reader.schema.names)
    reader.close()
    return names


def read_chunks(
    path: Path,
    fmt: str,
    columns: Sequence[str],
    data: DataConfig,
    chunk_rows: int,
    dictionary: Sequence[str] = (),
) -> Iterator[pa.RecordBatch]:
    """The file's ``columns`` in batches of ``chunk_rows`` rows (the last one shorter); a
    CSV's every cell as text, ``data.na_values`` read as missing. The ``dictionary`` columns
    come dictionary-encoded (each distinct text once, a code per cell): a Parquet file's own
    dictionary pages are kept, a CSV's are encoded as they are parsed, so no per-cell string
    is built. Training (:func:`read_table`) and batch scoring read files through it."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    encoded = [c for c in columns if c in set(dictionary)]
    if fmt == "parquet":
        file = pq.ParquetFile(path, read_dictionary=encoded)
        yield from file.iter_batches(batch_size=chunk_rows, columns=list(columns))
        return
    text, codes = pa.string(), pa.dictionary(pa.int32(), pa.string())
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=1 << 22),
        convert_options=pacsv.ConvertOptions(
            column_types={c: codes if c in encoded else text for c in columns},
            include_columns=list(columns),
            null_values=list(data.na_values),
            strings_can_be_null=True,
        ),
    )
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in reader:
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield from table.slice(0, chunk_rows).combine_chunks().to_batches()
            rest = table.slice(chunk_rows)
            pending, held = rest.combine_chunks().to_batches(), rest.num_rows
    if held:
        yield from pa.Table.from_batches(pending).combine_chunks().to_batches()


def _csv_as_categoricals(path: Path, columns: Sequence[str], data: DataConfig) -> pd.DataFrame:
    """Every cell of ``columns`` as text, a chunk at a time, each column dictionary-encoded
    (each distinct text held once, a code per cell) before the next chunk is parsed."""
    import pyarrow as pa

    encoded: dict[str, list[pa.Array]] = {c: [] for c in columns}
    pool = pa.default_memory_pool()
    for batch in read_chunks(path, "csv", columns, data, TEXT_CHUNK_ROWS, dictionary=columns):
        for i, name in enumerate(columns):
            encoded[name].append(batch.column(i))
        del batch
        pool.release_unused()  # the parser's buffers, back to the system before the next
    kind = pa.dictionary(pa.int32(), pa.string())
    table = pa.table({c: pa.chunked_array(encoded[c], type=kind) for c in columns})
    frame: pd.DataFrame = table.to_pandas()
    del table, encoded
    pool.release_unused()
    return frame


def read_table(path: str, data: DataConfig) -> tuple[pd.DataFrame, Path]:
    """Read a CSV (every cell as text; the schema does the typing) or a Parquet file, text
    held as Categoricals.

    Raises
    ------
    DataError
        Missing, unreadable or empty file.
    """
    resolved = resolve_path(path)
    if not resolved.is_file():
        raise DataError(f"data.path: file {path!r} not found")
    if resolved.stat().st_size == 0:
        raise DataError(f"data.path: file {path!r} is empty")
    fmt = file_format(resolved, data.format.value)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # Under a strict schema every column is read, so an undeclared one is reported by
        # name; otherwise only the declared columns are (the others would be ignored anyway).
        names = pq.read_schema(resolved).names if fmt == "parquet" else csv_header(resolved)
        columns = [n for n in names if data.strict or n in data.columns]
        if not columns:
            raise DataError(f"data.path: {path!r} has none of the columns data.columns declares")
        if fmt == "parquet":
            frame = pq.read_table(resolved, columns=columns).to_pandas(strings_to_categorical=True)
        else:
            # Text in, so the schema sees exactly what the file says: no silent number
            # inference, no category "NA" turned into a missing value unless na_values says so.
            frame = _csv_as_categoricals(resolved, columns, data)
    except (pa.ArrowInvalid, OSError, ValueError) as err:
        raise DataError(f"data.path: cannot read {path!r} as {fmt}: {err}") from None
    if frame.empty:
        raise DataError(f"data.path: file {path!r} has a header but no rows")
    return frame, resolved
