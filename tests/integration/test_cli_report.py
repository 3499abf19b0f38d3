"""``python -m credit_glm mode=report`` through the real CLI: the HTML opened in headless
Chromium (every image drawn, no network request, a screenshot kept), and the JSON's figures
recomputed here by other means (scipy, statsmodels, counts)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from credit_glm.separation import SEPARATION_EPS
from tests.conftest import GERMAN_CSV, run_cli

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report(trained_dir: Path) -> Path:
    """A report of the default model, with a monitoring file (the German rows, older
    applicants only: a shifted population)."""
    frame = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False)
    recent = frame[frame["age_in_years"].astype(int) >= 35]
    recent.to_csv(trained_dir / "recent.csv", index=False)
    result = run_cli(
        [
            "mode=report",
            "validation.bootstrap=20",
            "data.monitoring_path=recent.csv",
            "hydra.run.dir=outputs/report",
        ],
        trained_dir,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return trained_dir / "outputs" / "report"


def _figures(run: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((run / "report.json").read_text())


def _german_samples(trained_dir: Path):  # type: ignore[no-untyped-def]
    from credit_glm.artifact import load_card
    from credit_glm.scoring import ScoringModel
    from credit_glm.split import stratified_holdout

    card = load_card(trained_dir / "models" / "glm_model.json")
    frame = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False)
    y = (frame["creditability"] == "bad").to_numpy(dtype=float)
    train, test = stratified_holdout(y, 0.3, 42)
    return card, ScoringModel.from_card(card), frame, y, train, test


def test_the_figures_equal_statistics_recomputed_here(report: Path, trained_dir: Path) -> None:
    figures = _figures(report)
    card, scorer, frame, y, train, test = _german_samples(trained_dir)
    samples = {s["name"]: s for s in figures["samples"]}
    assert list(samples) == ["train", "test", "monitoring"]
    for name, rows in (("train", train), ("test", test)):
        p = scorer.predict(frame.iloc[rows].reset_index(drop=True))
        yy = y[rows]
        s = samples[name]
        assert s["n"] == rows.size and s["events"] == int(yy.sum())
        u = stats.mannwhitneyu(p[yy == 1], p[yy == 0]).statistic
        assert s["discrimination"]["auc"]["auc"] == pytest.approx(
            u / ((yy == 1).sum() * (yy == 0).sum()), abs=1e-9
        )
        assert s["discrimination"]["ks"]["statistic"] == pytest.approx(
            stats.ks_2samp(p[yy == 1], p[yy == 0]).statistic, abs=1e-9
        )
        for g in s["calibration"]["grades"]:
            low = 0.0 if g["lower"] is None else g["lower"]
            high = 2.0 if g["upper"] is None else g["upper"]
            inside = (p >= low) & (p < high)
            assert g["n"] == int(inside.sum()) and g["defaults"] == int(yy[inside].sum())
            if g["n"]:
                q = p[inside].mean()
                jeffreys = stats.beta.cdf(q, g["defaults"] + 0.5, g["n"] - g["defaults"] + 0.5)
                assert g["jeffreys_pvalue"] == pytest.approx(jeffreys, rel=1e-9)
                binom = stats.binom.sf(g["defaults"] - 1, g["n"], q)
                assert g["binomial_pvalue"] == pytest.approx(binom, rel=1e-9, abs=1e-15)
    # the monitoring file: its rows, and the age shift shows in the age column's CSI
    recent = frame[frame["age_in_years"].astype(int) >= 35]
    assert samples["monitoring"]["n"] == len(recent)
    csi = figures["stability"]["csi"]
    assert csi["age_in_years"]["monitoring"]["value"] > 0.25
    assert csi["age_in_years"]["test"]["value"] < 0.1
    # the coefficients are the card's
    assert [c["term"] for c in figures["coefficients"]] == list(card["coefficients"])


def test_the_bootstrap_equals_statsmodels_on_the_same_resamples(
    report: Path, trained_dir: Path
) -> None:
    from credit_glm.features import design_matrix

    boot = _figures(report)["bootstrap"]["coefficients"]
    card, scorer, frame, y, train, _ = _german_samples(trained_dir)
    from credit_glm.schema import build_schema, compact_text, data_config_from_dict, validate_frame

    data = data_config_from_dict(card["schema"])
    typed = compact_text(validate_frame(frame, build_schema(data), data), data)
    X = design_matrix(scorer.spec, typed.iloc[train].reset_index(drop=True))
    yt = y[train]
    rng = np.random.default_rng(42)
    refits = []
    for _ in range(20):
        rows = rng.integers(0, yt.size, size=yt.size)
        try:
            fit = sm.GLM(yt[rows], X[rows], family=sm.families.Binomial()).fit()
        except Exception:  # noqa: BLE001 - a singular resample; the report counts it too
            continue
        mu = fit.fittedvalues
        # the report leaves out rank-deficient, non-converged and separated refits
        # (a fitted probability within SEPARATION_EPS of 0 or 1, as training refuses them)
        separated = bool(np.any((mu < SEPARATION_EPS) | (mu > 1 - SEPARATION_EPS)))
        if np.linalg.matrix_rank(X[rows]) == X.shape[1] and fit.converged and not separated:
            refits.append(fit.params)
    coefs = np.array(refits)
    assert boot["resamples"] == 20 and boot["fitted"] == len(refits)
    for j, term in enumerate(boot["terms"]):
        assert term["mean"] == pytest.approx(coefs[:, j].mean(), rel=1e-5, abs=1e-6)
        assert term["lower"] == pytest.approx(np.percentile(coefs[:, j], 2.5), rel=1e-5, abs=1e-6)


@pytest.mark.skipif(
    CHROMIUM is None and not IN_CI,
    reason="chromium is not installed (under CI=true this test fails instead)",
)
def test_the_page_renders_in_chromium_with_no_network_request(report: Path) -> None:
    assert CHROMIUM is not None, "chromium is not installed; .ci/run installs it (apt-get)"
    from playwright.sync_api import sync_playwright

    page_path = report / "report.html"
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")
            images = page.evaluate(
                "[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
            )
            sections = page.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)")
            page.screenshot(path=str(report / "report.png"), full_page=True)
        finally:
            browser.close()
    assert len(images) >= 10
    assert all(done and w > 0 and h > 0 for done, w, h in images)
    # the page itself is the only thing fetched: plots are data: URIs
    assert [u for u in requests if not u.startswith("data:")] == [page_path.as_uri()]
    for title in ("Discrimination", "Calibration", "Rating grades", "Stability",
                  "Bootstrap stability", "Scorecard and reason codes"):  # fmt: skip
        assert title in sections
    assert (report / "report.png").stat().st_size > 10_000


def test_selection_frequency_with_a_strategy(tmp_path: Path) -> None:
    trained = run_cli(
        ["selection=forward", "selection.criterion=bic", "hydra.run.dir=outputs/train"],
        tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    result = run_cli(
        ["mode=report", "validation.bootstrap=6", "hydra.run.dir=outputs/report"],
        tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = _figures(tmp_path / "outputs" / "report")
    sel = figures["bootstrap"]["selection"]
    assert sel["resamples"] == 6 and sel["completed"] + sel["failed"] == 6
    assert set(sel["share"]) == set(json.loads(
        (tmp_path / "models" / "glm_model.json").read_text())["config"]["features"]["features"]
    )  # fmt: skip
    # every chosen feature of the model is chosen in at least one resample of six, and the
    # shares are counts out of the completed resamples
    chosen = figures["model"]["selected_features"]
    assert all(sel["share"][f] * sel["completed"] == round(sel["share"][f] * sel["completed"])
               for f in sel["share"])  # fmt: skip
    assert max(sel["share"][f] for f in chosen) > 0


def test_a_changed_training_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    shutil.copy(GERMAN_CSV, data)
    assert run_cli([f"data.path={data}", "hydra.run.dir=outputs/t"], tmp_path).returncode == 0
    with data.open("a") as fh:
        fh.write(GERMAN_CSV.read_text().splitlines()[1] + "\n")
    result = run_cli(["mode=report", "validation.bootstrap=0", "hydra.run.dir=o/r"], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "training_data.sha256" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o" / "r" / "report.html").exists()


def test_a_bad_cell_in_the_monitoring_file_names_it(trained_dir: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False).head(50)
    frame.loc[3, "duration_in_month"] = "twelve"
    frame.to_csv(tmp_path / "recent.csv", index=False)
    result = run_cli(
        [
            "mode=report",
            "validation.bootstrap=0",
            f"paths.model={trained_dir / 'models' / 'glm_model.json'}",
            f"data.monitoring_path={tmp_path / 'recent.csv'}",
            "hydra.run.dir=outputs/r",
        ],
        tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "duration_in_month" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "outputs" / "r" / "report.html").exists()
