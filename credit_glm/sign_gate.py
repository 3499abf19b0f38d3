"""The sign gate: a fitted coefficient against the sign its feature is expected to have.

A feature declares ``expected_sign`` (+1: a larger value is riskier); a ``woe`` feature has +1
by its convention (a riskier bin has a larger WoE). A coefficient of the other sign usually
means collinearity or a confounded variable, and a scorecard with such a sign gives points
where risk takes them away. The gate names the feature, its coefficient and its univariate
direction (the sign of the term's weighted covariance with the event: what the feature says on
its own), so the modeller sees whether the data or the model turned it round.

The selection strategies enforce the same expectation inside their search
(``selection.enforce_expected_signs``); this gate checks the final fit, whichever strategy (or
none) chose its features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from credit_glm.features import ModelSpec

__all__ = ["WrongSign", "univariate_direction", "wrong_signs"]


@dataclass(frozen=True)
class WrongSign:
    """One coefficient whose sign is not its feature's expected one."""

    feature: str
    term: str
    coefficient: float
    expected: int
    univariate: float  # weighted covariance of the term with the event
    z: float | None

    def message(self) -> str:
        want = "positive" if self.expected > 0 else "negative"
        alone = "positive" if self.univariate > 0 else "negative" if self.univariate < 0 else "flat"
        return (
            f"feature {self.feature!r}: the coefficient of {self.term!r} is "
            f"{self.coefficient:.6g}, expected {want} (univariate direction: {alone}, "
            f"covariance with the event {self.univariate:.4g})"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "feature": self.feature,
            "term": self.term,
            "coefficient": self.coefficient,
            "expected_sign": self.expected,
            "univariate_covariance": self.univariate,
        }


def univariate_direction(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None) -> float:
    """The weighted covariance of one design column with the 0/1 event."""
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    sw = float(w.sum())
    mx, my = float(w @ x) / sw, float(w @ y) / sw
    return float(w @ ((x - mx) * (y - my))) / sw


def wrong_signs(
    spec: ModelSpec,
    params: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    zvalues: np.ndarray | None = None,
) -> list[WrongSign]:
    """Every coefficient of a feature with an expected sign that has the other sign
    (a zero coefficient counts as wrong: it does not move risk the expected way)."""
    out = []
    groups = dict(spec.groups())
    for f in spec.features:
        if f.expected_sign is None:
            continue
        for j, term in zip(groups[f.name], f.terms, strict=True):
            b = float(params[j])
            if b * f.expected_sign > 0:
                continue
            z = None if zvalues is None else float(zvalues[j])
            out.append(
                WrongSign(
                    f.name, term, b, f.expected_sign, univariate_direction(X[:, j], y, weights), z
                )
            )
    return out
