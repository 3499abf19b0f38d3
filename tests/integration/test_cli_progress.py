"""The selection progress bar: drawn on a real terminal, never in a pipe or under CI.

The CLI runs as a real subprocess. "A terminal" is a pseudo-terminal from :mod:`pty` with a
window size (a pty without one has zero columns, into which tqdm draws nothing), as an
interactive shell would give it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.conftest import cli_env

pytestmark = pytest.mark.slow

# 211 subsets (sizes 0 to 2 of 20 features), five folds each: a few seconds at most
SEARCH = [
    "selection=exhaustive",
    "selection.criterion=cv_logloss",
    "selection.max_features=2",
    "verbose=false",
]
# "exhaustive:  42%|####    | 89/211 [00:01<00:01, 85.3subset/s]" (s/subset when slower than 1/s)
BAR = re.compile(
    r"exhaustive: +\d+%\|.*\| *\d+/211 \[\d\d:\d\d<\d\d:\d\d, *"
    r"[\d.]+(subset/s|s/subset)\]"
)


def _env(ci: bool) -> dict[str, str]:
    env = cli_env()
    if not ci:
        del env["CI"]
    return env


def _run_on_a_terminal(args: list[str], cwd: Path, ci: bool = False) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on one pty; its exit code and everything shown."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "credit_glm", *args],
        cwd=cwd,
        env=_env(ci),
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    shown = bytearray()
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end of the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
        code = proc.wait(timeout=300)
    return code, shown.decode("utf-8", errors="replace")


def test_a_bar_with_rate_and_time_left_on_a_terminal(tmp_path: Path) -> None:
    code, shown = _run_on_a_terminal(SEARCH, tmp_path)
    assert code == 0, shown
    assert BAR.search(shown), shown
    # the bar is blanked out before the run's account is printed
    assert re.search(r"\r +\rselection: exhaustive", shown), shown
    assert "promoted" in shown


def test_stepwise_reports_its_rounds(tmp_path: Path) -> None:
    code, shown = _run_on_a_terminal(["selection=forward", "verbose=false"], tmp_path)
    assert code == 0, shown
    assert re.search(r"forward: +\d+%\|.*\| *\d+/21 \[", shown), shown
    assert "round/s" in shown or "s/round" in shown


def test_no_bar_in_a_pipe(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "credit_glm", *SEARCH],
        cwd=tmp_path,
        env=_env(ci=False),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for stream in (result.stdout, result.stderr):
        assert "subset/s" not in stream and "\r" not in stream and "%|" not in stream
    assert "selection: exhaustive" in result.stdout


@pytest.mark.parametrize("args", [["CI set"], ["selection.progress=false"]])
def test_no_bar_under_ci_or_when_switched_off(args: list[str], tmp_path: Path) -> None:
    ci = args == ["CI set"]
    code, shown = _run_on_a_terminal(SEARCH + ([] if ci else args), tmp_path, ci=ci)
    assert code == 0, shown
    assert "%|" not in shown and "subset/s" not in shown
    assert "selection: exhaustive" in shown
