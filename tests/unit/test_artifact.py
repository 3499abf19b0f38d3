"""The artifact pair: atomic writes, verification, and scoring from the card alone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit_glm.artifact import load_card, load_pickle, write_artifacts
from credit_glm.config import AppConfig
from credit_glm.errors import ArtifactError
from credit_glm.model_card import build_card
from credit_glm.scoring import ScoringModel
from credit_glm.training import TrainedModel, train


@pytest.fixture(scope="module")
def trained(german_frame: pd.DataFrame) -> TrainedModel:
    from tests.conftest import compose_config

    return train(compose_config(), german_frame)


def _card(trained: TrainedModel) -> dict[str, object]:
    return build_card(trained, "builtin://german_credit.csv", "0" * 64, 1000, "2026-01-01")


def test_card_alone_reproduces_statsmodels_predictions(trained: TrainedModel,
                                                       german_frame: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    _, card_path, _ = write_artifacts(trained, _card(trained), tmp_path)
    card = json.loads(card_path.read_text())
    scorer = ScoringModel.from_card(card)
    results = load_pickle(card_path)["results"]
    from credit_glm.features import design_matrix
    X = design_matrix(trained.spec, german_frame)
    np.testing.assert_allclose(scorer.predict(german_frame), results.predict(X),
                               rtol=0, atol=1e-12)
    assert card["self_check"]["probability_of_default"] == pytest.approx(
        float(scorer.predict({k: [v] for k, v in card["self_check"]["features"].items()})[0]),
        abs=1e-15,
    )


def test_tampered_card_and_mismatched_pickle_are_refused(trained: TrainedModel,
                                                         tmp_path: Path) -> None:
    _, card_path, card = write_artifacts(trained, _card(trained), tmp_path)
    card["coefficients"]["Intercept"]["estimate"] += 0.1
    card_path.write_text(json.dumps(card))
    with pytest.raises(ArtifactError, match="corrupt"):
        load_card(card_path)
    _, card_path, _ = write_artifacts(trained, _card(trained), tmp_path)
    with open(tmp_path / "glm_model.joblib", "ab") as fh:
        fh.write(b"x")
    with pytest.raises(ArtifactError, match="mismatched"):
        load_pickle(card_path)
    card_path.write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_card(card_path)
    with pytest.raises(ArtifactError, match="not found"):
        load_card(tmp_path / "nope.json")


def test_a_failed_write_leaves_the_previous_pair_intact(trained: TrainedModel, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    write_artifacts(trained, _card(trained), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".lock"}

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    # fault injection: the second temporary file cannot be flushed
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            disk_full()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space"):
        write_artifacts(trained, _card(trained), tmp_path)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".lock"}
    assert after == before, "no temporary file left behind, no file replaced"


def test_model_version_is_a_content_hash(trained: TrainedModel, app_config: AppConfig) -> None:
    a, b = _card(trained), build_card(trained, "elsewhere.csv", "1" * 64, 1000, "2027-01-01")
    assert a["model_sha256"] == b["model_sha256"] and a["model_version"] == b["model_version"]
    assert str(a["model_version"]).startswith("german_credit-")
