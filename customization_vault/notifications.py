"""Seller notifications: the signed webhook a seller receives for every decision about its items.

A decision queues its notification in the decision's own transaction (the outbox), so a crash can
lose neither one without the other; `delivery.WebhookDeliverer` sends it later, at least once. Bodies
hold ids and codes only — never anything a customer wrote — and are signed like Stripe's and GitHub's
webhooks: `Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from customization_vault.audit import AuditLog
from customization_vault.catalog import Catalog, Unit
from customization_vault.catalog.outbox import OutboxCounts
from customization_vault.catalog.types import new_id
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import InvalidInput

__all__ = [
    "ID_HEADER",
    "ITEM_APPEAL_DECIDED",
    "ITEM_DECIDED",
    "SIGNATURE_HEADER",
    "Notifier",
    "WebhookBook",
    "WebhookInfo",
    "check_webhook_url",
    "new_secret",
    "notification_body",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "Signature"
ID_HEADER = "Webhook-Id"  # the body's "id" again, so a receiver can deduplicate before parsing
ITEM_DECIDED = "item.decided"
ITEM_APPEAL_DECIDED = "item.appeal_decided"
ITEM_SCREENED = "item.screened"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
DEFAULT_TOLERANCE_SECONDS = 300
MAX_URL = 2000

# Types are open-ended ("item.screened" comes with asynchronous verdicts); decisions and reasons are
# codes. Anything else is refused, so free text (a note, a customer's words) cannot ride along.
_TYPE = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")


# ---------------------------------------------------------------------------------------- signatures
def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), b"%d." % timestamp + body, hashlib.sha256).hexdigest()


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The `Signature` header value: `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

    The key is the whole secret string as issued, `whsec_` prefix included; the message is the
    timestamp in decimal, a dot, and the body's exact bytes.

    >>> sign("whsec_test", 1700000000, b'{"id":"1"}')
    't=1700000000,v1=11bf4466ea17c3df3fd743af0b435368e16b7a05eb8eced85e8c4670767bdec5'
    """
    return f"t={timestamp},v1={_mac(secret, timestamp, _bytes(body))}"


