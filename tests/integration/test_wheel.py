"""The wheel as a user gets it: it holds the whole source tree, and installed into a fresh venv it
trains, evaluates and serves from an empty folder.

The wheel is built once per module from a snapshot of the files the image build copies
(``docker/Dockerfile``: pyproject.toml, README.md, conf/, credit_glm/), so building writes no
``build/`` or ``*.egg-info`` into the checkout. The venv is made with ``python -m venv`` and never
sees the checkout or an editable install: the test venv's editable finder would otherwise supply
any subpackage the wheel lacks (see ``../shared/NOTES.md``, "Packaging").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.conftest import free_port, http_call
from tests.conftest import REPO, cli_env

# what the image build copies before `pip wheel .`, and so all that building the wheel may read
BUILD_INPUTS = ("pyproject.toml", "README.md", "conf", "credit_glm")
PACKAGE = "credit_glm"
# a warning raised by setuptools' own code while it builds (e.g. "Package would be ignored")
SETUPTOOLS_WARNING = re.compile(r"/setuptools/\S+:\d+: \w*Warning: .*")
# pip resolves and installs the dependencies into the fresh venv (from its cache when warm)
INSTALL_TIMEOUT = 600.0
RUN_TIMEOUT = 300.0
READY_TIMEOUT = 120.0


@dataclass(frozen=True)
class Wheel:
    path: Path
    source: Path  # the snapshot of the tree it was built from
    build_log: str

    def names(self) -> set[str]:
        with zipfile.ZipFile(self.path) as zf:
            return {n for n in zf.namelist() if not n.endswith("/")}


@dataclass(frozen=True)
class Venv:
    root: Path
    python: Path
    site_packages: Path
    env: dict[str, str]

    def run(
        self, args: list[str], cwd: Path, timeout: float = RUN_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def snapshot_build_inputs(target: Path) -> Path:
    target.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in BUILD_INPUTS:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=skip)
        else:
            shutil.copy2(src, target / name)
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Wheel:
    work = tmp_path_factory.mktemp("wheel")
    source = snapshot_build_inputs(work / "src")
    out = work / "dist"
    # -v: pip shows the build backend's output, where setuptools prints its warnings
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-5000:]
    (path,) = out.glob("credit_glm-*.whl")
    return Wheel(path, source, log)


def expected_wheel_files(source: Path) -> set[str]:
    """Every file the wheel must hold, from a walk of the source tree: each module and data file
    of the package (every folder, so a subpackage missing from the packaging fails here) and
    each config YAML, which ships as ``credit_glm/conf/...``."""
    expected: set[str] = set()
    for path in (source / PACKAGE).rglob("*"):
        rel = path.relative_to(source)
        if path.is_file() and "__pycache__" not in rel.parts and path.suffix != ".pyc":
            expected.add(rel.as_posix())
    for path in (source / "conf").rglob("*.yaml"):
        expected.add(f"{PACKAGE}/conf/{path.relative_to(source / 'conf').as_posix()}")
    return expected


def test_wheel_holds_every_package_module_and_config(wheel: Wheel) -> None:
    expected = expected_wheel_files(wheel.source)
    packages = {Path(p).parent.as_posix() for p in expected if p.endswith("/__init__.py")}
    # the walk sees the parts whose absence broke the installed package, and the data files
    assert {f"{PACKAGE}/selection", f"{PACKAGE}/service", f"{PACKAGE}/datasets"} <= packages
    assert {
        f"{PACKAGE}/py.typed",
        f"{PACKAGE}/datasets/german_credit.csv",
        f"{PACKAGE}/datasets/README.md",
        f"{PACKAGE}/conf/config.yaml",
    } <= expected
    names = wheel.names()
    assert sorted(expected - names) == []
    dist_info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    assert {n.split("/")[0] for n in names} - dist_info == {PACKAGE}  # nothing else ships


def test_wheel_builds_without_setuptools_warnings(wheel: Wheel) -> None:
    assert SETUPTOOLS_WARNING.findall(wheel.build_log) == []


def test_wheel_declares_the_spdx_licence(wheel: Wheel) -> None:
    with zipfile.ZipFile(wheel.path) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        headers = zf.read(meta).decode().split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in headers


def _venv_env(root: Path) -> dict[str, str]:
    """The environment of a user who activated the venv: nothing of the test venv on the path."""
    env = {
        k: v
        for k, v in cli_env().items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    }
    env["VIRTUAL_ENV"] = str(root)
    env["PATH"] = os.pathsep.join([str(root / "bin"), env.get("PATH", "")])
    env["PYTHONNOUSERSITE"] = "1"  # a user site-packages could hold an editable install
    return env


def _editable_hooks(site_packages: Path) -> list[str]:
    """Editable installs leave ``__editable__*`` finders and ``.pth`` files naming a checkout."""
    hooks = [p.name for p in site_packages.iterdir() if p.name.startswith("__editable__")]
    hooks += [
        p.name
        for p in site_packages.glob("*.pth")
        if str(REPO) in p.read_text(encoding="utf-8", errors="replace")
    ]
    return hooks


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Wheel) -> Venv:
    """A fresh venv (no system site-packages) with the wheel installed, not editable, with its
    dependencies resolved by pip from the wheel's metadata."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    env = _venv_env(root)
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    fresh = Venv(root, python, Path(purelib), env)
    assert fresh.site_packages.is_relative_to(root)
    assert _editable_hooks(fresh.site_packages) == []
    install = fresh.run(
        ["-m", "pip", "install", str(wheel.path)], cwd=root, timeout=INSTALL_TIMEOUT
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    assert _editable_hooks(fresh.site_packages) == []
    return fresh


@pytest.mark.slow
def test_the_venv_sees_only_itself_and_the_standard_library(venv: Venv, tmp_path: Path) -> None:
    probe = venv.run(
        [
            "-c",
            "import json, sys, credit_glm.selection, credit_glm.service; "
            "from credit_glm.__main__ import config_dir; "
            "print(json.dumps({'path': sys.path, 'base': sys.base_prefix, "
            "'files': [credit_glm.selection.__file__, credit_glm.service.__file__, "
            "config_dir()]}))",
        ],
        cwd=tmp_path,
    )
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout)
    foreign = [
        p
        for p in seen["path"]
        if p
        and not Path(p).is_relative_to(venv.root)
        and (not Path(p).is_relative_to(seen["base"]) or "site-packages" in p)
    ]
    assert foreign == []
    assert all(Path(f).is_relative_to(venv.site_packages) for f in seen["files"]), seen["files"]
    direct_url = venv.run(
        [
            "-c",
            "from importlib.metadata import distribution as d; "
            "print(d('credit-glm').read_text('direct_url.json') or '{}')",
        ],
        cwd=tmp_path,
    )
    assert json.loads(direct_url.stdout).get("dir_info", {}).get("editable") is not True


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    port: int
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return int(self.proc.returncode)


