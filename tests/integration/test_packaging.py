"""The configs and the embedded data are found from a wheel installed elsewhere, from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env

pytestmark = pytest.mark.slow


def test_wheel_install_runs_from_any_folder(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("credit_glm-*.whl")
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
         str(wheel)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert install.returncode == 0, install.stderr
    assert (site / "credit_glm" / "conf" / "config.yaml").is_file()
    assert (site / "credit_glm" / "datasets" / "german_credit.csv").is_file()
    assert (site / "credit_glm" / "datasets" / "README.md").is_file()  # the attribution
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**cli_env(), "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import credit_glm, credit_glm.__main__ as m; "
         "print(credit_glm.__file__); print(m.config_dir())"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert all(p.startswith(str(site)) for p in where), where
    run = subprocess.run(
        [sys.executable, "-m", "credit_glm", "split=none", "verbose=false"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (elsewhere / "models" / "glm_model.json").is_file()


def test_source_tree_runs_without_install(tmp_path: Path) -> None:
    """``PYTHONPATH=<checkout> python -m credit_glm`` finds the top-level conf/."""
    env = {**cli_env(), "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", "import credit_glm.__main__ as m; print(m.config_dir())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert os.path.samefile(out, REPO / "conf")
