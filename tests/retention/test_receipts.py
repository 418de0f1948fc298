"""Receipt signing: canonical JSON, tamper detection, key handling on disk."""

from __future__ import annotations

import copy
import os
import stat
from pathlib import Path

import pytest

from retention.errors import SigningKeyError
from retention.receipts import ReceiptSigner, canonical_json, verify_receipt

BODY = {"order": {"id": "o-1", "external_id": "A-1"}, "items": [{"id": "i-1", "size": 10}], "é": "ü"}


def test_sign_and_verify_round_trip() -> None:
    signer = ReceiptSigner.generate()
    doc = signer.sign(copy.deepcopy(BODY))
    assert doc["alg"] == "Ed25519"
    assert doc["key_id"] == signer.key_id
    assert verify_receipt(doc, signer.public_key_pem())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["body"]["items"][0].__setitem__("size", 11),
        lambda d: d["body"].__setitem__("extra", True),
        lambda d: d.__setitem__("key_id", "0" * 16),
        lambda d: d.__setitem__("alg", "none"),
        lambda d: d.__setitem__("signature", d["signature"][:-4] + "AAA="),
        lambda d: d.__setitem__("signature", "not base64!"),
        lambda d: d.pop("body"),
    ],
)
def test_any_change_breaks_the_signature(tamper: object) -> None:
    signer = ReceiptSigner.generate()
    doc = signer.sign(copy.deepcopy(BODY))
    tamper(doc)  # type: ignore[operator]
    assert not verify_receipt(doc, signer.public_key_pem())


def test_another_key_does_not_verify() -> None:
    doc = ReceiptSigner.generate().sign(BODY)
    assert not verify_receipt(doc, ReceiptSigner.generate().public_key_pem())
    assert not verify_receipt(doc, "not a pem")


def test_canonical_json_is_order_independent_and_refuses_floats() -> None:
    assert canonical_json({"b": 1, "a": [2, "é"]}) == canonical_json({"a": [2, "é"], "b": 1})
    assert canonical_json({"a": 1}) == b'{"a":1}'
    with pytest.raises(TypeError):
        canonical_json({"a": [1.5]})


def test_load_or_create_persists_one_private_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "receipt-key.pem"
    first = ReceiptSigner.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = ReceiptSigner.load_or_create(path)
    assert first.key_id == second.key_id
    assert "PRIVATE" not in repr(first)
    doc = first.sign(BODY)
    assert verify_receipt(doc, second.public_key_pem())
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "receipt-key.pem"
    ReceiptSigner.load_or_create(path)
    os.chmod(path, 0o644)
    with pytest.raises(SigningKeyError):
        ReceiptSigner.load(path)


def test_a_non_ed25519_or_garbage_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError):
        ReceiptSigner.from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(SigningKeyError):
        ReceiptSigner.load(tmp_path / "missing.pem")
