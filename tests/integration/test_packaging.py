"""A checkout runs without an install: the source tree finds its top-level conf/.

The installed package (a wheel in a fresh venv) is tested in ``test_wheel.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env

pytestmark = pytest.mark.slow


def test_source_tree_runs_without_install(tmp_path: Path) -> None:
    """``PYTHONPATH=<checkout> python -m credit_glm`` finds the top-level conf/."""
    env = {**cli_env(), "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", "import credit_glm.__main__ as m; print(m.config_dir())"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert os.path.samefile(out, REPO / "conf")
