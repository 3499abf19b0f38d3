"""Logging of the service: one structured line per request, and gunicorn's own log alike.

Request lines go to stdout, named ``credit_glm.service.requests`` (request id,
method, endpoint, status, latency, worker pid; rows for a batch; the error kind; never feature
values unless ``serving.log_features``). Everything else (gunicorn's ``gunicorn.error``, start-up
and shutdown messages, unexpected exceptions with their traceback) goes to stderr. With
``serving.log_format=json`` both are JSON objects, one per line.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, Final, TextIO

import orjson
from gunicorn.glogging import Logger as GunicornLogger

__all__ = [
    "REQUEST_LOGGER",
    "JsonFormatter",
    "JsonGunicornLogger",
    "RequestLog",
    "TextFormatter",
    "compact_json",
    "configure_logging",
    "flush_requests",
    "log_request",
]

REQUEST_LOGGER: Final = "credit_glm.service.requests"


def compact_json(value: Mapping[str, Any]) -> str:
    """``value`` as compact JSON, other types as their ``str`` (orjson: a request line's fields
    in 0.2 us against json's 5 us; json for what orjson refuses, such as integers past 64 bits).
    """
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _timestamp(created: float) -> str:
    return dt.datetime.fromtimestamp(created, dt.UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: ``ts``, ``level``, ``logger``, ``message`` and the fields
    passed as ``extra={"fields": {...}}``; a traceback as ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            payload.update(fields)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``ts level logger message key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{_timestamp(record.created)} {record.levelname} {record.name} {record.getMessage()}"
        )
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            line += "".join(f" {k}={json.dumps(v, default=str)}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``serving.log_format``."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(log_format: str) -> None:
    """Take logging over from Hydra for the server process and its workers.

    ``@hydra.main`` has attached its console and ``<run dir>/__main__.log`` handlers to the
    root logger; in a forking server they would write every worker's records to the run
    directory in Hydra's format. They are removed, and the root logger writes to stderr in the
    service's format. Request lines go to stdout.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(formatter(log_format))
    root.addHandler(err)
    root.setLevel(logging.INFO)
    _requests.stream = sys.stdout
    _requests.json = log_format == "json"


class RequestLog:
    """Writes the request lines: one formatted line per request, flushed in small batches.

    The per-request line bypasses ``logging`` (a ``LogRecord``, handler lookup and formatter
    per request cost more than the rest of the bookkeeping); the object is the one
    :class:`JsonFormatter` writes, compact (orjson: :func:`compact_json`). A request
    queues its fields and time; a background thread formats and writes the queue every
    ``flush_seconds`` (or once ``max_pending`` are queued, and at worker exit): a write system
    call per request, each handing the interpreter lock to gunicorn's accepting thread, and
    formatting with cold caches cost a fifth of a small request. A worker killed with SIGKILL
    loses at most ``flush_seconds`` of lines. (Measured again, metrics written through, with
    ``tests/benchmarks/bench_service.py --variant``: a line written per request cost 5% more
    server CPU per ``/predict`` and 1% of its throughput on a quiet machine, 16-24% of its
    throughput on a loaded one; kept. The metric buffer did not earn its keep and was removed.)
    """

    def __init__(
        self,
        stream: TextIO | None,
        log_format: str = "json",
        flush_seconds: float = 0.2,
        max_pending: int = 256,
    ) -> None:
        self.stream = stream
        self.json = log_format == "json"
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self._pending: list[tuple[float, Mapping[str, Any]]] = []
        self._lock = threading.Lock()  # the queue
        self._io_lock = threading.Lock()  # the stream: batches are written in order
        self._flusher_pid = -1
        self._second = -1
        self._second_text = ""
        self._head = (
            '{{"ts":"{}","level":"info","logger":"' + REQUEST_LOGGER + '","message":"request",'
        )

    def _now(self, t: float) -> str:
        # _timestamp's text, formatting the date and time once per second
        second = int(t)
        if second != self._second:
            self._second = second
            self._second_text = _timestamp(second)[:-10]
        return f"{self._second_text}.{int((t - second) * 1000):03d}+00:00"

    def write(self, fields: Mapping[str, Any]) -> None:
        """Queue a request line (formatted when written, with the time of this call)."""
        if self.stream is None:
            return
        with self._lock:
            self._pending.append((time.time(), fields))
            pending = len(self._pending)
        if self._flusher_pid != os.getpid():  # threads do not survive gunicorn's fork
            self._start_flusher()
        if pending >= self.max_pending:
            self.flush()

    def format(self, created: float, fields: Mapping[str, Any]) -> str:
        """One request line: the object :class:`JsonFormatter` writes (compact), or its text
        form."""
        now = self._now(created)
        if self.json:
            return self._head.format(now) + compact_json(fields)[1:]
        return f"{now} INFO {REQUEST_LOGGER} request" + "".join(
            f" {k}={json.dumps(v, default=str)}" for k, v in fields.items()
        )

    def flush(self) -> None:
        """Format and write the queued lines now."""
        with self._io_lock:
            with self._lock:
                queued, self._pending = self._pending, []
            if queued and self.stream is not None:
                self.stream.write("".join(self.format(t, f) + "\n" for t, f in queued))
                self.stream.flush()

    def _start_flusher(self) -> None:
        self._flusher_pid = os.getpid()
        threading.Thread(target=self._run, name="request-log", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.flush_seconds)
            try:
                self.flush()
            except (OSError, ValueError):  # the stream went away (shutdown)
                return


_requests = RequestLog(None)
atexit.register(_requests.flush)


def log_request(fields: Mapping[str, Any]) -> None:
    """Queue the request line (nowhere until :func:`configure_logging` has run)."""
    _requests.write(fields)


def flush_requests() -> None:
    """Write the queued request lines (at worker exit)."""
    _requests.flush()


class JsonGunicornLogger(GunicornLogger):  # type: ignore[misc]
    """gunicorn's logger with its error log (start-up, workers, signals) as JSON lines."""

    def _set_handler(
        self, log: logging.Logger, output: str | None, fmt: logging.Formatter, stream: Any = None
    ) -> None:
        if log is self.error_log:
            fmt = JsonFormatter()
        super()._set_handler(log, output, fmt, stream=stream)
