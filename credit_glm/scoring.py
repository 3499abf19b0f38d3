"""The one scorer: a frozen model compiled into encode → linear predictor → link → decision.

:class:`ScoringModel` holds only what a prediction needs (the feature spec, the coefficients and
the link) and is built the same way from a fit or from the JSON model card (:meth:`from_card`).
Training metrics, ``mode=evaluate``, batch scoring, the Python API and the service all score
through it.

The linear predictor is not ``X @ params``. Each feature's transform
(:mod:`credit_glm.transforms`) turns its column into that feature's contribution, a vector
computed elementwise (``b * x`` for a numeric term, a coefficient looked up by level code for
indicators), and the contributions are added to the intercept one feature after another, in
the spec's order. Every operation is elementwise, so a row's linear predictor, and so its
probability, is bit-identical alone, in any batch, at any position and after a card reload;
BLAS's matrix product is not (its blocking, and so its summation order, follows the shape).
No design matrix is built: memory is a few vectors per batch.

:meth:`ScoringModel.predict_record` is the per-record path for one-row requests: the same
arithmetic in plain Python floats (numpy's per-call cost dominates one row), equal bit for bit
(``tests/unit/test_scoring.py``), falling back to the vectorised path whenever a value needs a
policy applied or a violation reported.

With a points scale (:class:`~credit_glm.scorecard.Scorecard`) and a reason table
(:class:`~credit_glm.reasons.ReasonTable`), :meth:`ScoringModel.explain` (vectorised) and
:meth:`ScoringModel.explain_record` (one row, plain Python floats, equal bit for bit) add each
row's score, its points per feature and its reason codes to the same probability of default.

The decision is written once here too: :data:`DECISION_RULE`, :func:`declines`,
:func:`decisions`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, overload

import numpy as np

from credit_glm.config import Link, Rounding
from credit_glm.errors import SchemaViolation, ValidationFailed
from credit_glm.features import ModelSpec, column_values, n_rows
from credit_glm.links import inverse_link
from credit_glm.pandas_checks import is_series
from credit_glm.reasons import ReasonTable
from credit_glm.scorecard import Scorecard
from credit_glm.transforms import CompiledFeature

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ACCEPT",
    "DECISION_RULE",
    "DECLINE",
    "Explanation",
    "ScoringModel",
    "decision",
    "decisions",
    "declines",
]

DECISION_RULE: Final = "decline when probability_of_default >= cutoff"
DECLINE: Final = "decline"
ACCEPT: Final = "accept"


@overload
def declines(p: float, cutoff: float) -> bool: ...
@overload
def declines(p: np.ndarray, cutoff: float) -> np.ndarray: ...
def declines(p: float | np.ndarray, cutoff: float) -> bool | np.ndarray:
    """Where the decision is to decline: the probability of default reaches the cut-off
    (:data:`DECISION_RULE`, the one place it is computed)."""
    out = np.greater_equal(p, cutoff)
    return np.asarray(out, dtype=bool) if isinstance(p, np.ndarray) else bool(out)


def decision(p: float, cutoff: float) -> str:
    """``decline`` or ``accept`` for one probability of default (:data:`DECISION_RULE`)."""
    return DECLINE if declines(p, cutoff) else ACCEPT


def decisions(p: np.ndarray, cutoff: float) -> list[str]:
    """``decline``/``accept`` for each probability of default (:data:`DECISION_RULE`)."""
    return [DECLINE if v else ACCEPT for v in declines(np.asarray(p), cutoff).tolist()]


@dataclass(frozen=True)
class Explanation:
    """A batch's probabilities of default and, with a points scale, its scores, each feature's
    points and the reasons for each score (None without a scale, or without a reason table).

    ``points`` is ``(n, len(features))`` as reported (rounded under ``rounding: integer``);
    each row's score is its base points plus its points, added in spec order.
    ``reason_order`` ``(n, max reasons)`` holds each row's reasons as feature indices (spec
    order; -1 past its last), as :meth:`~credit_glm.reasons.ReasonTable.rank` ranks them.
    """

    features: tuple[str, ...]
    probability_of_default: np.ndarray
    score: np.ndarray | None = None
    base_points: float | None = None
    points: np.ndarray | None = None
    reason_codes: list[list[dict[str, Any]]] | None = None
    reason_order: np.ndarray | None = None

    def summary(self) -> dict[str, Any] | None:
        """The score distribution (quantiles 0, 10, 50, 90, 100 % and the mean) and how often
        each reason code comes first; None without a points scale."""
        if self.score is None or self.score.size == 0:
            return None
        q = np.quantile(self.score, [0.0, 0.1, 0.5, 0.9, 1.0]).tolist()
        first: dict[str, int] = {}
        for reasons in self.reason_codes or []:
            if reasons:
                first[reasons[0]["code"]] = first.get(reasons[0]["code"], 0) + 1
        return {
            "n": int(self.score.size),
            "mean": float(self.score.mean()),
            "quantiles": dict(zip(("min", "p10", "p50", "p90", "max"), q, strict=True)),
            "first_reason_counts": dict(sorted(first.items(), key=lambda kv: (-kv[1], kv[0]))),
        }

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as plain Python values (what :meth:`ScoringModel.explain_record` returns):
        ``probability_of_default``, ``score``, ``points`` (feature -> points) and
        ``reason_codes``."""
        return {
            "probability_of_default": float(self.probability_of_default[i]),
            "score": None if self.score is None else float(self.score[i]),
            "points": None
            if self.points is None
            else dict(zip(self.features, self.points[i].tolist(), strict=True)),
            "reason_codes": None if self.reason_codes is None else self.reason_codes[i],
        }


