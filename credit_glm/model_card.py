"""The model card: the human-readable JSON that describes a model and alone reproduces it.

Built here as plain data (pure); :mod:`credit_glm.artifact` writes it. The card carries the
feature spec, the coefficients, the link and the schema, so a service can score from it without
unpickling anything, and hashes that tie it to its config, its training data and its pickle.

Two hashes seal it (format version 2):

``model_sha256``
    The model's identity: one hash over everything that changes a response or an alert -- the
    data name, the link, the feature spec, the coefficient estimates, the schema without where the
    training data was read from (``path``, ``format``), the decision (cut-off and rule), the
    score baseline (PSI edges and shares), the self-check row with its probability and, when
    the card has one, the ``scorecard`` section (points scale, points table, reason table).
    ``model_version`` is ``<data name>-<first 12 hex digits of model_sha256>``, derived from it.
``card_sha256``
    Everything else: the hash of the whole card except ``card_sha256`` itself and the optional
    ``signature`` (:mod:`credit_glm.signing`) that signs it (metrics, diagnostics, config,
    training data, libraries, selection, created_at, the pickle's hash...).

:func:`card_problem` checks both; the artifact store refuses a card it names a problem for.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from credit_glm.config import to_plain
from credit_glm.jsonable import json_safe
from credit_glm.metrics import bin_proportions, psi_bin_edges
from credit_glm.points_table import scorecard_section
from credit_glm.schema import data_config_to_dict
from credit_glm.scoring import DECISION_RULE

if TYPE_CHECKING:
    from credit_glm.training import TrainedModel

__all__ = [
    "CARD_FORMAT",
    "CARD_FORMAT_VERSION",
    "IDENTITY_KEYS",
    "SCHEMA_SOURCE_KEYS",
    "SUPPORTED_FORMAT_VERSIONS",
    "build_card",
    "canonical_json",
    "card_problem",
    "card_sha256",
    "json_safe",
    "library_versions",
    "model_identity",
    "model_sha256",
    "model_version",
    "seal_card",
    "sha256_hex",
]

CARD_FORMAT = "credit-glm/model-card"
CARD_FORMAT_VERSION = 2
# the card format versions this code reads (version 1 hashed a different set of keys)
SUPPORTED_FORMAT_VERSIONS = (CARD_FORMAT_VERSION,)
# The card sections a response or an alert depends on: their hash is the model's identity.
IDENTITY_KEYS = (
    "link",
    "feature_spec",
    "coefficients",
    "schema",
    "decision",
    "score_baseline",
    "self_check",
    "scorecard",
)
# Schema keys that say where and how the training file was read, not what a record must look
# like: the same data read from another place is the same model.
SCHEMA_SOURCE_KEYS = ("path", "format")


@dataclass(frozen=True)
class ScoreBaseline:
    """The training sample's PD distribution a card carries, for PSI against new scores.

    ``edges`` has ``len(shares) + 1`` strictly increasing entries, ``-inf`` first and ``inf``
    last; ``shares`` are positive and sum to 1.
    """

    edges: tuple[float, ...]
    shares: tuple[float, ...]

    @property
    def interior(self) -> tuple[float, ...]:
        """The finite edges (all but the first and the last)."""
        return self.edges[1:-1]

    def to_dict(self) -> dict[str, Any]:
        """The card's form: JSON has no infinities, so the outer edges are ``null``."""
        return {
            "edges": [None, *self.interior, None],
            "shares": list(self.shares),
            "note": "training-sample PD distribution; edges[0]/edges[-1] null mean -inf/+inf",
        }


