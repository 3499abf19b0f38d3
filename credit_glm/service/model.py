"""The served model: the JSON model card, verified, pinned and compiled for requests.

Loading reads the card only (never the joblib pickle), checks its format version and recorded
hashes (:func:`credit_glm.artifact.load_card`: ``model_sha256`` over everything a response or an
alert depends on, the ``model_version`` it derives, ``config_sha256``, ``card_sha256``), checks
the signature when ``serving.trusted_keys`` is set (:mod:`credit_glm.signing`), applies the pins of
``serving`` (``expected_model_sha256``, ``model_version``), rebuilds the rule table
(:mod:`credit_glm.rules`, the one pandera's schema is built from) from the declaration stored in
the card, compiles it into the request validator (:mod:`credit_glm.service.validation`) and
runs the self-check: the card's recorded row must score to the recorded probability. Anything
wrong is an :class:`~credit_glm.errors.ArtifactError` with a message, raised before the server
binds its port.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from credit_glm.artifact import load_card, read_trusted_keys
from credit_glm.config import DataConfig, ServingConfig
from credit_glm.errors import ArtifactError, ConfigError, ValidationFailed
from credit_glm.model_card import SUPPORTED_FORMAT_VERSIONS, score_baseline
from credit_glm.rules import rule_table
from credit_glm.schema import data_config_from_dict
from credit_glm.scoring import Explanation, ScoringModel
from credit_glm.service.validation import RecordValidator, SchemaCompileError

__all__ = [
    "SELF_CHECK_TOLERANCE",
    "SUPPORTED_FORMAT_VERSIONS",
    "ServedModel",
    "load_served_model",
    "served_model_from_card",
]

# The recorded self-check probability and the served one come from the same function on the
# same row; a difference beyond this means a different model or a broken numeric stack.
SELF_CHECK_TOLERANCE: Final = 1e-12


@dataclass(frozen=True)
class ServedModel:
    """What the service needs from a model card, built once at start-up."""

    card: Mapping[str, Any]
    path: str
    scorer: ScoringModel
    data: DataConfig
    validator: RecordValidator
    cutoff: float
    # interior PSI bin edges (the card's edges without the -inf/+inf ends) and baseline shares
    psi_edges: tuple[float, ...]
    psi_shares: tuple[float, ...]

    @property
    def version(self) -> str:
        return str(self.card["model_version"])

    @property
    def sha256(self) -> str:
        return str(self.card["model_sha256"])

    @property
    def config_sha256(self) -> str:
        return str(self.card["config_sha256"])

    def predict(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Probabilities of default of validated columns, from the one scorer
        (:meth:`credit_glm.scoring.ScoringModel.predict`), which applies the missing and
        unseen policies or raises :class:`~credit_glm.errors.ValidationFailed`."""
        return self.scorer.predict(columns)

    def predict_record(self, record: Mapping[str, Any]) -> float:
        """:meth:`predict` of one validated record (field -> value), bit for bit, by the
        scorer's per-record path (:meth:`~credit_glm.scoring.ScoringModel.predict_record`)."""
        return self.scorer.predict_record(record)

    def explain(self, columns: Mapping[str, Sequence[Any]], records: bool = True) -> Explanation:
        """Probabilities of default, scores and reason codes of validated columns
        (:meth:`credit_glm.scoring.ScoringModel.explain`; the bits of :meth:`predict`);
        ``records=False`` writes no reason record."""
        return self.scorer.explain(columns, records)

    def explain_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`explain` of one validated record, bit for bit, by the scorer's per-record
        path (:meth:`~credit_glm.scoring.ScoringModel.explain_record`)."""
        return self.scorer.explain_record(record)

    def self_check(self) -> tuple[bool, str]:
        """Score the card's recorded row; ``(passed, explanation)``."""
        recorded = self.card["self_check"]
        features = recorded["features"]
        clean, errors = self.validator.validate_one(features)
        if errors:
            return False, f"the recorded self-check row fails the schema: {errors[0].message}"
        try:
            p = self.predict_record(clean)
        except ValidationFailed as err:
            return False, f"the recorded self-check row cannot be scored: {err}"
        expected = float(recorded["probability_of_default"])
        if not abs(p - expected) <= SELF_CHECK_TOLERANCE:
            return False, (
                f"self-check prediction {p!r} differs from the recorded "
                f"{expected!r} by more than {SELF_CHECK_TOLERANCE:g}"
            )
        return True, f"self-check prediction {p!r} matches the recorded value"


