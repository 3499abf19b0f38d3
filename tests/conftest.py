"""Shared fixtures: composed configs, the real CLI as a subprocess, one trained model."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from credit_glm.__main__ import config_dir
from credit_glm.cli import to_app_config
from credit_glm.config import AppConfig, register_configs
from credit_glm.tables import resolve_path

REPO = Path(__file__).resolve().parents[1]
GERMAN_CSV = resolve_path("builtin://german_credit.csv")

register_configs()


def compose_config(overrides: list[str] | None = None) -> AppConfig:
    """The typed config ``python -m credit_glm <overrides>`` would run with."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides or [])
        return to_app_config(cfg)
    finally:
        GlobalHydra.instance().clear()


@pytest.fixture
def app_config() -> AppConfig:
    return compose_config()


@pytest.fixture(scope="session")
def german_frame() -> pd.DataFrame:
    return pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False, na_values=[""])


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["CI"] = "true"
    return env


def run_cli(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m credit_glm ARGS`` in ``cwd`` as a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "credit_glm", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), tmp_path)

    return _run


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory where ``python -m credit_glm`` has trained the default model once."""
    work = tmp_path_factory.mktemp("trained")
    result = run_cli(["hydra.run.dir=outputs/run"], work)
    assert result.returncode == 0, result.stderr
    yield work


def write_key_pair(directory: Path, name: str) -> tuple[Path, Path]:
    """An Ed25519 key pair as ``openssl genpkey`` / ``openssl pkey -pubout`` write them (PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    key, pub = directory / f"{name}.pem", directory / f"{name}.pub.pem"
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key, pub
