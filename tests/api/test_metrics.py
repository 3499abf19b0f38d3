"""Prometheus metrics, scraped over HTTP from the admin port and parsed with
``prometheus_client.parser``, count exactly the requests sent, whichever worker answered them,
as soon as they are answered, and still after the worker is killed."""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import WORKERS, Reply, Server, start_server

pytestmark = pytest.mark.slow

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: Server) -> Samples:
    """The metrics now (the admin port's ``/metrics``): no waiting, a worker records a
    request before its response is sent."""
    out: Samples = {}
    for family in text_string_to_metric_families(server.scrape()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_counts_match_the_requests_sent_across_workers(
    server: Server, good_row: dict[str, Any]
) -> None:
    good = [{**good_row, "duration_in_month": 1 + i} for i in range(40)]
    bad = [{**good_row, "duration_in_month": 0}] * 10
    batch = [{**good_row, "age_in_years": 20 + i} for i in range(10)]
    jobs: list[tuple[str, str, Any, dict[str, str]]] = []
    jobs += [("POST", "/predict", {"features": r}, {}) for r in good]
    jobs += [("POST", "/predict", {"features": r}, {}) for r in bad]
    jobs += [("POST", "/predict/batch", {"instances": batch}, {})] * 3
    jobs += [("GET", "/nope", None, {})] * 6
    jobs += [("POST", "/health", None, {})] * 4
    jobs += [("POST", "/predict", "{broken", {})] * 2
    jobs += [("POST", "/predict", "{}", {"Content-Type": "text/plain"})] * 2
    ids = [f"metrics-{i}" for i in range(len(jobs))]

    def send(job: tuple[str, str, Any, dict[str, str]], rid: str) -> Reply:
        method, path, payload, headers = job
        if isinstance(payload, str):
            return server.call(
                method,
                path,
                payload.encode(),
                {"Content-Type": "application/json", "X-Request-ID": rid, **headers},
            )
        if payload is None:
            return server.call(method, path, None, {"X-Request-ID": rid})
        return server.post_json(path, payload, {"X-Request-ID": rid})

    before = scrape(server)
    with cf.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(send, jobs, ids))
    after = scrape(server)

    scored = [r.json()["probability_of_default"] for r in replies[:40]]
    scored += [p["probability_of_default"] for r in replies[50:53] for p in r.json()["predictions"]]
    decisions = [r.json()["decision"] for r in replies[:40]]
    decisions += [p["decision"] for r in replies[50:53] for p in r.json()["predictions"]]

    requests = "credit_glm_http_requests_total"
    expected_requests = {
        ("/predict", "POST", "200"): 40,
        ("/predict", "POST", "422"): 10,
        ("/predict/batch", "POST", "200"): 3,
        ("other", "GET", "404"): 6,
        ("/health", "POST", "405"): 4,
        ("/predict", "POST", "400"): 2,
        ("/predict", "POST", "415"): 2,
    }
    for (endpoint, method, status), n in expected_requests.items():
        assert (
            delta(before, after, requests, endpoint=endpoint, method=method, status=status) == n
        ), (endpoint, status)
    errors = "credit_glm_http_errors_total"
    for (endpoint, kind), n in {
        ("/predict", "validation"): 10,
        ("other", "not_found"): 6,
        ("/health", "method_not_allowed"): 4,
        ("/predict", "malformed_json"): 2,
        ("/predict", "unsupported_media_type"): 2,
    }.items():
        assert delta(before, after, errors, endpoint=endpoint, kind=kind) == n, kind
    latency = "credit_glm_http_request_duration_seconds"
    assert delta(before, after, f"{latency}_count", endpoint="/predict") == 54
    assert delta(before, after, f"{latency}_bucket", endpoint="/predict", le="+Inf") == 54
    assert (f"{latency}_bucket", (("endpoint", "/predict"), ("le", "0.0001"))) in after
    predictions = "credit_glm_predictions_total"
    counts = Counter(decisions)
    for endpoint, n in (("/predict", 40), ("/predict/batch", 30)):
        assert (
            sum(
                delta(before, after, predictions, endpoint=endpoint, decision=d)
                for d in ("accept", "decline")
            )
            == n
        )
    pd_name = "credit_glm_probability_of_default"
    assert delta(before, after, f"{pd_name}_count") == 70
    assert delta(before, after, f"{pd_name}_sum") == pytest.approx(sum(scored), abs=1e-9)
    for le, n in ((0.1, sum(p <= 0.1 for p in scored)), (0.5, sum(p <= 0.5 for p in scored))):
        assert delta(before, after, f"{pd_name}_bucket", le=str(le)) == n
    for decision in ("accept", "decline"):
        assert (
            sum(
                delta(before, after, predictions, endpoint=e, decision=decision)
                for e in ("/predict", "/predict/batch")
            )
            == counts[decision]
        )
    assert (
        delta(before, after, "credit_glm_feature_out_of_range_total", feature="duration_in_month")
        == 10
    )
    assert value(after, "credit_glm_http_requests_in_flight") == 0  # scrapes are not served
    # by the workers: the admin process counts them itself
    assert (
        delta(before, after, "credit_glm_admin_requests_total", endpoint="/metrics", status="200")
        == 1
    )
    assert not any(
        n == requests and dict(labels).get("endpoint") == "/metrics" for n, labels in after
    )  # not a scoring route (its 404s are "other")

    pids = {ln["pid"] for ln in server.request_log(expect=ids) if ln["request_id"] in set(ids)}
    assert len(pids) == WORKERS  # the counts above add up over both workers


def test_model_info_gauge(server: Server, card: dict[str, Any]) -> None:
    samples = scrape(server)
    labels = {
        "model_version": card["model_version"],
        "model_sha256": card["model_sha256"],
        "config_sha256": card["config_sha256"],
    }
    assert value(samples, "credit_glm_model_info", **labels) == 1
    assert sum(v for (n, _), v in samples.items() if n == "credit_glm_model_info") == 1


