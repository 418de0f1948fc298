"""The API's one door to the purge protocol: mark the order (fetch answers 410 at once), then purge.

`RetentionPurge` drives `retention.purge.Purger` (idempotent, resumable, signed receipts; the worker
finishes anything a crash interrupts). Routes only see the `PurgeGateway` protocol.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from customization_vault.vault import OrderView

log = logging.getLogger(__name__)


class PurgeGateway(Protocol):
    def mark(self, order: OrderView, trigger: str, *, actor: str) -> None:
        """Step 1: record the event; from now on the order's content is never served (410)."""
        ...

    def run(self, order_id: str, *, actor: str) -> None:
        """Steps 2-5: shred, delete blobs and derived data, mark purged, sign a receipt. Idempotent."""
        ...

    def receipt(self, order_id: str) -> dict[str, Any] | None: ...

    def public_key_pem(self) -> bytes: ...


class RetentionPurge:
    """Adapter over `retention.purge.Purger` and the receipt signer."""

    def __init__(self, purger: Any, signer: Any) -> None:
        self._purger = purger
        self._signer = signer

    def mark(self, order: OrderView, trigger: str, *, actor: str) -> None:
        self._purger.mark(order, trigger, actor=actor)

    def run(self, order_id: str, *, actor: str) -> None:
        self._purger.run(order_id, actor=actor)

    def receipt(self, order_id: str) -> dict[str, Any] | None:
        r = self._purger.receipt(order_id)
        return None if r is None else dict(r)

    def public_key_pem(self) -> bytes:
        pem = self._signer.public_key_pem()
        return pem if isinstance(pem, bytes) else str(pem).encode()


def run_purge_quietly(gateway: PurgeGateway, order_id: str, actor: str) -> None:
    """Background step after the 202: a failure is logged by type only; the retention sweep retries."""
    try:
        gateway.run(order_id, actor=actor)
    except Exception as exc:
        log.warning(
            "purge of order %s did not finish (%s); the sweep will retry", order_id, type(exc).__name__
        )


class InlinePurge:
    """Stand-in until `retention.purge` lands: mark, crypto-shred, delete blobs, mark purged; no receipt.

    Kept deliberately small: the retention package owns the real protocol (derived-data removal,
    verification, signed receipts, resumption by the sweep).
    """

    def __init__(self, vault: Any, signer: Any) -> None:
        self._vault = vault
        self._signer = signer

    def mark(self, order: OrderView, trigger: str, *, actor: str) -> None:
        from customization_vault.catalog.db import session_scope
        from customization_vault.catalog.models import Order
        from customization_vault.errors import StateConflict
        from customization_vault.lifecycle import OrderState

        with session_scope(self._vault.sessions) as s:
            row = s.get(Order, order.id, with_for_update=True)
            if row is None:
                return
            if row.state == OrderState.OPEN:
                row.state = trigger
                row.trigger = trigger
                row.triggered_at = self._vault.clock()
                row.purge_step = max(row.purge_step, 1)
                self._vault.audit.record(
                    s, actor=actor, action=f"order.{trigger}", target_type="order", target_id=order.id
                )
            elif row.trigger is not None and row.trigger != trigger:
                raise StateConflict("the order already ended another way")

    def run(self, order_id: str, *, actor: str) -> None:
        from customization_vault.catalog.db import session_scope
        from customization_vault.catalog.models import Order
        from customization_vault.lifecycle import OrderState

        order = self._vault.get_order(order_id)
        self._vault.shred(order, actor=actor)
        self._vault.blobs.delete_many(self._vault.blob_keys(order))
        with session_scope(self._vault.sessions) as s:
            row = s.get(Order, order_id)
            if row is not None and row.state != OrderState.PURGED:
                now = self._vault.clock()
                row.blobs_deleted_at = now
                row.purged_at = now
                row.state = OrderState.PURGED
                row.purge_step = 5

    def receipt(self, order_id: str) -> dict[str, Any] | None:
        return None

    def public_key_pem(self) -> bytes:
        pem = self._signer.public_key_pem()
        return pem if isinstance(pem, bytes) else str(pem).encode()
