"""Prometheus metrics of the service, correct across gunicorn workers.

``prometheus_client`` runs in multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set before
it is first imported (:func:`credit_glm.service.server.serve` sets it and empties the directory;
the ``child_exit`` hook marks dead workers). Each worker writes its own memory-mapped files;
``/metrics`` builds a fresh registry over all of them, so a scrape answered by any worker shows
the whole server. Counters and histograms sum over workers, dead ones included; the in-flight
and rolling-window gauges sum over live workers only; the model-info gauge takes the maximum.

The score PSI cannot be a per-worker gauge (workers see different requests), so it is computed
at scrape time from the summed rolling-window bin counts (:func:`score_psi`).
Without ``PROMETHEUS_MULTIPROC_DIR`` (the app factory in tests) the default registry is used.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

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
    "multiprocess_enabled",
    "BUFFER",
    "MetricBuffer",
    "render",
    "score_psi",
]

# Scoring takes well under a millisecond: the default buckets (from 5 ms) would put every
# request in the first one.
LATENCY_BUCKETS: Final = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005,
                          0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PD_BUCKETS: Final = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6,
                     0.7, 0.8, 0.9, 0.95, 0.99, 1.0)

REQUESTS: Final = Counter(
    "credit_glm_http_requests", "HTTP requests answered, by endpoint, method and status code.",
    ["endpoint", "method", "status"])
LATENCY: Final = Histogram(
    "credit_glm_http_request_duration_seconds",
    "Time from the request reaching the application to its response, in seconds.",
    ["endpoint"], buckets=LATENCY_BUCKETS)
ERRORS: Final = Counter(
    "credit_glm_http_errors", "Error responses by endpoint and kind (validation, "
    "malformed_json, unsupported_media_type, payload_too_large, not_found, ...).",
    ["endpoint", "kind"])
IN_FLIGHT: Final = Gauge(
    "credit_glm_http_requests_in_flight", "Requests being handled now, over live workers "
    "(each worker's count as of its last publication, at most 0.25 s old).",
    multiprocess_mode="livesum")
PREDICTIONS: Final = Counter(
    "credit_glm_predictions", "Rows scored, by endpoint and decision at the cut-off "
    "(accept, decline).", ["endpoint", "decision"])
MODEL_INFO: Final = Gauge(
    "credit_glm_model_info", "The served model (value 1), labelled with its version and hashes.",
    ["model_version", "model_sha256", "config_sha256"], multiprocess_mode="max")
PD: Final = Histogram(
    "credit_glm_probability_of_default", "Predicted probabilities of default.",
    buckets=PD_BUCKETS)
PSI_WINDOW: Final = Gauge(
    "credit_glm_score_psi_window_scores",
    "Scores in the rolling PSI window, by training-baseline bin (0 = lowest), over live workers.",
    ["bin"], multiprocess_mode="livesum")
FEATURE_OUT_OF_RANGE: Final = Counter(
    "credit_glm_feature_out_of_range",
    "Values outside the declared min/max (or not finite), by input feature.", ["feature"])
FEATURE_UNKNOWN_CATEGORY: Final = Counter(
    "credit_glm_feature_unknown_category",
    "Values outside the declared categories or unseen in training, by input feature.",
    ["feature"])
FEATURE_MISSING: Final = Counter(
    "credit_glm_feature_missing",
    "Missing or null values of a model input, by input feature.", ["feature"])

PSI_NAME: Final = "credit_glm_score_psi"
READY_NAME: Final = "credit_glm_ready"
PSI_SIZE_NAME: Final = "credit_glm_score_psi_window_size"


def multiprocess_enabled() -> bool:
    """Whether ``prometheus_client`` writes per-process files (decided at its import)."""
    from prometheus_client import values

    return getattr(values.ValueClass, "_multiprocess", False) is True


class MetricBuffer:
    """This process's metric updates, written to ``prometheus_client`` in batches.

    In multiprocess mode every update of a value is a lock, a ``getpid`` system call and a
    write into a memory-mapped file; a request makes about ten. The request path adds to
    in-memory sums here instead, and :meth:`publish` writes them: every ``interval`` seconds
    from a background thread, before every scrape (in the worker answering it) and at worker
    exit. A scrape therefore sees other workers' figures at most ``interval`` seconds late
    (Prometheus scrapes every 15 s or so); a worker killed with SIGKILL loses at most
    ``interval`` seconds of figures. The in-flight gauge is this process's live count,
    published the same way.

    Counters are addressed by their labelled child, histograms by theirs; both go through
    ``prometheus_client``'s value objects (``_value``, ``_buckets``, ``_sum``), with the
    public ``inc``/``observe`` as fallback should those change.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self._pending: dict[Any, float] = {}
        self._histograms: dict[int, tuple[list[float], list[Any], Any] | None] = {}
        self._lock = threading.Lock()
        self._publish_lock = threading.Lock()
        self._in_flight = 0
        self._publisher_pid = -1
        self.hooks: list[Callable[[], None]] = []  # run by publish(), before the writes

    def _add(self, value: Any, amount: float) -> None:
        with self._lock:
            self._pending[value] = self._pending.get(value, 0.0) + amount
        if self._publisher_pid != os.getpid():  # threads do not survive gunicorn's fork
            self._start_publisher()

    def inc(self, counter: Counter, amount: float = 1.0) -> None:
        """``counter.inc(amount)`` of a labelled counter child, batched."""
        value = getattr(counter, "_value", None)
        if value is None or not hasattr(value, "inc"):
            counter.inc(amount)
            return
        self._add(value, amount)

    def observe(self, histogram: Histogram, amount: float) -> None:
        """``histogram.observe(amount)`` of a (labelled) histogram, batched."""
        parts = self._parts(histogram)
        if parts is None:
            histogram.observe(amount)
            return
        bounds, buckets, total = parts
        with self._lock:
            pending = self._pending
            bucket = buckets[bisect_left(bounds, amount)]  # the first bound >= amount
            pending[bucket] = pending.get(bucket, 0.0) + 1.0
            pending[total] = pending.get(total, 0.0) + amount
        if self._publisher_pid != os.getpid():
            self._start_publisher()

    def observe_many(self, histogram: Histogram, amounts: np.ndarray) -> None:
        """Observe many values: one addition per non-empty bucket."""
        parts = self._parts(histogram)
        if parts is None:
            for v in amounts.tolist():
                histogram.observe(v)
            return
        bounds, buckets, total = parts
        index = np.searchsorted(np.asarray(bounds, dtype=float), amounts, side="left")
        counts = np.bincount(index, minlength=len(bounds)).tolist()
        for i, n in enumerate(counts):
            if n:
                self._add(buckets[i], float(n))
        self._add(total, float(amounts.sum()))

    def _parts(self, histogram: Histogram) -> tuple[list[float], list[Any], Any] | None:
        key = id(histogram)
        if key not in self._histograms:
            buckets: Any = getattr(histogram, "_buckets", None)
            total: Any = getattr(histogram, "_sum", None)
            bounds: Any = getattr(histogram, "_upper_bounds", None)
            parts = None
            if buckets is not None and total is not None and bounds is not None and len(
                    buckets) == len(bounds):
                parts = (list(bounds), list(buckets), total)
            self._histograms[key] = parts
        return self._histograms[key]

    def request_started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def request_finished(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def publish(self) -> None:
        """Write the pending updates and the in-flight count."""
        with self._publish_lock:
            for hook in self.hooks:
                hook()
            with self._lock:
                pending, self._pending = self._pending, {}
                in_flight = self._in_flight
            for value, amount in pending.items():
                value.inc(amount)
            IN_FLIGHT.set(in_flight)

    def _start_publisher(self) -> None:
        self._publisher_pid = os.getpid()
        threading.Thread(target=self._run, name="metrics-publisher", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            self.publish()


BUFFER: Final = MetricBuffer()
atexit.register(BUFFER.publish)


def score_psi(counts: Sequence[float], shares: Sequence[float],
              edges: Sequence[float]) -> float:
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

    def __init__(self, source: Collector, shares: Sequence[float],
                 edges: Sequence[float], ready: bool) -> None:
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
        yield GaugeMetricFamily(READY_NAME, "1 while /ready answers 200 (model loaded, self-check "
                                "passed, not draining), else 0.", value=1.0 if self._ready else 0.0)
        size = sum(counts)
        yield GaugeMetricFamily(PSI_SIZE_NAME, "Scores in the rolling PSI window over live "
                                "workers.", value=size)
        psi = score_psi([max(round(c), 0) for c in counts], self._shares, self._edges) \
            if size >= 1 else float("nan")
        yield GaugeMetricFamily(PSI_NAME, "Population stability index of the rolling window of "
                                "scores against the training baseline (NaN while empty).",
                                value=psi)


def render(shares: Sequence[float], edges: Sequence[float],
           accept: str = "", ready: bool = True) -> tuple[bytes, str]:
    """Every metric, across workers when multiprocess, in the format ``accept`` asks for
    (Prometheus text 0.0.4 by default, OpenMetrics on request); returns body and content type.
    """
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_enabled():
        source = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            source, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
        registry.register(_ScrapeCollector(source, shares, edges, ready))
    else:
        registry.register(_ScrapeCollector(REGISTRY, shares, edges, ready))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
