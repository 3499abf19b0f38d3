"""The service's bulk histogram observation counts exactly as one ``observe`` per value."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from credit_glm.service.metrics import PD_BUCKETS, observe_many


def samples(registry: CollectorRegistry) -> tuple[list[str], float]:
    """The exposition's bucket and count lines, and the sum (added in another order in bulk,
    so equal to rounding only)."""
    lines = generate_latest(registry).decode().splitlines()
    total = next(float(line.split()[1]) for line in lines if line.startswith("pd_sum"))
    return [line for line in lines if "_created" not in line and "_sum" not in line], total


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(7).random(1000),
        np.array(PD_BUCKETS),  # each exactly on a bound: that bound's bucket
        np.nextafter(np.array(PD_BUCKETS), 2.0),  # just past each bound: the next one
        np.array([0.0, -1.0, 1.0, 2.0, np.inf, np.nan, 0.5]),
        np.array([0.3]),
        np.array([]),
    ],
)
def test_observe_many_writes_what_observe_per_value_writes(values: np.ndarray) -> None:
    bulk, one_by_one = CollectorRegistry(), CollectorRegistry()
    h_bulk = Histogram("pd", "pd", buckets=PD_BUCKETS, registry=bulk)
    h_one = Histogram("pd", "pd", buckets=PD_BUCKETS, registry=one_by_one)
    observe_many(h_bulk, values)
    for v in values.tolist():
        h_one.observe(v)
    (lines, total), (expected, expected_total) = samples(bulk), samples(one_by_one)
    assert lines == expected
    assert total == pytest.approx(expected_total, rel=1e-12, nan_ok=True)


def test_observe_many_falls_back_to_observe_without_the_private_fields() -> None:
    class Plain:
        def __init__(self) -> None:
            self.seen: list[float] = []

        def observe(self, value: float) -> None:
            self.seen.append(value)

    plain = Plain()
    observe_many(plain, np.array([0.25, 0.5]))  # type: ignore[arg-type]
    assert plain.seen == [0.25, 0.5]
