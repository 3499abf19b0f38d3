"""Scoring: a pure function of a frozen model and a table.

:class:`ScoringModel` holds only what a prediction needs (the feature spec, the coefficients and
the link), and is built the same way from the pickled artifact or from the JSON model card, so
training, evaluation, batch scoring and the service produce identical probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credit_glm.config import Link
from credit_glm.features import ModelSpec, design_matrix
from credit_glm.glm import inverse_link

__all__ = ["ScoringModel"]


@dataclass(frozen=True)
class ScoringModel:
    """Everything a probability of default depends on, and nothing else."""

    spec: ModelSpec
    params: np.ndarray
    link: Link

    def __post_init__(self) -> None:
        if len(self.params) != len(self.spec.terms):
            raise ValueError(
                f"{len(self.params)} coefficients for {len(self.spec.terms)} design terms"
            )

    @property
    def coefficients(self) -> dict[str, float]:
        return dict(zip(self.spec.terms, self.params.tolist(), strict=True))

    def linear_predictor(self, frame: Mapping[str, Any] | pd.DataFrame) -> np.ndarray:
        return np.asarray(design_matrix(self.spec, frame) @ self.params)

    def predict(self, frame: Mapping[str, Any] | pd.DataFrame) -> np.ndarray:
        """Probability of default for each row of ``frame``."""
        return inverse_link(self.link, self.linear_predictor(frame))

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> ScoringModel:
        """Rebuild from a model card (no unpickling)."""
        spec = ModelSpec.from_dict(card["feature_spec"])
        coefs = card["coefficients"]
        missing = [t for t in spec.terms if t not in coefs]
        if missing:
            raise ValueError(f"model card lacks coefficients for {missing}")
        params = np.array([float(coefs[t]["estimate"]) for t in spec.terms])
        return cls(spec=spec, params=params, link=Link(card["link"]))
