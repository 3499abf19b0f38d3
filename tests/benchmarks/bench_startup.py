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

Wall times stretch on a busy machine; the CPU time of each command (for (c): of the server's
process tree when ``/ready`` first answers) is printed next to it and moves much less.

Usage::

    python tests/benchmarks/bench_startup.py [--runs 7] [--no-serve] [--variant NAME=DIR ...]

``--variant NAME=DIR`` also times (b) and (c) with the ``credit_glm`` package found in ``DIR``
first on ``PYTHONPATH`` (e.g. ``git archive main | tar -x -C DIR``), in the same rounds: a
before/after in one run.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
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


def _env(source: Path | None = None) -> dict[str, str]:
    """The environment of a run; ``source``: a tree whose ``credit_glm`` runs instead of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return env


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], cwd: Path, source: Path | None = None) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``cmd``."""
    cpu0, t0 = _cpu_children(), time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=_env(source), check=True, capture_output=True)
    return time.perf_counter() - t0, _cpu_children() - cpu0


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its live descendants, from ``/proc`` (Linux);
    NaN where ``/proc`` is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [
            int(c)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for c in (task / "children").read_text().split()
        ]
    except OSError:
        return math.nan
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after the name
    own = sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return own + sum(_tree_cpu(c) for c in children)


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


def _serve_until_ready(
    card: Path, work: Path, source: Path | None = None, timeout: float = 60.0
) -> tuple[float, float]:
    """Wall time until ``/ready`` answers 200, and the server's CPU time (its process tree) then."""
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
        proc = subprocess.Popen(
            cmd, cwd=work, env=_env(source), stdout=out, stderr=subprocess.STDOUT
        )
        try:
            while not _ready(port):
                if proc.poll() is not None or time.perf_counter() - t0 > timeout:
                    raise RuntimeError("the server did not become ready:\n" + log.read_text())
                time.sleep(0.005)
            elapsed = time.perf_counter() - t0
            used = _tree_cpu(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return elapsed, used


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
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also time (b) and (c) with the credit_glm package of DIR first on PYTHONPATH "
        "(e.g. `git archive main | tar -x -C DIR`), in the same rounds",
    )
    args = parser.parse_args()
    variants: list[tuple[str, Path | None]] = [("this tree", None)]
    for item in args.variant:
        name, _, directory = item.partition("=")
        variants.append((name, Path(directory).resolve()))

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        app = work / "minimal_app.py"
        app.write_text(textwrap.dedent(MINIMAL_APP.format(conf=str(ROOT / "conf"))))
        floor_cmd = [sys.executable, str(app), "--cfg", "job"]
        cfg_cmd = [sys.executable, "-m", "credit_glm", "--cfg", "job"]
        card = None if args.no_serve else _train(work)

        load_before = os.getloadavg()[0]
        wall: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        for round_no in range(args.runs + 1):  # round 0 warms the page cache, untimed
            runs = {"(a) minimal Hydra app --cfg job (floor)": _timed(floor_cmd, work)}
            for name, source in variants:
                runs[f"(b) python -m credit_glm --cfg job [{name}]"] = _timed(cfg_cmd, work, source)
                if card is not None:
                    runs[f"(c) mode=serve until /ready [{name}]"] = _serve_until_ready(
                        card, work, source
                    )
            if round_no:
                for key, (seconds, used) in runs.items():
                    wall.setdefault(key, []).append(seconds)
                    cpu.setdefault(key, []).append(used)
        load_after = os.getloadavg()[0]

    print(
        f"python {sys.version.split()[0]}, {args.runs} rounds (+1 warm-up), {os.cpu_count()} "
        f"CPUs, load average {load_before:.1f} before and {load_after:.1f} after (a busy "
        "machine stretches wall times: compare the ratios, and the CPU times)"
    )
    floor_key = next(iter(wall))
    floor = statistics.median(wall[floor_key])
    floor_cpu = statistics.median(cpu[floor_key])
    for key, values in wall.items():
        med = statistics.median(values)
        used = statistics.median(cpu[key])
        line = f"{key:<52} median {med:6.3f} s (min {min(values):.3f}, max {max(values):.3f})"
        if key != floor_key:
            target = 1.5 if key.startswith("(b)") else 3.0
            line += f"  {med / floor:5.2f}x the floor (target <= {target}x)"
        if not math.isnan(used):
            line += f"; CPU {used:.3f} s = {used / floor_cpu:.2f}x"
        print(line)
    print("heavy packages each entry point imports:")
    for module in ENTRY_POINTS:
        print(f"  {module:<28} {' '.join(_heavy_imports(module)) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
