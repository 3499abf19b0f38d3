"""Readiness shared by the gunicorn master and its workers.

On SIGTERM the master (not the workers, which are still serving) flips one byte of anonymous
shared memory mapped before the workers were forked; every worker's ``/ready`` reads it and
answers 503 from then on, while requests are still served for ``serving.drain_seconds``, so a
load balancer stops sending traffic before the listeners close.
"""

from __future__ import annotations

import mmap

__all__ = ["Readiness"]


class Readiness:
    """A draining flag visible to every process forked after it was created."""

    def __init__(self) -> None:
        # MAP_SHARED | MAP_ANONYMOUS: the page stays shared with forked children
        self._mem = mmap.mmap(-1, 1)

    @property
    def draining(self) -> bool:
        return self._mem[0] == 1

    def start_draining(self) -> None:
        self._mem[0] = 1