@dataclass(frozen=True)
class ScoringModel:
    """Everything a probability of default depends on, and nothing else, compiled once; with a
    points scale (:class:`~credit_glm.scorecard.Scorecard`) and a reason table
    (:class:`~credit_glm.reasons.ReasonTable`), also a score and its reasons."""

    spec: ModelSpec
    params: np.ndarray
    link: Link
    scorecard: Scorecard | None = None
    reasons: ReasonTable | None = None
    _intercept: float = field(init=False, repr=False, compare=False)
    _features: tuple[CompiledFeature, ...] = field(init=False, repr=False, compare=False)
    # per model, not per call: the feature names and the intercept's points
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _base: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.params) != len(self.spec.terms):
            raise ValueError(
                f"{len(self.params)} coefficients for {len(self.spec.terms)} design terms"
            )
        params = [float(b) for b in np.asarray(self.params, dtype=np.float64)]
        start = 1 if self.spec.intercept else 0
        compiled = []
        for f in self.spec.features:
            end = start + len(f.terms)
            compiled.append(f.transformer.compile(f, params[start:end]))
            start = end
        if self.reasons is not None:
            if self.scorecard is None:
                raise ValueError("a reason table needs a points scale (scorecard)")
            if self.reasons.feature_names != self.spec.feature_names:
                raise ValueError(
                    f"the reason table's features {list(self.reasons.feature_names)} are not "
                    f"the spec's {list(self.spec.feature_names)}"
                )
        object.__setattr__(self, "link", Link(self.link))
        object.__setattr__(self, "_intercept", params[0] if self.spec.intercept else 0.0)
        object.__setattr__(self, "_features", tuple(compiled))
        object.__setattr__(self, "_names", self.spec.feature_names)
        base = 0.0 if self.scorecard is None else self.scorecard.base_points(self._intercept)
        object.__setattr__(self, "_base", base)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as its fields; the compiled plan is rebuilt on load
        return (type(self), (self.spec, self.params, self.link, self.scorecard, self.reasons))

    @property
    def intercept(self) -> float:
        """The intercept's coefficient (0 without an intercept)."""
        return self._intercept

    @property
    def coefficients(self) -> dict[str, float]:
        return dict(zip(self.spec.terms, self.params.tolist(), strict=True))

    def contributions(self, frame: Mapping[str, Any] | pd.DataFrame) -> np.ndarray:
        """Each feature's contribution to each row's linear predictor, ``(n, n_features)``.

        Raises
        ------
        ValidationFailed
            As :meth:`linear_predictor`.
        """
        parts = self._parts(frame)
        n = n_rows(frame) if not parts else parts[0].shape[0]
        return np.column_stack(parts) if parts else np.empty((n, 0))

    def feature_contribution(self, index: int, values: Any) -> np.ndarray:
        """The contribution of feature ``index`` (spec order) for each of ``values`` (its
        input column's values).

        Raises
        ------
        ValidationFailed
            A value the feature cannot encode.
        """
        problems: list[SchemaViolation] = []
        out = self._features[index].contribution(values, problems)
        if problems:
            raise ValidationFailed(problems, "features")
        return out

    def _parts(self, frame: Mapping[str, Any] | pd.DataFrame) -> list[np.ndarray]:
        problems: list[SchemaViolation] = []
        parts = [c.contribution(column_values(frame, c.column), problems) for c in self._features]
        if problems:
            raise ValidationFailed(problems, "features")
        return parts

    def linear_predictor(self, frame: Mapping[str, Any] | pd.DataFrame) -> np.ndarray:
        """The linear predictor of each row of ``frame`` (a DataFrame or column -> values).

        Raises
        ------
        ValidationFailed
            A value the spec cannot encode (every problem at once, as
            :func:`credit_glm.features.design_matrix` reports them).
        """
        parts = self._parts(frame)
        return self._eta(parts, parts[0].shape[0] if parts else n_rows(frame))

    def _eta(self, parts: Sequence[np.ndarray], n: int) -> np.ndarray:
        eta = np.full(n, self._intercept)
        for part in parts:  # in the spec's order, elementwise: a row's sum is its own
            np.add(eta, part, out=eta)
        return eta

    def predict(self, frame: Mapping[str, Any] | pd.DataFrame) -> np.ndarray:
        """Probability of default for each row of ``frame``."""
        return inverse_link(self.link, self.linear_predictor(frame))

    def record_linear_predictor(self, record: Mapping[str, Any]) -> float | None:
        """The linear predictor of one record (field -> value), equal bit for bit to
        :meth:`linear_predictor`'s; None when a value needs the vectorised path."""
        eta = self._intercept
        for c in self._features:
            part = c.record(record.get(c.column))
            if part is None:
                return None
            eta += part
        return eta

    def predict_record(self, record: Mapping[str, Any]) -> float:
        """:meth:`predict` of one record (field -> value).

        Raises
        ------
        ValidationFailed
            A value the spec cannot encode.
        """
        eta = self.record_linear_predictor(record)
        if eta is None:
            return float(self.predict({c: [record.get(c)] for c in self.spec.columns})[0])
        # the same array loop as predict (a scalar call may take another code path)
        return float(inverse_link(self.link, np.array([eta]))[0])

    def predict_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """:meth:`predict` of records (each field -> value)."""
        return self.predict({c: [r.get(c) for r in records] for c in self.spec.columns})

    def explain(self, frame: Mapping[str, Any] | pd.DataFrame, records: bool = True) -> Explanation:
        """Probabilities of default (the bits of :meth:`predict`), scores, points and reason
        codes of each row of ``frame``, vectorised. ``records=False`` ranks the reasons
        (``reason_order``) without writing a reason record per row (what batch scoring writes:
        the codes).

        Raises
        ------
        ValidationFailed
            As :meth:`linear_predictor`.
        """
        parts = self._parts(frame)
        n = parts[0].shape[0] if parts else n_rows(frame)
        return self._explanation(parts, n, lambda column: column_values(frame, column), records)

    def explain_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`explain` of one record (field -> value), as :meth:`Explanation.row`: plain
        Python values, equal bit for bit to :meth:`explain`'s (``tests/unit/test_scorecard.py``).

        The one-row path: plain Python floats (numpy's per-call cost dominates one row),
        through the per-record faces of the transforms, the scale
        (:meth:`~credit_glm.scorecard.Scorecard.record_points`) and the reason table
        (:meth:`~credit_glm.reasons.ReasonTable.rank_record`); a value that needs a policy
        applied or a violation reported falls back to :meth:`explain`.

        Raises
        ------
        ValidationFailed
            A value the spec cannot encode.
        """
        parts: list[float] = []
        for c in self._features:
            part = c.record(record.get(c.column))
            if part is None:
                return self._explain_alone(record)
            parts.append(part)
        eta = self._intercept
        for part in parts:
            eta += part
        if not math.isfinite(eta):  # rounding an infinity: the vectorised path's business
            return self._explain_alone(record)
        # the same array loop as predict (a scalar call may take another code path)
        p = float(inverse_link(self.link, np.array([eta]))[0])
        scale = self.scorecard
        if scale is None:
            return Explanation(self._names, np.array([p])).row(0)
        points = [scale.record_points(c) for c in parts]
        score = self._base
        for q in points:
            score += q
        reasons = None
        if self.reasons is not None:
            unrounded = (
                [scale.record_points(c, False) for c in parts]
                if scale.rounding is Rounding.integer
                else points  # the same floats: nothing is rounded
            )
            ranked = self.reasons.rank_record(unrounded)
            reasons = []
            for j, shortfall in ranked:
                f = self.spec.features[j]
                label = f.transformer.attribute_label(f, record.get(f.column))
                reasons.append(self.reasons.reason(j, label, points[j], shortfall))
        return {
            "probability_of_default": p,
            "score": score,
            "points": dict(zip(self._names, points, strict=True)),
            "reason_codes": reasons,
        }

    def _explain_alone(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return self.explain({col: [record.get(col)] for col in self.spec.columns}).row(0)

    def _explanation(
        self,
        parts: Sequence[np.ndarray],
        n: int,
        column_of: Callable[[str], Any],
        records: bool = True,
    ) -> Explanation:
        p = inverse_link(self.link, self._eta(parts, n))
        names = self._names
        if self.scorecard is None:
            return Explanation(features=names, probability_of_default=p)
        # (n, features) with each feature's column contiguous: the score adds them column by
        # column (the reason ranking takes its own row-major copy)
        contributions = np.stack(parts).T if parts else np.empty((n, 0))
        unrounded = self.scorecard.unrounded_points(contributions)
        points = self.scorecard.rounded(unrounded)
        base = self._base
        score = self.scorecard.score(base, [points[:, j] for j in range(points.shape[1])])
        if self.reasons is None:
            return Explanation(names, p, score, base, points)
        order, shortfall = self.reasons.rank(unrounded)
        if not records:
            return Explanation(names, p, score, base, points, reason_order=order)
        # the attribute labels of the (row, feature) pairs that are reasons only
        labels: list[dict[int, str]] = []
        for j, (c, f) in enumerate(zip(self._features, self.spec.features, strict=True)):
            rows = np.flatnonzero((order == j).any(axis=1))
            found: list[str] = []
            if rows.size:
                found = f.transformer.attribute_labels(f, _take(column_of(c.column), rows))
            labels.append(dict(zip(rows.tolist(), found, strict=True)))
        reasons = self.reasons.reasons_of(order, labels, points, shortfall)
        return Explanation(names, p, score, base, points, reasons, order)

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> ScoringModel:
        """Rebuild from a model card (no unpickling); a card without a ``scorecard`` section
        gives a scorer without points or reasons."""
        spec = ModelSpec.from_dict(card["feature_spec"])
        coefs = card["coefficients"]
        missing = [t for t in spec.terms if t not in coefs]
        if missing:
            raise ValueError(f"model card lacks coefficients for {missing}")
        params = np.array([float(coefs[t]["estimate"]) for t in spec.terms])
        section = card.get("scorecard")
        scorecard = reasons = None
        if section is not None:
            scorecard = Scorecard.from_dict(section["scale"])
            if section.get("reasons") is not None:
                reasons = ReasonTable.from_dict(section["reasons"])
        return cls(
            spec=spec,
            params=params,
            link=Link(card["link"]),
            scorecard=scorecard,
            reasons=reasons,
        )


def _take(values: Any, rows: np.ndarray) -> Any:
    """The values of a column at ``rows`` (a Series stays a Series, for its missing values)."""
    if is_series(values):
        return values.iloc[rows]
    if isinstance(values, np.ndarray):
        return values[rows]
    seq = list(values)
    return [seq[i] for i in rows.tolist()]
