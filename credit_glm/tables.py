"""Reading input tables (CSV or Parquet) and fingerprinting them. An I/O edge."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pandas as pd

from credit_glm.config import DataConfig
from credit_glm.errors import DataError

__all__ = ["BUILTIN_PREFIX", "file_format", "file_sha256", "read_table", "resolve_path"]

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


def read_table(path: str, data: DataConfig) -> tuple[pd.DataFrame, Path]:
    """Read a CSV (every cell as text; the schema does the typing) or a Parquet file.

    Raises
    ------
    DataError
        Missing, unreadable or empty file.
    """
    resolved = resolve_path(path)
    if not resolved.is_file():
        raise DataError(f"data.path: file {path!r} not found")
    fmt = file_format(resolved, data.format.value)
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(resolved)
        else:
            # Text in, so the schema sees exactly what the file says: no silent float
            # inference, no category "NA" turned into a missing value unless na_values says so.
            # Each column's text is held as a Categorical (a code per cell, each distinct text
            # once): a tenth of the memory of one string per cell on a portfolio of millions.
            frame = pd.read_csv(
                resolved, dtype="category", keep_default_na=False, na_values=list(data.na_values)
            )
    except pd.errors.EmptyDataError:
        raise DataError(f"data.path: file {path!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as err:
        raise DataError(f"data.path: cannot read {path!r} as {fmt}: {err}") from None
    if frame.empty:
        raise DataError(f"data.path: file {path!r} has a header but no rows")
    return frame, resolved
