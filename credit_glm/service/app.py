"""The Flask application: routes, request validation, scoring, errors, metrics and logs.

:func:`create_app` is the app factory; gunicorn serves what it returns
(:mod:`credit_glm.service.gunicorn_app`) and tests can call it directly. The app holds no model
state of its own: it scores with the :class:`~credit_glm.service.model.ServedModel` it is given.

``POST /predict``, the one-row hot path, is answered before Flask by :class:`_HotRoute`: its
body function reads the WSGI environ and returns bytes, its errors go through the same
responder as Flask's, and Flask keeps the route in its url map for ``405`` and ``OPTIONS``
answers. Flask's request machinery cost a one-row prediction about a quarter of its server
CPU (``tests/benchmarks/bench_service.py``).

Every response, including every error, is JSON; errors are RFC 9457 problem details
(:mod:`credit_glm.service.problems`). Bad input is a 4xx, never a 500 and never a traceback.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from credit_glm.config import ServingConfig
from credit_glm.errors import ValidationFailed
from credit_glm.rules import REQUIRED
from credit_glm.scoring import ACCEPT, DECLINE, Explanation, decisions, declines
from credit_glm.service import metrics as m
from credit_glm.service.admin import public_model_info
from credit_glm.service.body import JSON, read_json
from credit_glm.service.bookkeeping import (
    ENDPOINTS,
    KEY_ERROR_KIND,
    KEY_FEATURES,
    KEY_REQUEST_ID,
    KEY_ROWS,
    KEY_STARTED,
    RequestBookkeeping,
    WSGIApp,
)
from credit_glm.service.health import ModelHealth, UnseenLevels
from credit_glm.service.model import ServedModel
from credit_glm.service.openapi import openapi_document
from credit_glm.service.problems import PROBLEM_JSON, Problem, dumps, problem_body
from credit_glm.service.readiness import Readiness
from credit_glm.service.validation import (
    NO_VALUE,
    DeadlineExceeded,
    FieldError,
    echo_value,
    unknown_field_errors,
)

__all__ = ["ENDPOINTS", "ServiceState", "create_app"]

_JSON: Final = JSON
_STATUS_KIND: Final = {400: "bad_request", 413: "payload_too_large", 415: "unsupported_media_type"}
_log = logging.getLogger("credit_glm.service")


@dataclass
class ServiceState:
    """What the routes share: the model, the settings, readiness and the health recorder."""

    model: ServedModel
    settings: ServingConfig
    readiness: Readiness
    health: ModelHealth
    unseen: UnseenLevels
    openapi: str
    model_info: str
    ready: bool = False
    ready_reason: str = "not started"
    pid: int = field(default_factory=os.getpid)

    def start(self) -> None:
        """Run the self-check in this process and publish the model-info gauge (at creation,
        and again in each worker after the fork)."""
        self.pid = os.getpid()
        self.ready, self.ready_reason = self.model.self_check()
        m.MODEL_INFO.labels(
            model_version=self.model.version,
            model_sha256=self.model.sha256,
            config_sha256=self.model.config_sha256,
        ).set(1)


def _spec_rule(text: str) -> str:
    if text.startswith("missing value"):
        return "missing_value"
    if text.startswith("category not seen"):
        return "unseen_category"
    if text.startswith("log1p domain"):
        return "domain"
    if text.startswith("required column"):
        return "required"
    return "feature_spec"


def _spec_errors(err: ValidationFailed, row: int | None) -> list[FieldError]:
    out = []
    for v in err.violations:
        value = echo_value(v.values[0]) if v.values else NO_VALUE
        out.append(FieldError(v.column, _spec_rule(v.rule), v.rule, value, row))
    return out


def _json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(dumps(body), status=status, mimetype=_JSON)


class _ServiceFlask(Flask):
    """Flask, answering ``OPTIONS`` with JSON like every other response."""

    def make_default_options_response(self) -> Response:
        methods = sorted(self.url_map.bind_to_environ(request.environ).allowed_methods())
        response = _json_response({"allow": methods})
        response.headers["Allow"] = ", ".join(methods)
        return response


def create_app(
    model: ServedModel, settings: ServingConfig, readiness: Readiness | None = None
) -> Flask:
    """The Flask app serving ``model``.

    Parameters
    ----------
    model
        The loaded, verified model (:func:`credit_glm.service.model.load_served_model`).
    settings
        ``serving`` config: limits, cut-off, logging.
    readiness
        The draining flag shared with the gunicorn master (a private one when omitted).
    """
    app = _ServiceFlask("credit_glm.service")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    # the public summary; metrics and the full card are on the admin port (service.admin)
    info = public_model_info(model, settings)
    state = ServiceState(
        model=model,
        settings=settings,
        readiness=readiness or Readiness(),
        health=ModelHealth(
            model.psi_edges, settings.psi_window, model.validator.columns, model.validator.rules
        ),
        unseen=UnseenLevels.from_spec(model.scorer.spec.features),
        openapi=dumps(openapi_document(model, settings)),
        model_info=dumps(info),
    )
    state.start()
    app.extensions["credit_glm"] = state
    predict = _register_routes(app, state)
    respond = _error_responder(settings.request_timeout, settings.max_body_bytes)
    _register_errors(app, respond)
    app.wsgi_app = RequestBookkeeping(  # type: ignore[method-assign]
        _HotRoute(app.wsgi_app, "/predict", predict, respond),
        lambda: state.pid,
        settings.log_features,
    )
    return app


# ---------------------------------------------------------------------------------------------
# routes
# ---------------------------------------------------------------------------------------------
# the optional member of a prediction request: false leaves the reason records out of the
# response (a scorecard model's score stays), which makes a batch's response about 8x smaller
WITH_REASONS: Final = "reason_codes"


def _envelope(body: Any, key: str, kind: type) -> tuple[Any, bool]:
    """The member ``key`` of the body object, of JSON type ``kind``, and whether the response
    carries reason records (the optional boolean :data:`WITH_REASONS`, true if absent)."""
    expected = "an object" if kind is dict else "an array"
    if not isinstance(body, dict):
        raise Problem(
            "validation",
            f"the body must be a JSON object with {key!r}",
            [FieldError("", "type", "expected a JSON object", echo_value(body))],
        )
    errors = unknown_field_errors(body, (key, WITH_REASONS), "field not allowed here")
    if key not in body:
        errors.append(FieldError(key, REQUIRED.name, REQUIRED.message))
    elif not isinstance(body[key], kind):
        errors.append(FieldError(key, "type", f"expected {expected}", echo_value(body[key])))
    with_reasons = body.get(WITH_REASONS, True)
    if not isinstance(with_reasons, bool):
        errors.append(
            FieldError(WITH_REASONS, "type", "expected a boolean", echo_value(with_reasons))
        )
    if errors:
        raise Problem(
            "validation",
            f"the body must be an object with the member {key!r} "
            f"(and optionally {WITH_REASONS!r}, a boolean)",
            errors,
        )
    return body[key], with_reasons


def _register_routes(app: Flask, state: ServiceState) -> Callable[[dict[str, Any]], bytes]:
    """The routes on ``app``; returns ``POST /predict``'s body function for the hot route."""
    model = state.model
    validator = model.validator
    scorer = model.scorer
    health = state.health
    cutoff = model.cutoff
    version = model.version
    columns_of = validator.columns
    max_rows = state.settings.max_batch_rows
    max_errors = state.settings.max_errors
    request_timeout = state.settings.request_timeout
    log_features = state.settings.log_features
    single_accept = m.PREDICTIONS.labels("/predict", "accept")
    single_decline = m.PREDICTIONS.labels("/predict", "decline")
    batch_accept = m.PREDICTIONS.labels("/predict/batch", "accept")
    batch_decline = m.PREDICTIONS.labels("/predict/batch", "decline")
    check_unseen = bool(state.unseen)
    scored = scorer.scorecard is not None  # a points scale: score and reason codes too
    limit = state.settings.max_body_bytes
    # the envelope, every row, and as many (invalid) nested objects as errors are listed
    max_objects = max_rows + max_errors + 1
    objects_why = f" (a batch holds at most serving.max_batch_rows = {max_rows} rows)"

    def body_of(environ: dict[str, Any]) -> Any:
        return read_json(environ, limit, max_objects, objects_why)

    head = dumps({"model_version": version, "cutoff": cutoff})[1:-1]

    def record_scores(p: np.ndarray, columns: Mapping[str, list[Any]]) -> list[str]:
        health.observe_scores(p)
        health.observe_accepted(columns)
        if check_unseen:
            health.observe_mapped(state.unseen.count(columns))
        labels = decisions(p, cutoff)
        declined = labels.count("decline")
        if declined:
            batch_decline.inc(declined)
        if len(labels) > declined:
            batch_accept.inc(len(labels) - declined)
        return labels

    def reject(
        errors: Sequence[FieldError], base: tuple[str, ...], rows: int | None, complete: bool = True
    ) -> Problem:
        health.observe_errors(errors)
        found = sum(e.count for e in errors)
        if rows is None:
            detail = f"the features break {found} rule(s) of the model's schema"
        else:
            bad = len({e.row for e in errors})
            detail = (
                f"{bad} of {rows} row(s) break the model's schema; the batch is rejected as a whole"
            )
        if not complete:
            detail = (
                f"at least {detail}: validation stopped after serving.max_errors "
                f"({max_errors}) errors"
            )
        elif len(errors) > max_errors:
            detail += f"; the first serving.max_errors ({max_errors}) errors are listed"
        return Problem(
            "validation", detail, errors, base=base, listed=max_errors, complete=complete
        )

    def deadline_of(environ: dict[str, Any]) -> float:
        started: float = environ.get(KEY_STARTED) or time.perf_counter()
        return started + request_timeout

    def in_time(deadline: float) -> None:
        if time.perf_counter() > deadline:
            raise DeadlineExceeded

    @app.get("/health")
    def health_route() -> Response:
        return _json_response({"status": "ok"})

    @app.get("/ready")
    def ready_route() -> Response:
        if state.readiness.draining:
            return _json_response(
                {"status": "draining", "ready": False, "reason": "shutting down"}, 503
            )
        if not state.ready:
            return _json_response(
                {"status": "not ready", "ready": False, "reason": state.ready_reason}, 503
            )
        return _json_response({"status": "ready", "ready": True, "model_version": version})

    def predict(environ: dict[str, Any]) -> bytes:
        """``POST /predict``: the response body, or the Problem raised."""
        features, with_reasons = _envelope(body_of(environ), "features", dict)
        in_time(deadline_of(environ))
        fast = validator.fast_ok(features)
        if fast:
            clean = features
        else:
            clean, errors = validator.validate(features)
            if errors:
                raise reject(errors, ("features",), None)
        explained: dict[str, Any] | None = None
        try:
            if scored:
                explained = model.explain_record(clean)
                score = explained["probability_of_default"]
            else:
                score = model.predict_record(clean)
        except ValidationFailed as err:
            raise reject(_spec_errors(err, None), ("features",), None) from None
        health.observe_score(score)
        if not fast or check_unseen:  # the fast path admits no null
            columns = {c: [clean.get(c)] for c in columns_of}
            health.observe_accepted(columns)
            if check_unseen:
                health.observe_mapped(state.unseen.count(columns))
        declined = declines(score, cutoff)
        label = DECLINE if declined else ACCEPT
        (single_decline if declined else single_accept).inc()
        if log_features:
            environ[KEY_FEATURES] = {c: clean.get(c) for c in columns_of}
        if explained is not None:
            body = {
                "request_id": environ[KEY_REQUEST_ID],
                "model_version": version,
                "cutoff": cutoff,
                "probability_of_default": score,
                "decision": label,
                "score": explained["score"],
            }
            if with_reasons:
                body["reason_codes"] = explained["reason_codes"]
            return orjson.dumps(body)
        # as json.dumps would write it: the request id is [A-Za-z0-9._:-], the rest is fixed
        return (
            f'{{"request_id":"{environ[KEY_REQUEST_ID]}",{head},'
            f'"probability_of_default":{score!r},"decision":"{label}"}}'
        ).encode()

    @app.post("/predict")
    def predict_route() -> Response:
        # routing only: a POST is answered by the hot route before Flask (create_app); this
        # view, equal to it, keeps /predict in Flask's url map for 405 and OPTIONS answers
        return Response(predict(request.environ), mimetype=_JSON)

    @app.post("/predict/batch")
    def batch_route() -> Response:
        environ = request.environ
        instances, with_reasons = _envelope(body_of(environ), "instances", list)
        n = len(instances)
        environ[KEY_ROWS] = n
        if n == 0:
            raise Problem(
                "validation",
                "instances holds no rows",
                [FieldError("instances", "min_items", "at least one row is needed")],
            )
        if n > max_rows:
            raise Problem(
                "batch_too_large",
                f"{n} rows sent; serving.max_batch_rows is {max_rows}",
                extra={"max_batch_rows": max_rows},
            )
        deadline = deadline_of(environ)
        in_time(deadline)
        columns, rows, errors, complete = validator.to_columns(instances, max_errors, deadline)
        p: np.ndarray | None = None
        explained: Explanation | None = None
        if rows and complete and len(errors) < max_errors:
            in_time(deadline)
            try:
                if scored:
                    explained = model.explain(columns, records=with_reasons)
                    p = explained.probability_of_default
                else:
                    p = model.predict(columns)
            except ValidationFailed:
                spec_errors, complete = _row_by_row(
                    columns, rows, max_errors - len(errors), deadline
                )
                errors = errors + spec_errors
        if errors:
            errors.sort(key=lambda e: -1 if e.row is None else e.row)
            raise reject(errors, ("instances",), n, complete)
        assert p is not None  # every row is valid and was scored
        labels = record_scores(p, columns)
        if log_features:
            environ[KEY_FEATURES] = columns
        # orjson writes each probability in its shortest round-trip form, as json.dumps does
        # (spelled 1e-7 where json writes 1e-07), 3.5x faster than formatting them in Python
        body = {
            "request_id": environ[KEY_REQUEST_ID],
            "model_version": version,
            "cutoff": cutoff,
            "predictions": [
                {"probability_of_default": v, "decision": d}
                for v, d in zip(p.tolist(), labels, strict=True)
            ],
        }
        if explained is not None and explained.score is not None:
            for out, s in zip(body["predictions"], explained.score.tolist(), strict=True):
                out["score"] = s
            if with_reasons:
                reasons = explained.reason_codes or [[] for _ in labels]
                for out, r in zip(body["predictions"], reasons, strict=True):
                    out["reason_codes"] = r
        return Response(orjson.dumps(body), mimetype=_JSON)

    def _row_by_row(
        columns: Mapping[str, list[Any]], rows: Sequence[int], budget: int, deadline: float
    ) -> tuple[list[FieldError], bool]:
        """Error path only: the rows the feature spec refuses, each with its own index, up to
        ``budget`` errors (and whether every row was looked at). A row the scorer's
        per-record path scores is encodable; only the others pay for the vectorised path on
        one row, which names the problem."""
        errors: list[FieldError] = []
        names = list(columns)
        values = list(columns.values())
        encode = scorer.record_linear_predictor
        for j, row in enumerate(rows):
            if j % 32 == 0:
                in_time(deadline)
            record = dict(zip(names, [v[j] for v in values], strict=True))
            if encode(record) is not None:
                continue
            try:
                scorer.linear_predictor({c: [x] for c, x in record.items()})
            except ValidationFailed as err:
                errors.extend(_spec_errors(err, row))
                if len(errors) >= budget:
                    return errors, j == len(rows) - 1
        return errors, True

    @app.get("/model/info")
    def info_route() -> Response:
        return Response(state.model_info, mimetype=_JSON)

    @app.get("/openapi.json")
    def openapi_route() -> Response:
        return Response(state.openapi, mimetype=_JSON)

    return predict


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------
def _problem_response(problem: Problem, environ: dict[str, Any], path: str) -> Response:
    environ[KEY_ERROR_KIND] = problem.kind
    body = problem_body(problem, path[:200], environ.get(KEY_REQUEST_ID, ""))
    # every echoed text is made encodable (validation.echo_text); should one slip through,
    # a lone surrogate is written as its JSON escape rather than failing the response
    response = Response(
        dumps(body).encode("utf-8", "backslashreplace"),
        status=problem.status,
        mimetype=PROBLEM_JSON,
    )
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


