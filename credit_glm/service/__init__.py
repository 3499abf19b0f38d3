"""The inference service: a Flask app under gunicorn scoring from the JSON model card.

``python -m credit_glm mode=serve`` runs :func:`credit_glm.service.server.serve`;
:func:`credit_glm.service.app.create_app` is the app factory. Modules:

- ``model``: load, verify and pin the card; the self-check
- ``validation``: the pandera schema compiled into a per-record validator
- ``problems``: RFC 9457 error bodies
- ``metrics``, ``health``: Prometheus metrics (multiprocess) and model-health signals
- ``openapi``: the OpenAPI 3.1 document generated from the schema
- ``app``: routes; ``bookkeeping``: request id, metrics and the log line of every request
- ``logs``: structured logs; ``readiness``: the draining flag
- ``gunicorn_app``, ``server``: gunicorn from Python, hooks, start-up and shutdown

Nothing is imported here: ``prometheus_client`` must not be imported before ``serve`` has set
``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from credit_glm.service.app import create_app

        return create_app
    if name == "serve":
        from credit_glm.service.server import serve

        return serve
    raise AttributeError(name)
