"""The entry point skips Hydra's composition for the run mode only when the mode cannot
come from a config: no shipped YAML sets ``hydra.mode``, and a command line that could bring
one in keeps Hydra's own composition."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from credit_glm.__main__ import config_dir, mode_set_by_command_line


def _hydra_mode_setters(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        in_hydra_package = path.relative_to(root).parts[0] == "hydra" or "@package hydra" in (
            path.read_text()
        )
        hydra_node = doc if in_hydra_package else doc.get("hydra") or {}
        if isinstance(hydra_node, dict) and "mode" in hydra_node:
            found.append(str(path.relative_to(root)))
    return found


def test_no_shipped_config_sets_the_run_mode() -> None:
    root = Path(config_dir())
    assert (root / "config.yaml").is_file()
    assert _hydra_mode_setters(root) == []


def test_the_check_finds_a_config_that_sets_it(tmp_path: Path) -> None:
    (tmp_path / "hydra").mkdir()
    (tmp_path / "config.yaml").write_text("mode: train\nhydra:\n  mode: MULTIRUN\n")
    (tmp_path / "hydra" / "sweep.yaml").write_text("mode: RUN\n")
    assert _hydra_mode_setters(tmp_path) == ["config.yaml", "hydra/sweep.yaml"]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["mode=serve"],
        ["-m", "selection=none,forward"],
        ["--multirun", "split.seed=1,2"],
        ["selection=exhaustive", "paths.models_dir=models_x", "+data.columns.x.type=float"],
        ["hydra.run.dir=outputs/run", "hydra.job.chdir=false", "hydra.verbose=true"],
        ["-m", "hydra.sweep.dir=multirun/x", "split.seed=1,2"],
    ],
)
def test_the_command_line_alone_decides(argv: list[str]) -> None:
    assert mode_set_by_command_line(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["hydra.mode=MULTIRUN"],
        ["hydra={mode: RUN}"],
        ["+hydra.mode=RUN"],
        ["++hydra.searchpath=[file:///etc/mine]"],
        ["hydra/launcher=joblib"],
        ["~hydra.mode"],
        ["--config-dir", "/etc/mine"],
        ["-cd=/etc/mine"],
        ["--config-name", "other"],
        ["-cp", "conf2"],
        ["--experimental-rerun", "out/.hydra/config.pickle"],
    ],
)
def test_a_command_line_that_may_bring_a_mode_keeps_hydras_composition(argv: list[str]) -> None:
    assert not mode_set_by_command_line(argv)
