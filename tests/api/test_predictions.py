"""Served predictions equal statsmodels' on the same rows, and never change between workers or
restarts."""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from credit_glm.artifact import load_pickle
from credit_glm.features import ModelSpec, design_matrix
from credit_glm.schema import build_schema, data_config_from_dict, validate_frame
from tests.api.conftest import WORKERS, Server, start_server

pytestmark = pytest.mark.slow


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@pytest.fixture(scope="module")
def applicants(card: dict[str, Any], german_frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The German credit rows, typed by the training schema, as request records."""
    data = data_config_from_dict(card["schema"])
    frame = validate_frame(german_frame, build_schema(data, "training"), data)
    columns = ModelSpec.from_dict(card["feature_spec"]).columns
    return [
        {c: _plain(v) for c, v in zip(columns, row, strict=True)}
        for row in frame[list(columns)].itertuples(index=False)
    ]


@pytest.fixture(scope="module")
def statsmodels_pd(
    card: dict[str, Any], card_path: Path, applicants: list[dict[str, Any]]
) -> np.ndarray:
    """statsmodels' ``predict`` of the pickled fit, on the design matrix of the same rows."""
    results = load_pickle(card_path)["results"]
    spec = ModelSpec.from_dict(card["feature_spec"])
    X = design_matrix(spec, pd.DataFrame(applicants))
    return np.asarray(results.predict(X), dtype=float)


def _batch(server: Server, rows: list[dict[str, Any]]) -> list[float]:
    reply = server.post_json("/predict/batch", {"instances": rows})
    assert reply.status == 200, reply.body[:300]
    return [p["probability_of_default"] for p in reply.json()["predictions"]]


def test_batch_equals_statsmodels_on_every_training_row(
    server: Server, applicants: list[dict[str, Any]], statsmodels_pd: np.ndarray
) -> None:
    served = np.array(_batch(server, applicants))  # 1,000 rows: serving.max_batch_rows
    np.testing.assert_allclose(served, statsmodels_pd, rtol=0, atol=1e-12)


def test_single_predictions_equal_statsmodels(
    server: Server, applicants: list[dict[str, Any]], statsmodels_pd: np.ndarray
) -> None:
    for i in range(0, len(applicants), 50):
        reply = server.post_json("/predict", {"features": applicants[i]})
        assert reply.json()["probability_of_default"] == pytest.approx(
            statsmodels_pd[i], rel=0, abs=1e-12
        )


def test_identical_answers_from_every_worker(
    server: Server, applicants: list[dict[str, Any]]
) -> None:
    row = applicants[7]
    ids = [f"same-row-{i}" for i in range(40)]
    with cf.ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(
                lambda rid: server.post_json("/predict", {"features": row}, {"X-Request-ID": rid}),
                ids,
            )
        )
    values = {r.json()["probability_of_default"] for r in replies}
    assert len(values) == 1  # bit for bit (JSON floats round-trip exactly)
    pids = {ln["pid"] for ln in server.request_log(expect=ids) if ln["request_id"] in set(ids)}
    assert len(pids) == WORKERS  # and both workers answered


def test_identical_answers_after_a_restart(
    server: Server, card_path: Path, tmp_path: Path, applicants: list[dict[str, Any]]
) -> None:
    before = _batch(server, applicants[:300])
    restarted = start_server(tmp_path / "restart", card_path, "serving.workers=1")
    try:
        after = _batch(restarted, applicants[:300])
    finally:
        assert restarted.stop() == 0
    assert after == before
