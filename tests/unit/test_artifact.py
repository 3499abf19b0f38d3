"""The artifact pair: atomic writes, verification, the two card hashes, and scoring from the card
alone. Hashes are only ever compared with hashes computed in the same run."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from credit_glm.artifact import load_card, load_pickle, write_artifacts
from credit_glm.config import AppConfig
from credit_glm.errors import ArtifactError
from credit_glm.model_card import (
    CARD_FORMAT_VERSION,
    build_card,
    card_sha256,
    model_sha256,
    seal_card,
)
from credit_glm.scoring import ScoringModel
from credit_glm.tables import file_sha256, read_table
from credit_glm.training import TrainedModel, train
from tests.conftest import GERMAN_CSV, compose_config


@pytest.fixture(scope="module")
def trained(german_frame: pd.DataFrame) -> TrainedModel:
    return train(compose_config(), german_frame)


def _card(trained: TrainedModel) -> dict[str, object]:
    return build_card(trained, "builtin://german_credit.csv", "0" * 64, 1000, "2026-01-01")


def test_card_alone_reproduces_statsmodels_predictions(
    trained: TrainedModel, german_frame: pd.DataFrame, tmp_path: Path
) -> None:
    _, card_path, _ = write_artifacts(trained, _card(trained), tmp_path)
    card = json.loads(card_path.read_text())
    scorer = ScoringModel.from_card(card)
    results = load_pickle(card_path)["results"]
    from credit_glm.features import design_matrix

    X = design_matrix(trained.spec, german_frame)
    np.testing.assert_allclose(scorer.predict(german_frame), results.predict(X), rtol=0, atol=1e-12)
    assert card["self_check"]["probability_of_default"] == pytest.approx(
        float(scorer.predict({k: [v] for k, v in card["self_check"]["features"].items()})[0]),
        abs=1e-15,
    )


def test_tampered_card_and_mismatched_pickle_are_refused(
    trained: TrainedModel, tmp_path: Path
) -> None:
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
    # a sealed card with no pickle named (the Python API's card before save_model)
    card_path.write_text(json.dumps(seal_card(_card(trained))))
    with pytest.raises(ArtifactError, match="names no joblib file"):
        load_pickle(card_path)
    card_path.write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_card(card_path)
    with pytest.raises(ArtifactError, match="not found"):
        load_card(tmp_path / "nope.json")


def test_a_failed_write_leaves_the_previous_pair_intact(
    trained: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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


def _train_card(data_path: str) -> dict[str, Any]:
    """Train as ``python -m credit_glm data.path=DATA_PATH`` does, and build its card."""
    app = compose_config([f"data.path={data_path}"])
    frame, resolved = read_table(app.data.path, app.data)
    return build_card(
        train(app, frame),
        app.data.path,
        file_sha256(resolved),
        len(frame),
        "2026-01-01T00:00:00+00:00",
    )


def test_the_model_identity_does_not_depend_on_where_the_data_was_read_from(tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "german.csv"
    copy.parent.mkdir()
    shutil.copy(GERMAN_CSV, copy)
    builtin, absolute = _train_card("builtin://german_credit.csv"), _train_card(str(copy))
    assert builtin["schema"]["path"] != absolute["schema"]["path"]
    assert builtin["model_sha256"] == absolute["model_sha256"]
    assert builtin["model_version"] == absolute["model_version"]
    # the card hash covers where the data came from
    assert builtin["card_sha256"] != absolute["card_sha256"]


def _shift_shares(card: dict[str, Any]) -> None:
    shares = card["score_baseline"]["shares"]
    shares[0], shares[1] = shares[0] + 0.01, shares[1] - 0.01


def _first_feature_value(card: dict[str, Any]) -> None:
    features = card["self_check"]["features"]
    name = next(k for k, v in features.items() if isinstance(v, int | float))
    features[name] += 1


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def edit(card: dict[str, Any]) -> None:
        node: Any = card
        for key in parents:
            node = node[key]
        index: Any = int(last) if isinstance(node, list) else last
        node[index] = value(node[index]) if callable(value) else value

    return edit


# every section a response or an alert depends on, edited once
COVERED: dict[str, Callable[[dict[str, Any]], None]] = {
    "link": _set("link", "probit"),
    "feature spec": _set("feature_spec.intercept", lambda v: not v),
    "coefficient": _set("coefficients.Intercept.estimate", lambda v: v + 0.1),
    "schema column": _set("schema.strict", lambda v: not v),
    "schema na_values": _set("schema.na_values", lambda v: [*v, "?"]),
    "data name": _set("schema.name", "other_credit"),
    "cut-off": _set("decision.cutoff", 0.99),
    "decision rule": _set("decision.rule", "decline when probability_of_default > cutoff"),
    "baseline shares": _shift_shares,
    "baseline edges": _set("score_baseline.edges.1", lambda v: v * 0.99),
    "self-check probability": _set("self_check.probability_of_default", lambda v: v + 1e-9),
    "self-check row": _first_feature_value,
}
# the rest of the card
UNCOVERED: dict[str, Callable[[dict[str, Any]], None]] = {
    "metrics": _set("metrics.train.auc", 0.99),
    "diagnostics": _set("diagnostics.fit.aic", 1.0),
    "training data": _set("training_data.source", "/somewhere/else.csv"),
    "schema path": _set("schema.path", "/somewhere/else.csv"),
    "schema format": _set("schema.format", "parquet"),
    "libraries": _set("libraries.numpy", "0.0"),
    "created_at": _set("created_at", "2000-01-01"),
    "selection": _set("selection.strategy", "other"),
    "gates": _set("gates.passed", lambda v: not v),
    "pickle hash": _set("artifact.joblib_sha256", "0" * 64),
}


@pytest.fixture
def written(trained: TrainedModel, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    _, card_path, card = write_artifacts(trained, _card(trained), tmp_path)
    assert load_card(card_path) == card
    return card_path, card


def _rewrite(card_path: Path, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    card = json.loads(card_path.read_text())
    edit(card)
    card_path.write_text(json.dumps(card))
    return dict(card)


@pytest.mark.parametrize("edit", COVERED.values(), ids=COVERED.keys())
def test_an_edit_to_the_model_identity_is_refused(
    written: tuple[Path, dict[str, Any]], edit: Callable[[dict[str, Any]], None]
) -> None:
    card_path, card = written
    edited = _rewrite(card_path, edit)
    assert model_sha256(edited) != card["model_sha256"]
    with pytest.raises(ArtifactError, match="not the recorded model_sha256") as err:
        load_card(card_path)
    assert len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize("edit", UNCOVERED.values(), ids=UNCOVERED.keys())
def test_an_edit_outside_the_model_identity_is_refused_by_the_card_hash(
    written: tuple[Path, dict[str, Any]], edit: Callable[[dict[str, Any]], None]
) -> None:
    card_path, card = written
    edited = _rewrite(card_path, edit)
    assert model_sha256(edited) == card["model_sha256"]
    with pytest.raises(ArtifactError, match="not the recorded card_sha256"):
        load_card(card_path)


def test_an_edited_config_is_refused_by_its_own_hash(written: tuple[Path, dict[str, Any]]) -> None:
    card_path, _ = written
    _rewrite(card_path, _set("config.verbose", lambda v: not v))
    with pytest.raises(ArtifactError, match="config hashes to"):
        load_card(card_path)


def test_a_rehashed_card_with_a_stale_version_is_refused(
    written: tuple[Path, dict[str, Any]],
) -> None:
    card_path, card = written

    def rehash(edited: dict[str, Any]) -> None:
        edited["coefficients"]["Intercept"]["estimate"] += 0.1
        edited["model_sha256"] = model_sha256(edited)
        edited["card_sha256"] = card_sha256(edited)

    edited = _rewrite(card_path, rehash)
    assert edited["model_version"] == card["model_version"]
    with pytest.raises(ArtifactError, match="is not the one its model_sha256 derives"):
        load_card(card_path)
    # resealed (version derived again), it loads: only a pin or a signature tells them apart
    card_path.write_text(json.dumps(seal_card(edited)))
    assert load_card(card_path)["model_version"] != card["model_version"]


def test_an_old_card_format_is_refused_naming_its_version(
    written: tuple[Path, dict[str, Any]],
) -> None:
    card_path, _ = written
    _rewrite(card_path, _set("format_version", 1))
    with pytest.raises(
        ArtifactError, match=f"format_version 1; .* reads format_version {CARD_FORMAT_VERSION}"
    ):
        load_card(card_path)


def test_an_incomplete_card_names_what_it_lacks(written: tuple[Path, dict[str, Any]]) -> None:
    card_path, _ = written
    _rewrite(card_path, lambda card: card.pop("score_baseline"))
    with pytest.raises(ArtifactError, match="incomplete: it has no 'score_baseline'"):
        load_card(card_path)


def test_a_missing_card_names_the_key_that_locates_it(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="or set paths.model$"):
        load_card(tmp_path / "absent.json")
    with pytest.raises(ArtifactError, match="or set serving.model_path$"):
        load_card(tmp_path / "absent.json", key="serving.model_path")


def test_write_file_atomically_replaces_whole_files_and_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credit_glm.atomic_files import write_file_atomically

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    target = tmp_path / "deep" / "out.json"
    write_file_atomically(target, b"first")
    write_file_atomically(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]
    assert len(synced) == 4  # the file and its directory, twice


def test_write_file_atomically_leaves_the_old_file_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credit_glm.atomic_files import write_file_atomically

    target = tmp_path / "out.json"
    target.write_bytes(b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_file_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_cli_json_outputs_are_written_through_the_atomic_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a JSON output of a run (metrics.json, evaluation.json) is one write_file_atomically call
    # (cli imports it from its module when it writes, so the spy goes there)
    import credit_glm.atomic_files as artifact
    import credit_glm.cli as cli

    calls: list[Path] = []
    real = artifact.write_file_atomically

    def spy(path: str | Path, data: bytes) -> Path:
        calls.append(Path(path))
        return real(path, data)

    monkeypatch.setattr(artifact, "write_file_atomically", spy)
    cli._write_json(tmp_path / "metrics.json", {"auc": float("nan"), "n": 3})
    assert calls == [tmp_path / "metrics.json"]
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"auc": None, "n": 3}


def test_score_baseline_decodes_what_the_card_holds(trained: TrainedModel) -> None:
    from credit_glm.metrics import bin_proportions, psi_bin_edges
    from credit_glm.model_card import score_baseline

    card = _card(trained)
    base = score_baseline(card)
    edges = psi_bin_edges(trained.train_scores, bins=trained.config.evaluation.psi_bins)
    np.testing.assert_array_equal(base.edges, edges)
    np.testing.assert_allclose(base.shares, bin_proportions(trained.train_scores, edges))
    assert score_baseline({"score_baseline": base.to_dict()}) == base
    assert json.loads(json.dumps(base.to_dict(), allow_nan=False)) == card["score_baseline"]


@pytest.mark.parametrize(
    ("baseline", "rule"),
    [
        ({"edges": [None, 0.5, None], "shares": [1.0]}, "one more entry"),
        ({"edges": [0.0, 0.5, None], "shares": [0.5, 0.5]}, "outer edges must be null"),
        ({"edges": [None, 0.5, 0.4, None], "shares": [0.3, 0.3, 0.4]}, "increase strictly"),
        ({"edges": [None, 0.5, None], "shares": [0.7, 0.7]}, "sum to 1"),
        ({"edges": [None, 0.5, None], "shares": [1.0, 0.0]}, "positive"),
    ],
)
def test_service_and_evaluate_refuse_a_bad_baseline_by_one_rule(
    baseline: dict[str, Any], rule: str
) -> None:
    from credit_glm.model_card import score_baseline
    from credit_glm.service.model import _baseline

    card = {"score_baseline": baseline}
    with pytest.raises(ValueError, match=rule):
        score_baseline(card)
    with pytest.raises(ValueError, match=rule):
        _baseline(card)
