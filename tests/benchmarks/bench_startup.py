"""Start-up wall time of the command line and the service against a minimal Hydra app (not a test).

Three commands, each a fresh interpreter, timed with :func:`time.perf_counter` around
:mod:`subprocess` in alternating rounds so that all three see the same machine:

(a) the floor: a minimal Hydra app written to a temporary directory, ``@hydra.main`` over the
    SAME ``conf/`` tree (its schema nodes registered as empty, untyped ones), run with
    ``--cfg job``: Hydra, omegaconf and the YAML, nothing of credit_glm;
(b) ``python -m credit_glm --cfg job`` (target: at most 1.5x the floor);
(c) ``python -m credit_glm mode=serve`` on a model trained first into a temporary directory,
    timed until ``GET /ready`` answers 200 (target: at most 3x the floor), then stopped with
    SIGTERM (its shutdown is not timed).

Each figure is the median of ``--runs`` rounds after one untimed warm-up round (the page cache
then holds the files, as on a machine that has started the program before). The script also
names the heavy packages each entry point imports (a fresh ``python -c "import ..."``), so a
slow start-up can be traced to the import that costs it (``python -X importtime`` for detail).

Usage::

    python tests/benchmarks/bench_startup.py [--runs 7] [--no-serve]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("statsmodels", "scipy.stats", "scipy", "pandera", "pandas", "joblib", "flask", "numpy")
ENTRY_POINTS = (
    "credit_glm",
    "credit_glm.cli",
    "credit_glm.__main__",
    "credit_glm.service.server",
    "credit_glm.service.app",
    "credit_glm.service.model",
)

# The floor: Hydra composing the same YAML tree. The primary config and every group option
# name a schema node first in their defaults lists (``base_config``, ``<group>/base_<group>``);
# here those nodes are empty, so nothing but Hydra, omegaconf and the YAML is loaded.
MINIMAL_APP = """
import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig

cs = ConfigStore.instance()
cs.store(name="base_config", node={{}})
for group in ("data", "features", "selection", "glm", "split", "evaluation", "serving"):
    cs.store(group=group, name=f"base_{{group}}", node={{}})


@hydra.main(version_base="1.3", config_path={conf!r}, config_name="config")
def main(cfg: DictConfig) -> None:
    pass


if __name__ == "__main__":
    main()
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def _timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=_env(), check=True, capture_output=True)
    return time.perf_counter() - t0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as reply:
            return bool(reply.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _serve_until_ready(card: Path, work: Path, timeout: float = 60.0) -> float:
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "credit_glm",
        "mode=serve",
        f"serving.port={port}",
        f"serving.model_path={card}",
        f"serving.metrics_dir={work / 'metrics'}",
        "serving.admin_port=0",
        "serving.drain_seconds=0",
        f"hydra.run.dir={work / 'outputs'}",
    ]
    log = work / "serve.log"
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work, env=_env(), stdout=out, stderr=subprocess.STDOUT)
        try:
            while not _ready(port):
                if proc.poll() is not None or time.perf_counter() - t0 > timeout:
                    raise RuntimeError("the server did not become ready:\n" + log.read_text())
                time.sleep(0.005)
            elapsed = time.perf_counter() - t0
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return elapsed


def _train(work: Path) -> Path:
    models = work / "models"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "credit_glm",
            f"paths.models_dir={models}",
            f"hydra.run.dir={work / 'train'}",
            "verbose=false",
        ],
        cwd=work,
        env=_env(),
        check=True,
        capture_output=True,
    )
    return models / "glm_model.json"


def _heavy_imports(module: str) -> list[str]:
    code = f"import sys; import {module}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(), check=True, capture_output=True, text=True
    )
    return out.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-serve", action="store_true", help="skip (c), mode=serve")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        app = work / "minimal_app.py"
        app.write_text(textwrap.dedent(MINIMAL_APP.format(conf=str(ROOT / "conf"))))
        floor_cmd = [sys.executable, str(app), "--cfg", "job"]
        cfg_cmd = [sys.executable, "-m", "credit_glm", "--cfg", "job"]
        card = None if args.no_serve else _train(work)

        times: dict[str, list[float]] = {"floor": [], "cfg_job": [], "serve": []}
        for round_no in range(args.runs + 1):  # round 0 warms the page cache, untimed
            floor = _timed(floor_cmd, work)
            cfg = _timed(cfg_cmd, work)
            serve = None if card is None else _serve_until_ready(card, work)
            if round_no:
                times["floor"].append(floor)
                times["cfg_job"].append(cfg)
                if serve is not None:
                    times["serve"].append(serve)

    def show(name: str, values: list[float]) -> float:
        med = statistics.median(values)
        print(f"{name:<44} median {med:6.3f} s  (min {min(values):.3f}, max {max(values):.3f})")
        return med

    print(
        f"python {sys.version.split()[0]}, {args.runs} rounds (+1 warm-up), {os.cpu_count()} CPUs"
    )
    floor_med = show("(a) minimal Hydra app --cfg job (floor)", times["floor"])
    cfg_med = show("(b) python -m credit_glm --cfg job", times["cfg_job"])
    print(f"    ratio (b)/(a) = {cfg_med / floor_med:.2f}x   (target <= 1.5x)")
    if times["serve"]:
        serve_med = show("(c) python -m credit_glm mode=serve → /ready", times["serve"])
        print(f"    ratio (c)/(a) = {serve_med / floor_med:.2f}x   (target <= 3x)")
    print("heavy packages each entry point imports:")
    for module in ENTRY_POINTS:
        print(f"  {module:<28} {' '.join(_heavy_imports(module)) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