def _ready(port: int) -> bool:
    try:
        return http_call(port, "GET", "/ready", timeout=2).status == 200
    except OSError:
        return False


@pytest.fixture
def start_service(venv: Venv, tmp_path: Path) -> Iterator[Callable[[Path], Service]]:
    """``python -m credit_glm mode=serve`` from the installed package, on a free port."""
    started: list[Service] = []

    def _start(cwd: Path) -> Service:
        last = ""
        for attempt in range(3):
            port = free_port()
            stderr = tmp_path / f"serve-{attempt}.err"
            args = [
                str(venv.python),
                "-m",
                PACKAGE,
                "mode=serve",
                f"serving.port={port}",
                "serving.admin_port=0",
                f"serving.metrics_dir={tmp_path / 'metrics'}",
                "hydra.run.dir=outputs/serve",
            ]
            with open(tmp_path / f"serve-{attempt}.out", "wb") as out, open(stderr, "wb") as err:
                proc = subprocess.Popen(args, cwd=cwd, env=venv.env, stdout=out, stderr=err)
            service = Service(proc, port, stderr)
            started.append(service)
            deadline = time.monotonic() + READY_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline:
                if _ready(port):
                    return service
                time.sleep(0.2)
            service.stop()
            last = service.log()
            if "in use" not in last:
                break
        raise AssertionError(f"the installed service did not become ready:\n{last[-5000:]}")

    yield _start
    for service in started:
        service.stop()


@pytest.mark.slow
def test_installed_wheel_trains_evaluates_and_serves_from_an_empty_folder(
    venv: Venv, tmp_path: Path, start_service: Callable[[Path], Service]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    train = venv.run(["-m", PACKAGE, "hydra.run.dir=outputs/train"], cwd=empty)
    assert train.returncode == 0, train.stderr[-5000:]
    card_path = empty / "models" / "glm_model.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))

    # a labelled file of the user's: the embedded data, written out by the installed package
    written = venv.run(
        [
            "-c",
            "import shutil, sys; from credit_glm.tables import resolve_path; "
            "shutil.copyfile(resolve_path('builtin://german_credit.csv'), sys.argv[1])",
            "labelled.csv",
        ],
        cwd=empty,
    )
    assert written.returncode == 0, written.stderr
    rows = len((empty / "labelled.csv").read_text(encoding="utf-8").splitlines()) - 1
    evaluate = venv.run(
        [
            "-m",
            PACKAGE,
            "mode=evaluate",
            "data.path=labelled.csv",
            "hydra.run.dir=outputs/evaluate",
        ],
        cwd=empty,
    )
    assert evaluate.returncode == 0, evaluate.stderr[-5000:]
    result = json.loads((empty / "outputs" / "evaluate" / "evaluation.json").read_text())
    assert (result["status"], result["model_sha256"], result["data"]["rows"]) == (
        "ok",
        card["model_sha256"],
        rows,
    )

    service = start_service(empty)
    body = json.dumps({"features": card["self_check"]["features"]}).encode()
    reply = http_call(service.port, "POST", "/predict", body, {"Content-Type": "application/json"})
    assert reply.status == 200, reply.body[:2000]
    scored = json.loads(reply.body)
    assert 0.0 < scored["probability_of_default"] < 1.0
    assert scored["model_version"] == card["model_version"]
    assert service.stop() == 0, service.log()[-5000:]
    assert "Traceback" not in service.log()
