"""schemathesis, driven by the served ``/openapi.json``, finds no 5xx and no response that
breaks the document (status codes, content types, headers, bodies; valid data accepted,
invalid data rejected)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import Server

pytestmark = pytest.mark.slow


def test_schemathesis_finds_no_failure(server: Server, tmp_path: Path) -> None:
    cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not Path(cli).exists():
        pytest.fail("schemathesis is not installed (pip install 'credit-glm[test]')")
    result = subprocess.run(
        [
            cli,
            "run",
            f"{server.base}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "40",
            "--seed",
            "20261124",
            "--workers",
            "2",
            "--generation-database",
            "none",
            "--no-color",
            "--request-timeout",
            "30",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    last = server.call("GET", "/health").headers["x-request-id"]
    statuses = {line["status"] for line in server.request_log(expect=[last])}
    assert not any(s >= 500 for s in statuses)
