"""Webhook signatures: `Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

Check the raw body bytes as received, before parsing them: the signature covers those bytes. Several
`v1` entries may appear (while the seller's secret is being rotated, one per secret); one match is
enough. The timestamp bounds replays: a delivery older (or newer) than the tolerance is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from customization_vault_client._errors import WebhookVerificationError
from customization_vault_client._models import WebhookEvent

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "SIGNATURE_HEADER", "sign_webhook", "verify_webhook"]

SIGNATURE_HEADER = "Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign_webhook(body: bytes, secret: str | bytes, timestamp: int | None = None) -> str:
    """A `Signature` header value for `body` (what the service sends; useful to test a receiver)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(_key(secret), f"{t}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamps: list[str] = []
    candidates: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            candidates.append(value)
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise WebhookVerificationError("the Signature header has no single t=<unix seconds>")
    if not candidates:
        raise WebhookVerificationError("the Signature header has no v1 signature")
    return int(timestamps[0]), candidates


def verify_webhook(
    body: bytes,
    signature: str | None,
    secret: str | bytes | list[str | bytes],
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> WebhookEvent:
    """The event, if `signature` (the `Signature` header) signs `body` with `secret` (or one of
    several, during a rotation) within `tolerance` seconds of `now`; else `WebhookVerificationError`."""
    if not signature:
        raise WebhookVerificationError("the delivery has no Signature header")
    t, candidates = _parse(signature)
    secrets = secret if isinstance(secret, list) else [secret]
    signed = f"{t}.".encode("ascii") + body
    matched = False
    for s in secrets:
        expected = hmac.new(_key(s), signed, hashlib.sha256).hexdigest()
        for candidate in candidates:
            # Constant-time, and every candidate is compared: the time taken says nothing.
            matched |= hmac.compare_digest(expected.encode("ascii"), candidate.encode("utf-8", "replace"))
    if not matched:
        raise WebhookVerificationError("no v1 signature matches the body and the secret")
    current = time.time() if now is None else now
    if abs(current - t) > tolerance:
        raise WebhookVerificationError(f"the signature's timestamp is more than {tolerance:g} s from now")
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookVerificationError("the signed body is not JSON") from exc
    if not isinstance(event, Mapping):
        raise WebhookVerificationError("the signed body is not a JSON object")
    return WebhookEvent.of(event)
