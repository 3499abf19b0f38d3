"""Whole-file writes: a reader sees the old file or the new one, never a part.

The one way the package writes a file (the run's JSON outputs, sweep summaries, the artifact
pair): a temporary file in the target's directory, flushed and fsynced, renamed over the target,
the directory fsynced. Standard library only, so a mode that merely writes a file (a config error
report, a sweep summary) loads nothing else.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["fsync_directory", "partial_path", "write_file_atomically", "write_temp"]


def partial_path(path: Path) -> Path:
    """Where a file written in parts (a stream of chunks) grows before it is renamed to
    ``path``: a hidden ``.NAME.PID.partial`` beside it, which no reader takes for the file."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def write_temp(directory: Path, name: str, data: bytes) -> Path:
    """``data`` in a new temporary file next to its final name, flushed to disk."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def fsync_directory(directory: Path) -> None:
    """Make the renames in ``directory`` durable (the directory entry itself is data)."""
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_file_atomically(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never a
    part: a temporary file in the same directory, flushed and fsynced, then ``os.replace``d
    over ``path`` and the directory fsynced. The temporary file is removed on any failure.

    Every file the package writes goes through here or, for the artifact pair that must be
    replaced together under a lock, through the same temporary-file step.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temp(path.parent, path.name, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
    return path
