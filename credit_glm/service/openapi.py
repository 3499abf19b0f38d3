"""The OpenAPI 3.1 description of the service, generated from the served model's schema.

Every field of ``Features`` comes from the rule table (:mod:`credit_glm.rules`: each rule's
JSON-schema fragment for type, range, categories, nullability; required; extra fields refused)
narrowed by what the model's feature spec can encode (a category the model never saw under
``unseen: error``, a null under ``missing: error``, log1p's domain), so a request valid under
this document is scored, and one that is not gets a 4xx naming the rule. Clients and fuzzers
(schemathesis) read it at ``GET /openapi.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credit_glm.config import ServingConfig
from credit_glm.features import FeatureSpec
from credit_glm.rules import ColumnRules, allow_null
from credit_glm.service.model import ServedModel
from credit_glm.service.problems import PROBLEM_JSON

__all__ = ["openapi_document"]

_JSON = "application/json"


def _encodable(feature: FeatureSpec) -> set[str] | None:
    """Raw levels the feature encodes, from its transform's JSON-schema fragment (None: any)."""
    enum = feature.transformer.json_schema(feature).get("enum")
    return None if enum is None else {lvl for lvl in enum if lvl is not None}


def _exclusive_minimum(features: list[FeatureSpec]) -> float | None:
    """The largest exclusive lower bound the features' transforms put on a value (log1p: -1)."""
    bounds = [f.transformer.json_schema(f).get("exclusiveMinimum") for f in features]
    known = [float(b) for b in bounds if b is not None]
    return max(known) if known else None


def field_schema(column: ColumnRules, features: list[FeatureSpec]) -> dict[str, Any]:
    """JSON Schema of one request field: its rules' fragments, narrowed by the features."""
    out = column.value_schema()
    if column.kind in ("float", "int"):
        lo: float | None = out.get("minimum")
        hi: float | None = out.get("maximum")
        floor = _exclusive_minimum(features)
        if floor is not None and (lo is None or lo <= floor):
            out.pop("minimum", None)
            out["exclusiveMinimum"] = int(floor) if floor.is_integer() else floor
        levels = [_encodable(f) for f in features]
        known = [lv for lv in levels if lv is not None]
        if column.kind == "int" and known:
            allowed = set.intersection(*known)
            ints = sorted(int(v) for v in allowed if v.lstrip("-").isdigit())
            out["enum"] = [v for v in ints if (lo is None or v >= lo) and (hi is None or v <= hi)]
    elif column.kind == "category":
        allowed_list: list[str] | None = out.get("enum")
        for f in features:
            enc = _encodable(f)
            if enc is None:
                continue
            allowed_list = [c for c in (allowed_list or sorted(enc)) if c in enc]
        if allowed_list is not None:
            out["enum"] = allowed_list
    if column.nullable and all(f.transformer.accepts_missing(f) for f in features):
        out = allow_null(out)
    return out


def features_schema(model: ServedModel) -> dict[str, Any]:
    """JSON Schema of one record (``features``, or an item of ``instances``)."""
    by_column: dict[str, list[FeatureSpec]] = {}
    for f in model.scorer.spec.features:
        by_column.setdefault(f.column, []).append(f)
    properties: dict[str, Any] = {}
    for name, column in model.validator.rules.items():
        prop = field_schema(column, by_column.get(name, []))
        if column.description:
            prop["description"] = column.description
        properties[name] = prop
    required = [n for n, r in model.validator.rules.items() if r.required]
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": not model.validator.strict,
    }


def _problem_schema() -> dict[str, Any]:
    entry = {
        "type": "object",
        "required": ["field", "pointer", "rule", "message"],
        "properties": {
            "row": {"type": "integer", "minimum": 0},
            "field": {"type": "string"},
            "pointer": {"type": "string"},
            "rule": {"type": "string"},
            "message": {"type": "string"},
            "value": {},
            "allowed": {"type": "array", "items": {"type": "string"}},
        },
    }
    return {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail", "instance", "request_id"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
            "error_count": {"type": "integer", "minimum": 1},
            "errors": {"type": "array", "items": entry},
            "errors_truncated": {"type": "boolean"},
            "invalid_rows": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "max_batch_rows": {"type": "integer"},
        },
    }


def _problems(*codes: int) -> dict[str, Any]:
    text = {
        400: "Malformed JSON",
        404: "Not found",
        405: "Method not allowed",
        413: "Body over serving.max_body_bytes",
        415: "Content-Type is not application/json",
        422: "The request breaks the schema",
        500: "Internal error",
    }
    return {
        str(c): {
            "description": text[c],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for c in codes
    }


def _score_properties(model: ServedModel) -> dict[str, Any]:
    """``score`` and ``reason_codes`` of a model with a points scale: the features that cost
    the applicant the most points, at most ``reasons.max`` of them, the largest shortfall first."""
    reasons = model.scorer.reasons
    codes = sorted({r.code for r in reasons.features}) if reasons is not None else []
    most = reasons.max_reasons if reasons is not None else 0
    return {
        "score": {"type": "number", "description": "points; higher is less risk"},
        "reason_codes": {
            "type": "array",
            "maxItems": most,
            "items": {
                "type": "object",
                "required": ["code", "feature", "text", "points", "shortfall"],
                "properties": {
                    "code": {"type": "string", "enum": codes} if codes else {"type": "string"},
                    "feature": {"type": "string"},
                    "text": {"type": "string"},
                    "points": {"type": "number"},
                    "shortfall": {"type": "number", "exclusiveMinimum": 0},
                },
            },
        },
    }


def _ok(ref: str, description: str) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        }
    }


