"""Legal holds: the one thing that pauses a purge. Placed and released by admins, always audited.

A hold keeps the bytes, never the service: fetch still answers 410 once the order left "open". A hold
lapses by itself at its expiry, so a forgotten hold cannot keep data forever. The rule for "active"
lives in the catalog (`customization_vault.catalog.holds`), written once.
"""

from __future__ import annotations

from datetime import datetime

from customization_vault.audit import AuditLog
from customization_vault.catalog import Catalog, HoldView
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import InvalidInput, NotFound
from customization_vault.lifecycle import OrderState
from retention.errors import HoldConflict

__all__ = ["HoldView", "LegalHolds"]


class LegalHolds:
    def __init__(self, catalog: Catalog, audit: AuditLog, clock: Clock = system_clock) -> None:
        self._catalog = catalog
        self._audit = audit
        self._clock = clock

    def place(self, order_id: str, *, reason: str, expires_at: datetime, actor: str) -> HoldView:
        reason = reason.strip()
        if not reason or len(reason) > 500:
            raise InvalidInput("a hold needs a reason of 1-500 characters")
        now = self._clock()
        if expires_at <= now:
            raise InvalidInput("a hold must expire in the future")
        with self._catalog.unit() as u:
            order = u.orders.lock(order_id)
            if order is None:
                raise NotFound("no such order")
            if order.state == OrderState.PURGED:
                raise HoldConflict("the order is already purged; nothing is left to hold")
            hold = u.holds.add(order_id, reason=reason, placed_by=actor, now=now, expires_at=expires_at)
            # The reason is an admin's text, kept in its row; the audit event holds ids and times only.
            self._audit.record(
                u,
                actor=actor,
                action="hold.place",
                target_type="order",
                target_id=order_id,
                details={"hold_id": hold.id, "expires_at": expires_at.isoformat()},
            )
            return hold

    def release(self, hold_id: str, *, actor: str) -> HoldView:
        with self._catalog.unit() as u:
            found = u.holds.release(hold_id, self._clock())
            if found is None:
                raise NotFound("no such hold")
            hold, released = found
            if released:
                self._audit.record(
                    u,
                    actor=actor,
                    action="hold.release",
                    target_type="order",
                    target_id=hold.order_id,
                    details={"hold_id": hold.id},
                )
            return hold

    def for_order(self, order_id: str) -> list[HoldView]:
        with self._catalog.unit() as u:
            return u.holds.for_order(order_id, self._clock())

    def active(self, order_id: str | None = None) -> list[HoldView]:
        """Active holds of one order, or of every order when none is named."""
        with self._catalog.unit() as u:
            return u.holds.active(self._clock(), order_id=order_id)
