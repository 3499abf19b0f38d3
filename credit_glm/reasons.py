"""Reason codes: the features that cost an applicant the most points, written once.

Each feature has reference points: the most points it gave any training applicant
(``method: max``) or its (weighted) mean points over them (``method: mean``). An applicant's
shortfall on a feature is ``reference - points``; the reasons for a score are the features with a
positive shortfall, largest first, ties in the spec's order, at most ``max`` of them (the
"points below maximum" method: Siddiqi 2006, *Credit Risk Scorecards*, ch. 9; US Regulation B,
12 CFR 1002.9(b)(2), asks for the principal reasons, four at most under FCRA's key-factor
disclosure). Ranking uses the unrounded points, so ``rounding: integer`` never reorders reasons.

:class:`ReasonTable` is generic: it is fitted from the one scorer's contributions
(:meth:`credit_glm.scoring.ScoringModel.contributions`) through the points scale
(:class:`credit_glm.scorecard.Scorecard`), with no per-transform code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from credit_glm.config import ReasonMethod, ReasonsConfig
from credit_glm.errors import ConfigError
from credit_glm.scorecard import Scorecard

__all__ = ["LABEL_PLACEHOLDER", "FeatureReason", "ReasonTable", "check_reason_codes"]

LABEL_PLACEHOLDER = "{label}"


def check_reason_codes(config: ReasonsConfig, declared: Iterable[str]) -> None:
    """Refuse a ``reasons.codes`` entry for a feature the config does not declare.

    Raises
    ------
    ConfigError
        Naming ``reasons.codes.<name>`` and the declared features.
    """
    known = list(declared)
    for name in config.codes:
        if name not in known:
            raise ConfigError(
                f"reasons.codes.{name}",
                f"no feature {name!r} is declared (features: {', '.join(known)})",
            )


@dataclass(frozen=True)
class FeatureReason:
    """One feature's reason code, its text and its reference points."""

    feature: str
    code: str
    # the text with an optional {label} placeholder; None: "<description or name>: <label>"
    text: str | None
    description: str
    reference_points: float

    def text_for(self, label: str) -> str:
        """The reason's text for an applicant scored as attribute ``label``."""
        if self.text is None:
            return f"{self.description or self.feature}: {label}"
        return self.text.replace(LABEL_PLACEHOLDER, label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "code": self.code,
            "text": self.text,
            "description": self.description,
            "reference_points": self.reference_points,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeatureReason:
        text = raw.get("text")
        return cls(
            feature=str(raw["feature"]),
            code=str(raw["code"]),
            text=None if text is None else str(text),
            description=str(raw.get("description", "")),
            reference_points=float(raw["reference_points"]),
        )


@dataclass(frozen=True)
class ReasonTable:
    """Per feature (in spec order) its code, text and reference points; how many reasons."""

    features: tuple[FeatureReason, ...]
    max_reasons: int = 4
    method: ReasonMethod = ReasonMethod.max

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(r.feature for r in self.features)

    @property
    def reference_points(self) -> np.ndarray:
        return np.array([r.reference_points for r in self.features], dtype=np.float64)

    @classmethod
    def fit(
        cls,
        contributions: np.ndarray,
        scorecard: Scorecard,
        feature_names: Sequence[str],
        config: ReasonsConfig,
        descriptions: Mapping[str, str] | None = None,
        weights: np.ndarray | None = None,
    ) -> ReasonTable:
        """Reference points from the training rows' contributions ``(n, n_features)``.

        Parameters
        ----------
        contributions
            :meth:`~credit_glm.scoring.ScoringModel.contributions` of the training frame.
        scorecard
            The points scale; the unrounded points are used.
        feature_names
            The model's features, in spec order (the columns of ``contributions``).
        config
            ``reasons``: ``max``, ``method`` and the per-feature codes and texts.
        descriptions
            Every declared feature's description (``features.features.<name>.description``);
            its keys are the features ``reasons.codes`` may name (default: ``feature_names``).
        weights
            The training weights, for ``method: mean``.

        Raises
        ------
        ConfigError
            ``reasons.codes`` names a feature that is not declared.
        """
        descriptions = dict(descriptions or {})
        check_reason_codes(config, descriptions or feature_names)
        contributions = np.asarray(contributions, dtype=np.float64)
        if contributions.shape[1] != len(feature_names) or contributions.shape[0] == 0:
            raise ValueError(
                f"contributions of shape {contributions.shape} for {len(feature_names)} features"
            )
        points = scorecard.unrounded_points(contributions)
        method = ReasonMethod(config.method)
        if method is ReasonMethod.max:
            reference = points.max(axis=0)
        else:
            reference = np.average(points, axis=0, weights=weights)
        rows = []
        for name, ref in zip(feature_names, reference.tolist(), strict=True):
            declared = config.codes.get(name)
            rows.append(
                FeatureReason(
                    feature=name,
                    code=declared.code if declared is not None else name,
                    text=declared.text if declared is not None else None,
                    description=descriptions.get(name, ""),
                    reference_points=float(ref),
                )
            )
        return cls(features=tuple(rows), max_reasons=int(config.max), method=method)

    def rank(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The reasons of each row of unrounded points ``(n, n_features)``, vectorised.

        Returns
        -------
        order, shortfall
            ``order`` ``(n, max_reasons)``: feature indices, largest shortfall first, ties in
            spec order, ``-1`` past a row's last reason; ``shortfall`` ``(n, n_features)``:
            ``reference - points``.
        """
        points = np.ascontiguousarray(points, dtype=np.float64)  # row-major: a row's cells adjoin
        shortfall = np.subtract(self.reference_points, points)
        m = min(self.max_reasons, shortfall.shape[1])
        n = shortfall.shape[0]
        # the m largest, one argmax at a time: argmax takes the first of equal values, so
        # equal shortfalls stay in column (spec) order, as a stable sort would keep them
        left = np.where(shortfall > 0, shortfall, -np.inf)
        cells = left.reshape(-1)  # a view: row i's feature j is cell i * n_features + j
        row_start = np.arange(0, left.size, left.shape[1])
        order = np.empty((n, m), dtype=np.intp)
        for k in range(m):
            j = np.argmax(left, axis=1)
            at = row_start + j
            order[:, k] = np.where(cells.take(at) > -np.inf, j, -1)
            cells.put(at, -np.inf)
        return order, shortfall

    def rank_record(self, points: Sequence[float]) -> list[tuple[int, float]]:
        """:meth:`rank` of one row of unrounded points in plain Python floats, equal to it
        (``tests/unit/test_reasons.py``): ``(feature index, shortfall)`` per reason."""
        shortfall = [r.reference_points - p for r, p in zip(self.features, points, strict=True)]
        # sorted() is stable: equal shortfalls stay in spec order, as in rank
        order = sorted(range(len(shortfall)), key=lambda j: -shortfall[j])
        return [(j, shortfall[j]) for j in order[: self.max_reasons] if shortfall[j] > 0]

    def reason(self, j: int, label: str, points: float, shortfall: float) -> dict[str, Any]:
        """The reason record of feature ``j`` for an applicant scored as attribute ``label``
        (``points`` as reported: rounded under ``rounding: integer``)."""
        return _reason(self.features[j], self.features[j].text_for(label), points, shortfall)

    def reasons_of(
        self,
        order: np.ndarray,
        labels: Sequence[Mapping[int, str]],
        points: np.ndarray,
        shortfall: np.ndarray,
    ) -> list[list[dict[str, Any]]]:
        """The reason records of a batch, as :meth:`reason` writes each: ``order`` and
        ``shortfall`` from :meth:`rank`, ``labels[j][i]`` row ``i``'s attribute label of
        feature ``j`` (for the pairs that are reasons), ``points`` as reported. Each text is
        formatted once per (feature, label)."""
        pts, short = points.tolist(), shortfall.tolist()
        texts: dict[tuple[int, str], str] = {}
        out: list[list[dict[str, Any]]] = []
        for i, row in enumerate(order.tolist()):
            mine: list[dict[str, Any]] = []
            for j in row:
                if j < 0:
                    break
                label = labels[j][i]
                text = texts.get((j, label))
                if text is None:
                    text = texts[(j, label)] = self.features[j].text_for(label)
                mine.append(_reason(self.features[j], text, pts[i][j], short[i][j]))
            out.append(mine)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "max": self.max_reasons,
            "method": self.method.value,
            "rule": "reasons: features with reference_points - points > 0, largest first, "
            "ties in spec order; reference_points: the feature's "
            + ("most points on a training row" if self.method is ReasonMethod.max else "mean")
            + " (unrounded points)",
            "features": [r.to_dict() for r in self.features],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ReasonTable:
        return cls(
            features=tuple(FeatureReason.from_dict(r) for r in raw["features"]),
            max_reasons=int(raw["max"]),
            method=ReasonMethod(raw["method"]),
        )


def _reason(r: FeatureReason, text: str, points: float, shortfall: float) -> dict[str, Any]:
    """One reason record: what the API, batch scoring and the card's examples return."""
    return {
        "code": r.code,
        "feature": r.feature,
        "text": text,
        "points": points,
        "shortfall": shortfall,
    }
