"""The image and the Kubernetes manifests agree with the package, and pass their linters."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from credit_glm.__main__ import config_dir
from credit_glm.cli import to_app_config
from credit_glm.config import AppConfig, Mode
from tests.conftest import REPO

DOCKERFILE = REPO / "docker" / "Dockerfile"
K8S_VERSION = "1.33.0"
PIN_SCRIPT = REPO / "docker" / "model_pin.py"
PIN_FILE = "model-pin.env"
PIN_KEYS = {
    "CREDIT_GLM_EXPECTED_MODEL_SHA256": "model_sha256",
    "CREDIT_GLM_EXPECTED_MODEL_VERSION": "model_version",
}
KUBECTL = shutil.which("kubectl")


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
            cfg = compose(
                config_name="config",
                overrides=[*overrides, f"hydra.searchpath=[file://{conf.parent}]"],
            )
        return to_app_config(cfg)
    finally:
        GlobalHydra.instance().clear()


def _k8s(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "k8s" / name).read_text())
    assert isinstance(doc, dict)
    return doc


@dataclass
class Rendered:
    """What ``kubectl apply -k k8s/`` applies, with a model pin written into ``k8s/``."""

    docs: list[dict[str, Any]]
    pin: dict[str, str]  # the generated pin ConfigMap's data
    pinned_yaml: str  # the serving ConfigMap's pinned.yaml
    pod: dict[str, Any]
    container: dict[str, Any]
    rendered_by: str

    @property
    def plain_env(self) -> dict[str, str]:
        return {e["name"]: e["value"] for e in self.container.get("env", [])}


def container_args(container: dict[str, Any]) -> list[str]:
    return list(container["args"])


def _env_file_data(text: str) -> dict[str, str]:
    data = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"not KEY=VALUE: {line!r}"
            data[key.strip()] = value
    return data


def _kustomize_by_hand(k8s: Path) -> list[dict[str, Any]]:
    """The slice of kustomize this directory uses (resources, and configMapGenerator from env
    files, without the name's hash suffix), for a machine without kubectl."""
    kustomization = yaml.safe_load((k8s / "Kustomization").read_text())
    docs = [yaml.safe_load((k8s / r).read_text()) for r in kustomization["resources"]]
    for gen in kustomization.get("configMapGenerator", []):
        data: dict[str, str] = {}
        for env in gen.get("envs", []):
            data.update(_env_file_data((k8s / env).read_text()))
        labels = gen.get("options", {}).get("labels", {})
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": gen["name"], "labels": labels},
                "data": data,
            }
        )
    return docs