def test_missing_and_unknown_values_are_counted_per_feature(
    server: Server, good_row: dict[str, Any]
) -> None:
    before = scrape(server)
    row = {k: v for k, v in good_row.items() if k != "job"}
    server.post_json("/predict", {"features": {**row, "purpose": "spaceship"}})
    server.post_json("/predict", {"features": {**good_row, "housing": None}})
    after = scrape(server)
    assert delta(before, after, "credit_glm_feature_missing_total", feature="job") == 1
    assert delta(before, after, "credit_glm_feature_missing_total", feature="housing") == 1
    assert delta(before, after, "credit_glm_feature_unknown_category_total", feature="purpose") == 1


def _bins(edges: list[float | None], scores: list[float]) -> np.ndarray:
    interior = np.array([e for e in edges[1:-1] if e is not None])
    index = np.searchsorted(interior, np.asarray(scores), side="right")  # [e_i, e_i+1)
    return np.bincount(index, minlength=len(interior) + 1)


def _psi(expected: list[float], counts: np.ndarray, eps: float = 1e-4) -> float:
    # Siddiqi (2017): sum (a - e) ln(a / e); empty bins get share eps, then renormalised
    actual = counts / counts.sum()
    actual = np.where(actual == 0, eps, actual)
    actual = actual / actual.sum()
    e = np.asarray(expected)
    return float(np.sum((actual - e) * np.log(actual / e)))


def test_rolling_psi_over_live_workers(
    card_path: Path, card: dict[str, Any], tmp_path: Path, good_row: dict[str, Any]
) -> None:
    window = 10
    srv = start_server(
        tmp_path / "psi",
        card_path,
        "serving.workers=2",
        "serving.threads=1",
        f"serving.psi_window={window}",
    )
    try:
        empty = scrape(srv)
        assert math.isnan(value(empty, "credit_glm_score_psi"))  # before any score
        assert value(empty, "credit_glm_score_psi_window_size") == 0
        scores: dict[str, float] = {}
        for i in range(60):
            rid = f"psi-{i}"
            row = {**good_row, "duration_in_month": 1 + 2 * i, "age_in_years": 19 + i}
            reply = srv.post_json("/predict", {"features": row}, {"X-Request-ID": rid})
            scores[rid] = reply.json()["probability_of_default"]
        per_worker: dict[int, list[float]] = {}
        for line in srv.request_log(expect=scores):  # in the order each worker answered
            if line["request_id"] in scores:
                per_worker.setdefault(line["pid"], []).append(scores[line["request_id"]])
        assert len(per_worker) == 2
        edges = card["score_baseline"]["edges"]
        shares = card["score_baseline"]["shares"]

        def check(workers: list[int]) -> None:
            counts = sum(_bins(edges, per_worker[w][-window:]) for w in workers)
            samples = scrape(srv)
            got = [
                value(samples, "credit_glm_score_psi_window_scores", bin=str(b))
                for b in range(len(shares))
            ]
            assert got == counts.tolist()
            assert value(samples, "credit_glm_score_psi_window_size") == counts.sum()
            assert value(samples, "credit_glm_score_psi") == pytest.approx(
                _psi(shares, counts), rel=1e-12
            )

        check(list(per_worker))
        # a dead worker's window leaves the gauges (child_exit marks it dead); its requests
        # stay counted
        total = scrape(srv)[
            (
                "credit_glm_http_requests_total",
                (("endpoint", "/predict"), ("method", "POST"), ("status", "200")),
            )
        ]
        victim, survivor = sorted(per_worker)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if value(scrape(srv), "credit_glm_score_psi_window_size") == min(
                window, len(per_worker[survivor])
            ):
                break
            time.sleep(0.2)
        check([survivor])
        assert (
            value(
                scrape(srv),
                "credit_glm_http_requests_total",
                endpoint="/predict",
                method="POST",
                status="200",
            )
            == total
            == 60
        )
    finally:
        srv.stop()


def _worker_pids(srv: Server, expect: int, timeout: float = 30.0) -> list[int]:
    """The pids of the booted workers, once ``expect`` have logged their boot (``/ready``
    answers 200 as soon as the first worker is up; the second may still be starting)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [int(p) for p in re.findall(r"Booting worker with pid: (\d+)", srv.error_log())]
        if len(pids) >= expect or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def test_a_killed_worker_loses_no_counts(
    card_path: Path, tmp_path: Path, good_row: dict[str, Any]
) -> None:
    """Counts are written when a request is answered: SIGKILL right after the responses
    loses none of them (the scrape is served by the admin process, which stays up)."""
    srv = start_server(tmp_path / "kill", card_path, "serving.workers=2")
    try:
        workers = _worker_pids(srv, expect=2)
        assert len(workers) == 2
        before = scrape(srv)
        with cf.ThreadPoolExecutor(4) as pool:
            replies = list(
                pool.map(
                    lambda i: srv.post_json(
                        "/predict", {"features": {**good_row, "duration_in_month": 1 + i}}
                    ),
                    range(30),
                )
            )
        assert [r.status for r in replies] == [200] * 30
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        after = scrape(srv)
        assert (
            delta(
                before,
                after,
                "credit_glm_http_requests_total",
                endpoint="/predict",
                method="POST",
                status="200",
            )
            == 30
        )
        assert (
            sum(
                delta(
                    before, after, "credit_glm_predictions_total", endpoint="/predict", decision=d
                )
                for d in ("accept", "decline")
            )
            == 30
        )
        assert delta(before, after, "credit_glm_probability_of_default_count") == 30
    finally:
        srv.stop()
