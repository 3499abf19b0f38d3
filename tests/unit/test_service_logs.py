"""A request line holds the object the service's JSON formatter writes for the same fields."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from credit_glm.service.logs import REQUEST_LOGGER, JsonFormatter, RequestLog


@pytest.mark.parametrize(
    "fields",
    [
        {"request_id": "0f" * 16, "method": "POST", "endpoint": "/predict", "status": 200},
        {"latency_ms": 0.0001, "pid": 7, "rows": 1000, "error": "validation"},
        {"features": {"age": 2**70, "purpose": "caf\u00e9", "x": None, "y": [1.5, True]}},
        {"other": object()},  # written as its str, by both
    ],
)
def test_a_request_line_is_the_formatters_object(fields: dict[str, Any]) -> None:
    created = 1_790_000_000.25
    line = RequestLog(None).format(created, fields)
    record = logging.LogRecord(REQUEST_LOGGER, logging.INFO, "", 0, "request", None, None)
    record.created = created
    record.fields = fields
    assert json.loads(line) == json.loads(JsonFormatter().format(record))