def render_deployment(work: Path, pin_env: str) -> Rendered:
    """Copy ``k8s/`` to ``work``, write ``pin_env`` as its model pin and render it: with
    ``kubectl kustomize`` where kubectl is installed, else by :func:`_kustomize_by_hand`."""
    k8s = work / "k8s"
    shutil.copytree(REPO / "k8s", k8s, ignore=shutil.ignore_patterns(PIN_FILE))
    (k8s / PIN_FILE).write_text(pin_env)
    if KUBECTL is not None:
        result = subprocess.run(
            [KUBECTL, "kustomize", str(k8s)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        docs = [d for d in yaml.safe_load_all(result.stdout) if d]
        by = "kubectl kustomize"
    else:
        docs = _kustomize_by_hand(k8s)
        by = "by hand (no kubectl)"
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    refs = [e["configMapRef"]["name"] for e in container.get("envFrom", [])]
    assert len(refs) == 1 and refs[0] in maps, f"envFrom {refs} names no rendered ConfigMap"
    volumes = {v["name"]: v for v in pod["volumes"]}
    serving = volumes["serving-config"]["configMap"]["name"]
    return Rendered(
        docs=docs,
        pin=dict(maps[refs[0]]["data"]),
        pinned_yaml=maps[serving]["data"]["pinned.yaml"],
        pod=pod,
        container=container,
        rendered_by=by,
    )


def write_pin(card: dict[str, Any], tmp_path: Path) -> str:
    """``python docker/model_pin.py CARD``: the pin file's text."""
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card))
    result = subprocess.run(
        [sys.executable, str(PIN_SCRIPT), str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _made_up_card() -> dict[str, Any]:
    """A card's pinned fields, made up here (the deployment files do not depend on them)."""
    digest = hashlib.sha256(b"any model").hexdigest()
    return {"model_sha256": digest, "model_version": f"german_credit-{digest[:12]}"}


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "hadolint"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifests_validate_against_kubernetes_schemas() -> None:
    tool = str(Path(sys.executable).parent / "kubernetes-validate")
    files = sorted(str(p) for p in (REPO / "k8s").glob("*.yaml"))
    result = subprocess.run(
        [tool, "--strict", "-k", K8S_VERSION, *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    kustomization = yaml.safe_load((REPO / "k8s" / "Kustomization").read_text())
    assert sorted(kustomization["resources"]) == sorted(Path(f).name for f in files)


def test_rendered_kustomization_validates_with_the_generated_pin(tmp_path: Path) -> None:
    """What ``kubectl apply -k k8s/`` applies once the pin is written, generated objects
    included, passes the Kubernetes schemas."""
    rendered = render_deployment(tmp_path, write_pin(_made_up_card(), tmp_path))
    files = []
    for i, doc in enumerate(rendered.docs):
        path = tmp_path / f"rendered-{i}.yaml"
        path.write_text(yaml.safe_dump(doc))
        files.append(str(path))
    tool = str(Path(sys.executable).parent / "kubernetes-validate")
    result = subprocess.run(
        [tool, "--strict", "-k", K8S_VERSION, *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = sorted(d["kind"] for d in rendered.docs)
    assert kinds.count("ConfigMap") == 2, kinds


def test_image_command_port_and_paths_agree_with_the_package(tmp_path: Path) -> None:
    cmd = json.loads(_one("CMD"))
    assert cmd[:3] == ["python", "-m", "credit_glm"]
    serving_yaml = REPO / "docker" / "serving.yaml"
    app = _compose_pinned(cmd[3:], serving_yaml, tmp_path)
    assert app.mode is Mode.serve
    assert str(app.serving.port) in _one("EXPOSE").split()
    copies = {rest.split()[-1] for w, rest in _instructions() if w == "COPY"}
    assert app.serving.model_path in copies, "the model card is copied where serving loads it"
    assert "/etc/credit-glm/serving/pinned.yaml" in copies
    assert "/health" in _one("HEALTHCHECK")
    assert str(app.serving.port) in _one("HEALTHCHECK")
    user = _one("USER").split(":")[0]
    assert int(user) > 10000
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert f"credit-glm=={version}" in DOCKERFILE.read_text()


def test_the_lock_pins_every_dependency_of_the_package() -> None:
    """The image installs the lock's wheels with no index: a dependency pyproject.toml declares
    and the lock lacks fails the image build (tests/integration/test_container.py); this says
    so without podman."""
    pins = {}
    for line in (REPO / "docker" / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.strip().partition("==")
            assert sep, f"docker/requirements.lock: {line!r} is not NAME==VERSION"
            pins[canonicalize_name(name)] = version
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for declared in project["dependencies"]:
        req = Requirement(declared)
        name = canonicalize_name(req.name)
        assert name in pins, (
            f"docker/requirements.lock lacks {req.name} ({declared}): "
            "regenerate it as its header says"
        )
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"docker/requirements.lock pins {req.name}=={pins[name]}, pyproject wants {declared}"
        )


def test_deployment_matches_image_and_pinned_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = _made_up_card()
    rendered = render_deployment(tmp_path, write_pin(card, tmp_path))
    pod, container = rendered.pod, rendered.container
    assert container["command"] + container["args"] == json.loads(_one("CMD"))
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(rendered.pinned_yaml)
    for name, value in {**rendered.pin, **rendered.plain_env}.items():
        monkeypatch.setenv(name, value)  # as envFrom and env put them in the container
    app = _compose_pinned(container["args"], pinned, tmp_path)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": app.serving.port, "admin": app.serving.admin_port}
    assert app.serving.admin_host == "0.0.0.0"  # Prometheus scrapes the pod's address
    annotations = _k8s("deployment.yaml")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(app.serving.admin_port)
    assert annotations["prometheus.io/path"] == "/metrics"
    assert app.serving.expected_model_sha256 == card["model_sha256"]
    assert app.serving.model_version == card["model_version"]
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
def test_the_deployment_pins_the_card_trained_here(
    trained_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pin is generated from the card (on any machine): the config the pods compose
    requires exactly the card's model_sha256 and model_version."""
    card = json.loads((trained_dir / "models" / "glm_model.json").read_text())
    rendered = render_deployment(tmp_path, write_pin(card, tmp_path))
    assert rendered.pin == {env: card[field] for env, field in PIN_KEYS.items()}
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(rendered.pinned_yaml)
    for name, value in rendered.pin.items():
        monkeypatch.setenv(name, value)
    app = _compose_pinned(rendered.container["args"], pinned, tmp_path)
    assert app.serving.expected_model_sha256 == card["model_sha256"]
    assert app.serving.model_version == card["model_version"]


def test_no_model_pin_is_committed() -> None:
    """A hash over float coefficients identifies one artifact: the repository pins none."""
    sha = re.compile(r"\b[0-9a-f]{64}\b")
    for path in [*sorted((REPO / "k8s").glob("*")), REPO / "docker" / "serving.yaml"]:
        if path.is_file() and path.name != PIN_FILE:
            assert not sha.search(path.read_text()), f"{path} pins a model hash"
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--", f"k8s/{PIN_FILE}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tracked.stdout.strip() == ""
    ignored = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "-q", f"k8s/{PIN_FILE}"], check=False
    )
    assert ignored.returncode == 0, f"k8s/{PIN_FILE} is not in .gitignore"


def test_the_image_config_is_pinned_only_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cmd = json.loads(_one("CMD"))
    serving_yaml = REPO / "docker" / "serving.yaml"
    for name in PIN_KEYS:
        monkeypatch.delenv(name, raising=False)
    app = _compose_pinned(cmd[3:], serving_yaml, tmp_path / "unpinned")
    assert app.serving.expected_model_sha256 is None and app.serving.model_version is None
    card = _made_up_card()
    for name, field in PIN_KEYS.items():
        monkeypatch.setenv(name, card[field])
    app = _compose_pinned(cmd[3:], serving_yaml, tmp_path / "pinned")
    assert app.serving.expected_model_sha256 == card["model_sha256"]
    assert app.serving.model_version == card["model_version"]


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ({"model_version": "v"}, "field model_sha256 must be 64 lowercase hexadecimal"),
        ({"model_sha256": "A" * 64, "model_version": "v"}, "field model_sha256 must be 64"),
        ({"model_sha256": "a" * 64}, "field model_version must be a non-empty string"),
        ({"model_sha256": "a" * 64, "model_version": "two words"}, "without spaces"),
        ([], "a model card is a JSON object"),
    ],
)
def test_the_pin_script_refuses_a_card_it_cannot_pin(
    card: Any, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card))
    result = subprocess.run(
        [sys.executable, str(PIN_SCRIPT), str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and message in line and str(path) in line


def test_the_pin_script_refuses_a_missing_or_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    for path, message in ((tmp_path / "none.json", "cannot read model card"), (broken, "not JSON")):
        result = subprocess.run(
            [sys.executable, str(PIN_SCRIPT), str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 2
        (line,) = result.stderr.splitlines()
        assert message in line and str(path) in line


def test_service_and_network_policy_keep_the_admin_port_internal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Service routes the scoring port only; the NetworkPolicy opens the scoring port to
    all and the admin port (metrics, the full card) to Prometheus pods alone; the image's
    pinned config and the ConfigMap's agree on both ports."""
    deployment = _k8s("deployment.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    service = _k8s("service.yaml")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    policy = _k8s("networkpolicy.yaml")
    assert (
        policy["spec"]["podSelector"]["matchLabels"]
        == deployment["spec"]["selector"]["matchLabels"]
    )
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    rules = {p["port"]: rule for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert set(rules) == set(named)
    assert "from" not in rules["http"]
    (source,) = rules["admin"]["from"]
    assert source["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    configmap = tmp_path / "configmap.yaml"
    configmap.write_text(_k8s("configmap.yaml")["data"]["pinned.yaml"])
    monkeypatch.setenv("CREDIT_GLM_EXPECTED_MODEL_SHA256", "0" * 64)
    monkeypatch.setenv("CREDIT_GLM_EXPECTED_MODEL_VERSION", "pinned")
    cmd = json.loads(_one("CMD"))
    in_image = _compose_pinned(cmd[3:], REPO / "docker" / "serving.yaml", tmp_path / "i")
    in_cluster = _compose_pinned(container["args"], configmap, tmp_path / "k")
    for app in (in_image, in_cluster):
        assert (app.serving.port, app.serving.admin_port) == (named["http"], named["admin"])


def test_image_exposes_the_admin_port(tmp_path: Path) -> None:
    cmd = json.loads(_one("CMD"))
    app = _compose_pinned(cmd[3:], REPO / "docker" / "serving.yaml", tmp_path)
    assert set(_one("EXPOSE").split()) == {str(app.serving.port), str(app.serving.admin_port)}
