"""The README is executed: every shell command, YAML file and Python example in it runs here.

Each fenced block of README.md whose language is runnable (``bash``/``sh``/``shell``, ``yaml``,
``python``) carries a marker, an HTML comment on the line(s) just before its fence::

    <!-- readme-test: shell -->                      run every command of the block
    <!-- readme-test: skip-command match="REGEX" reason="..." -->
                                                     (after ``shell``) skip its commands matching
    <!-- readme-test: yaml path=my_conf/data/x.yaml -->   write the block to that path
    <!-- readme-test: python -->                     run the block as a script
    <!-- readme-test: skip reason="..." -->          do not run it, and say why

A runnable block without a marker, a marker without a block, a skip without a reason or a
``skip-command`` that matches nothing fails :func:`test_every_runnable_block_is_marked`, so a new
example cannot escape.

The blocks run in README order in one empty folder, as a reader would: the YAML files first, then
each command through ``bash`` and each script through this venv's ``python`` (first on ``PATH``,
``CI=true``). The folder holds what the README's prose assumes: ``data/applications.csv`` (the
example portfolio, ``tests/data/applications.csv``) and ``new_applications.csv`` (labelled rows of
the embedded German credit data).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import GERMAN_CSV, REPO, cli_env

README = REPO / "README.md"
EXAMPLE_DATA = REPO / "tests" / "data" / "applications.csv"
RUNNABLE = {
    "bash": "shell",
    "sh": "shell",
    "shell": "shell",
    "console": "shell",
    "yaml": "yaml",
    "yml": "yaml",
    "python": "python",
    "py": "python",
}
NOT_RUNNABLE = {"", "text"}
MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<body>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
COMMAND_TIMEOUT = 300


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    markers: list[dict[str, str]] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        return self.markers[0]["kind"] if self.markers else None

    def commands(self) -> list[str]:
        """The block's commands: comment and blank lines dropped, continuations joined."""
        out: list[str] = []
        pending = ""
        for raw in self.text.splitlines():
            line = raw.rstrip()
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            out.append(pending + line)
            pending = ""
        if pending:
            out.append(pending)
        return out

    def skipped(self, command: str) -> str | None:
        for marker in self.markers[1:]:
            if marker["kind"] == "skip-command" and re.search(marker["match"], command):
                return marker["reason"]
        return None


def _parse_marker(body: str) -> dict[str, str]:
    words = shlex.split(body)
    marker = {"kind": words[0] if words else ""}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        marker[key] = value if sep else ""
    return marker


