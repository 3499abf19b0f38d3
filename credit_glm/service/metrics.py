"""Prometheus metrics of the service, correct across gunicorn workers.

``prometheus_client`` runs in multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set before
it is first imported (:func:`credit_glm.service.server.serve` sets it and prepares the
directory; the ``child_exit`` hook marks dead workers). Each worker writes its own
memory-mapped files, through the client's public API (``labels``, ``inc``, ``observe``,
``set``), at the moment of the event: a worker killed with SIGKILL loses no count, and a
scrape, which reads every process's files (:func:`render`, served by the admin process,
:mod:`credit_glm.service.admin`), sees every request finished before it. Counters and
histograms sum over workers, dead ones included; the in-flight and rolling-window gauges sum
over live workers only; the model-info gauge takes the maximum.

The score PSI cannot be a per-worker gauge (workers see different requests), so it is computed
at scrape time from the summed rolling-window bin counts (:func:`score_psi`).
Without ``PROMETHEUS_MULTIPROC_DIR`` (the app factory in tests) the default registry is used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Final

import numpy as np
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from credit_glm.metrics import bin_proportions, psi_from_shares

__all__ = [
    "ERRORS",
    "FEATURE_MISSING",
    "FEATURE_OUT_OF_RANGE",
    "FEATURE_UNKNOWN_CATEGORY",
    "IN_FLIGHT",
    "LATENCY",
    "LATENCY_BUCKETS",
    "MODEL_INFO",
    "PD",
    "PD_BUCKETS",
    "PREDICTIONS",
    "PSI_WINDOW",
    "REQUESTS",
    "ADMIN_REQUESTS",
    "multiprocess_enabled",
    "observe_many",
    "render",
    "score_psi",
]

# Scoring takes well under a millisecond: the default buckets (from 5 ms) would put every
# request in the first one.
LATENCY_BUCKETS: Final = (
    0.0001,
    0.00025,
    0.0005,
    0.00075,
    0.001,
    0.0015,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
PD_BUCKETS: Final = (
    0.01,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    0.95,
    0.99,
    1.0,
)

REQUESTS: Final = Counter(
    "credit_glm_http_requests",
    "HTTP requests answered, by endpoint, method and status code.",
    ["endpoint", "method", "status"],
)
LATENCY: Final = Histogram(
    "credit_glm_http_request_duration_seconds",
    "Time from the request reaching the application to its response, in seconds.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)
ERRORS: Final = Counter(
    "credit_glm_http_errors",
    "Error responses by endpoint and kind (validation, "
    "malformed_json, unsupported_media_type, payload_too_large, not_found, ...).",
    ["endpoint", "kind"],
)
IN_FLIGHT: Final = Gauge(
    "credit_glm_http_requests_in_flight",
    "Requests being handled now, over live workers.",
    multiprocess_mode="livesum",
)
PREDICTIONS: Final = Counter(
    "credit_glm_predictions",
    "Rows scored, by endpoint and decision at the cut-off (accept, decline).",
    ["endpoint", "decision"],
)
MODEL_INFO: Final = Gauge(
    "credit_glm_model_info",
    "The served model (value 1), labelled with its version and hashes.",
    ["model_version", "model_sha256", "config_sha256"],
    multiprocess_mode="max",
)
PD: Final = Histogram(
    "credit_glm_probability_of_default", "Predicted probabilities of default.", buckets=PD_BUCKETS
)
PSI_WINDOW: Final = Gauge(
    "credit_glm_score_psi_window_scores",
    "Scores in the rolling PSI window, by training-baseline bin (0 = lowest), over live workers.",
    ["bin"],
    multiprocess_mode="livesum",
)
FEATURE_OUT_OF_RANGE: Final = Counter(
    "credit_glm_feature_out_of_range",
    "Values outside the declared min/max (or not finite), by input feature.",
    ["feature"],
)
FEATURE_UNKNOWN_CATEGORY: Final = Counter(
    "credit_glm_feature_unknown_category",
    "Values outside the declared categories or unseen in training, by input feature.",
    ["feature"],
)
FEATURE_MISSING: Final = Counter(
    "credit_glm_feature_missing",
    "Missing or null values of a model input, by input feature.",
    ["feature"],
)
ADMIN_REQUESTS: Final = Counter(
    "credit_glm_admin_requests",
    "Requests the admin port answered (scrapes, model info), by endpoint and status code.",
    ["endpoint", "status"],
)

PSI_NAME: Final = "credit_glm_score_psi"
READY_NAME: Final = "credit_glm_ready"
PSI_SIZE_NAME: Final = "credit_glm_score_psi_window_size"


def multiprocess_enabled() -> bool:
    """Whether ``prometheus_client`` writes per-process files (decided at its import)."""
    from prometheus_client import values

    return getattr(values.ValueClass, "_multiprocess", False) is True


def observe_many(histogram: Histogram, values: np.ndarray) -> None:
    """``histogram.observe`` of every value (a batch's probabilities), in one write per bucket.

    ``observe`` writes the sum and one bucket per value: two memory-mapped writes each, 1.7 ms
    for a 1,000-row batch in multiprocess mode. The buckets' counts come from numpy instead
    (``observe`` puts a value in the first bucket whose upper bound is >= it; a NaN in none),
    then one ``inc`` per bucket that changed and one of the sum (about 30 us;
    ``tests/benchmarks/bench_service.py`` measures both in the same run). This reads the
    histogram's private ``_upper_bounds``, ``_buckets`` and ``_sum`` (prometheus_client has no
    bulk observe); should they change, the per-value loop is used. A scrape may land between
    two writes, as between the two writes of one ``observe``.
    """
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        observe = histogram.observe
        for v in values.tolist():
            observe(v)
        return
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return
    # a NaN (no bucket) sorts past every bound: the extra last slot, dropped
    counts = np.bincount(np.searchsorted(bounds, x, side="left"), minlength=len(bounds) + 1)
    total.inc(float(x.sum()))
    for bucket, n in zip(buckets, counts[: len(bounds)].tolist(), strict=True):
        if n:
            bucket.inc(n)


def score_psi(counts: Sequence[float], shares: Sequence[float], edges: Sequence[float]) -> float:
    """PSI of a window, given its count per baseline bin, against the baseline shares.

    The window's shares are those :func:`credit_glm.metrics.bin_proportions` gives (same
    smoothing of empty bins): it is called on one representative value per bin (the bin's
    lower edge; below the first edge for bin 0), repeated by the bin's count, which bins
    exactly as the window's scores did.
    """
    if not edges:
        reps = np.zeros(1)
    else:
        reps = np.array([edges[0] - 1.0, *edges])
    values = np.repeat(reps, np.asarray(counts, dtype=np.int64))
    full_edges = np.array([-np.inf, *edges, np.inf])
    actual = bin_proportions(values, full_edges)
    return psi_from_shares(np.asarray(shares, dtype=float), actual)


class _ScrapeCollector(Collector):
    """The source's metrics plus the score PSI computed from the summed window counts."""

    def __init__(
        self, source: Collector, shares: Sequence[float], edges: Sequence[float], ready: bool
    ) -> None:
        self._source = source
        self._shares = shares
        self._edges = edges
        self._ready = ready

    def collect(self) -> Iterator[Metric]:
        counts = [0.0] * len(self._shares)
        for family in self._source.collect():
            if family.name == "credit_glm_score_psi_window_scores":
                for sample in family.samples:
                    b = int(sample.labels.get("bin", -1))
                    if 0 <= b < len(counts):
                        counts[b] += sample.value
            yield family
        yield GaugeMetricFamily(
            READY_NAME,
            "1 while /ready answers 200 (model loaded, self-check passed, not draining), else 0.",
            value=1.0 if self._ready else 0.0,
        )
        size = sum(counts)
        yield GaugeMetricFamily(
            PSI_SIZE_NAME, "Scores in the rolling PSI window over live workers.", value=size
        )
        psi = (
            score_psi([max(round(c), 0) for c in counts], self._shares, self._edges)
            if size >= 1
            else float("nan")
        )
        yield GaugeMetricFamily(
            PSI_NAME,
            "Population stability index of the rolling window of "
            "scores against the training baseline (NaN while empty).",
            value=psi,
        )


def render(
    shares: Sequence[float], edges: Sequence[float], accept: str = "", ready: bool = True
) -> tuple[bytes, str]:
    """Every metric, across workers when multiprocess, in the format ``accept`` asks for
    (Prometheus text 0.0.4 by default, OpenMetrics on request); returns body and content type.
    """
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_enabled():
        source = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            source, path=os.environ["PROMETHEUS_MULTIPROC_DIR"]
        )
        registry.register(_ScrapeCollector(source, shares, edges, ready))
    else:
        registry.register(_ScrapeCollector(REGISTRY, shares, edges, ready))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