def openapi_document(model: ServedModel, settings: ServingConfig) -> dict[str, Any]:
    """The OpenAPI 3.1 document of a service serving ``model`` with ``settings``."""
    scored = model.scorer.scorecard is not None
    # reason_codes: in every prediction of a scorecard model unless the request says false
    prediction: dict[str, Any] = {
        "type": "object",
        "required": ["probability_of_default", "decision"] + (["score"] if scored else []),
        "properties": {
            "probability_of_default": {"type": "number", "minimum": 0, "maximum": 1},
            "decision": {"type": "string", "enum": ["accept", "decline"]},
            **(_score_properties(model) if scored else {}),
        },
    }
    with_reasons = {
        "type": "boolean",
        "default": True,
        "description": "false: the response carries no reason_codes (a scorecard model's "
        "score stays); a model without a scorecard has none either way",
    }
    envelope_props = {
        "request_id": {"type": "string"},
        "model_version": {"type": "string"},
        "cutoff": {"type": "number"},
    }
    schemas: dict[str, Any] = {
        "Features": features_schema(model),
        "PredictRequest": {
            "type": "object",
            "required": ["features"],
            "additionalProperties": False,
            "properties": {
                "features": {"$ref": "#/components/schemas/Features"},
                "reason_codes": with_reasons,
            },
        },
        "BatchRequest": {
            "type": "object",
            "required": ["instances"],
            "additionalProperties": False,
            "properties": {
                "instances": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": settings.max_batch_rows,
                    "items": {"$ref": "#/components/schemas/Features"},
                },
                "reason_codes": with_reasons,
            },
        },
        "Prediction": prediction,
        "PredictResponse": {
            "type": "object",
            "required": [
                "request_id",
                "model_version",
                "cutoff",
                *prediction["required"],
            ],
            "properties": {**envelope_props, **prediction["properties"]},
        },
        "BatchResponse": {
            "type": "object",
            "required": ["request_id", "model_version", "cutoff", "predictions"],
            "properties": {
                **envelope_props,
                "predictions": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Prediction"},
                },
            },
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}},
        },
        "Ready": {
            "type": "object",
            "required": ["status", "ready"],
            "properties": {
                "status": {"type": "string"},
                "ready": {"type": "boolean"},
                "model_version": {"type": "string"},
                "reason": {"type": "string"},
            },
        },
        "ModelInfo": {
            "type": "object",
            "description": "The public summary of the served model (the full card, less "
            "filesystem paths, and the metrics are on the admin port).",
            "required": ["model_version", "model_sha256", "features", "decision"],
            "properties": {
                "model_version": {"type": "string"},
                "model_sha256": {"type": "string"},
                "created_at": {"type": "string"},
                "target": {
                    "type": "object",
                    "properties": {"column": {"type": "string"}, "event": {"type": "string"}},
                },
                "features": {
                    "type": "object",
                    "required": ["columns", "json_schema"],
                    "properties": {
                        "columns": {"type": "array", "items": {"type": "string"}},
                        "json_schema": {"type": "object"},
                    },
                },
                "decision": {
                    "type": "object",
                    "required": ["cutoff"],
                    "properties": {"cutoff": {"type": "number"}, "rule": {"type": "string"}},
                },
                "reject_extra_fields": {"type": "boolean"},
            },
        },
        "Problem": _problem_schema(),
    }

    def post(op: str, summary: str, request: str, response: str) -> dict[str, Any]:
        return {
            "post": {
                "operationId": op,
                "summary": summary,
                "requestBody": {
                    "required": True,
                    "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{request}"}}},
                },
                "responses": {**_ok(response, "Scored"), **_problems(400, 413, 415, 422)},
            }
        }

    def get(op: str, summary: str, responses: Mapping[str, Any]) -> dict[str, Any]:
        return {"get": {"operationId": op, "summary": summary, "responses": dict(responses)}}

    ready_503 = {
        "503": {
            "description": "Not ready (starting, failed self-check or draining)",
            "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Ready"}}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "credit-glm scoring service",
            "version": model.version,
            "description": (
                f"Probability of default from model {model.version} "
                f"(model_sha256 {model.sha256}). Requests are validated against "
                "the schema the model was trained with."
            ),
        },
        "paths": {
            "/health": get("health", "Liveness", _ok("Health", "Alive")),
            "/ready": get("ready", "Readiness", {**_ok("Ready", "Ready"), **ready_503}),
            "/predict": post("predict", "Score one applicant", "PredictRequest", "PredictResponse"),
            "/predict/batch": post(
                "predictBatch",
                "Score up to serving.max_batch_rows applicants",
                "BatchRequest",
                "BatchResponse",
            ),
            "/model/info": get(
                "modelInfo",
                "The served model: version, hash, input schema, cut-off",
                _ok("ModelInfo", "Model summary"),
            ),
            "/openapi.json": get(
                "openapi",
                "This document",
                {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {_JSON: {"schema": {"type": "object"}}},
                    }
                },
            ),
        },
        "components": {"schemas": schemas},
    }
