"""Legal holds. The hold rule — unreleased and not yet expired — is written here once, in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import ColumnElement

from customization_vault.catalog.models import LegalHold
from customization_vault.catalog.types import new_id
from customization_vault.catalog.views import HoldView


def _active(now: datetime) -> ColumnElement[bool]:
    return and_(LegalHold.released_at.is_(None), LegalHold.expires_at > now)


def active_hold_clause(
    order_id_column: ColumnElement[str] | InstrumentedAttribute[str], now: datetime
) -> ColumnElement[bool]:
    """SQL: an active hold exists for the order (claim and expiry queries filter with it)."""
    return exists().where(LegalHold.order_id == order_id_column, _active(now))


class Holds:
    def __init__(self, session: Session) -> None:
        self._s = session

    def held(self, order_ids: Sequence[str], now: datetime) -> set[str]:
        """Which of these orders an active hold keeps."""
        if not order_ids:
            return set()
        q = select(LegalHold.order_id).where(LegalHold.order_id.in_(order_ids), _active(now))
        return set(self._s.execute(q).scalars())

    def add(
        self, order_id: str, *, reason: str, placed_by: str, now: datetime, expires_at: datetime
    ) -> HoldView:
        hold = LegalHold(
            id=new_id(),
            order_id=order_id,
            reason=reason,
            placed_by=placed_by,
            placed_at=now,
            expires_at=expires_at,
        )
        self._s.add(hold)
        self._s.flush()
        return self._one(hold.id, now)

    def release(self, hold_id: str, now: datetime) -> tuple[HoldView, bool] | None:
        """(hold, released by this call); None when there is no such hold."""
        row = self._s.get(LegalHold, hold_id, with_for_update=True)
        if row is None:
            return None
        released = row.released_at is None
        if released:
            row.released_at = now
            self._s.flush()
        return self._one(hold_id, now), released

    def for_order(self, order_id: str, now: datetime) -> list[HoldView]:
        return self._views(self._select(now).where(LegalHold.order_id == order_id))

    def active(self, now: datetime, *, order_id: str | None = None) -> list[HoldView]:
        """Active holds, of one order or of every order, soonest to lapse first."""
        q = select(LegalHold, _active(now).label("active")).where(_active(now))
        if order_id is not None:
            q = q.where(LegalHold.order_id == order_id)
        return self._views(q.order_by(LegalHold.expires_at, LegalHold.id))

    def _select(self, now: datetime) -> Select[LegalHold, bool]:
        return select(LegalHold, _active(now).label("active")).order_by(LegalHold.placed_at)

    def _views(self, q: Select[LegalHold, bool]) -> list[HoldView]:
        return [HoldView.of(h, active=bool(a)) for h, a in self._s.execute(q).all()]

    def _one(self, hold_id: str, now: datetime) -> HoldView:
        return self._views(self._select(now).where(LegalHold.id == hold_id))[0]
