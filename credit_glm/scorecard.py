"""Points scaling of the one scorer's linear predictor, written once.

A model's linear predictor ``eta`` is the log odds of default under the logit link. The scaled
score is ``offset - factor * eta`` with ``factor = pdo / ln 2`` and
``offset = base_score - factor * ln(base_odds)``: ``base_score`` points at good:bad odds of
``base_odds``:1, ``pdo`` more points for each doubling of those odds (Siddiqi 2006, *Credit Risk
Scorecards*, ch. 6; Anderson 2007, *The Credit Scoring Toolkit*, §9.2). Higher points mean less
risk.

The score is split exactly over the model's terms: the intercept's ``base points``
(``offset + (-factor) * b0``) and each feature's points (``(-factor) * contribution``, the
feature's contribution to ``eta`` as :class:`~credit_glm.scoring.ScoringModel` computes it). The
score is the sum of those points, added in the spec's order, so an applicant's points sum to
their score exactly. Under ``rounding: integer`` each of those points is rounded half away from
zero first (:func:`round_points`); under ``none`` they stay floats. The probability of default
is never derived from the (rounded) score: it comes from ``eta``.

SQL export (:mod:`credit_glm.sql_export`) writes the same operations in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from credit_glm.config import Rounding, ScorecardConfig

__all__ = ["Scorecard", "round_points"]


def round_points(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (``2.5 -> 3``, ``-2.5 -> -3``), elementwise: numpy's own
    ``round`` is half to even, SQL's ``ROUND`` half away from zero."""
    return np.asarray(np.copysign(np.floor(np.abs(x) + 0.5), x), dtype=np.float64)


@dataclass(frozen=True)
class Scorecard:
    """The points scale: ``score = offset - factor * eta``, split over the terms."""

    base_score: float
    base_odds: float
    pdo: float
    rounding: Rounding = Rounding.none

    @classmethod
    def from_config(cls, cfg: ScorecardConfig) -> Scorecard:
        return cls(
            base_score=float(cfg.base_score),
            base_odds=float(cfg.base_odds),
            pdo=float(cfg.pdo),
            rounding=Rounding(cfg.rounding),
        )

    @cached_property  # the one-row path reads it per feature
    def factor(self) -> float:
        """Points per unit of log odds: ``pdo / ln 2``."""
        return self.pdo / math.log(2.0)

    @cached_property
    def offset(self) -> float:
        """The score at log odds of default 0: ``base_score - factor * ln(base_odds)``."""
        return self.base_score - self.factor * math.log(self.base_odds)

    def rounded(self, points: np.ndarray) -> np.ndarray:
        """Unrounded points as reported: rounded under ``rounding: integer``, else as they are."""
        return round_points(points) if self.rounding is Rounding.integer else points

    def unrounded_points(self, contribution: np.ndarray) -> np.ndarray:
        """A feature's points before any rounding, elementwise: ``(-factor) * contribution``
        (what reason codes are ranked by)."""
        raw = np.multiply(-self.factor, np.asarray(contribution, dtype=np.float64))
        # + 0.0 turns the reference level's -0.0 into 0.0 and changes no other value
        return np.asarray(np.add(raw, 0.0), dtype=np.float64)

    def points(self, contribution: np.ndarray) -> np.ndarray:
        """A feature's points from its contribution to the linear predictor, elementwise:
        ``(-factor) * contribution``, rounded under ``rounding: integer``."""
        return self.rounded(self.unrounded_points(contribution))

    def record_points(self, contribution: float, rounded: bool = True) -> float:
        """:meth:`points` (``rounded``) or :meth:`unrounded_points` of one finite contribution
        in plain Python floats, bit for bit (``tests/unit/test_scorecard.py``): the one-row
        path, where numpy's per-call cost dominates."""
        raw = -self.factor * contribution + 0.0
        if rounded and self.rounding is Rounding.integer:
            return math.copysign(math.floor(abs(raw) + 0.5), raw)
        return raw

    def base_points(self, intercept: float) -> float:
        """The intercept's points: ``offset + (-factor) * b0`` (rounded likewise)."""
        raw = np.array([self.offset + (-self.factor) * float(intercept)])
        return float(self.rounded(raw)[0])

    def score(self, base: float, points: list[np.ndarray]) -> np.ndarray:
        """The score: the base points plus each feature's points, added in spec order."""
        n = points[0].shape[0] if points else 1
        total = np.full(n, base, dtype=np.float64)
        for p in points:
            np.add(total, p, out=total)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_score": self.base_score,
            "base_odds": self.base_odds,
            "pdo": self.pdo,
            "rounding": self.rounding.value,
            "factor": self.factor,
            "offset": self.offset,
            "formula": "score = offset - factor * linear_predictor; factor = pdo / ln(2); "
            "offset = base_score - factor * ln(base_odds)",
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Scorecard:
        return cls(
            base_score=float(raw["base_score"]),
            base_odds=float(raw["base_odds"]),
            pdo=float(raw["pdo"]),
            rounding=Rounding(raw.get("rounding", Rounding.none.value)),
        )
