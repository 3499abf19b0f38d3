"""``python -m credit_glm``: the one entry point. Hydra composes the config; ``cli.run`` acts.

The configs ship inside the package (``credit_glm/conf`` in a wheel, the top-level ``conf/`` in a
source tree or an editable install), so the command works from any directory.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from credit_glm.config import register_configs


def config_dir() -> str:
    """Where the primary config is: inside the installed package, else the source tree's conf/."""
    package = Path(__file__).resolve().parent
    shipped = package / "conf"
    if (shipped / "config.yaml").is_file():
        return str(shipped)
    return str(package.parent / "conf")


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(cfg: DictConfig) -> None:
    gc.enable()  # paused by entry() for the composition
    from credit_glm.cli import run

    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    code = run(cfg, Path(hydra_cfg.runtime.output_dir), promote=not multirun)
    # In a sweep a failed job is recorded in its metrics.json and the sweep goes on; the
    # summary callback exits non-zero at the end if any job failed.
    if code and not multirun:
        sys.exit(code)


# command-line options that point Hydra at configs other than the ones shipped here
_CONFIG_OPTIONS = ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn")


def mode_set_by_command_line(argv: Sequence[str]) -> bool:
    """Whether the run mode (run or multirun) follows from the command line alone.

    Hydra composes the whole config once only to read ``hydra.mode``, then again for the
    job. No config shipped here sets ``hydra.mode`` (``tests/unit/test_main.py``), so unless
    the command line overrides the mode, points Hydra at other config files or selects one of
    Hydra's own config groups, the mode is the command line's (``-m`` or not) and that first
    composition can be skipped. Settings such as ``hydra.run.dir`` cannot change it."""
    for arg in argv:
        option = arg.split("=", 1)[0]
        if option in _CONFIG_OPTIONS or option == "--experimental-rerun":
            return False
        key = option.lstrip("+~")
        if key in ("hydra", "hydra.mode") or key.startswith(("hydra.searchpath", "hydra/")):
            return False  # the mode itself, or Hydra's configs (other config files, a group)
    return True


@contextmanager
def _mode_from_command_line(argv: Sequence[str]) -> Iterator[None]:
    from hydra._internal.hydra import Hydra

    if not mode_set_by_command_line(argv) or not hasattr(Hydra, "get_mode"):
        yield
        return
    composed_for_mode = Hydra.get_mode
    Hydra.get_mode = lambda self, config_name, overrides: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Hydra.get_mode = composed_for_mode  # type: ignore[method-assign]


def entry() -> None:
    # Composing the config makes only objects that live through the run: the cyclic
    # collector, walking them, cost a twentieth of a --cfg job. It is back on before a mode runs.
    gc.disable()
    register_configs()
    with _mode_from_command_line(sys.argv[1:]):
        main()


if __name__ == "__main__":
    entry()
