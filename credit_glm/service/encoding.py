"""The model's feature spec compiled into a fast design-matrix builder for valid requests.

:func:`credit_glm.features.design_matrix` is the one definition of the design matrix; it walks
every value in Python, which costs more than all the rest of a request. :class:`DesignEncoder`
builds the same matrix from the same frozen :class:`~credit_glm.features.ModelSpec` with one
dictionary lookup per categorical value and whole-column numpy for numbers, for the case that
matters: every value present and encodable. Anything else (a null a missing policy fills, a
level the model never saw, a value outside log1p's domain) returns ``None`` and the caller
uses ``design_matrix`` itself, which applies the policy or reports the violation.

The two are bit-for-bit equal (same float conversions, the same ``np.clip``/``np.log1p`` calls
on the same columns, the same 0/1 indicators); ``tests/api/test_encoder_equivalence.py``
proves it on generated batches. Probabilities then come from :class:`Scorer`: the model's
inverse link over a correctly rounded linear predictor, row by row, so a row's probability
never depends on the batch it came in.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from credit_glm.config import Link, Transform
from credit_glm.features import FeatureSpec, ModelSpec
from credit_glm.scoring import ScoringModel

__all__ = ["DesignEncoder", "Scorer", "inverse", "linear_predictor"]

_NUMERIC = (Transform.numeric.value, Transform.clip.value, Transform.log1p.value)
_CLIP = Transform.clip.value
_LOG1P = Transform.log1p.value
_BINS = Transform.bins.value
_K_ONEHOT, _K_NUMERIC, _K_CLIP, _K_LOG1P, _K_BINS = range(5)


def _bin_labels(cuts: Sequence[float]) -> tuple[str, ...]:
    # as credit_glm.features labels right-open bins
    edges = [-math.inf, *cuts, math.inf]
    return tuple(f"[{lo:g}, {hi:g})" for lo, hi in zip(edges[:-1], edges[1:], strict=True))


def _text(value: Any) -> str | None:
    # as credit_glm.features turns a value into a level label; None: missing
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    return str(value)


@dataclass(frozen=True)
class _Feature:
    column: str
    transform: str
    start: int  # first design column
    lower: float
    upper: float
    cuts: np.ndarray
    cut_list: tuple[float, ...]
    # onehot/bins: raw text (onehot) or bin label (bins) -> offset in the block, -1 = reference
    offsets: Mapping[Any, int]


def _compile(f: FeatureSpec, start: int) -> _Feature:
    offsets: dict[str, int] = {}
    if f.transform in (Transform.onehot.value, Transform.bins.value):
        offsets = {lvl: j for j, lvl in enumerate(f.levels)}
        if f.reference is not None:
            offsets[f.reference] = -1
        for raw, merged in f.merge:  # design_matrix maps a raw level before looking it up
            if merged in offsets:
                offsets[raw] = offsets[merged]
            else:
                offsets.pop(raw, None)
    return _Feature(
        column=f.column,
        transform=f.transform,
        start=start,
        lower=-np.inf if f.lower is None else f.lower,
        upper=np.inf if f.upper is None else f.upper,
        cuts=np.asarray(f.cuts, dtype=float),
        cut_list=tuple(float(c) for c in f.cuts),
        offsets=offsets,
    )


class DesignEncoder:
    """Builds ``design_matrix(spec, columns)`` fast when every value is encodable as sent.

    Parameters
    ----------
    scorer
        The model: its spec, coefficients and link.
    """

    def __init__(self, scorer: ScoringModel) -> None:
        spec: ModelSpec = scorer.spec
        self.scorer = scorer
        self.n_terms = len(spec.terms)
        self.intercept = spec.intercept
        features = []
        start = 1 if spec.intercept else 0
        for f in spec.features:
            features.append(_compile(f, start))
            start += len(f.terms)
        self.features = tuple(features)
        self._labels = {
            f.column: _bin_labels(f.cuts)
            for f in spec.features
            if f.transform == Transform.bins.value
        }
        kinds = {
            Transform.onehot.value: _K_ONEHOT,
            Transform.numeric.value: _K_NUMERIC,
            _CLIP: _K_CLIP,
            _LOG1P: _K_LOG1P,
            _BINS: _K_BINS,
        }
        self._plan = tuple(
            (
                kinds[f.transform],
                f.column,
                f.start,
                f.offsets,
                f.lower,
                f.upper,
                f.cut_list,
                self._labels.get(f.column, ()),
            )
            for f in self.features
        )

    def encode(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray | None:
        """The design matrix, or ``None`` when a value needs ``design_matrix``'s policies."""
        n = len(next(iter(columns.values()))) if columns else 0
        if n == 1:
            return self._encode_one(columns)
        X = np.zeros((n, self.n_terms))
        if self.intercept:
            X[:, 0] = 1.0
        rows = np.arange(n)
        for f in self.features:
            values = columns[f.column]
            if f.transform in _NUMERIC:
                try:
                    x = np.array(values, dtype=np.float64)
                except (TypeError, ValueError, OverflowError):
                    return None
                if x.shape != (n,) or bool(np.isnan(x).any()):
                    return None  # a missing value: its policy is design_matrix's business
                if f.transform == Transform.clip.value:
                    x = np.clip(x, f.lower, f.upper)
                elif f.transform == Transform.log1p.value:
                    if bool((x <= -1).any()):
                        return None
                    x = np.log1p(x)
                X[:, f.start] = x
                continue
            if f.transform == Transform.bins.value:
                try:
                    x = np.array(values, dtype=np.float64)
                except (TypeError, ValueError, OverflowError):
                    return None
                if x.shape != (n,) or bool(np.isnan(x).any()):
                    return None
                labels = self._labels[f.column]
                codes = np.searchsorted(f.cuts, x, side="right").tolist()
                keys: list[Any] = [labels[c] for c in codes]
            else:
                keys = list(values)
            offsets = f.offsets
            try:
                # str values (every category column) map directly; any other value is no key
                # (the keys are str), so it raises and takes the text conversion below
                found = list(map(offsets.__getitem__, keys))
            except (KeyError, TypeError):
                try:
                    found = [offsets[v if type(v) is str else _text(v)] for v in keys]
                except (KeyError, TypeError):
                    return None  # missing or unseen: design_matrix applies the policy
            idx = np.array(found, dtype=np.intp)
            hit = idx >= 0
            X[rows[hit], f.start + idx[hit]] = 1.0
        return X

    def _encode_one(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray | None:
        row = self.encode_record({c: v[0] for c, v in columns.items()})
        return None if row is None else np.array([row])

    def encode_record(self, record: Mapping[str, Any]) -> list[float] | None:
        """The design-matrix row of a record (field -> value); ``None`` as :meth:`encode`.

        Plain Python per feature (numpy's per-call cost would dominate one row), performing
        the operations design_matrix's numpy calls perform on a one-element column.
        """
        row = [0.0] * self.n_terms
        if self.intercept:
            row[0] = 1.0
        for code, column, start, offsets, lower, upper, cuts, labels in self._plan:
            v = record.get(column)
            if code == _K_ONEHOT:
                j = offsets.get(v if type(v) is str else _text(v))
                if j is None:
                    return None  # missing or unseen: design_matrix applies the policy
                if j >= 0:
                    row[start + j] = 1.0
                continue
            if v is None or isinstance(v, str):
                return None
            try:
                x = float(v)
            except (TypeError, ValueError, OverflowError):
                return None
            if x != x:
                return None
            if code == _K_CLIP:
                # as np.clip: a bound replaces x only when x is strictly beyond it (so -0.0
                # stays -0.0 against a lower bound of 0.0)
                x = lower if x < lower else (upper if x > upper else x)
            elif code == _K_LOG1P:
                if x <= -1:
                    return None
                x = float(np.log1p(np.array([x]))[0])  # the array loop design_matrix runs
            elif code == _K_BINS:
                j = offsets.get(labels[bisect_right(cuts, x)])
                if j is None:
                    return None
                if j >= 0:
                    row[start + j] = 1.0
                continue
            row[start] = x
        return row


def linear_predictor(row: Sequence[float], params: Sequence[float]) -> float:
    """One row's linear predictor, ``sum(x_j * b_j)``, correctly rounded (``math.fsum``).

    A row's value depends on nothing else: not on the batch around it, its position or the
    memory alignment, as BLAS's ``X @ params`` does (its kernels and blocking follow the
    matrix's shape), so an applicant gets the same probability alone or in any batch, on any
    worker. Plain Python also avoids numpy's per-call cost for the one-row requests.
    """
    return math.fsum(map(operator.mul, row, params))


def inverse(link: Link, eta: float) -> float:
    """The probability of a linear predictor under ``link`` (overflow-free forms)."""
    if link is Link.logit:
        if eta >= 0:
            return 1.0 / (1.0 + math.exp(-eta))
        z = math.exp(eta)
        return z / (1.0 + z)
    if link is Link.probit:
        return 0.5 * math.erfc(-eta / math.sqrt(2.0))
    return -math.expm1(-math.exp(eta)) if eta < 709.0 else 1.0  # cloglog


class Scorer:
    """Probabilities from design-matrix rows: the model's link over :func:`linear_predictor`.

    The same formulas as :func:`credit_glm.glm.inverse_link` (statsmodels' links), in plain
    Python per row; they agree with :meth:`ScoringModel.predict` to about 1e-16.
    """

    def __init__(self, scorer: ScoringModel) -> None:
        self.params = [float(b) for b in scorer.params]
        self.link = Link(scorer.link)

    def row(self, row: Sequence[float]) -> float:
        return inverse(self.link, linear_predictor(row, self.params))

    def matrix(self, X: np.ndarray) -> np.ndarray:
        link, params = self.link, self.params
        return np.array(
            [inverse(link, math.fsum(map(operator.mul, r, params))) for r in X.tolist()],
            dtype=np.float64,
        )
