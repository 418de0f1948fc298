"""Purge-receipt verification, offline: Ed25519 over the canonical JSON of {alg, body, key_id}.

The same check as the service's `customization-vault receipts verify`, written again here so the
client needs none of the server's code. Pin the public key (fetch it once, keep it with your
records): a receipt checked against a key fetched from the same place proves less.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from customization_vault_client._errors import ReceiptVerificationError
from customization_vault_client._models import Receipt

__all__ = ["ALGORITHM", "canonical_json", "key_id_of", "verify_receipt"]

ALGORITHM = "Ed25519"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8 — the bytes the service signed. Receipts hold no floats."""

    def refuse_floats(v: Any) -> None:
        if isinstance(v, float):
            raise ReceiptVerificationError("a receipt holds no floats: this one was altered")
        if isinstance(v, Mapping):
            for x in v.values():
                refuse_floats(x)
        elif isinstance(v, list | tuple):
            for x in v:
                refuse_floats(x)

    refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii") if isinstance(pem, str) else pem)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise ReceiptVerificationError("the public key is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ReceiptVerificationError("the public key is not an Ed25519 key")
    return key


def key_id_of(key: Ed25519PublicKey) -> str:
    """The service's name for a key: the first 16 hex digits of SHA-256 over its raw 32 bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def verify_receipt(receipt: Receipt | Mapping[str, Any], public_key_pem: str | bytes) -> Receipt:
    """The receipt, if the key of `public_key_pem` signed it and no byte of it changed since; else
    `ReceiptVerificationError` saying which check failed."""
    doc = receipt.raw if isinstance(receipt, Receipt) else receipt
    if not isinstance(doc, Mapping):
        raise ReceiptVerificationError("a receipt is a JSON object")
    key = load_public_key(public_key_pem)
    if doc.get("alg") != ALGORITHM:
        raise ReceiptVerificationError(f"the receipt's algorithm is not {ALGORITHM}")
    key_id, body, signature = doc.get("key_id"), doc.get("body"), doc.get("signature")
    if key_id != key_id_of(key):
        raise ReceiptVerificationError("the receipt names another signing key than the one given")
    if not isinstance(body, Mapping) or not isinstance(signature, str):
        raise ReceiptVerificationError("the receipt lacks its body or its signature")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReceiptVerificationError("the signature is not base64") from exc
    try:
        key.verify(raw_signature, canonical_json({"alg": ALGORITHM, "body": body, "key_id": key_id}))
    except InvalidSignature as exc:
        raise ReceiptVerificationError("the signature does not match the receipt's content") from exc
    return receipt if isinstance(receipt, Receipt) else Receipt.of(doc)
