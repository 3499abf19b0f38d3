"""Readiness shared by the gunicorn master and its workers.

On SIGTERM the master (not the workers, which are still serving) flips one byte of anonymous
shared memory mapped before the workers were forked; every worker's ``/ready`` reads it and
answers 503 from then on, while requests are still served for ``serving.drain_seconds``, so a
load balancer stops sending traffic before the listeners close. When the drain is over the
master flips a second byte, ``stopping``, before it signals the workers: a worker that gets
SIGTERM with it set stops at once, one that gets SIGTERM without it (sent to it directly, as
``kill -TERM -PGID`` does) drains by itself first, answering 503 on its own ``/ready`` only
(a worker killed alone is replaced, and must not leave its siblings unready).
"""

from __future__ import annotations

import mmap

__all__ = ["Readiness"]

_DRAINING, _STOPPING = 0, 1


class Readiness:
    """A draining flag visible to every process forked after it was created."""

    def __init__(self) -> None:
        # MAP_SHARED | MAP_ANONYMOUS: the page stays shared with forked children
        self._mem = mmap.mmap(-1, 2)
        self._this_process = False  # a plain attribute: each forked process has its own

    @property
    def draining(self) -> bool:
        """Whether ``/ready`` answers 503 in this process."""
        return self._this_process or self._mem[_DRAINING] == 1

    @property
    def server_draining(self) -> bool:
        """Whether the master is draining (it got SIGTERM), whatever this process does."""
        return self._mem[_DRAINING] == 1

    @property
    def stopping(self) -> bool:
        """Whether the master's drain is over and it is stopping its workers."""
        return self._mem[_STOPPING] == 1

    def start_draining(self) -> None:
        """Drain every process (the master, on SIGTERM)."""
        self._mem[_DRAINING] = 1

    def drain_this_process(self) -> None:
        """Drain this process only (a worker sent SIGTERM directly)."""
        self._this_process = True

    def start_stopping(self) -> None:
        """Tell the workers the drain is over (the master, before it signals them)."""
        self._mem[_STOPPING] = 1
