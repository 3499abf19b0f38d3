"""``python -m credit_glm`` end to end, through the real CLI in a subprocess."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import norm

from credit_glm.artifact import load_card, load_pickle
from credit_glm.features import ModelSpec, design_matrix
from credit_glm.model_card import sha256_hex
from credit_glm.schema import build_schema, data_config_from_dict, validate_frame
from credit_glm.split import split_rows
from credit_glm.synthetic import TRUE_COEFFICIENTS, make_applications
from credit_glm.training import outcome_vector
from tests.conftest import GERMAN_CSV, compose_config, run_cli

pytestmark = pytest.mark.slow
Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_default_run_trains_reports_and_promotes(trained_dir: Path) -> None:
    card_path = trained_dir / "models" / "glm_model.json"
    pickle_path = trained_dir / "models" / "glm_model.joblib"
    card = load_card(card_path)
    assert card["metrics"]["test"]["auc"] > 0.7
    for sample in ("train", "test"):
        assert {"auc", "gini", "ks", "brier"} <= set(card["metrics"][sample])
    assert card["artifact"]["joblib_sha256"] == sha256_hex(pickle_path.read_bytes())
    assert card["training_data"]["sha256"] == sha256_hex(GERMAN_CSV.read_bytes())
    assert card["training_data"]["rows"] == 1000
    payload = load_pickle(card_path)
    assert payload["model_sha256"] == card["model_sha256"]
    # the run directory keeps its own copy and a metrics file
    run = trained_dir / "outputs" / "run"
    assert json.loads((run / "metrics.json").read_text())["status"] == "ok"
    assert (run / "model" / "glm_model.json").is_file()


def test_run_log_holds_the_runs_lines(trained_dir: Path) -> None:
    card = load_card(trained_dir / "models" / "glm_model.json")
    run_log = (trained_dir / "outputs" / "run" / "__main__.log").read_text()
    assert "[credit_glm.cli][INFO] - selection: none (every feature kept, no search)" in run_log
    assert f"model {card['model_version']} promoted: " in run_log
    assert "AUC=" in run_log  # the verbose coefficient and metric table
    assert "points: 600 at odds 50:1, 20 points to double the odds" in run_log


def test_the_points_table_is_written_next_to_the_card(trained_dir: Path) -> None:
    card = load_card(trained_dir / "models" / "glm_model.json")
    with open(trained_dir / "models" / "points_table.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    features = {r["feature"] for r in rows} - {"(base points)"}
    assert features == set(card["selected_features"])
    assert float(rows[0]["points"]) == card["scorecard"]["base_points"]


def test_training_prints_one_selection_block_without_a_search(cli: Cli, tmp_path: Path) -> None:
    result = cli("verbose=false", "hydra.run.dir=outputs/run")
    assert result.returncode == 0, result.stderr
    card = load_card(tmp_path / "models" / "glm_model.json")
    fit = card["diagnostics"]["fit"]
    n = len(card["selected_features"])
    # the terminal shows plain lines, each once; the log file has them with time and level
    assert result.stdout.splitlines() == [
        "selection: none (every feature kept, no search)",
        f"  chosen: {n} of {n} features, AIC={fit['aic']:.4f}  BIC={fit['bic']:.4f}",
        f"    {', '.join(card['selected_features'])}",
        f"model {card['model_version']} promoted: models/glm_model.joblib and "
        "models/glm_model.json",
    ]
    assert result.stderr == ""
    run_log = (tmp_path / "outputs" / "run" / "__main__.log").read_text().splitlines()
    assert run_log[0].endswith("[credit_glm.cli][INFO] - " + result.stdout.splitlines()[0])
    assert len(run_log) == len(result.stdout.splitlines())


def test_an_error_goes_to_stderr_and_the_run_log(cli: Cli, tmp_path: Path) -> None:
    result = cli("data.path=nope.csv", "hydra.run.dir=outputs/run")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: data.path: file 'nope.csv' not found\n"
    run_log = (tmp_path / "outputs" / "run" / "__main__.log").read_text()
    assert "[credit_glm.cli][ERROR] - error: data.path: file 'nope.csv' not found" in run_log


def test_card_coefficients_equal_a_direct_statsmodels_fit(trained_dir: Path) -> None:
    card = load_card(trained_dir / "models" / "glm_model.json")
    data = data_config_from_dict(card["schema"])
    raw = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False, na_values=[""])
    frame = validate_frame(raw, build_schema(data), data)
    y = outcome_vector(frame, data)
    split = split_rows(y, compose_config().split)
    spec = ModelSpec.from_dict(card["feature_spec"])
    X = design_matrix(spec, frame.iloc[split.train].reset_index(drop=True))
    ref = sm.GLM(y[split.train], X, family=sm.families.Binomial()).fit()
    ours = np.array([card["coefficients"][t]["estimate"] for t in spec.terms])
    np.testing.assert_allclose(ours, ref.params, rtol=0, atol=1e-10)
    ses = np.array([card["coefficients"][t]["std_error"] for t in spec.terms])
    np.testing.assert_allclose(ses, ref.bse, rtol=1e-8)
    # and the statsmodels results pickled with the model predict what the card predicts
    results = load_pickle(trained_dir / "models" / "glm_model.json")["results"]
    np.testing.assert_allclose(results.predict(X), ref.predict(X), atol=1e-12)


def _without_time(card: dict[str, object]) -> dict[str, object]:
    # card_sha256 covers created_at too
    return {k: v for k, v in card.items() if k not in ("created_at", "card_sha256")}


def test_same_config_and_data_give_the_same_model_card(trained_dir: Path, tmp_path: Path) -> None:
    again = run_cli(["hydra.run.dir=outputs/run"], tmp_path)
    assert again.returncode == 0, again.stderr
    first = load_card(trained_dir / "models" / "glm_model.json")
    second = load_card(tmp_path / "models" / "glm_model.json")
    assert _without_time(first) == _without_time(second)


def test_evaluate_mode_scores_a_labelled_file(trained_dir: Path) -> None:
    result = run_cli(
        ["mode=evaluate", f"data.path={GERMAN_CSV}", "hydra.run.dir=outputs/ev"], trained_dir
    )
    assert result.returncode == 0, result.stderr
    ev = json.loads((trained_dir / "outputs" / "ev" / "evaluation.json").read_text())
    card = load_card(trained_dir / "models" / "glm_model.json")
    assert ev["model_version"] == card["model_version"]
    assert ev["metrics"]["n"] == 1000
    # the whole file is 70% training rows: its AUC lies between the train and test AUCs
    lo, hi = sorted([card["metrics"]["test"]["auc"], card["metrics"]["train"]["auc"]])
    assert lo < ev["metrics"]["auc"] < hi
    scores = ev["scores"]
    assert scores["n"] == 1000 and sum(scores["first_reason_counts"].values()) <= 1000
    q = scores["quantiles"]
    assert q["min"] <= q["p10"] <= q["p50"] <= q["p90"] <= q["max"]
    failing = run_cli(
        ["mode=evaluate", f"data.path={GERMAN_CSV}", "evaluation.min_auc=0.99"], trained_dir
    )
    assert failing.returncode == 4 and "min_auc" in failing.stderr


def test_failed_gate_exits_nonzero_and_is_not_promoted(cli: Cli, tmp_path: Path) -> None:
    result = cli("evaluation.min_auc=0.99")
    assert result.returncode == 4
    assert "evaluation.min_auc" in result.stderr and "not promoted" in result.stderr
    assert not (tmp_path / "models").exists()


def test_link_and_split_overrides(cli: Cli, tmp_path: Path) -> None:
    result = cli("glm.link=probit", "split.test_size=0.25")
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "models" / "glm_model.json").read_text())
    assert card["link"] == "probit"
    assert card["diagnostics"]["split"]["test_rows"] == 250
    assert all(c["odds_ratio"] is None for c in card["coefficients"].values())


def test_split_none_omits_test_metrics(cli: Cli, tmp_path: Path) -> None:
    result = cli("split=none")
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "models" / "glm_model.json").read_text())
    assert card["metrics"]["test"] is None
    assert card["diagnostics"]["split"]["train_rows"] == 1000


def test_own_data_recovers_known_coefficients(cli: Cli, tmp_path: Path) -> None:
    """Bring your own data: one YAML per group in a config dir, generated with known truth."""
    make_applications(n=20_000, seed=11).to_csv(tmp_path / "apps.csv", index=False)
    result = cli("data=synthetic", "features=synthetic", "data.path=apps.csv", "split=none")
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "models" / "glm_model.json").read_text())
    assert set(card["coefficients"]) == set(TRUE_COEFFICIENTS)
    # Simultaneous 95% intervals (Bonferroni over the terms), so the check's own error rate
    # is at most 5% whatever the number of terms.
    z = norm.ppf(1 - 0.05 / (2 * len(TRUE_COEFFICIENTS)))
    for term, truth in TRUE_COEFFICIENTS.items():
        c = card["coefficients"][term]
        assert abs(c["estimate"] - truth) <= z * c["std_error"], (term, truth, c)
        # the reported 95% interval is estimate +- 1.96 se
        assert c["ci_lower"] == pytest.approx(c["estimate"] - norm.ppf(0.975) * c["std_error"])