def parse_readme(text: str) -> tuple[list[Block], list[str]]:
    """The fenced blocks with their markers, and the problems found while parsing."""
    lines = text.splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    pending: list[tuple[int, dict[str, str]]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = MARKER.match(line)
        if marker:
            pending.append((i + 1, _parse_marker(marker["body"])))
            i += 1
            continue
        fence = FENCE.match(line)
        if fence:
            close = fence["fence"]
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not lines[j].startswith(close):
                body.append(lines[j])
                j += 1
            info = fence["info"].strip().split()
            blocks.append(
                Block(
                    line=i + 1,
                    language=info[0].lower() if info else "",
                    text="\n".join(body) + "\n",
                    markers=[m for _, m in pending],
                )
            )
            pending = []
            i = j + 1
            continue
        for at, _ in pending:
            problems.append(f"README.md:{at}: a readme-test marker not directly before a fence")
        pending = []
        i += 1
    for at, _ in pending:
        problems.append(f"README.md:{at}: a readme-test marker at the end of the file")
    return blocks, problems


def marker_problems(block: Block) -> list[str]:
    where = f"README.md:{block.line} ({block.language or 'no language'} block)"
    if block.language not in RUNNABLE:
        if block.language not in NOT_RUNNABLE:
            return [f"{where}: unknown language; tag it bash, yaml, python or text"]
        return [f"{where}: markers on a block that is not run"] if block.markers else []
    if not block.markers:
        return [f"{where}: no readme-test marker (run it, or skip it with a reason)"]
    kind = block.kind
    expected = RUNNABLE[block.language]
    problems = []
    if kind == "skip":
        if not block.markers[0].get("reason"):
            problems.append(f'{where}: skip needs reason="..."')
    elif kind != expected:
        problems.append(f"{where}: marker {kind!r}, expected {expected!r} or skip")
    if kind == "yaml" and not block.markers[0].get("path"):
        problems.append(f"{where}: yaml needs path=...")
    for extra in block.markers[1:]:
        if extra["kind"] != "skip-command" or kind != "shell":
            problems.append(f"{where}: only skip-command may follow a shell marker")
        elif not extra.get("match") or not extra.get("reason"):
            problems.append(f'{where}: skip-command needs match="REGEX" and reason="..."')
        elif not any(re.search(extra["match"], c) for c in block.commands()):
            problems.append(f"{where}: skip-command match={extra['match']!r} matches no command")
    return problems


BLOCKS, PARSE_PROBLEMS = parse_readme(README.read_text(encoding="utf-8"))


def test_every_runnable_block_is_marked() -> None:
    problems = PARSE_PROBLEMS + [p for b in BLOCKS for p in marker_problems(b)]
    assert not problems, "\n".join(problems)


def test_the_parser_sees_the_readme_examples() -> None:
    kinds = [b.kind for b in BLOCKS if b.kind]
    assert {"shell", "yaml", "python", "skip"} <= set(kinds)
    assert any(
        "mode=evaluate data.path=new_applications.csv" in c
        for b in BLOCKS
        if b.kind == "shell"
        for c in b.commands()
    )


def test_a_block_without_a_marker_is_caught() -> None:
    blocks, _ = parse_readme("text\n\n```bash\npython -m credit_glm\n```\n")
    assert marker_problems(blocks[0]) and "no readme-test marker" in marker_problems(blocks[0])[0]
    blocks, problems = parse_readme("<!-- readme-test: shell -->\n\n```sh\nls\n```\n")
    assert problems and "not directly before a fence" in problems[0]
    blocks, _ = parse_readme(
        "<!-- readme-test: shell -->\n<!-- readme-test: skip-command "
        'match="^docker " reason="x" -->\n```bash\nls \\\n  -l\n```\n'
    )
    assert blocks[0].commands() == ["ls    -l"]
    assert "matches no command" in marker_problems(blocks[0])[0]


# ---------------------------------------------------------------------------------------------
# running them
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    block: Block
    command: str  # the shell command, or the script for a python block

    @property
    def id(self) -> str:
        first = self.command.strip().splitlines()[0] if self.command.strip() else ""
        if RUNNABLE.get(self.block.language) == "shell":
            first = first.split(" #")[0]
        first = " ".join(first.split())
        return f"L{self.block.line}:{self.block.kind}:{first[:70]}"


def _steps() -> list[Step]:
    steps = []
    for block in BLOCKS:
        if block.kind == "shell":
            steps += [Step(block, c) for c in block.commands()]
        elif block.kind in ("python", "skip"):
            steps.append(Step(block, block.text))
    return steps


STEPS = _steps()


def _env() -> dict[str, str]:
    env = cli_env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty folder with the files the README's prose assumes, and its YAML files."""
    work = tmp_path_factory.mktemp("readme")
    (work / "data").mkdir()
    shutil.copyfile(EXAMPLE_DATA, work / "data" / "applications.csv")
    german = GERMAN_CSV.read_text(encoding="utf-8").splitlines()
    (work / "new_applications.csv").write_text("\n".join(german[:301]) + "\n", encoding="utf-8")
    for block in BLOCKS:
        if block.kind == "yaml":
            yaml.safe_load(block.text)  # a YAML example that does not parse fails here
            target = work / block.markers[0]["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
    yield work


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS, ids=[s.id for s in STEPS])
def test_readme_example_runs(step: Step, workdir: Path) -> None:
    reason = (
        step.block.markers[0]["reason"]
        if step.block.kind == "skip"
        else step.block.skipped(step.command)
        if step.block.kind == "shell"
        else None
    )
    if reason:
        pytest.skip(f"README.md:{step.block.line}: {reason}")
    if step.block.kind == "python":
        script = workdir / f"readme_example_{step.block.line}.py"
        script.write_text(step.command, encoding="utf-8")
        argv = [sys.executable, str(script)]
    else:
        argv = ["bash", "-o", "pipefail", "-c", step.command]
    start = time.perf_counter()
    result = subprocess.run(
        argv,
        cwd=workdir,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, (
        f"README.md:{step.block.line}: `{step.command.strip()}` exited {result.returncode} "
        f"after {elapsed:.1f} s\n--- stdout (tail)\n{result.stdout[-3000:]}\n"
        f"--- stderr (tail)\n{result.stderr[-3000:]}"
    )
    assert "Traceback" not in result.stderr