def score_baseline(card: Mapping[str, Any]) -> ScoreBaseline:
    """Decode and check a card's ``score_baseline`` (the inverse of
    :meth:`ScoreBaseline.to_dict`), for every reader: the service and ``mode=evaluate``.

    Raises
    ------
    KeyError, TypeError, ValueError
        The section is missing or malformed (the message names the rule).
    """
    base = card["score_baseline"]
    edges = list(base["edges"])
    shares = tuple(float(s) for s in base["shares"])
    if len(edges) != len(shares) + 1 or len(shares) < 1:
        raise ValueError("score_baseline: edges must have one more entry than shares")
    if edges[0] is not None or edges[-1] is not None:
        raise ValueError("score_baseline: the outer edges must be null (-inf/+inf)")
    interior = tuple(float(e) for e in edges[1:-1])
    if not all(math.isfinite(e) for e in interior) or any(
        b <= a for a, b in zip(interior, interior[1:], strict=False)
    ):
        raise ValueError("score_baseline: edges must be finite and increase strictly")
    if any(not s > 0 for s in shares) or not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
        raise ValueError("score_baseline: shares must be positive and sum to 1")
    return ScoreBaseline(edges=(-math.inf, *interior, math.inf), shares=shares)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, no NaN: the bytes every hash here is taken of."""
    return json.dumps(
        json_safe(value), sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model_identity(card: Mapping[str, Any]) -> dict[str, Any]:
    """What ``model_sha256`` is taken of: the parts of ``card`` a response or an alert uses.

    Raises ``KeyError``/``TypeError`` when a section is missing or malformed.
    """
    schema = card["schema"]
    decision = card["decision"]
    baseline = card["score_baseline"]
    check = card["self_check"]
    # the points scale, the points table and the reasons: an edited scale changes scores as an
    # edited coefficient changes probabilities; a card written before them has no section
    scorecard = {"scorecard": card["scorecard"]} if "scorecard" in card else {}
    return {
        **scorecard,
        "data_name": schema["name"],
        "link": card["link"],
        "feature_spec": card["feature_spec"],
        "coefficients": {t: c["estimate"] for t, c in card["coefficients"].items()},
        "schema": {k: v for k, v in schema.items() if k not in SCHEMA_SOURCE_KEYS},
        "decision": {"cutoff": decision["cutoff"], "rule": decision["rule"]},
        "score_baseline": {"edges": baseline["edges"], "shares": baseline["shares"]},
        "self_check": {
            "features": check["features"],
            "probability_of_default": check["probability_of_default"],
        },
    }


def model_sha256(card: Mapping[str, Any]) -> str:
    """The model's identity: the hash of :func:`model_identity`."""
    return sha256_hex(canonical_json(model_identity(card)))


def model_version(card: Mapping[str, Any], digest: str | None = None) -> str:
    """``<data name>-<first 12 hex digits of model_sha256>``."""
    digest = model_sha256(card) if digest is None else digest
    return f"{card['schema']['name']}-{digest[:12]}"


# card keys the card hash leaves out: itself, and the signature that signs it
_UNHASHED = ("card_sha256", "signature")


def card_sha256(card: Mapping[str, Any]) -> str:
    """The hash of the whole card except ``card_sha256`` itself (and its ``signature``)."""
    return sha256_hex(canonical_json({k: v for k, v in card.items() if k not in _UNHASHED}))


def seal_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """``card`` with its model hash, its version and its card hash (re)computed; a signature
    it carried is dropped (:func:`credit_glm.signing.sign_card` signs the sealed card)."""
    sealed = {k: v for k, v in json_safe(dict(card)).items() if k not in _UNHASHED}
    digest = model_sha256(sealed)
    sealed["model_sha256"] = digest
    sealed["model_version"] = model_version(sealed, digest)
    sealed["card_sha256"] = card_sha256(sealed)
    return sealed


