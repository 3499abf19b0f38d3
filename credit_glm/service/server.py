"""``python -m credit_glm mode=serve``: load the pinned model and run gunicorn.

Start-up errors (a missing, corrupt or unpinned artifact, a port in use or already served by
another server, a metrics directory that is not the service's) are one line on stderr and a
non-zero exit code, never a traceback. The admin port (:mod:`credit_glm.service.admin`) is
bound here and served by a process forked before gunicorn starts; its address is printed as
``admin on http://HOST:PORT``. This module imports nothing from
``prometheus_client`` at import time: multiprocess mode is decided when that library is first
imported, after :func:`serve` has set ``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import IO

from credit_glm.config import AppConfig, ServingConfig
from credit_glm.errors import CreditGLMError

__all__ = [
    "METRICS_MARKER",
    "MetricsDirError",
    "port_problem",
    "port_served",
    "prepare_metrics_dir",
    "serve",
]

# Written into the metrics directory by the service: only a directory holding it (or an empty
# one) has its *.db files deleted at start. Its lock is held while the server runs.
METRICS_MARKER = ".credit-glm-metrics"
_MARKER_TEXT = (
    "This directory holds the Prometheus multiprocess files of a credit-glm server "
    "(python -m credit_glm mode=serve); the server deletes its *.db files at start.\n"
)

# the open, locked marker of this server (inherited by its workers, so the lock outlives the
# master only as long as a worker does)
_held: list[IO[str]] = []


class MetricsDirError(CreditGLMError):
    """The metrics directory cannot be used (not the service's, in use, not writable)."""

    exit_code = 2


def prepare_metrics_dir(settings: ServingConfig) -> tuple[Path, bool]:
    """Claim the metrics directory, set ``PROMETHEUS_MULTIPROC_DIR``; ``(dir, created)``.

    The directory is ``serving.metrics_dir``, else ``$PROMETHEUS_MULTIPROC_DIR``, else a new
    temporary directory (removed at exit). The service deletes the ``*.db`` files of a
    directory only if it made it its own: a new or empty directory gets the marker file
    :data:`METRICS_MARKER`, and a directory that holds the marker has its metric files of the
    last run deleted; any other directory is refused, with nothing deleted. The marker is
    locked (``flock``) while the server runs, so a second server naming the same directory is
    refused instead of deleting the first one's figures.

    Raises
    ------
    MetricsDirError
        naming the key (``serving.metrics_dir`` or ``PROMETHEUS_MULTIPROC_DIR``) and the rule.
    """
    if settings.metrics_dir:
        key, chosen = "serving.metrics_dir", settings.metrics_dir
    else:
        key, chosen = "PROMETHEUS_MULTIPROC_DIR", os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    created = not chosen
    path = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="credit-glm-metrics-"))
    try:
        path.mkdir(parents=True, exist_ok=True)
        marker = path / METRICS_MARKER
        entries = [p.name for p in path.iterdir()]
        if entries and METRICS_MARKER not in entries:
            raise MetricsDirError(
                f"{key} {chosen!r} is not empty and was not made by this service (it has no "
                f"{METRICS_MARKER} file): the service deletes the metric files of its "
                "directory at start, so name a new or empty directory"
            )
        handle = open(marker, "a+", encoding="utf-8")  # noqa: SIM115 - held while serving
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            handle.close()
            if err.errno in (errno.EWOULDBLOCK, errno.EACCES):
                raise MetricsDirError(
                    f"{key} {chosen!r} is in use by another running server; "
                    "give each server its own directory"
                ) from None
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(_MARKER_TEXT)
        handle.flush()
        for stale in path.glob("*.db"):
            stale.unlink()
    except OSError as err:
        raise MetricsDirError(f"{key} {chosen!r}: {err.strerror or err}") from None
    _held.append(handle)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path.resolve())
    return path, created


