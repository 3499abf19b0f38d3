"""``python -m credit_glm mode=serve``: load the pinned model and run gunicorn.

Start-up errors (a missing, corrupt or unpinned artifact, a port in use) are one line on
stderr and a non-zero exit code, never a traceback. This module imports nothing from
``prometheus_client`` at import time: multiprocess mode is decided when that library is first
imported, after :func:`serve` has set ``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from credit_glm.config import AppConfig, ServingConfig
from credit_glm.errors import CreditGLMError

__all__ = ["port_problem", "prepare_metrics_dir", "serve"]


def prepare_metrics_dir(settings: ServingConfig) -> tuple[Path, bool]:
    """Set ``PROMETHEUS_MULTIPROC_DIR`` and empty it of metric files; ``(dir, created)``.

    The directory is ``serving.metrics_dir``, else ``$PROMETHEUS_MULTIPROC_DIR``, else a new
    temporary directory (removed at exit). Only ``*.db`` files are deleted from a given one.
    """
    chosen = settings.metrics_dir or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    created = not chosen
    path = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="credit-glm-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path.resolve())
    return path, created


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


def serve(app: AppConfig) -> int:
    """Serve ``app.serving.model_path`` until SIGTERM/SIGINT; return the exit code."""
    settings = app.serving
    if "prometheus_client" in sys.modules and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        print("error: prometheus_client was imported before the service could enable its "
              "multiprocess mode; start the server with python -m credit_glm mode=serve",
              file=sys.stderr)
        return 2
    try:
        metrics_dir, created = prepare_metrics_dir(settings)
    except OSError as err:
        print(f"error: serving.metrics_dir {settings.metrics_dir!r}: {err}", file=sys.stderr)
        return 2

    # imported only now: they import prometheus_client
    from credit_glm.service.app import create_app
    from credit_glm.service.gunicorn_app import ServiceApplication
    from credit_glm.service.logs import configure_logging, flush_requests
    from credit_glm.service.model import load_served_model
    from credit_glm.service.readiness import Readiness

    master = os.getpid()
    code = 0
    try:
        configure_logging(settings.log_format)
        try:
            model = load_served_model(settings)
        except CreditGLMError as err:
            print(f"error: {err}", file=sys.stderr)
            return err.exit_code
        problem = port_problem(settings.host, settings.port, settings.reuse_port)
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        readiness = Readiness()
        wsgi = create_app(model, settings, readiness)
        print(f"serving model {model.version} (sha256 {model.sha256}) from {model.path} on "
              f"http://{settings.host}:{settings.port} with {settings.workers} worker(s)",
              file=sys.stderr, flush=True)
        try:
            ServiceApplication(wsgi, settings, readiness).run()
        except SystemExit as err:
            code = _exit_code(err)
        if os.getpid() != master:
            # a worker leaving gunicorn's loop: exit here, not through Hydra's job teardown
            from credit_glm.service.metrics import BUFFER

            BUFFER.publish()
            flush_requests()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        if code:
            print(f"error: the server stopped with exit code {code} (see the log above)",
                  file=sys.stderr)
        return code
    finally:
        if created and os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)