ErrorResponder = Callable[[Exception, dict[str, Any], str], Response]


def _error_responder(request_timeout: float, max_body_bytes: int) -> ErrorResponder:
    """The one mapping of an exception raised while answering a request to its problem
    response: a :class:`Problem` as it is, a missed deadline a 503, an HTTP error its own
    status, anything else a logged 500."""

    def respond(err: Exception, environ: dict[str, Any], path: str) -> Response:
        if isinstance(err, Problem):
            return _problem_response(err, environ, path)
        if isinstance(err, DeadlineExceeded):
            # checked between phases and every few rows, so the thread is free from here on
            return _problem_response(
                Problem(
                    "timeout",
                    f"the request took longer than serving.request_timeout "
                    f"({request_timeout:g} s) and was abandoned; retry later or send fewer rows",
                    headers={"Retry-After": str(max(1, math.ceil(request_timeout)))},
                ),
                environ,
                path,
            )
        if isinstance(err, HTTPException):
            return _problem_response(
                _http_problem(err, path, environ, max_body_bytes), environ, path
            )
        _log.exception(
            "unhandled error in %s %s (request %s)",
            environ.get("REQUEST_METHOD", ""),
            path[:200],
            environ.get(KEY_REQUEST_ID, ""),
        )
        return _problem_response(
            Problem(
                "internal", "an internal error occurred; it has been logged with this request_id"
            ),
            environ,
            path,
        )

    return respond