def port_served(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a server answers on ``host:port`` (a wildcard host is tried on loopback).

    SO_REUSEPORT lets a second server of the same user bind a port a running one listens
    on, and the kernel would then split connections between the two, maybe two models: a
    connection that is accepted means the port is taken, whatever a bind says.
    """
    target = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((target, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_problem(host: str, port: int, reuse_port: bool) -> str | None:
    """Why ``host:port`` cannot be listened on, or ``None``.

    With ``reuse_port`` the gunicorn master binds nothing and each worker binds its own socket:
    a port held by another program would make every worker fail to boot and be respawned
    forever, so the port is probed here first (a server of this user that also uses
    SO_REUSEPORT cannot be told apart, and would share the port). Without it, gunicorn would
    retry for five seconds before giving up.
    """
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        return f"serving.host {host!r} cannot be resolved: {err}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port and hasattr(socket, "SO_REUSEPORT"):
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            probe.bind(address)
        except OSError as err:
            return f"cannot listen on {host}:{port}: {err.strerror or err}"
    return None


def _exit_code(err: SystemExit) -> int:
    if err.code is None:
        return 0
    return err.code if isinstance(err.code, int) else 1


def _stop_admin(pid: int | None) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass  # gone, and maybe reaped by gunicorn's master already


def serve(app: AppConfig) -> int:
    """Serve ``app.serving.model_path`` until SIGTERM/SIGINT; return the exit code."""
    settings = app.serving
    if "prometheus_client" in sys.modules and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        print(
            "error: prometheus_client was imported before the service could enable its "
            "multiprocess mode; start the server with python -m credit_glm mode=serve",
            file=sys.stderr,
        )
        return 2
    try:
        metrics_dir, created = prepare_metrics_dir(settings)
    except MetricsDirError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code

    # Start-up makes objects that live as long as the server (modules, the model, the app):
    # the cyclic collector only walks them, a tenth of start-up. It waits until the app is
    # built; gunicorn's pre_fork then freezes them out of its reach.
    gc.disable()
    # imported only now: they import prometheus_client
    from credit_glm.service.admin import AdminApp, AdminServer
    from credit_glm.service.app import create_app
    from credit_glm.service.gunicorn_app import ServiceApplication
    from credit_glm.service.logs import configure_logging, flush_requests
    from credit_glm.service.model import load_served_model
    from credit_glm.service.readiness import Readiness

    master = os.getpid()
    code = 0
    admin_pid: int | None = None
    admin: AdminServer | None = None
    try:
        configure_logging(settings.log_format)
        try:
            model = load_served_model(settings)
        except CreditGLMError as err:
            print(f"error: {err}", file=sys.stderr)
            return err.exit_code
        if settings.port and port_served(settings.host, settings.port):
            print(
                f"error: serving.port {settings.port} is already served by another process "
                f"(on {settings.host}); stop it or choose another port",
                file=sys.stderr,
            )
            return 2
        problem = port_problem(settings.host, settings.port, settings.reuse_port)
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        if settings.admin_port is not None:
            try:
                admin = AdminServer(settings.admin_host, settings.admin_port)
            except OSError as err:
                print(
                    f"error: serving.admin_port: cannot listen on {settings.admin_host}:"
                    f"{settings.admin_port}: {err.strerror or err}",
                    file=sys.stderr,
                )
                return 2
        readiness = Readiness()
        wsgi = create_app(model, settings, readiness)
        gc.enable()
        print(
            f"serving model {model.version} (sha256 {model.sha256}) from {model.path} on "
            f"http://{settings.host}:{settings.port} with {settings.workers} worker(s)",
            file=sys.stderr,
            flush=True,
        )
        if admin is None:
            print(
                "admin port disabled (serving.admin_port is null): no /metrics",
                file=sys.stderr,
                flush=True,
            )
        else:
            state = wsgi.extensions["credit_glm"]
            admin_pid = admin.start(
                AdminApp(model, settings, lambda: state.ready and not readiness.draining)
            )
            print(f"admin on {admin.url} (/metrics, /model/info)", file=sys.stderr, flush=True)
        try:
            ServiceApplication(wsgi, settings, readiness).run()
        except SystemExit as err:
            code = _exit_code(err)
        if os.getpid() != master:
            # a worker leaving gunicorn's loop: exit here, not through Hydra's job teardown
            flush_requests()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        if code:
            print(
                f"error: the server stopped with exit code {code} (see the log above)",
                file=sys.stderr,
            )
        return code
    finally:
        gc.enable()  # also after a start-up error
        if os.getpid() == master:
            if admin is not None and admin_pid is None:
                admin.close()  # bound, but the server stopped before forking its process
            _stop_admin(admin_pid)
            if created:
                shutil.rmtree(metrics_dir, ignore_errors=True)
