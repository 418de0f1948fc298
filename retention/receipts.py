"""Signed purge receipts: Ed25519 over canonical JSON, verifiable by anyone holding the public key.

A seller shows a receipt in an audit; the signature covers the algorithm, the key id and the body, so
neither can be swapped without the check failing. Bodies hold ids, types, sizes and times, never content.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from customization_vault.errors import InsecureKeyring
from customization_vault.files import publish_private_file, read_private_file
from retention.errors import SigningKeyError

__all__ = ["ALGORITHM", "ReceiptSigner", "canonical_json", "iso_utc", "key_id_of", "verify_receipt"]

ALGORITHM = "Ed25519"


def iso_utc(at: datetime | None) -> str | None:
    """A time as signed documents carry it: UTC, microseconds, `Z` (None stays None)."""
    return None if at is None else at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8. Floats are refused: their text form is not canonical."""
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("receipt bodies hold no floats (their JSON form is not canonical)")
    if isinstance(value, dict):
        for v in value.values():
            _refuse_floats(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _refuse_floats(v)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _signed_bytes(alg: str, key_id: str, body: Any) -> bytes:
    return canonical_json({"alg": alg, "body": body, "key_id": key_id})


class ReceiptSigner:
    """Holds the service's Ed25519 private key; `repr` never shows it."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.key_id = key_id_of(private_key.public_key())

    def __repr__(self) -> str:
        return f"ReceiptSigner(key_id={self.key_id!r})"

    @classmethod
    def generate(cls) -> ReceiptSigner:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes | str) -> ReceiptSigner:
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError("the receipt signing key is not a readable PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError("the receipt signing key is not an Ed25519 key")
        return cls(key)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReceiptSigner:
        """Load an existing key; refuse one that other local users could read (they could forge receipts)."""
        try:
            data = read_private_file(path)
        except FileNotFoundError:
            raise SigningKeyError("no receipt signing key at the configured path") from None
        except InsecureKeyring:
            raise SigningKeyError(
                "the receipt signing key is accessible to group/world (chmod 600)"
            ) from None
        except OSError as exc:
            raise SigningKeyError("the receipt signing key cannot be read") from exc
        return cls.from_pem(data)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> ReceiptSigner:
        """Load the key, or create it (0600) on first start.

        Published with link(2), which fails rather than replaces (`publish_private_file`): two processes
        starting together end up with one key, never with receipts signed by a lost one.
        """
        p = Path(path)
        if p.exists():
            return cls.load(p)
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        publish_private_file(p, cls.generate().private_pem())  # loses a race gracefully: the winner's key
        return cls.load(p)

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_key_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def sign(self, body: dict[str, Any]) -> dict[str, Any]:
        """The signed document: {"alg", "key_id", "body", "signature"} (signature: base64 of Ed25519)."""
        signature = self._key.sign(_signed_bytes(ALGORITHM, self.key_id, body))
        return {
            "alg": ALGORITHM,
            "key_id": self.key_id,
            "body": body,
            "signature": base64.b64encode(signature).decode("ascii"),
        }


def load_public_key(public_key_pem: str | bytes) -> Ed25519PublicKey:
    data = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("not an Ed25519 public key")
    return key


def verify_receipt(doc: dict[str, Any], public_key_pem: str) -> bool:
    """True only if `doc` is a receipt signed by the key of `public_key_pem`, unaltered in any byte."""
    try:
        key = load_public_key(public_key_pem)
        if not isinstance(doc, dict) or doc.get("alg") != ALGORITHM:
            return False
        key_id, body, sig = doc.get("key_id"), doc.get("body"), doc.get("signature")
        if key_id != key_id_of(key) or not isinstance(body, dict) or not isinstance(sig, str):
            return False
        key.verify(base64.b64decode(sig, validate=True), _signed_bytes(ALGORITHM, key_id, body))
    except (InvalidSignature, SigningKeyError, binascii.Error, ValueError, TypeError):
        return False
    return True
