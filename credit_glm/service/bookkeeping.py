"""Per-request bookkeeping as WSGI middleware: request id, metrics and the log line.

It wraps the Flask app (``app.wsgi_app``), so it sees every request, including the 404s and
405s Flask answers before any view, and reads the status from ``start_response`` without
Flask's context proxies. The views pass what only they know (rows in a batch, the kind of an
error, the features to log) in the WSGI environ under the ``credit_glm.*`` keys.
"""

from __future__ import annotations

import gc
import itertools
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Final

from credit_glm.service import metrics as m
from credit_glm.service.logs import log_request

__all__ = [
    "ENDPOINTS",
    "KEY_ERROR_KIND",
    "KEY_FEATURES",
    "KEY_REQUEST_ID",
    "KEY_ROWS",
    "KEY_STARTED",
    "CollectorPause",
    "RequestBookkeeping",
]

# the scoring port's routes (/metrics is the admin port's: credit_glm.service.admin)
ENDPOINTS: Final = (
    "/health",
    "/ready",
    "/predict",
    "/predict/batch",
    "/model/info",
    "/openapi.json",
)
KEY_REQUEST_ID: Final = "credit_glm.request_id"
KEY_ERROR_KIND: Final = "credit_glm.error_kind"
KEY_ROWS: Final = "credit_glm.rows"
KEY_FEATURES: Final = "credit_glm.features"
# time.perf_counter() when the request reached the app: serving.request_timeout runs from here
KEY_STARTED: Final = "credit_glm.started"

_METHODS: Final = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_STATUS_KIND: Final = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation",
    500: "internal",
}


class CollectorPause:
    """Pauses Python's cyclic garbage collector while requests are being handled.

    A request body is parsed into many containers and freed by reference counting when the
    request ends; none of it is cyclic garbage. But every array counts towards the collector's
    thresholds: a 1 MB body of 340,000 empty arrays set off collections walking the whole heap
    again and again (430 ms, against 25 ms paused), and even with parsing alone paused, the one
    collection after it walks every object of the body still alive (a 1 MB batch of 250,000
    one-element rows: 45 ms, against 25 ms with the whole request paused;
    ``tests/benchmarks/bench_error_path.py``). The pause is per process: it starts when the
    first of the overlapping requests enters and ends when the last one leaves, so the
    collector runs between requests; should overlapping requests hold it for more than
    ``max_seconds``, the collector is resumed until the next idle moment, so cyclic garbage
    (tracebacks, for one) is still collected under sustained load.
    """

    def __init__(self, max_seconds: float = 1.0) -> None:
        self.max_seconds = max_seconds
        self._lock = threading.Lock()
        self._inside = 0
        self._resume = False
        self._since = 0.0

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0:
                self._resume = gc.isenabled()
                self._since = time.monotonic()
                gc.disable()
            elif self._resume and time.monotonic() - self._since > self.max_seconds:
                gc.enable()
                self._resume = False  # stays enabled until the requests have all left
            self._inside += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0 and self._resume:
                gc.enable()


class RequestIds:
    """Request ids: 32 hex digits, a random per-process prefix and a counter.

    Unique across workers and restarts like ``uuid4().hex``, without a system call per request.
    The prefix is drawn again when the pid changes (after gunicorn's fork).
    """

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._counter = itertools.count()

    def next(self) -> str:
        pid = os.getpid()
        if pid != self._pid:
            self._pid, self._prefix = pid, uuid.uuid4().hex[:20]
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestBookkeeping:
    """WSGI middleware recording every request.

    Parameters
    ----------
    app
        The wrapped WSGI callable.
    pid
        Returns the worker's pid (it changes at the fork).
    log_features
        Put the features a view passed on the log line.
    """

    def __init__(self, app: WSGIApp, pid: Callable[[], int], log_features: bool) -> None:
        self.app = app
        self.pid = pid
        self.log_features = log_features
        self._requests: dict[tuple[str, str, str], Any] = {}
        self._latency: dict[str, Any] = {}
        self._errors: dict[tuple[str, str], Any] = {}
        self._ids = RequestIds()
        self._pause = CollectorPause()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        t0 = environ[KEY_STARTED] = time.perf_counter()
        m.IN_FLIGHT.inc()
        incoming = environ.get("HTTP_X_REQUEST_ID")
        rid = incoming if incoming and _REQUEST_ID.fullmatch(incoming) else self._ids.next()
        environ[KEY_REQUEST_ID] = rid
        status: list[str] = []

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(status_line)
            headers.append(("X-Request-ID", rid))
            return start_response(status_line, headers, exc_info)

        try:
            with self._pause:
                return self.app(environ, start)
        finally:
            m.IN_FLIGHT.dec()
            self._record(
                environ, rid, int(status[-1][:3]) if status else 500, time.perf_counter() - t0
            )

    def _record(self, environ: dict[str, Any], rid: str, status: int, latency: float) -> None:
        path: str = environ.get("PATH_INFO", "")
        endpoint = path if path in ENDPOINTS else "other"
        method = environ.get("REQUEST_METHOD", "")
        if method not in _METHODS:
            method = "other"  # label values stay a closed set
        key = (endpoint, method, str(status))
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = m.REQUESTS.labels(*key)
        counter.inc()
        histogram = self._latency.get(endpoint)
        if histogram is None:
            histogram = self._latency[endpoint] = m.LATENCY.labels(endpoint)
        histogram.observe(latency)
        kind = environ.get(KEY_ERROR_KIND)
        if status >= 400:
            kind = kind or _STATUS_KIND.get(status, "http_error")
            errors = self._errors.get((endpoint, kind))
            if errors is None:
                errors = self._errors[(endpoint, kind)] = m.ERRORS.labels(endpoint, kind)
            errors.inc()
        fields: dict[str, Any] = {
            "request_id": rid,
            "method": method,
            "endpoint": endpoint,
            "status": status,
            "latency_ms": round(latency * 1e3, 3),
            "pid": self.pid(),
        }
        if endpoint == "other":
            fields["path"] = path[:200]
        rows = environ.get(KEY_ROWS)
        if rows is not None:
            fields["rows"] = rows
        if kind:
            fields["error"] = kind
        if self.log_features and KEY_FEATURES in environ:
            fields["features"] = environ[KEY_FEATURES]
        log_request(fields)
