"""The image and the Kubernetes manifests agree with the package, and pass their linters."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from credit_glm.__main__ import config_dir
from credit_glm.cli import to_app_config
from credit_glm.config import AppConfig, Mode
from tests.conftest import REPO

DOCKERFILE = REPO / "docker" / "Dockerfile"
K8S_VERSION = "1.33.0"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _one(word: str) -> str:
    found = [rest for w, rest in _instructions() if w == word]
    assert found, f"no {word} in the Dockerfile"
    return found[-1]


def _compose_pinned(args: list[str], serving_yaml: Path, tmp_path: Path) -> AppConfig:
    """Compose what the container command composes, with the pinned serving file in place."""
    conf = tmp_path / "etc" / "serving"
    conf.mkdir(parents=True)
    shutil.copy(serving_yaml, conf / "pinned.yaml")
    overrides = [a for a in args if not a.startswith("--config-dir") and not a.startswith("hydra.")]
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            # --config-dir adds the directory to the search path, as the CLI flag does
            cfg = compose(config_name="config",
                          overrides=[*overrides, f"hydra.searchpath=[file://{conf.parent}]"])
        return to_app_config(cfg)
    finally:
        GlobalHydra.instance().clear()


def _k8s(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "k8s" / name).read_text())
    assert isinstance(doc, dict)
    return doc


def test_hadolint_passes() -> None:
    result = subprocess.run([str(Path(sys.executable).parent / "hadolint"), str(DOCKERFILE)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifests_validate_against_kubernetes_schemas() -> None:
    tool = str(Path(sys.executable).parent / "kubernetes-validate")
    files = sorted(str(p) for p in (REPO / "k8s").glob("*.yaml"))
    result = subprocess.run([tool, "--strict", "-k", K8S_VERSION, *files],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    kustomization = yaml.safe_load((REPO / "k8s" / "Kustomization").read_text())
    assert sorted(kustomization["resources"]) == sorted(Path(f).name for f in files)


def test_image_command_port_and_paths_agree_with_the_package(tmp_path: Path) -> None:
    cmd = json.loads(_one("CMD"))
    assert cmd[:3] == ["python", "-m", "credit_glm"]
    serving_yaml = REPO / "docker" / "serving.yaml"
    app = _compose_pinned(cmd[3:], serving_yaml, tmp_path)
    assert app.mode is Mode.serve
    assert _one("EXPOSE") == str(app.serving.port)
    copies = {rest.split()[-1] for w, rest in _instructions() if w == "COPY"}
    assert app.serving.model_path in copies, "the model card is copied where serving loads it"
    assert "/etc/credit-glm/serving/pinned.yaml" in copies
    assert "/health" in _one("HEALTHCHECK")
    assert str(app.serving.port) in _one("HEALTHCHECK")
    user = _one("USER").split(":")[0]
    assert int(user) > 10000
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert f"credit-glm=={version}" in DOCKERFILE.read_text()


def test_deployment_matches_image_and_pinned_config(tmp_path: Path) -> None:
    deployment = _k8s("deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] + container["args"] == json.loads(_one("CMD"))
    configmap = _k8s("configmap.yaml")
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(configmap["data"]["pinned.yaml"])
    app = _compose_pinned(container["args"], pinned, tmp_path)
    assert container["ports"][0]["containerPort"] == app.serving.port
    assert app.serving.expected_model_sha256 and app.serving.model_version
    # gunicorn workers match the CPU limit; the grace period outlasts drain + graceful timeout
    assert app.serving.workers == int(container["resources"]["limits"]["cpu"])
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > pre_stop + app.serving.drain_seconds + app.serving.graceful_timeout
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/tmp", app.serving.metrics_dir, "/etc/credit-glm/serving"} <= mounts
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PROMETHEUS_MULTIPROC_DIR"] == app.serving.metrics_dir
    hpa = _k8s("hpa.yaml")
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] > 0


@pytest.mark.slow
def test_pinned_hash_is_the_default_models(trained_dir: Path) -> None:
    """The ConfigMap pins the model the default config trains (training is deterministic)."""
    card = json.loads((trained_dir / "models" / "glm_model.json").read_text())
    pinned = yaml.safe_load(_k8s("configmap.yaml")["data"]["pinned.yaml"])
    lock = (REPO / "docker" / "requirements.lock").read_text()
    libs = card["libraries"]
    same_stack = all(f"{name}=={libs[name]}" in lock for name in ("numpy", "scipy", "statsmodels",
                                                                    "pandas"))
    if not same_stack:
        pytest.skip(f"libraries differ from docker/requirements.lock ({libs}); the pin is for "
                    "the image's stack")
    assert pinned["expected_model_sha256"] == card["model_sha256"]
    assert pinned["model_version"] == card["model_version"]