def verify(
    secret: str,
    header: str,
    body: bytes | str,
    *,
    now: float | None = None,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Does `header` sign `body` with `secret`, at a time within `tolerance_seconds` of `now`?

    What a receiver runs (docs/api.md has the same recipe). The tolerance refuses a replayed old
    delivery; any one of several `v1` values may match (a receiver in the middle of a secret change).
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = _mac(secret, timestamp, _bytes(body))
    return any(hmac.compare_digest(expected, c) for c in candidates)


def new_secret() -> str:
    """`whsec_` and 32 random bytes, URL-safe base64: 256 bits, as strong as the HMAC key can use."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


# ---------------------------------------------------------------------------------------- bodies
def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notification_body(
    *,
    message_id: str,
    type: str,
    order_external_id: str,
    item_id: str,
    decision: str,
    reason: str | None,
    created_at: datetime,
) -> str:
    """The fixed body, compact JSON in a fixed key order; what is stored is what is signed and sent.

    `order_id` is the seller's own order id (the one it used to create the order: the only order id
    it knows); `item_id` is the item's id as the API returned it at upload.
    """
    if not _TYPE.fullmatch(type):
        raise ValueError("a notification type is dotted lower-case words")
    if not _CODE.fullmatch(decision) or (reason is not None and not _CODE.fullmatch(reason)):
        # The values are not repeated here: whatever they are, they are not codes.
        raise ValueError("decision and reason are lower-case codes")
    body = {
        "id": message_id,
        "type": type,
        "order_id": order_external_id,
        "item_id": item_id,
        "decision": decision,
        "reason": reason,
        "created_at": _timestamp(created_at),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True)


class Notifier:
    """Queues a seller's notification in the caller's unit of work, if the seller has a webhook.

    No webhook, no row: nothing is queued for a seller who has not asked to hear, and setting a
    webhook later does not replay earlier decisions.
    """

    def notify(
        self,
        unit: Unit,
        *,
        type: str,
        seller_id: str,
        order_external_id: str,
        item_id: str,
        decision: str,
        reason: str | None,
        now: datetime,
    ) -> str | None:
        """Queue one notification of any `type`; its id (the body's and the `Webhook-Id`), or None."""
        if unit.webhooks.get(seller_id) is None:
            return None
        message_id = new_id()
        body = notification_body(
            message_id=message_id,
            type=type,
            order_external_id=order_external_id,
            item_id=item_id,
            decision=decision,
            reason=reason,
            created_at=now,
        )
        return unit.outbox.enqueue(seller_id=seller_id, type=type, body=body, now=now, message_id=message_id)

    def item_decided(
        self,
        unit: Unit,
        *,
        seller_id: str,
        order_external_id: str,
        item_id: str,
        decision: str,
        reason: str | None,
        appeal: bool,
        now: datetime,
    ) -> None:
        """A review decision (`item.decided`) or an appeal's outcome (`item.appeal_decided`).

        `seller_id` is the internal seller id (`OrderView.seller_id`); call it inside the unit that
        writes the decision, so both commit or neither does.
        """
        self.notify(
            unit,
            type=ITEM_APPEAL_DECIDED if appeal else ITEM_DECIDED,
            seller_id=seller_id,
            order_external_id=order_external_id,
            item_id=item_id,
            decision=decision,
            reason=reason,
            now=now,
        )

    def item_screened(
        self,
        unit: Unit,
        *,
        seller_id: str,
        order_external_id: str,
        item_id: str,
        verdict: str,
        reason: str | None,
        now: datetime,
    ) -> None:
        """A screening job's verdict landed (`item.screened`): `clear`, `flagged` or `blocked`, with
        reason `unscreenable` when no engine could vouch for the item. Queued in the verdict's unit."""
        self.notify(
            unit,
            type=ITEM_SCREENED,
            seller_id=seller_id,
            order_external_id=order_external_id,
            item_id=item_id,
            decision=verdict,
            reason=reason,
            now=now,
        )


# ---------------------------------------------------------------------------------------- configuration
def check_webhook_url(url: str) -> str:
    """An absolute http(s) URL with a host, in ASCII, without credentials or fragment; else InvalidInput.

    Credentials are refused because the `Signature` header is what authenticates a delivery, and a
    URL is shown back to operators (`sellers show-webhook`).
    """
    if not url or len(url) > MAX_URL:
        raise InvalidInput(f"a webhook URL is 1-{MAX_URL} characters")
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidInput(
            "a webhook URL is ASCII without spaces (punycode the host, percent-encode the path)"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("a webhook URL must start with http:// or https://")
    if not parts.hostname:
        raise InvalidInput("a webhook URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("a webhook URL may not carry credentials: deliveries are signed instead")
    if parts.fragment:
        raise InvalidInput("a webhook URL has no #fragment")
    try:
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError as exc:
        raise InvalidInput("a webhook URL's port must be a number 1-65535") from exc
    return url


def _without_query(url: str) -> str:
    """What may be recorded of a URL: a query string often carries a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    """A seller's webhook as operators see it: never the secret."""

    seller_id: str
    url: str
    set_at: datetime
    pending: int
    given_up: int


class WebhookBook:
    """Setting, showing and removing sellers' webhooks (audited; the secret is shown once, at `set`)."""

    def __init__(self, catalog: Catalog, audit: AuditLog, *, clock: Clock = system_clock) -> None:
        self._catalog = catalog
        self._audit = audit
        self._clock = clock

    def set(self, seller_id: str, url: str, *, actor: str) -> str:
        """Point the seller's notifications at `url` with a fresh secret; the secret.

        Setting again replaces URL and secret at once; messages still queued are signed with the new
        secret when they are sent.
        """
        check_webhook_url(url)
        secret = new_secret()
        with self._catalog.unit() as u:
            u.webhooks.set(seller_id, url=url, secret=secret, now=self._clock())
            self._audit.record(
                u,
                actor=actor,
                action="seller.webhook_set",
                target_type="seller",
                target_id=seller_id,
                details={"url": _without_query(url)},
            )
        return secret

    def get(self, seller_id: str) -> WebhookInfo | None:
        with self._catalog.unit() as u:
            hook = u.webhooks.get(seller_id)
            if hook is None:
                return None
            counts = u.outbox.counts(seller_id)
        return WebhookInfo(seller_id, hook.url, hook.set_at, counts.pending, counts.given_up)

    def backlog(self) -> OutboxCounts:
        """Every seller's undelivered notifications: pending and given up (a metrics gauge)."""
        with self._catalog.unit() as u:
            return u.outbox.counts()

    def remove(self, seller_id: str, *, actor: str) -> bool:
        """Stop the seller's notifications; whether it had a webhook. Queued ones are given up when
        their turn comes (kept in the outbox, not sent)."""
        with self._catalog.unit() as u:
            removed = u.webhooks.remove(seller_id)
            if removed:
                self._audit.record(
                    u,
                    actor=actor,
                    action="seller.webhook_removed",
                    target_type="seller",
                    target_id=seller_id,
                    details={},
                )
        return removed
