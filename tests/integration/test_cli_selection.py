"""Feature selection and multirun sweeps through the real CLI."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow
Cli = Callable[..., subprocess.CompletedProcess[str]]
STRATEGIES = ["none", "exhaustive", "forward", "backward", "stepwise", "random"]


def _summary(root: Path) -> list[dict[str, str]]:
    (path,) = root.glob("outputs/multirun/*/*/summary.csv")
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_six_strategy_sweep_writes_one_summary(tmp_path: Path) -> None:
    result = run_cli(
        ["-m", f"selection={','.join(STRATEGIES)}", "verbose=false"], tmp_path, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _summary(tmp_path)
    assert [r["strategy"] for r in rows] == STRATEGIES
    assert all(r["status"] == "ok" for r in rows)
    assert "sweep summary" in result.stdout
    by = {r["strategy"]: r for r in rows}
    assert int(by["none"]["n_features"]) == 20
    # exhaustive is the exact AIC optimum: no other strategy finds a lower AIC
    best = float(by["exhaustive"]["aic"])
    assert all(float(r["aic"]) >= best - 1e-6 for r in rows)
    for r in rows:
        assert 0.5 < float(r["test_auc"]) < 1 and r["overrides"].startswith("selection=")
    # a sweep promotes nothing: each job keeps its candidate in its own directory
    assert not (tmp_path / "models").exists()
    assert len(list(tmp_path.glob("outputs/multirun/*/*/*/model/glm_model.json"))) == 6


def test_failed_jobs_are_shown_and_fail_the_sweep(tmp_path: Path) -> None:
    result = run_cli(["-m", "evaluation.min_auc=0.5,0.99", "verbose=false"], tmp_path)
    assert result.returncode != 0
    rows = _summary(tmp_path)
    assert [r["status"] for r in rows] == ["ok", "gate failed"]
    assert "1 of 2 jobs" in result.stderr


def test_joblib_launcher_sweep(tmp_path: Path) -> None:
    result = run_cli(
        [
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "selection=exhaustive,random",
            "random.seed=1,2",
            "verbose=false",
        ],
        tmp_path,
        timeout=600,
    )
    rows = _summary(tmp_path)
    assert len(rows) == 4, result.stdout + result.stderr
    # every job ran to its verdict; a job whose model fails a gate (seed 2's splits put
    # defaults in a low-PD grade that the Jeffreys calibration gate flags) fails the sweep
    statuses = [r["status"] for r in rows]
    assert set(statuses) <= {"ok", "gate failed"}, statuses
    assert result.returncode == (0 if set(statuses) == {"ok"} else 1), result.stderr
    for row in rows:
        if row["status"] == "gate failed":
            job = json.loads(
                next(tmp_path.glob(f"outputs/multirun/*/*/{row['job']}/metrics.json")).read_text()
            )
            assert "evaluation." in json.dumps(job)
    # different seeds give different splits, hence different exhaustive optima
    ex = [r for r in rows if r["strategy"] == "exhaustive"]
    assert ex[0]["aic"] != ex[1]["aic"]


def test_exhaustive_audit_trail_matches_the_statsmodels_refit(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "selection=exhaustive",
        "selection.criterion=bic",
        "selection.max_features=10",
        "selection.top_n=5",
        "hydra.run.dir=outputs/run",
    )
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "models" / "glm_model.json").read_text())
    sel = card["selection"]
    assert sel["strategy"] == "exhaustive" and sel["criterion"] == "bic"
    assert len(card["selected_features"]) <= 10
    assert sel["selected"] == card["selected_features"]
    # the engine's criterion value equals statsmodels' BIC of the refitted winner
    assert sel["criterion_value"] == pytest.approx(card["diagnostics"]["fit"]["bic"], abs=1e-6)
    top = sel["top"]
    assert len(top) == 5 and top[0]["features"] == card["selected_features"]
    assert [t["criterion_value"] for t in top] == sorted(t["criterion_value"] for t in top)
    counts = sel["counts"]
    assert counts["fitted"] + counts["pruned"] >= counts["total_subsets"] - counts["skipped"]
    on_disk = json.loads((tmp_path / "outputs" / "run" / "selection.json").read_text())
    assert on_disk == sel
    # the account of the search, on the terminal once and in the run log
    block = _selection_block(result.stdout)
    assert block[0] == "selection: exhaustive (best subset, exact) by bic"
    assert (
        f"{counts['total_subsets']:,} subsets in the space, {counts['fitted']:,} fitted, "
        f"{counts['pruned']:,} pruned, {counts['skipped']:,} skipped"
    ) in block[1]
    assert f"BIC = {sel['criterion_value']:.4f}" in block[2]
    assert block[3].strip() == ", ".join(card["selected_features"])
    run_log = (tmp_path / "outputs" / "run" / "__main__.log").read_text()
    assert "\n".join(block) in run_log


def _selection_block(stdout: str) -> list[str]:
    """The lines of the one selection block a training run prints."""
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("selection: ")]
    assert len(starts) == 1, stdout
    block = [lines[starts[0]]]
    for line in lines[starts[0] + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line)
    return block


def test_stepwise_pvalue_path_and_constraints(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "selection=stepwise",
        "selection.p_enter=0.01",
        "selection.p_remove=0.05",
        "selection.force_in=[age_in_years]",
        "selection.exclude=[duration_in_month]",
    )
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "models" / "glm_model.json").read_text())
    assert "age_in_years" in card["selected_features"]
    assert "duration_in_month" not in card["selected_features"]
    decisions = {step["decision"] for step in card["selection"]["path"]}
    assert "added" in decisions and "stopped" in decisions
    block = _selection_block(result.stdout)
    counts = card["selection"]["counts"]
    assert block[0] == "selection: stepwise (bidirectional stepwise) by pvalue"
    assert f"{counts['total_subsets']:,} distinct subsets visited" in block[1]
    assert f"{counts['fitted']:,} fitted" in block[1]
    assert f"{len(card['selected_features'])} of 20 features" in block[2]
    assert block[3].strip() == ", ".join(card["selected_features"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["selection=exhaustive", "selection.max_subsets=100"], "selection.max_subsets"),
        (["selection=exhaustive", "selection.force_in=[shoe_size]"], "shoe_size"),
        (["selection=random", "selection.criterion=pvalue"], "selection.criterion"),
        (["selection=stepwise", "selection.p_remove=0.01"], "selection.p_remove"),
        (["selection=greedy"], "greedy"),
    ],
)
def test_bad_selection_settings_are_refused(args: list[str], expected: str, tmp_path: Path) -> None:
    result = run_cli(args, tmp_path)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "models").exists()
