"""ruff (lint and format) and mypy (strict) are part of the test run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "ruff", "check", "credit_glm", "tests"],
        [sys.executable, "-m", "ruff", "format", "--check", "credit_glm", "tests", "docker"],
        [sys.executable, "-m", "mypy", "credit_glm"],
    ],
    ids=["ruff", "ruff-format", "mypy"],
)
def test_static_checks_are_clean(command: list[str]) -> None:
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, check=False, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
