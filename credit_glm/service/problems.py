"""Error responses as RFC 9457 problem details (``application/problem+json``).

Every error the service returns, from a malformed body to an unknown route, is a JSON object
with ``type``, ``title``, ``status``, ``detail`` and ``instance``, plus ``request_id`` and, for
validation errors, ``errors``: one entry per broken rule with ``field``, an RFC 6901
``pointer`` into the request body, ``rule``, ``message`` and the offending ``value``
(shortened; an input is never echoed whole). A body never carries a traceback.

Validation stops at ``serving.max_errors``: the body then lists at most that many errors, says
``errors_truncated``, and ``validation_complete: false`` when rows were left unchecked, in which
case ``error_count`` (the errors found) is a lower bound.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from credit_glm.service.validation import NO_VALUE, FieldError, json_pointer

__all__ = [
    "MAX_LISTED_ERRORS",
    "PROBLEM_JSON",
    "TITLES",
    "Problem",
    "bare_problem",
    "error_entries",
    "problem_body",
]

PROBLEM_JSON: Final = "application/problem+json"
# Errors listed in one response; the total is always given, and every bad row's index is
# listed in ``invalid_rows`` however many errors there are.
MAX_LISTED_ERRORS: Final = 1000

# kind -> (status, title)
TITLES: Final[Mapping[str, tuple[int, str]]] = {
    "malformed_json": (400, "Malformed JSON body"),
    "duplicate_key": (400, "Duplicate key in a JSON object"),
    # the client closed the connection before its body was complete: nobody reads the answer,
    # but the request is counted and logged as the client's doing (a 4xx), never as a 5xx
    "client_aborted": (400, "Client closed the connection"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "payload_too_large": (413, "Request body too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "validation": (422, "Request failed schema validation"),
    "batch_too_large": (422, "Too many rows in the batch"),
    "too_many_objects": (422, "Too many JSON objects in the body"),
    "bad_request": (400, "Bad request"),
    "timeout": (503, "Request took longer than serving.request_timeout"),
    "internal": (500, "Internal server error"),
}


def problem_type(kind: str) -> str:
    """The problem ``type`` URI of a kind."""
    return f"urn:credit-glm:problem:{kind.replace('_', '-')}"


class Problem(Exception):
    """An error response, raised anywhere in a request and rendered by the app.

    Parameters
    ----------
    kind
        A key of :data:`TITLES`; it sets the status and title, and is the ``kind`` label of
        the errors metric.
    detail
        A sentence about this occurrence (never echoing the input).
    errors
        Broken rules, for validation problems.
    base
        Where in the body the records live (``("features",)`` or ``("instances",)``), for the
        error pointers.
    headers
        Extra response headers (``Allow`` for 405).
    extra
        Extra members of the body.
    listed
        List at most this many of ``errors`` (``serving.max_errors``).
    complete
        False when validation stopped before the end of the input: ``errors`` are those found.
    """

    def __init__(
        self,
        kind: str,
        detail: str,
        errors: Sequence[FieldError] = (),
        base: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        listed: int | None = None,
        complete: bool = True,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.status, self.title = TITLES[kind]
        self.detail = detail
        self.errors = list(errors)
        self.base = base
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        self.listed = MAX_LISTED_ERRORS if listed is None else min(listed, MAX_LISTED_ERRORS)
        self.complete = complete


def error_entries(errors: Iterable[FieldError], base: tuple[str, ...]) -> list[dict[str, Any]]:
    """Field errors as response entries (row, field, pointer, rule, message, value)."""
    out: list[dict[str, Any]] = []
    for e in errors:
        parts: list[str | int] = list(base)
        entry: dict[str, Any] = {}
        if e.row is not None:
            entry["row"] = e.row
            parts.append(e.row)
        if e.field:
            parts.append(e.field)
        entry["field"] = e.field
        entry["pointer"] = json_pointer(*parts)
        entry["rule"] = e.rule
        entry["message"] = e.message
        if e.value is not NO_VALUE:
            entry["value"] = e.value
        if e.allowed is not None:
            entry["allowed"] = list(e.allowed)
        if e.fields is not None:
            entry["count"] = e.count
            entry["fields"] = list(e.fields)
        out.append(entry)
    return out


def problem_body(problem: Problem, instance: str, request_id: str) -> dict[str, Any]:
    """The RFC 9457 JSON object of ``problem``."""
    body: dict[str, Any] = {
        "type": problem_type(problem.kind),
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": instance,
        "request_id": request_id,
    }
    if problem.errors:
        listed = problem.errors[: problem.listed]
        body["error_count"] = sum(e.count for e in problem.errors)
        body["errors"] = error_entries(listed, problem.base)
        if len(problem.errors) > len(listed) or not problem.complete:
            body["errors_truncated"] = True
        if not problem.complete:
            body["validation_complete"] = False
        rows = sorted({e.row for e in problem.errors if e.row is not None})
        if rows:
            body["invalid_rows"] = rows
    body.update(problem.extra)
    return body


def dumps(body: Mapping[str, Any]) -> str:
    """Strict JSON (no NaN) for a response body."""
    return json.dumps(body, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def bare_problem(status: int, title: str, kind: str, detail: str, instance: str = "") -> bytes:
    """A problem body outside the Flask app (the worker's, gunicorn's, the admin port's
    errors): no request id, no validation errors."""
    return dumps(
        {
            "type": problem_type(kind),
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
            "request_id": "",
        }
    ).encode()
