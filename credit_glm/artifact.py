"""Saving and loading the model artifact pair: ``glm_model.joblib`` and ``glm_model.json``.

The joblib file holds the statsmodels results (training data removed), the frozen feature spec,
the schema, the resolved config and the metrics, for Python users. The JSON model card alone
reproduces every prediction and is what the service loads (no unpickling).

Writes are atomic and ordered: both files (and ``points_table.csv``, the card's points table as
CSV) are written to temporary names in the target directory and flushed to disk, then, under an
exclusive lock on ``.lock`` so that two training runs cannot interleave, the pickle is renamed
into place and the card last. The card records the pickle's
sha256, so a reader can always tell a matching pair; a crash never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from credit_glm.atomic_files import fsync_directory, write_temp
from credit_glm.errors import ArtifactError, ConfigError
from credit_glm.model_card import CARD_FORMAT, card_problem, seal_card, sha256_hex
from credit_glm.points_table import points_table_csv

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from credit_glm.training import TrainedModel

# joblib is imported where a pickle is written or read: the service reads only the card.

__all__ = [
    "CARD_NAME",
    "PICKLE_NAME",
    "POINTS_TABLE_NAME",
    "load_card",
    "load_pickle",
    "pickle_bytes",
    "read_signing_key",
    "read_trusted_keys",
    "write_artifacts",
]

PICKLE_NAME = "glm_model.joblib"
CARD_NAME = "glm_model.json"
POINTS_TABLE_NAME = "points_table.csv"


def pickle_bytes(trained: TrainedModel, card: Mapping[str, Any]) -> bytes:
    """The joblib payload: statsmodels results without their data, plus the model's context."""
    results = trained.fit.results
    if hasattr(results, "remove_data"):
        results.remove_data()
    payload = {
        "format": "credit-glm/joblib",
        "model_version": card["model_version"],
        "model_sha256": card["model_sha256"],
        "results": results,
        "feature_spec": trained.spec,
        "schema": trained.config.data,
        "config": trained.config,
        "metrics": trained.metrics,
        "diagnostics": trained.diagnostics,
    }
    import joblib

    buf = io.BytesIO()
    joblib.dump(payload, buf)
    return buf.getvalue()


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def write_artifacts(
    trained: TrainedModel, card: dict[str, Any], directory: str | Path
) -> tuple[Path, Path, dict[str, Any]]:
    """Write the pair into ``directory`` atomically; return both paths and the final card.

    The card is sealed (:func:`credit_glm.model_card.seal_card`) with the pickle's hash, and
    signed when the training config names ``paths.signing_key``.
    """
    directory = Path(directory)
    key_path = trained.config.paths.signing_key
    signing_key = read_signing_key(key_path) if key_path else None
    directory.mkdir(parents=True, exist_ok=True)
    blob = pickle_bytes(trained, card)
    card = seal_card(
        {**card, "artifact": {"joblib_file": PICKLE_NAME, "joblib_sha256": sha256_hex(blob)}}
    )
    if signing_key is not None:
        from credit_glm.signing import sign_card

        card = sign_card(card, signing_key)
    text = json.dumps(card, indent=2, sort_keys=False, allow_nan=False, ensure_ascii=False) + "\n"
    # the points table, for a reader without JSON tooling: written from the card's section
    files: list[tuple[str, bytes]] = [(PICKLE_NAME, blob)]
    if card.get("scorecard") is not None:
        files.append((POINTS_TABLE_NAME, points_table_csv(card["scorecard"]).encode("utf-8")))
    files.append((CARD_NAME, text.encode("utf-8")))  # the card last
    temps: list[tuple[Path, str]] = []
    try:
        for name, data in files:
            temps.append((write_temp(directory, name, data), name))
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    with _locked(directory):
        for tmp, name in temps:
            os.replace(tmp, directory / name)
        fsync_directory(directory)
    return directory / PICKLE_NAME, directory / CARD_NAME, card


def load_card(path: str | Path, key: str = "paths.model") -> dict[str, Any]:
    """Read and verify a model card.

    Parameters
    ----------
    path
        The card file.
    key
        The config key that names the card, for the hint when it is missing
        (``serving.model_path`` when serving).

    Raises
    ------
    ArtifactError
        The file is missing, is not a credit-glm model card, has a format version this code does
        not read, or one of its hashes (``model_sha256``, the ``model_version`` it derives,
        ``config_sha256``, ``card_sha256``) does not match its content.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(
            f"model card {str(path)!r} not found; train a model first "
            f"(python -m credit_glm) or set {key}"
        )
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(f"model card {str(path)!r} is not valid JSON: {err}") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise ArtifactError(f"{str(path)!r} is not a credit-glm model card")
    problem = card_problem(card)
    if problem is not None:
        raise ArtifactError(f"model card {str(path)!r} {problem}")
    return card


def _key_bytes(path: str, key: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(key, f"key file {path!r} not found") from None
    except OSError as err:
        raise ConfigError(key, f"cannot read key file {path!r}: {err.strerror}") from None


def _signing_module(key: str) -> Any:
    try:
        import credit_glm.signing as signing
    except ImportError as err:
        raise ConfigError(
            key, f"signing needs the cryptography package ({err}); pip install cryptography"
        ) from None
    return signing


def read_signing_key(path: str, key: str = "paths.signing_key") -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file ``path`` (named ``key`` in messages)."""
    signing = _signing_module(key)
    try:
        private: Ed25519PrivateKey = signing.private_key_from_pem(_key_bytes(path, key))
    except signing.KeyFormatError as err:
        raise ConfigError(key, f"{path!r} is {err}") from None
    return private


def read_trusted_keys(
    paths: Sequence[str], key: str = "serving.trusted_keys"
) -> list[Ed25519PublicKey]:
    """The Ed25519 public keys in the PEM files ``paths``."""
    signing = _signing_module(key)
    keys: list[Ed25519PublicKey] = []
    for i, path in enumerate(paths):
        try:
            keys.append(signing.public_key_from_pem(_key_bytes(path, f"{key}[{i}]")))
        except signing.KeyFormatError as err:
            raise ConfigError(f"{key}[{i}]", f"{path!r} is {err}") from None
    return keys


def load_pickle(card_path: str | Path) -> dict[str, Any]:
    """Load the joblib file next to a card, after checking its sha256 against the card."""
    card_path = Path(card_path)
    card = load_card(card_path)
    artifact = card.get("artifact")
    if not isinstance(artifact, dict) or not isinstance(artifact.get("joblib_file"), str):
        raise ArtifactError(
            f"model card {str(card_path)!r} names no joblib file "
            "(artifact.joblib_file): it was not written with its pickle"
        )
    pickle_path = card_path.parent / artifact["joblib_file"]
    if not pickle_path.is_file():
        raise ArtifactError(f"{str(pickle_path)!r} not found next to its model card")
    blob = pickle_path.read_bytes()
    if sha256_hex(blob) != artifact.get("joblib_sha256"):
        raise ArtifactError(
            f"{str(pickle_path)!r} does not match its model card "
            "(sha256 differs): the pair is mismatched"
        )
    import joblib

    payload: dict[str, Any] = joblib.load(io.BytesIO(blob))
    return payload
