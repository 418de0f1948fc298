"""Webhook delivery: sends the outbox's notifications to sellers, at least once, with backoff.

A deliverer claims due messages with a lease, POSTs each with its `Signature` and `Webhook-Id`, and
records the outcome: a 2xx is delivered; anything else (another status, a redirect, a timeout, a
refused connection) is tried again after an exponential, capped delay, until `max_attempts`, when the
message is given up and kept. A deliverer killed mid-send leaves its claimed messages to the next claim
once the lease ends, so a receiver may see a message twice, always with the same id. Logs and counters
name outbox ids and statuses only: never a URL, a secret or a body.
"""

from __future__ import annotations

import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from http.client import HTTPException
from typing import Protocol

from customization_vault.backoff import backoff_delay
from customization_vault.catalog import Catalog
from customization_vault.catalog.outbox import OutboxView
from customization_vault.clock import Clock, system_clock
from customization_vault.config import WebhooksConfig
from customization_vault.counters import Counters
from customization_vault.errors import InvalidInput
from customization_vault.notifications import ID_HEADER, SIGNATURE_HEADER, check_webhook_url, sign
from customization_vault.periodic import Periodic

__all__ = [
    "DeliveryMetrics",
    "DeliveryReport",
    "PostResult",
    "Transport",
    "UrllibTransport",
    "WebhookDeliverer",
]

log = logging.getLogger(__name__)

USER_AGENT = "customization-vault-webhooks/1"


@dataclass(frozen=True, slots=True)
class PostResult:
    """What one POST came to: the status if the receiver answered, else a short fixed phrase."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def reason(self) -> str:
        return self.error or f"http {self.status}"


class Transport(Protocol):
    """Sends one request; never raises for what the network or the receiver did."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> PostResult: ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is the receiver's answer, not an instruction: following it would send the signed
    body to a URL nobody configured (and a 303 would turn the POST into a GET)."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


class UrllibTransport:
    """The standard library's HTTP client: a webhook POST needs nothing more."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirects())

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> PostResult:
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return PostResult(int(response.status))
        except urllib.error.HTTPError as exc:  # the receiver answered, with a status outside 2xx
            exc.close()
            return PostResult(int(exc.code))
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return PostResult(None, "timeout")
            # The reason's text may repeat the host; its type says enough (refused, unknown host...).
            return PostResult(None, f"connection error ({type(exc.reason).__name__})")
        except TimeoutError:
            return PostResult(None, "timeout")
        except (HTTPException, OSError) as exc:  # a dropped connection, a malformed response
            return PostResult(None, f"bad response ({type(exc).__name__})")


class DeliveryMetrics(Counters):
    """Names used: webhook_delivered, webhook_failures (attempts), webhook_given_up, webhook_pruned,
    webhook_runs, webhook_run_errors."""


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0  # attempts that failed and will be tried again
    given_up: int = 0
    pruned: int = 0


class WebhookDeliverer(Periodic):
    """Delivers every `interval_seconds` once started (`Periodic`), or once per `run_once`."""

    error_counter = "webhook_run_errors"
    thread_prefix = "webhooks"

    def __init__(
        self,
        catalog: Catalog,
        *,
        config: WebhooksConfig | None = None,
        transport: Transport | None = None,
        clock: Clock = system_clock,
        metrics: DeliveryMetrics | None = None,
        name: str | None = None,
    ) -> None:
        self.catalog = catalog
        self.config = config or WebhooksConfig()
        self.transport: Transport = transport or UrllibTransport()
        self.clock = clock
        self.metrics = metrics or DeliveryMetrics()
        self.name = name or f"deliverer-{secrets.token_hex(3)}"
        super().__init__()

    # ------------------------------------------------------------------ one pass
    def run_once(self) -> DeliveryReport:
        """Send every due message (batch by batch) and prune old delivered ones; what happened."""
        self.metrics.inc("webhook_runs")
        counts = {"claimed": 0, "delivered": 0, "failed": 0, "given_up": 0}
        lease = timedelta(seconds=self.config.claim_lease_seconds)
        while not self._stop.is_set():
            with self.catalog.unit() as u:
                batch = u.outbox.claim_due(self.clock(), limit=self.config.batch_size, lease=lease)
            if not batch:
                break
            counts["claimed"] += len(batch)
            for message in batch:
                counts[self.deliver(message)] += 1
        pruned = self._prune()
        if counts["claimed"] or pruned:
            log.info(
                "%s: claimed=%d delivered=%d failed=%d given_up=%d pruned=%d",
                self.name,
                counts["claimed"],
                counts["delivered"],
                counts["failed"],
                counts["given_up"],
                pruned,
            )
        return DeliveryReport(**counts, pruned=pruned)

    def deliver(self, message: OutboxView) -> str:
        """Send one claimed message and record the outcome: delivered | failed | given_up."""
        cfg = self.config
        if message.attempts > cfg.max_attempts:  # its earlier tries died with their process
            return self._give_up(message, None, "attempts exhausted")
        # The webhook is read at send time: a URL or secret set since the message was queued applies.
        with self.catalog.unit() as u:
            hook = u.webhooks.get(message.seller_id)
        if hook is None:
            return self._give_up(message, None, "no webhook")
        try:  # checked when set; again here, since urllib would also open file: and ftp: URLs
            check_webhook_url(hook.url)
        except InvalidInput:
            return self._give_up(message, None, "invalid webhook url")
        body = message.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(hook.secret, int(self.clock().timestamp()), body),
            ID_HEADER: message.id,
        }
        result = self.transport.post(hook.url, body, headers, cfg.timeout_seconds)
        if result.ok:
            assert result.status is not None
            with self.catalog.unit() as u:
                u.outbox.delivered(message.id, now=self.clock(), status=result.status)
            self.metrics.inc("webhook_delivered")
            log.info("webhook %s delivered (%s, attempt %d)", message.id, result.reason, message.attempts)
            return "delivered"
        if message.attempts >= cfg.max_attempts:
            return self._give_up(message, result.status, result.reason)
        retry_at = self.clock() + backoff_delay(
            message.attempts, base_seconds=cfg.retry_base_seconds, max_seconds=cfg.retry_max_seconds
        )
        with self.catalog.unit() as u:
            u.outbox.failed(message.id, status=result.status, error=result.reason, retry_at=retry_at)
        self.metrics.inc("webhook_failures")
        log.info(
            "webhook %s failed (%s, attempt %d of %d); next try at %s",
            message.id,
            result.reason,
            message.attempts,
            cfg.max_attempts,
            retry_at.isoformat(timespec="seconds"),
        )
        return "failed"

    def _give_up(self, message: OutboxView, status: int | None, reason: str) -> str:
        with self.catalog.unit() as u:
            u.outbox.failed(message.id, status=status, error=reason, retry_at=None)
        self.metrics.inc("webhook_given_up")
        log.warning("webhook %s given up after %d attempts (%s)", message.id, message.attempts, reason)
        return "given_up"

    def _prune(self) -> int:
        before = self.clock() - timedelta(days=self.config.keep_delivered_days)
        with self.catalog.unit() as u:
            pruned = u.outbox.prune_delivered(before, limit=self.config.batch_size * 10)
        if pruned:
            self.metrics.inc("webhook_pruned", pruned)
        return pruned

    @property
    def interval_seconds(self) -> float:
        return self.config.interval_seconds