def card_problem(card: Mapping[str, Any]) -> str | None:
    """What is wrong with a parsed card's format and hashes, in one line; ``None`` if nothing.

    Checked in order: the format version, ``model_sha256`` against the card's content,
    ``model_version`` against ``model_sha256``, ``config_sha256`` against the config, and
    ``card_sha256`` against the whole card.
    """
    version = card.get("format_version")
    if version not in SUPPORTED_FORMAT_VERSIONS:
        readable = ", ".join(map(str, SUPPORTED_FORMAT_VERSIONS))
        return (
            f"has format_version {version!r}; this credit-glm reads format_version "
            f"{readable} only: retrain the model with this version (python -m credit_glm)"
        )
    try:
        recorded = card["model_sha256"]
        actual = model_sha256(card)
        derived = model_version(card, actual)
        config_actual = sha256_hex(canonical_json(card["config"]))
        card_actual = card_sha256(card)
    except KeyError as err:
        return f"is incomplete: it has no {err}"
    except (TypeError, AttributeError, ValueError) as err:
        return f"is malformed: {type(err).__name__}: {err}"
    if recorded != actual:
        return (
            f"is corrupt: its model content ({', '.join(IDENTITY_KEYS)}) hashes to "
            f"{actual[:12]}…, not the recorded model_sha256 {str(recorded)[:12]}…"
        )
    if card.get("model_version") != derived:
        return (
            f"is corrupt: its model_version {card.get('model_version')!r} is not the one "
            f"its model_sha256 derives ({derived!r})"
        )
    if card.get("config_sha256") != config_actual:
        return (
            f"is corrupt: its config hashes to {config_actual[:12]}…, not the recorded "
            f"config_sha256 {str(card.get('config_sha256'))[:12]}…"
        )
    if card.get("card_sha256") != card_actual:
        return (
            f"is corrupt: the card hashes to {card_actual[:12]}…, not the recorded "
            f"card_sha256 {str(card.get('card_sha256'))[:12]}… (a field outside the model "
            "identity, such as metrics or training_data, was changed)"
        )
    return None


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in (
        "credit-glm",
        "statsmodels",
        "numpy",
        "pandas",
        "scipy",
        "pandera",
        "hydra-core",
        "omegaconf",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _woe_convention(trained: TrainedModel) -> dict[str, str]:
    """``woe_convention``, stated for a model with a ``woe`` feature."""
    if not any(f.transform == "woe" for f in trained.spec.features):
        return {}
    from credit_glm.binning import WOE_CONVENTION

    return {"woe_convention": WOE_CONVENTION}


def build_card(
    trained: TrainedModel,
    data_source: str,
    data_sha256: str,
    data_rows: int,
    created_at: str,
) -> dict[str, Any]:
    """The model card of ``trained``, sealed (the writer adds the pickle's hash and reseals)."""
    cfg = trained.config
    coefficients = {
        row["term"]: {k: v for k, v in row.items() if k != "term"}
        for row in trained.diagnostics["coefficients"]
    }
    edges = psi_bin_edges(trained.train_scores, bins=cfg.evaluation.psi_bins)
    shares = bin_proportions(trained.train_scores, edges)
    config_plain = to_plain(cfg)
    scorecard = (
        {"scorecard": scorecard_section(trained.scorer, trained.points_table)}
        if trained.scorer.scorecard is not None
        else {}
    )
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
        **_woe_convention(trained),
        "schema": data_config_to_dict(cfg.data),
        "metrics": trained.metrics,
        "diagnostics": trained.diagnostics,
        "decision": {
            "cutoff": cfg.evaluation.decision.threshold,
            "cost_false_negative": cfg.evaluation.decision.cost_false_negative,
            "cost_false_positive": cfg.evaluation.decision.cost_false_positive,
            "rule": DECISION_RULE,
        },
        "gates": {"passed": trained.passed, "failures": list(trained.gate_failures)},
        "score_baseline": ScoreBaseline(
            edges=tuple(float(e) for e in edges), shares=tuple(float(s) for s in shares)
        ).to_dict(),
        "self_check": trained.self_check,
        **scorecard,
        "config": config_plain,
        "config_sha256": sha256_hex(canonical_json(config_plain)),
        "training_data": {"source": data_source, "sha256": data_sha256, "rows": data_rows},
        "libraries": library_versions(),
    }
    return seal_card(card)