def _baseline(card: Mapping[str, Any]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    base = score_baseline(card)
    return base.interior, base.shares


def served_model_from_card(
    card: Mapping[str, Any], settings: ServingConfig, path: str = "<card>"
) -> ServedModel:
    """Build the served model from a verified card (pins and hashes are checked by the caller).

    Raises
    ------
    ArtifactError
        The card lacks something the service needs, or its schema cannot be compiled.
    """
    try:
        scorer = ScoringModel.from_card(card)
        data = data_config_from_dict(card["schema"])
        data = dataclasses.replace(data, strict=settings.reject_extra_fields)
        table = rule_table(data, "inference", required=scorer.spec.columns)
        validator = RecordValidator.from_table(table, scorer.spec.columns)
        edges, shares = _baseline(card)
        cutoff = (
            settings.cutoff if settings.cutoff is not None else float(card["decision"]["cutoff"])
        )
        for key in ("self_check", "model_version", "config", "config_sha256"):
            card[key]  # noqa: B018 - presence check
    except SchemaCompileError as err:
        raise ArtifactError(
            f"model card {path!r}: its schema cannot be compiled for serving: {err}"
        ) from None
    except (KeyError, TypeError, ValueError, ConfigError) as err:
        raise ArtifactError(
            f"model card {path!r} cannot be served: {type(err).__name__}: {err}"
        ) from None
    return ServedModel(
        card=card,
        path=path,
        scorer=scorer,
        data=data,
        validator=validator,
        cutoff=cutoff,
        psi_edges=edges,
        psi_shares=shares,
    )


def load_served_model(settings: ServingConfig) -> ServedModel:
    """Load, verify and pin the model card ``settings.model_path``.

    Raises
    ------
    ArtifactError
        Missing or corrupt card, a hash that does not match, a pin that does not match, a
        missing or wrong signature when ``serving.trusted_keys`` is set, a card the service
        cannot use, or a failing self-check.
    ConfigError
        A ``serving.trusted_keys`` file is missing or holds no Ed25519 public key.
    """
    path = str(Path(settings.model_path))
    # the format version and every recorded hash, as evaluation checks them
    card = load_card(path, key="serving.model_path")
    if settings.trusted_keys:
        from credit_glm.signing import signature_problem

        problem = signature_problem(card, read_trusted_keys(settings.trusted_keys))
        if problem is not None:
            raise ArtifactError(f"model card {path!r} {problem}; refusing to serve it")
    pinned_sha = settings.expected_model_sha256
    if pinned_sha is not None and pinned_sha != card["model_sha256"]:
        raise ArtifactError(
            f"serving.expected_model_sha256 is pinned to {pinned_sha}, but "
            f"{path!r} holds model {card['model_sha256']} "
            f"({card.get('model_version')}); refusing to serve it"
        )
    pinned_version = settings.model_version
    if pinned_version is not None and pinned_version != card.get("model_version"):
        raise ArtifactError(
            f"serving.model_version is pinned to {pinned_version!r}, but "
            f"{path!r} holds {card.get('model_version')!r}; refusing to serve it"
        )
    served = served_model_from_card(card, settings, path)
    passed, why = served.self_check()
    if not passed:
        raise ArtifactError(f"model card {path!r}: {why}; refusing to serve it")
    return served
