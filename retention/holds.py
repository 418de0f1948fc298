"""Legal holds: the one thing that pauses a purge. Placed and released by admins, always audited.

A hold keeps the bytes, never the service: fetch still answers 410 once the order left "open". A hold
lapses by itself at its expiry, so a forgotten hold cannot keep data forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker
from sqlalchemy.sql import ColumnElement

from customization_vault.audit import AuditLog
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import LegalHold, Order
from customization_vault.catalog.types import new_id
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import InvalidInput, NotFound
from customization_vault.lifecycle import OrderState
from retention.errors import HoldConflict


@dataclass(frozen=True, slots=True)
class HoldView:
    id: str
    order_id: str
    reason: str
    placed_by: str
    placed_at: datetime
    expires_at: datetime
    released_at: datetime | None

    @classmethod
    def of(cls, h: LegalHold) -> HoldView:
        return cls(h.id, h.order_id, h.reason, h.placed_by, h.placed_at, h.expires_at, h.released_at)

    def active(self, now: datetime) -> bool:
        return self.released_at is None and now < self.expires_at


def active_hold_clause(
    order_id_column: ColumnElement[str] | InstrumentedAttribute[str], now: datetime
) -> ColumnElement[bool]:
    """SQL: an unreleased, unexpired hold exists for the order (used in claim queries)."""
    return exists().where(
        LegalHold.order_id == order_id_column,
        LegalHold.released_at.is_(None),
        LegalHold.expires_at > now,
    )


def has_active_hold(s: Session, order_id: str, now: datetime) -> bool:
    return bool(s.execute(select(active_hold_clause(Order.id, now)).where(Order.id == order_id)).scalar())


class LegalHolds:
    def __init__(self, sessions: sessionmaker[Session], audit: AuditLog, clock: Clock = system_clock) -> None:
        self._sessions = sessions
        self._audit = audit
        self._clock = clock

    def place(self, order_id: str, *, reason: str, expires_at: datetime, actor: str) -> HoldView:
        reason = reason.strip()
        if not reason or len(reason) > 500:
            raise InvalidInput("a hold needs a reason of 1-500 characters")
        now = self._clock()
        if expires_at <= now:
            raise InvalidInput("a hold must expire in the future")
        with session_scope(self._sessions) as s:
            order = s.get(Order, order_id, with_for_update=True)
            if order is None:
                raise NotFound("no such order")
            if order.state == OrderState.PURGED:
                raise HoldConflict("the order is already purged; nothing is left to hold")
            hold = LegalHold(
                id=new_id(),
                order_id=order_id,
                reason=reason,
                placed_by=actor,
                placed_at=now,
                expires_at=expires_at,
            )
            s.add(hold)
            s.flush()
            # The reason is an admin's text, kept in its row; the audit event holds ids and times only.
            self._audit.record(
                s,
                actor=actor,
                action="hold.place",
                target_type="order",
                target_id=order_id,
                details={"hold_id": hold.id, "expires_at": expires_at.isoformat()},
            )
            return HoldView.of(hold)

    def release(self, hold_id: str, *, actor: str) -> HoldView:
        with session_scope(self._sessions) as s:
            hold = s.get(LegalHold, hold_id, with_for_update=True)
            if hold is None:
                raise NotFound("no such hold")
            if hold.released_at is None:
                hold.released_at = self._clock()
                self._audit.record(
                    s,
                    actor=actor,
                    action="hold.release",
                    target_type="order",
                    target_id=hold.order_id,
                    details={"hold_id": hold.id},
                )
            return HoldView.of(hold)

    def for_order(self, order_id: str) -> list[HoldView]:
        with session_scope(self._sessions) as s:
            rows = s.execute(
                select(LegalHold).where(LegalHold.order_id == order_id).order_by(LegalHold.placed_at)
            ).scalars()
            return [HoldView.of(h) for h in rows]

    def all_active(self) -> list[HoldView]:
        """Every hold in force now, on any order, soonest to lapse first."""
        now = self._clock()
        with session_scope(self._sessions) as s:
            rows = s.execute(
                select(LegalHold)
                .where(LegalHold.released_at.is_(None), LegalHold.expires_at > now)
                .order_by(LegalHold.expires_at, LegalHold.id)
            ).scalars()
            return [HoldView.of(h) for h in rows]

    def active(self, order_id: str) -> list[HoldView]:
        now = self._clock()
        return [h for h in self.for_order(order_id) if h.active(now)]
