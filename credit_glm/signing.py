"""Ed25519 signatures of model cards (RFC 8032), through the ``cryptography`` package.

A signature signs the card's ``card_sha256``, which covers the whole card (``model_sha256``
with it) except ``card_sha256`` and ``signature`` themselves; so a card stripped of its signature
is still a well-formed unsigned card, and refusing unsigned cards is the service's choice
(``serving.trusted_keys``). Keys are PEM files as ``openssl`` writes them::

    openssl genpkey -algorithm ed25519 -out signing.pem          # training: paths.signing_key
    openssl pkey -in signing.pem -pubout -out signing.pub.pem    # serving: serving.trusted_keys

This module is pure (bytes in, data out); the artifact store and the service read the files.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from credit_glm.model_card import sha256_hex

__all__ = [
    "SIGNATURE_ALGORITHM",
    "KeyFormatError",
    "key_id",
    "private_key_from_pem",
    "public_key_from_pem",
    "sign_card",
    "signature_problem",
]

SIGNATURE_ALGORITHM = "ed25519"
# what is signed: this prefix and the card's card_sha256 (so a signature over anything else that
# a key might sign can never pass for a card's)
_CONTEXT = b"credit-glm/model-card/card_sha256\n"


class KeyFormatError(ValueError):
    """Key bytes that are not an unencrypted Ed25519 key in PEM."""


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the sha256 of the raw 32-byte public key."""
    return sha256_hex(_raw(public))[:16]


def private_key_from_pem(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise KeyFormatError(f"not an unencrypted PEM private key ({err})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"a {type(key).__name__}, not an Ed25519 private key")
    return key


def public_key_from_pem(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise KeyFormatError(f"not a PEM public key ({err})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFormatError(f"a {type(key).__name__}, not an Ed25519 public key")
    return key


def sign_card(card: Mapping[str, Any], private: Ed25519PrivateKey) -> dict[str, Any]:
    """``card`` (sealed: its ``card_sha256`` is current) with a ``signature`` block added."""
    public = private.public_key()
    value = private.sign(_CONTEXT + str(card["card_sha256"]).encode("ascii"))
    return {
        **card,
        "signature": {
            "algorithm": SIGNATURE_ALGORITHM,
            "signs": "card_sha256",
            "key_id": key_id(public),
            "public_key": base64.b64encode(_raw(public)).decode("ascii"),
            "value": base64.b64encode(value).decode("ascii"),
        },
    }


def signature_problem(
    card: Mapping[str, Any],
    trusted: Sequence[Ed25519PublicKey],
    key_name: str = "serving.trusted_keys",
) -> str | None:
    """Why the card is not signed by one of ``trusted``, in one line; ``None`` when it is.

    The card's hashes must have been verified before (its ``card_sha256`` is what is checked).
    """
    block = card.get("signature")
    if block is None:
        return f"is not signed, and {key_name} requires a card signed by one of its keys"
    if not isinstance(block, Mapping) or block.get("algorithm") != SIGNATURE_ALGORITHM:
        algorithm = block.get("algorithm") if isinstance(block, Mapping) else None
        return f"has a signature of algorithm {algorithm!r}; only {SIGNATURE_ALGORITHM} is read"
    keys = {key_id(k): k for k in trusted}
    signer = keys.get(str(block.get("key_id")))
    if signer is None:
        return (
            f"is signed by key {block.get('key_id')!r}, which is not one of {key_name} "
            f"({', '.join(keys)})"
        )
    try:
        value = base64.b64decode(str(block.get("value")), validate=True)
        signer.verify(value, _CONTEXT + str(card["card_sha256"]).encode("ascii"))
    except (ValueError, InvalidSignature):  # binascii.Error, non-ASCII text: ValueErrors
        return (
            f"has a signature that does not verify with key {block.get('key_id')!r} of "
            f"{key_name}: the card or its signature was changed after signing"
        )
    return None