def _http_problem(
    err: HTTPException, path: str, environ: dict[str, Any], max_body_bytes: int
) -> Problem:
    code = err.code or 500
    kind = _STATUS_KIND.get(code, "http_error")
    if code == 404:
        return Problem("not_found", f"no route {path[:200]!r}; see /openapi.json")
    if code == 405:
        allowed = sorted(getattr(err, "valid_methods", None) or [])
        return Problem(
            "method_not_allowed",
            f"{environ.get('REQUEST_METHOD', '')} is not allowed here; use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)} if isinstance(err, MethodNotAllowed) else None,
        )
    if code == 413:
        return Problem(
            "payload_too_large",
            f"the body is over serving.max_body_bytes ({max_body_bytes} bytes)",
        )
    if kind in ("bad_request", "unsupported_media_type"):
        return Problem(kind, err.description or err.name)
    problem = Problem("bad_request", f"{err.name}")
    problem.status, problem.title = code, err.name
    return problem


def _register_errors(app: Flask, respond: ErrorResponder) -> None:
    # Flask finds a handler along the exception's classes: every error, HTTP ones included
    @app.errorhandler(Exception)
    def _on_error(err: Exception) -> Response:
        return respond(err, request.environ, request.path)


class _HotRoute:
    """WSGI: ``POST /predict`` answered before Flask, every other request passed to Flask.

    Flask's request machinery (request context, routing, the Response object, the error
    dispatch) costs a one-row prediction about as much as scoring it; the route needs none
    of it: its body function reads the WSGI environ and returns bytes, and its errors go
    through the same responder as Flask's (:func:`_error_responder`)."""

    def __init__(
        self,
        app: WSGIApp,
        path: str,
        body: Callable[[dict[str, Any]], bytes],
        respond: ErrorResponder,
    ) -> None:
        self.app, self.path, self.body, self.respond = app, path, body, respond

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        try:
            body = self.body(environ)
        except Exception as err:  # noqa: BLE001 - every error becomes its problem response
            response: Iterable[bytes] = self.respond(err, environ, self.path)(
                environ, start_response
            )
            return response
        start_response("200 OK", [("Content-Type", _JSON), ("Content-Length", str(len(body)))])
        return [body]
