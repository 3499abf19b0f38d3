"""The model card: the human-readable JSON that describes a model and alone reproduces it.

Built here as plain data (pure); :mod:`credit_glm.artifact` writes it. The card carries the
feature spec, the coefficients, the link and the schema, so a service can score from it without
unpickling anything, and hashes that tie it to its config, its training data and its pickle.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from importlib import metadata
from typing import Any

from credit_glm.config import to_plain
from credit_glm.metrics import bin_proportions, psi_bin_edges
from credit_glm.schema import data_config_to_dict
from credit_glm.training import TrainedModel

__all__ = [
    "CARD_FORMAT",
    "build_card",
    "canonical_json",
    "json_safe",
    "library_versions",
    "model_sha256",
    "sha256_hex",
]

CARD_FORMAT = "credit-glm/model-card"
CARD_FORMAT_VERSION = 1
# The card keys a prediction depends on: their hash is the model's identity.
PREDICTIVE_KEYS = ("link", "feature_spec", "coefficients", "schema")


def json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, no NaN: the bytes every hash here is taken of."""
    return json.dumps(json_safe(value), sort_keys=True, separators=(",", ":"),
                      allow_nan=False, ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model_sha256(card: dict[str, Any]) -> str:
    """Hash of what predictions depend on (link, features, coefficients, schema)."""
    core = {k: card[k] for k in PREDICTIVE_KEYS}
    core["coefficients"] = {t: c["estimate"] for t, c in card["coefficients"].items()}
    return sha256_hex(canonical_json(core))


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("credit-glm", "statsmodels", "numpy", "pandas", "scipy", "pandera",
                 "hydra-core", "omegaconf"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def build_card(
    trained: TrainedModel,
    data_source: str,
    data_sha256: str,
    data_rows: int,
    created_at: str,
) -> dict[str, Any]:
    """The model card of ``trained`` (without the pickle's hash, which the writer adds)."""
    cfg = trained.config
    coefficients = {row["term"]: {k: v for k, v in row.items() if k != "term"}
                    for row in trained.diagnostics["coefficients"]}
    edges = psi_bin_edges(trained.train_scores, bins=cfg.evaluation.psi_bins)
    shares = bin_proportions(trained.train_scores, edges)
    config_plain = to_plain(cfg)
    card: dict[str, Any] = {
        "format": CARD_FORMAT,
        "format_version": CARD_FORMAT_VERSION,
        "model_version": "",
        "model_sha256": "",
        "created_at": created_at,
        "link": cfg.glm.link.value,
        "target": {"column": cfg.data.target.column, "event": cfg.data.target.event},
        "selected_features": list(trained.spec.feature_names),
        "selection": {"strategy": trained.selection.strategy, **trained.selection.audit},
        "coefficients": coefficients,
        "feature_spec": trained.spec.to_dict(),
        "schema": data_config_to_dict(cfg.data),
        "metrics": trained.metrics,
        "diagnostics": trained.diagnostics,
        "decision": {"cutoff": cfg.evaluation.decision.threshold,
                     "cost_false_negative": cfg.evaluation.decision.cost_false_negative,
                     "cost_false_positive": cfg.evaluation.decision.cost_false_positive,
                     "rule": "decline when probability_of_default >= cutoff"},
        "gates": {"passed": trained.passed, "failures": list(trained.gate_failures)},
        "score_baseline": {
            "edges": [None if not math.isfinite(e) else float(e) for e in edges],
            "shares": [float(s) for s in shares],
            "note": "training-sample PD distribution; edges[0]/edges[-1] null mean -inf/+inf",
        },
        "self_check": trained.self_check,
        "config": config_plain,
        "config_sha256": sha256_hex(canonical_json(config_plain)),
        "training_data": {"source": data_source, "sha256": data_sha256, "rows": data_rows},
        "libraries": library_versions(),
    }
    card = json_safe(card)
    digest = model_sha256(card)
    card["model_sha256"] = digest
    card["model_version"] = f"{cfg.data.name}-{digest[:12]}"
    return card
