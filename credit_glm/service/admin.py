"""The admin surface: ``/metrics`` and the full ``/model/info`` on their own port.

The scoring port answers clients; it serves the public model summary
(:func:`public_model_info`: version, hash, input schema, cut-off) and never a metric or a
coefficient. Everything an operator reads (the Prometheus scrape, the whole model card less
filesystem paths, :func:`full_model_info`) is on ``serving.admin_host:serving.admin_port``,
served by a small process of its own (:class:`AdminServer`), forked from the gunicorn master
before it starts its workers:

- off the scoring workers: a scrape costs tens of milliseconds, and a scrape flood on the
  scoring port took scoring threads; here it takes none, and the process runs at a lower CPU
  priority (``nice``) than the workers, so under contention scoring comes first;
- the scrape reads the multiprocess directory (``MultiProcessCollector``), so any process can
  answer it; the ``credit_glm_ready`` gauge reads the master's draining flag (shared memory);
- forked while the master has no other thread, so no lock is inherited held; it ignores the
  stop signals a terminal or systemd sends the whole process group and dies with the master
  (``PR_SET_PDEATHSIG``, and a watchdog thread polling the parent elsewhere).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from socketserver import ThreadingMixIn
from typing import Any, Final
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from credit_glm.config import ServingConfig
from credit_glm.scoring import DECISION_RULE
from credit_glm.service import metrics as m
from credit_glm.service.model import ServedModel
from credit_glm.service.openapi import features_schema
from credit_glm.service.problems import PROBLEM_JSON, bare_problem, dumps

__all__ = [
    "ADMIN_ENDPOINTS",
    "AdminApp",
    "AdminServer",
    "full_model_info",
    "public_model_info",
    "redact_paths",
]

ADMIN_ENDPOINTS: Final = ("/metrics", "/model/info", "/health")
# the card's parts an operator sees on the admin port (the training config, the diagnostics
# tables and the self-check row stay in the file)
_CARD_INFO_KEYS: Final = (
    "model_version",
    "model_sha256",
    "config_sha256",
    "card_sha256",
    "created_at",
    "link",
    "target",
    "selected_features",
    "selection",
    "coefficients",
    "feature_spec",
    "schema",
    "metrics",
    "decision",
    "gates",
    "score_baseline",
    "training_data",
    "libraries",
)
# what a scoring client may know: which model answers, what to send, what the decision means
_PUBLIC_KEYS: Final = ("model_version", "model_sha256", "created_at", "target")
_JSON: Final = "application/json"
# a scrape waits at most this long for the one before it; then 503 (a flood is shed)
_RENDER_WAIT: Final = 10.0
# seconds an admin connection may take to send its request
_CLIENT_TIMEOUT: Final = 10.0
_NICE: Final = 10
_PR_SET_PDEATHSIG: Final = 1


# (part of the card, key) pairs that name the training data's file
_PATH_KEYS: Final = (("schema", "path"), ("training_data", "source"))


def redact_paths(info: Mapping[str, Any]) -> dict[str, Any]:
    """``info`` without filesystem paths: the data file the schema was declared for and the
    training data's source are dropped, unless they name a ``builtin://`` data set (a name
    in the package, no path on any machine)."""
    out = dict(info)
    for part, key in _PATH_KEYS:
        inner = out.get(part)
        if isinstance(inner, Mapping) and key in inner:
            value = inner[key]
            if not (isinstance(value, str) and value.startswith("builtin://")):
                out[part] = {k: v for k, v in inner.items() if k != key}
    return out


def _features(model: ServedModel) -> dict[str, Any]:
    return {"columns": list(model.validator.columns), "json_schema": features_schema(model)}


def public_model_info(model: ServedModel, settings: ServingConfig) -> dict[str, Any]:
    """The scoring port's ``/model/info``: version, hashes, the input schema and the cut-off.

    The cut-off is in every prediction response already; coefficients, metrics, library
    versions and the training data's provenance are not public (the admin port has them).
    """
    card = model.card
    info = {k: card[k] for k in _PUBLIC_KEYS if k in card}
    info["features"] = _features(model)
    info["decision"] = {
        "cutoff": model.cutoff,
        "rule": DECISION_RULE,
    }
    info["reject_extra_fields"] = settings.reject_extra_fields
    return info


def full_model_info(model: ServedModel, settings: ServingConfig) -> dict[str, Any]:
    """The admin port's ``/model/info``: the model card's parts, with no filesystem path."""
    card = model.card
    info = redact_paths({k: card[k] for k in _CARD_INFO_KEYS if k in card})
    info["features"] = _features(model)
    info["serving"] = {
        "cutoff": model.cutoff,
        "cutoff_source": "card" if settings.cutoff is None else "serving.cutoff",
        "reject_extra_fields": settings.reject_extra_fields,
    }
    return info


def _problem(status: int, title: str, kind: str, detail: str, path: str) -> bytes:
    return bare_problem(status, title, kind, detail, path[:200])


class AdminApp:
    """The admin WSGI application (``GET``/``HEAD`` of :data:`ADMIN_ENDPOINTS`).

    Parameters
    ----------
    model, settings
        The served model and ``serving`` config.
    ready
        Whether the service is ready (self-check passed, not draining): the ``credit_glm_ready``
        gauge.
    """

    def __init__(
        self, model: ServedModel, settings: ServingConfig, ready: Callable[[], bool]
    ) -> None:
        self.model = model
        self.ready = ready
        self.info = dumps(full_model_info(model, settings)).encode()
        self._render = threading.BoundedSemaphore(1)
        self._requests: dict[tuple[str, str], Any] = {}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        method: str = environ.get("REQUEST_METHOD", "")
        status, content_type, body, extra = self._answer(
            path, method, environ.get("HTTP_ACCEPT", "")
        )
        self._count(path, status)
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *extra,
        ]
        start_response(f"{status} {_REASONS[status]}", headers)
        return [b"" if method == "HEAD" else body]

    def _answer(
        self, path: str, method: str, accept: str
    ) -> tuple[int, str, bytes, list[tuple[str, str]]]:
        if path not in ADMIN_ENDPOINTS:
            return (
                404,
                PROBLEM_JSON,
                _problem(
                    404,
                    "Not found",
                    "not_found",
                    f"no admin route {path[:200]!r}; the admin "
                    f"port serves {', '.join(ADMIN_ENDPOINTS)}",
                    path,
                ),
                [],
            )
        if method not in ("GET", "HEAD"):
            return (
                405,
                PROBLEM_JSON,
                _problem(
                    405,
                    "Method not allowed",
                    "method_not_allowed",
                    f"{method[:20]} is not allowed here; use GET",
                    path,
                ),
                [("Allow", "GET, HEAD")],
            )
        if path == "/health":
            return 200, _JSON, b'{"status":"ok"}', []
        if path == "/model/info":
            return 200, _JSON, self.info, []
        if not self._render.acquire(timeout=_RENDER_WAIT):
            return (
                503,
                PROBLEM_JSON,
                _problem(
                    503,
                    "Busy",
                    "busy",
                    "scrapes are answered one at a time and this one waited too long",
                    path,
                ),
                [("Retry-After", "1")],
            )
        try:
            body, content_type = m.render(
                self.model.psi_shares, self.model.psi_edges, accept, ready=self.ready()
            )
        finally:
            self._render.release()
        return 200, content_type, body, []

    def _count(self, path: str, status: int) -> None:
        key = (path if path in ADMIN_ENDPOINTS else "other", str(status))
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = m.ADMIN_REQUESTS.labels(*key)
        counter.inc()


_REASONS: Final = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


class _Handler(WSGIRequestHandler):
    timeout = _CLIENT_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # no access log: scrapes are counted in credit_glm_http_requests_total

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 64


class AdminServer:
    """The admin port: bound in the master (a bind error stops the start), served by a child.

    Parameters
    ----------
    host, port
        ``serving.admin_host`` and ``serving.admin_port`` (0: a free port, see :attr:`port`).
    """

    def __init__(self, host: str, port: int) -> None:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]

        class Server(_ThreadingServer):
            address_family = family

        address = (str(infos[0][4][0]), int(infos[0][4][1]))
        self._server = Server(address, _Handler, bind_and_activate=False)
        try:
            self._server.server_bind()
            self._server.server_activate()
        except OSError:
            self._server.server_close()
            raise
        self.host = host
        self.port = int(self._server.socket.getsockname()[1])
        self.pid: int | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, app: AdminApp) -> int:
        """Fork the admin process serving ``app``; the master keeps no copy of the socket."""
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns (measured over HTTP)
            code = 0
            try:
                self._serve(app, parent)
            except BaseException:  # noqa: BLE001 - a child must never run the parent's code
                code = 1
            finally:
                os._exit(code)
        self._server.server_close()
        self.pid = pid
        return pid

    def close(self) -> None:
        """Close the socket (when the process was never started)."""
        self._server.server_close()

    def _serve(self, app: AdminApp, parent: int) -> None:
        for sig in (
            signal.SIGTERM,
            signal.SIGINT,
            signal.SIGQUIT,
            signal.SIGHUP,
            signal.SIGUSR1,
            signal.SIGUSR2,
            signal.SIGTTIN,
            signal.SIGTTOU,
            signal.SIGWINCH,
        ):
            signal.signal(sig, signal.SIG_IGN)
        _die_with(parent)
        try:
            os.nice(_NICE)
        except OSError:
            pass
        self._server.set_app(app)
        self._server.serve_forever(poll_interval=0.5)


def _die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the master died before the death signal was set
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="admin-watchdog", daemon=True).start()
