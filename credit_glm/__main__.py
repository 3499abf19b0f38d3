"""``python -m credit_glm``: the one entry point. Hydra composes the config; ``cli.run`` acts.

The configs ship inside the package (``credit_glm/conf`` in a wheel, the top-level ``conf/`` in a
source tree or an editable install), so the command works from any directory.
"""

from __future__ import annotations

import sys
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
    from credit_glm.cli import run

    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    code = run(cfg, Path(hydra_cfg.runtime.output_dir), promote=not multirun)
    # In a sweep a failed job is recorded in its metrics.json and the sweep goes on; the
    # summary callback exits non-zero at the end if any job failed.
    if code and not multirun:
        sys.exit(code)


def entry() -> None:
    register_configs()
    main()


if __name__ == "__main__":
    entry()
