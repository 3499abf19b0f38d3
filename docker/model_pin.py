"""Write the deployment's model pin from a model card: ``k8s/model-pin.env``.

    python docker/model_pin.py models/glm_model.json > k8s/model-pin.env
    podman run --rm --entrypoint cat IMAGE /app/models/glm_model.json \\
        | python docker/model_pin.py - > k8s/model-pin.env

The pin is never committed: it is generated from the card the image ships, because
``model_sha256`` identifies one trained artifact (its float coefficients may differ in the last
bits on another machine). ``k8s/Kustomization``'s ``configMapGenerator`` turns the file into the
``credit-glm-model-pin`` ConfigMap; the Deployment injects it with ``envFrom`` and the pinned
serving config reads ``${oc.env:CREDIT_GLM_EXPECTED_MODEL_SHA256}`` and
``${oc.env:CREDIT_GLM_EXPECTED_MODEL_VERSION}``, so a pod whose image holds any other model
refuses to start. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

# serving key pinned -> (environment variable, card field)
PIN_ENV = {
    "expected_model_sha256": ("CREDIT_GLM_EXPECTED_MODEL_SHA256", "model_sha256"),
    "model_version": ("CREDIT_GLM_EXPECTED_MODEL_VERSION", "model_version"),
}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_VERSION = re.compile(r"\S+")


class PinError(ValueError):
    """The card cannot be pinned: the message names the field and the rule."""


def pin_lines(card: Any, source: str) -> list[str]:
    """The ``KEY=VALUE`` lines of the pin for ``card`` (read from ``source``)."""
    if not isinstance(card, dict):
        raise PinError(f"{source}: a model card is a JSON object")
    sha = card.get("model_sha256")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise PinError(
            f"{source}: field model_sha256 must be 64 lowercase hexadecimal characters, got {sha!r}"
        )
    version = card.get("model_version")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise PinError(
            f"{source}: field model_version must be a non-empty string without "
            f"spaces, got {version!r}"
        )
    values = {"model_sha256": sha, "model_version": version}
    return [f"{env}={values[field]}" for env, field in PIN_ENV.values()]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python docker/model_pin.py CARD.json|-  > k8s/model-pin.env", file=sys.stderr)
        return 2
    source = argv[0]
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as err:
        print(f"error: cannot read model card {source!r}: {err.strerror or err}", file=sys.stderr)
        return 2
    try:
        card = json.loads(text)
    except json.JSONDecodeError as err:
        print(f"error: {source}: not JSON ({err.msg} at line {err.lineno})", file=sys.stderr)
        return 2
    try:
        lines = pin_lines(card, source)
    except PinError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # no comment lines: the file is read by kustomize's env loader and by `podman --env-file`
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
