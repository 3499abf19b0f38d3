"""Signed model cards: training signs with ``paths.signing_key``, the service serves only a card
signed by one of ``serving.trusted_keys``. Keys are made here, per test."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from credit_glm.artifact import load_card, read_signing_key, read_trusted_keys, write_artifacts
from credit_glm.config import PathsConfig, ServingConfig
from credit_glm.errors import ArtifactError, ConfigError
from credit_glm.model_card import build_card, seal_card
from credit_glm.service.model import load_served_model
from credit_glm.signing import key_id, sign_card, signature_problem
from credit_glm.training import TrainedModel, train
from tests.conftest import compose_config, write_key_pair


@pytest.fixture(scope="module")
def trained(german_frame: pd.DataFrame) -> TrainedModel:
    return train(compose_config(), german_frame)


def _signed_by(trained: TrainedModel, key: Path | None) -> TrainedModel:
    config = dataclasses.replace(
        trained.config, paths=PathsConfig(signing_key=None if key is None else str(key))
    )
    return dataclasses.replace(trained, config=config)


def _write(trained: TrainedModel, directory: Path, key: Path | None) -> Path:
    card = build_card(trained, "builtin://german_credit.csv", "0" * 64, 1000, "2026-01-01")
    _, card_path, _ = write_artifacts(_signed_by(trained, key), card, directory)
    return card_path


def _serve(card_path: Path, *trusted: Path) -> ServingConfig:
    return ServingConfig(model_path=str(card_path), trusted_keys=[str(t) for t in trusted])


def test_a_card_signed_at_training_is_served_under_its_key(
    trained: TrainedModel, tmp_path: Path
) -> None:
    key, pub = write_key_pair(tmp_path, "ours")
    _, other = write_key_pair(tmp_path, "theirs")
    card_path = _write(trained, tmp_path / "models", key)
    card = load_card(card_path)
    [public] = read_trusted_keys([str(pub)])
    assert card["signature"]["key_id"] == key_id(public)
    assert signature_problem(card, [public]) is None
    served = load_served_model(_serve(card_path, other, pub))
    assert served.sha256 == card["model_sha256"]
    with pytest.raises(ArtifactError, match="which is not one of serving.trusted_keys"):
        load_served_model(_serve(card_path, other))


def test_unsigned_or_tampered_cards_are_refused_when_keys_are_trusted(
    trained: TrainedModel, tmp_path: Path
) -> None:
    key, pub = write_key_pair(tmp_path, "ours")
    attacker, _ = write_key_pair(tmp_path, "attacker")
    unsigned = _write(trained, tmp_path / "unsigned", None)
    assert "signature" not in load_card(unsigned)
    load_served_model(_serve(unsigned))  # no trusted keys: signatures are not required
    with pytest.raises(ArtifactError, match="is not signed, and serving.trusted_keys requires"):
        load_served_model(_serve(unsigned, pub))

    signed = _write(trained, tmp_path / "signed", key)
    card: dict[str, Any] = json.loads(signed.read_text())
    # the cut-off edited and the card resealed: its hashes hold, its signature does not
    edited = {
        **seal_card({**card, "decision": {**card["decision"], "cutoff": 0.99}}),
        "signature": card["signature"],
    }
    signed.write_text(json.dumps(edited))
    assert load_card(signed)["decision"]["cutoff"] == 0.99
    with pytest.raises(ArtifactError, match="signature that does not verify"):
        load_served_model(_serve(signed, pub))
    # ... and re-signed with a key of the editor's own
    signed.write_text(json.dumps(sign_card(edited, read_signing_key(str(attacker)))))
    with pytest.raises(ArtifactError, match="not one of serving.trusted_keys"):
        load_served_model(_serve(signed, pub))
    # a signature value that is not base64 text (the card hash does not cover the signature)
    mangled = {**card, "signature": {**card["signature"], "value": "é" * 88}}
    signed.write_text(json.dumps(mangled))
    with pytest.raises(ArtifactError, match="signature that does not verify"):
        load_served_model(_serve(signed, pub))
    # a signature stripped off leaves a well-formed unsigned card
    signed.write_text(json.dumps({k: v for k, v in card.items() if k != "signature"}))
    load_card(signed)
    with pytest.raises(ArtifactError, match="is not signed"):
        load_served_model(_serve(signed, pub))


def test_key_files_that_cannot_be_used_name_their_key(
    trained: TrainedModel, tmp_path: Path
) -> None:
    key, pub = write_key_pair(tmp_path, "ours")
    with pytest.raises(ConfigError, match=r"paths.signing_key: key file .* not found"):
        _write(trained, tmp_path / "models", tmp_path / "absent.pem")
    assert not (tmp_path / "models").exists(), "nothing is written with an unusable key"
    with pytest.raises(ConfigError, match="paths.signing_key: .* not an unencrypted PEM private"):
        read_signing_key(str(pub))
    ec = tmp_path / "ec.pem"
    ec.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ConfigError, match="not an Ed25519 private key"):
        read_signing_key(str(ec))
    with pytest.raises(ConfigError, match=r"serving.trusted_keys\[1\]: .* not a PEM public key"):
        read_trusted_keys([str(pub), str(key)])
    with pytest.raises(ConfigError, match=r"serving.trusted_keys\[0\]: key file .* not found"):
        read_trusted_keys([str(tmp_path / "absent.pub.pem")])
