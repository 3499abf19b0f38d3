"""gunicorn, started from Python: the application, its settings, hooks and a draining master.

``@hydra.main`` owns ``sys.argv``, so gunicorn is configured through
``gunicorn.app.base.BaseApplication`` rather than its command line. The app is created before
the fork (``preload_app``): the model is loaded, verified and compiled once, and a start-up
error stops the server before any worker exists.

The workers are :class:`credit_glm.service.worker.BufferingWorker`: gunicorn's threaded worker
with each request read whole, under ``serving.header_timeout`` / ``serving.body_timeout``,
before the app sees it, and never by a thread waiting for a client: slow clients hold no thread.

Shutdown on SIGTERM (:class:`DrainingArbiter`): the master flips the shared readiness flag, so
``/ready`` answers 503 on every worker and responses close their connection, keeps serving
for ``serving.drain_seconds``, then stops: workers sent SIGTERM, each of which stops new
handshakes on its listeners, serves every connection the kernel had already queued, closes
the listeners, and completes in-flight requests (and requests already sent on kept-alive
connections) within ``serving.graceful_timeout``. Workers sent SIGTERM directly (the whole
process group) drain the same way by themselves. SIGINT and SIGQUIT stop at once, as in
gunicorn.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from credit_glm.config import ServingConfig
from credit_glm.service.readiness import Readiness

__all__ = ["DrainingArbiter", "ServiceApplication", "gunicorn_options"]


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def gunicorn_options(settings: ServingConfig) -> dict[str, Any]:
    """gunicorn settings from ``serving`` (hooks are added by :class:`ServiceApplication`)."""
    from credit_glm.service.logs import JsonGunicornLogger
    from credit_glm.service.worker import worker_class_path

    options: dict[str, Any] = {
        "bind": [_bind(settings.host, settings.port)],
        "workers": settings.workers,
        # gunicorn's gthread (it keeps connections alive) with requests buffered on its loop;
        # the worker reads serving.header_timeout etc. from ServiceApplication.settings
        "worker_class": worker_class_path(),
        "threads": settings.threads,
        "timeout": settings.timeout,
        "graceful_timeout": settings.graceful_timeout,
        "keepalive": settings.keepalive,
        "reuse_port": settings.reuse_port,
        "preload_app": True,
        "accesslog": None,  # the app writes one structured line per request itself
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "credit-glm",
        # a control socket shared by every gunicorn of this user would clash between servers
        "control_socket_disable": True,
    }
    if settings.log_format == "json":
        options["logger_class"] = JsonGunicornLogger
    if os.path.isdir("/dev/shm"):
        options["worker_tmp_dir"] = "/dev/shm"  # heartbeat files off the (maybe slow) disk
    return options


def problem_response(status: int, reason: str, message: str, kind: str = "http_protocol") -> bytes:
    """A whole ``Connection: close`` response carrying an RFC 9457 problem, as bytes."""
    from credit_glm.service.problems import PROBLEM_JSON, bare_problem

    body = bare_problem(status, reason, kind, message[:200])
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_problem(sock: Any, status: int, reason: str, message: str) -> None:
    """gunicorn's error writer, as RFC 9457 JSON instead of HTML.

    gunicorn answers requests it cannot parse (a request line or header over its limits, a bad
    chunk size) itself, before the app sees them, with ``gunicorn.util.write_error``; the
    workers replace that function with this one (``post_fork``), so those errors are JSON too.
    """
    from gunicorn import util

    util.write_nonblock(sock, problem_response(status, reason, message))


class DrainingArbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, with a drain period before a graceful stop on SIGTERM, spawning its
    workers without pauses between them."""

    def __init__(self, app: BaseApplication, readiness: Readiness, drain_seconds: float) -> None:
        super().__init__(app)
        self.readiness = readiness
        self.drain_seconds = drain_seconds
        self._terminated = False

    def spawn_workers(self) -> None:
        # gunicorn pauses up to 0.1 s (at random) after each spawn. A worker here loads nothing
        # (the app is preloaded), and with reuse_port each worker listens on a socket of its
        # own as soon as it is forked: a connection the kernel puts on the socket of a worker
        # still waiting behind that pause waits with it.
        for _ in range(self.num_workers - len(self.WORKERS)):
            self.spawn_worker()

    def handle_term(self) -> None:
        # the master's own flag: workers signalled with it (a process-group SIGTERM) drain too
        if not self._terminated:
            self._terminated = True
            self.readiness.start_draining()
            self.log.info(
                "SIGTERM: /ready now answers 503; serving %.1f s more, then stopping gracefully",
                self.drain_seconds,
            )
            deadline = time.monotonic() + self.drain_seconds
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(min(left, 0.1))
                self.reap_workers()
        self.readiness.start_stopping()  # the workers' next SIGTERM stops them at once
        raise StopIteration


class ServiceApplication(BaseApplication):  # type: ignore[misc]
    """The gunicorn application serving a preloaded Flask app.

    Parameters
    ----------
    wsgi
        The app from :func:`credit_glm.service.app.create_app`.
    settings
        ``serving`` config.
    readiness
        The draining flag the app reads (created before the fork).
    """

    def __init__(self, wsgi: Flask, settings: ServingConfig, readiness: Readiness) -> None:
        self.wsgi_app = wsgi
        self.settings = settings
        self.readiness = readiness
        super().__init__()

    def _hooks(self) -> dict[str, Callable[..., None]]:
        from credit_glm.service import metrics

        state = self.wsgi_app.extensions["credit_glm"]
        readiness = self.readiness

        def pre_fork(server: Any, worker: Any) -> None:
            # the preloaded app (model, pandas, the schema: ~180,000 objects) out of the cyclic
            # collector's reach: a worker's full collections walked it all, 7 us per /predict
            # against 1.4 us frozen, and wrote to every page they walked, unsharing them
            gc.freeze()

        def post_fork(server: Any, worker: Any) -> None:
            from gunicorn import util

            util.write_error = write_problem

        def post_worker_init(worker: Any) -> None:
            # each worker runs the self-check itself and publishes the model-info gauge
            state.start()

        def pre_request(worker: Any, req: Any) -> None:
            if readiness.draining and hasattr(req, "must_close"):
                req.must_close = True  # answer with Connection: close while draining

        def worker_exit(server: Any, worker: Any) -> None:
            from credit_glm.service.logs import flush_requests

            flush_requests()

        def child_exit(server: Any, worker: Any) -> None:
            if metrics.multiprocess_enabled():
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

        return {
            "pre_fork": pre_fork,
            "post_fork": post_fork,
            "post_worker_init": post_worker_init,
            "pre_request": pre_request,
            "worker_exit": worker_exit,
            "child_exit": child_exit,
        }

    def load_config(self) -> None:
        for key, value in {**gunicorn_options(self.settings), **self._hooks()}.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.wsgi_app

    def run(self) -> None:
        from threadpoolctl import threadpool_limits

        # One BLAS thread per worker: workers already fill the CPUs, and OpenBLAS threads
        # spinning beside them only take CPU from the next request. Set once here, before any
        # fork: every worker inherits it, and none spends its start-up finding the libraries.
        threadpool_limits(limits=1, user_api="blas")
        try:
            DrainingArbiter(self, self.readiness, self.settings.drain_seconds).run()
        except RuntimeError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.stderr.flush()
            sys.exit(1)
