"""Model-health signals: the score distribution and what the inputs look like.

- every scored probability goes to the ``credit_glm_probability_of_default`` histogram and to a
  rolling window (the last ``serving.psi_window`` scores of this worker), kept as counts per
  training-baseline PSI bin; each change of a count is written at once to a live-summed gauge
  (an increment of the new score's bin, a decrement of the bin of the score it pushed out); the
  PSI is computed from the sum over workers at scrape time
  (:func:`credit_glm.service.metrics.score_psi`);
- per input feature, counters of out-of-range values (``min``/``max``/``finite`` rules),
  unknown categories (declared categories, or levels the model never saw) and missing values
  (a missing field, a null refused, or a null a feature's missing policy fills): each rule of
  the rule table names the counter it feeds (:data:`credit_glm.rules.SIGNALS`). Rejected
  requests count too: drift shows first as rejections.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from credit_glm.config import Transform, UnseenPolicy
from credit_glm.features import FeatureSpec
from credit_glm.rules import SIGNALS, Signal
from credit_glm.service import metrics as m
from credit_glm.service.validation import FieldError

__all__ = ["ModelHealth", "ScoreWindow", "UnseenLevels"]

# the health signal of each rule: the schema's from its rule table, then the feature spec's
_SIGNALS: dict[str, Signal] = {
    **SIGNALS,
    "domain": Signal.out_of_range,
    "unseen_category": Signal.unknown_category,
    "missing_value": Signal.missing,
}


class ScoreWindow:
    """The last ``size`` scores of this process, as counts per PSI bin.

    ``edges`` are the baseline's interior edges; bin ``i`` is ``[edges[i-1], edges[i])``, the
    right-open convention of :func:`credit_glm.metrics.bin_proportions`. A ring buffer of bin
    indices (-1: empty slot) holds the window; one score updates one slot, a batch goes
    through numpy.
    """

    def __init__(self, edges: Sequence[float], size: int) -> None:
        self.edges = np.asarray(edges, dtype=float)
        self._edge_list = [float(e) for e in edges]
        self.size = size
        # plain lists: one request touches one slot, where numpy's call cost would dominate
        self.ring: list[int] = [-1] * size
        self.position = 0
        self.counts: list[int] = [0] * (len(self.edges) + 1)
        self._lock = threading.Lock()

    def add_one(self, score: float) -> tuple[int, int]:
        """Add one score; ``(its bin, the bin of the score it replaced or -1)``."""
        b = bisect_right(self._edge_list, score)
        with self._lock:
            previous = self.ring[self.position]
            self.ring[self.position] = b
            self.position = (self.position + 1) % self.size
            self.counts[b] += 1
            if previous >= 0:
                self.counts[previous] -= 1
        return b, previous

    def add(self, scores: np.ndarray) -> list[int]:
        """Add scores, oldest first; the change of each bin's count."""
        bins = np.searchsorted(self.edges, np.asarray(scores, dtype=float), side="right")
        if bins.size > self.size:
            bins = bins[-self.size :]
        k = bins.size
        n_bins = len(self.counts)
        with self._lock:
            slots = (self.position + np.arange(k)) % self.size
            ring = np.asarray(self.ring, dtype=np.intp)
            old = ring[slots]
            ring[slots] = bins
            self.ring = ring.tolist()
            self.position = (self.position + k) % self.size
            delta = np.bincount(bins, minlength=n_bins) - np.bincount(
                old[old >= 0], minlength=n_bins
            )
            self.counts = (np.asarray(self.counts) + delta).tolist()
        changes: list[int] = delta.tolist()
        return changes


class ModelHealth:
    """Records the health signals of one process into the Prometheus metrics.

    Parameters
    ----------
    edges
        Interior edges of the training-baseline PSI bins.
    window
        Scores per process in the rolling PSI window.
    features
        The input fields the model reads (label values of the per-feature counters).
    declared
        Every field the schema declares (rejections on other names are not labelled).
    """

    def __init__(
        self, edges: Sequence[float], window: int, features: Sequence[str], declared: Iterable[str]
    ) -> None:
        self.window = ScoreWindow(edges, window)
        self.features = tuple(features)
        self.declared = frozenset(declared)
        self._bin_gauges = [m.PSI_WINDOW.labels(bin=str(b)) for b in range(len(edges) + 1)]
        self._unknown = {f: m.FEATURE_UNKNOWN_CATEGORY.labels(feature=f) for f in self.declared}
        self._missing = {f: m.FEATURE_MISSING.labels(feature=f) for f in self.declared}
        self._counters = {
            Signal.out_of_range: {
                f: m.FEATURE_OUT_OF_RANGE.labels(feature=f) for f in self.declared
            },
            Signal.unknown_category: self._unknown,
            Signal.missing: self._missing,
        }

    def observe_score(self, score: float) -> None:
        """One scored probability."""
        m.PD.observe(score)
        new, previous = self.window.add_one(score)
        if new != previous:
            self._bin_gauges[new].inc()
            if previous >= 0:
                self._bin_gauges[previous].dec()

    def observe_scores(self, p: np.ndarray) -> None:
        """A batch of scored probabilities."""
        m.observe_many(m.PD, p)
        for gauge, change in zip(self._bin_gauges, self.window.add(p), strict=True):
            if change:
                gauge.inc(change)

    def observe_errors(self, errors: Iterable[FieldError]) -> None:
        """Count the health-relevant rules among validation errors."""
        for e in errors:
            signal = _SIGNALS.get(e.rule)
            if signal is not None and e.field in self.declared:
                self._counters[signal][e.field].inc()

    def observe_accepted(self, columns: Mapping[str, list[object]]) -> None:
        """Count nulls the model accepted (filled by a feature's missing policy)."""
        for name in self.features:
            values = columns.get(name)
            if values:
                n = values.count(None)
                if n:
                    self._missing[name].inc(n)

    def observe_mapped(self, counts: Mapping[str, int]) -> None:
        """Count unseen categories a feature mapped (``unseen: map``) instead of refusing."""
        for name, n in counts.items():
            if n and name in self._unknown:
                self._unknown[name].inc(n)


class UnseenLevels:
    """Counts the values that features under ``unseen: map`` map because training never saw
    them, through each feature's own transform (:meth:`~credit_glm.transforms.base.
    FeatureTransform.health`, which knows its levels, merges and groups)."""

    def __init__(self, features: Iterable[FeatureSpec]) -> None:
        self.features = tuple(
            f
            for f in features
            if f.unseen == UnseenPolicy.map.value
            and (f.transform == Transform.onehot.value or f.groups is not None)
        )

    @classmethod
    def from_spec(cls, features: Iterable[FeatureSpec]) -> UnseenLevels:
        return cls(features)

    def __bool__(self) -> bool:
        return bool(self.features)

    def count(self, columns: Mapping[str, list[object]]) -> dict[str, int]:
        return {
            f.column: f.transformer.health(f, columns.get(f.column) or []).unseen
            for f in self.features
        }
