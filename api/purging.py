"""The API's one door to the purge protocol: mark the order (fetch answers 410 at once), then purge.

`RetentionPurge` drives `retention.purge.Purger` (idempotent, resumable, signed receipts; the worker
finishes anything a crash interrupts). Routes only see the `PurgeGateway` protocol.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from customization_vault.catalog import OrderView
from retention.purge import Purger
from retention.receipts import ReceiptSigner

log = logging.getLogger(__name__)


class PurgeGateway(Protocol):
    def mark(self, order: OrderView, trigger: str, *, actor: str) -> OrderView:
        """Step 1: record the event (the first trigger wins); from now on content answers 410."""
        ...

    def run(self, order_id: str, *, actor: str) -> None:
        """Steps 2-5: shred, delete blobs and derived data, mark purged, sign a receipt. Idempotent."""
        ...

    def receipt(self, order_id: str) -> dict[str, Any] | None: ...

    def public_key_pem(self) -> str: ...


class RetentionPurge:
    """Adapter over `retention.purge.Purger` and the receipt signer."""

    def __init__(self, purger: Purger, signer: ReceiptSigner) -> None:
        self._purger = purger
        self._signer = signer

    def mark(self, order: OrderView, trigger: str, *, actor: str) -> OrderView:
        return self._purger.mark(order, trigger, actor=actor)

    def run(self, order_id: str, *, actor: str) -> None:
        report = self._purger.run(order_id, actor=actor)
        if not report.ok:
            log.warning("purge of order %s: %s; the sweep will retry", order_id, report.outcome)

    def receipt(self, order_id: str) -> dict[str, Any] | None:
        return self._purger.receipt(order_id)

    def public_key_pem(self) -> str:
        return self._signer.public_key_pem()


def run_purge_quietly(gateway: PurgeGateway, order_id: str, actor: str) -> None:
    """Steps 2-5 without failing the request: a failure is logged by type only; the sweep retries."""
    try:
        gateway.run(order_id, actor=actor)  # records its own failures on the order for the sweep
    except Exception as exc:
        log.warning(
            "purge of order %s did not finish (%s); the sweep will retry", order_id, type(exc).__name__
        )
