"""Webhook signatures and purge receipts, checked offline on documents signed here."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from customization_vault_client import (
    Receipt,
    ReceiptVerificationError,
    WebhookVerificationError,
    sign_webhook,
    verify_receipt,
    verify_webhook,
)

SECRET = "whsec_3f9a1c"
NOW = 1_800_000_000
EVENT = {
    "id": "evt_1",
    "type": "item.decided",
    "order_id": "A-1001",
    "item_id": "it-1",
    "decision": "reject",
    "reason": "offensive",
    "created_at": "2027-01-15T08:00:00Z",
}
BODY = json.dumps(EVENT).encode()


def hmac_hex(secret: str, t: int, body: bytes) -> str:
    """The signature as the service computes it, written out independently of the client."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_a_delivery_signed_with_the_secret_verifies_and_parses() -> None:
    header = f"t={NOW},v1={hmac_hex(SECRET, NOW, BODY)}"
    event = verify_webhook(BODY, header, SECRET, now=NOW + 10)
    assert (event.id, event.type, event.order_id, event.item_id) == (
        "evt_1",
        "item.decided",
        "A-1001",
        "it-1",
    )
    assert (event.decision, event.reason) == ("reject", "offensive")
    assert event.created_at is not None
    assert event.created_at.year == 2027
    assert sign_webhook(BODY, SECRET, NOW) == header


def test_any_one_of_several_v1_entries_and_any_of_several_secrets_suffices() -> None:
    good = hmac_hex(SECRET, NOW, BODY)
    header = f"t={NOW}, v1={'0' * 64}, v1={good}"
    assert verify_webhook(BODY, header, SECRET, now=NOW).id == "evt_1"
    # During a rotation the receiver knows both secrets.
    assert verify_webhook(BODY, header, ["whsec_new", SECRET], now=NOW).id == "evt_1"
    assert verify_webhook(BODY, header, SECRET.encode(), now=NOW).id == "evt_1"


@pytest.mark.parametrize(
    ("header", "body", "now", "why"),
    [
        (None, BODY, NOW, "no Signature header"),
        ("", BODY, NOW, "no Signature header"),
        (f"v1={hmac_hex(SECRET, NOW, BODY)}", BODY, NOW, "single t="),
        (f"t={NOW},t={NOW},v1={hmac_hex(SECRET, NOW, BODY)}", BODY, NOW, "single t="),
        (f"t=abc,v1={hmac_hex(SECRET, NOW, BODY)}", BODY, NOW, "single t="),
        (f"t={NOW}", BODY, NOW, "no v1"),
        (f"t={NOW},v0={hmac_hex(SECRET, NOW, BODY)}", BODY, NOW, "no v1"),
        (f"t={NOW},v1={hmac_hex('other', NOW, BODY)}", BODY, NOW, "no v1 signature matches"),
        (f"t={NOW},v1={hmac_hex(SECRET, NOW, BODY)}", BODY + b" ", NOW, "no v1 signature matches"),
        # The timestamp is signed too: moving it breaks the signature.
        (f"t={NOW + 1},v1={hmac_hex(SECRET, NOW, BODY)}", BODY, NOW, "no v1 signature matches"),
        (f"t={NOW},v1={hmac_hex(SECRET, NOW, BODY)}", BODY, NOW + 301, "from now"),
        (f"t={NOW},v1={hmac_hex(SECRET, NOW, BODY)}", BODY, NOW - 301, "from now"),
        (f"t={NOW},v1={hmac_hex(SECRET, NOW, b'[1]')}", b"[1]", NOW, "not a JSON object"),
        (f"t={NOW},v1={hmac_hex(SECRET, NOW, b'{')}", b"{", NOW, "not JSON"),
        (f"t={NOW},v1=é", BODY, NOW, "no v1 signature matches"),
    ],
)
def test_a_delivery_that_does_not_hold_is_refused(
    header: str | None, body: bytes, now: int, why: str
) -> None:
    with pytest.raises(WebhookVerificationError, match=why):
        verify_webhook(body, header, SECRET, now=now)


def test_the_tolerance_is_the_callers_to_set() -> None:
    header = sign_webhook(BODY, SECRET, NOW)
    assert verify_webhook(BODY, header, SECRET, now=NOW + 3000, tolerance=3600).id == "evt_1"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, header, SECRET, now=NOW + 61, tolerance=60)


# Receipts: signed here the way `retention/receipts.py` signs them (canonical JSON of alg/body/key_id).


def signed_receipt(key: Ed25519PrivateKey, body: dict[str, Any]) -> dict[str, Any]:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(raw).hexdigest()[:16]
    doc = {"alg": "Ed25519", "body": body, "key_id": key_id}
    message = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return {**doc, "signature": base64.b64encode(key.sign(message)).decode()}


def pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


RECEIPT_BODY = {
    "order": {"external_id": "A-1001", "id": "o-1"},
    "seller": {"external_id": "shop-ü"},
    "purged_at": "2027-01-15T08:00:00Z",
    "items": [{"id": "it-1", "size": 1234}],
}


def test_a_receipt_signed_by_the_key_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    doc = signed_receipt(key, RECEIPT_BODY)
    assert verify_receipt(doc, pem(key)).body["order"]["external_id"] == "A-1001"
    assert verify_receipt(Receipt.of(doc), pem(key).encode()).key_id == doc["key_id"]
    # A JSON round trip (as stored and reloaded) changes nothing that matters.
    assert verify_receipt(json.loads(json.dumps(doc)), pem(key)).signature == doc["signature"]


def _altered(doc: dict[str, Any], change: str) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    if change == "body":
        d["body"]["items"][0]["size"] = 1235
    elif change == "alg":
        d["alg"] = "HS256"
    elif change == "float":
        d["body"]["items"][0]["size"] = 1234.0
    elif change == "signature":
        d["signature"] = base64.b64encode(b"\0" * 64).decode()
    elif change == "not-base64":
        d["signature"] = "***"
    elif change == "no-body":
        del d["body"]
    return d


@pytest.mark.parametrize("change", ["body", "alg", "float", "signature", "not-base64", "no-body"])
def test_an_altered_receipt_does_not_verify(change: str) -> None:
    key = Ed25519PrivateKey.generate()
    with pytest.raises(ReceiptVerificationError):
        verify_receipt(_altered(signed_receipt(key, RECEIPT_BODY), change), pem(key))


def test_a_receipt_checked_against_another_key_does_not_verify() -> None:
    doc = signed_receipt(Ed25519PrivateKey.generate(), RECEIPT_BODY)
    with pytest.raises(ReceiptVerificationError, match="another signing key"):
        verify_receipt(doc, pem(Ed25519PrivateKey.generate()))
    with pytest.raises(ReceiptVerificationError, match="not a PEM"):
        verify_receipt(doc, "not a key")
