"""Wrapped data keys: one row per live order. Deleting the row is the crypto-shred."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from customization_vault.catalog.models import Order, WrappedDataKey
from customization_vault.keys.base import WrappedKey


def _wrapped(row: WrappedDataKey) -> WrappedKey:
    return WrappedKey(provider=row.provider, kek_id=row.kek_id, epoch=row.epoch, blob=row.blob)


class WrappedKeys:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, order_id: str, wrapped: WrappedKey, now: datetime) -> None:
        self._s.add(
            WrappedDataKey(
                order_id=order_id,
                provider=wrapped.provider,
                kek_id=wrapped.kek_id,
                epoch=wrapped.epoch,
                blob=wrapped.blob,
                created_at=now,
            )
        )

    def get(self, order_id: str) -> WrappedKey | None:
        row = self._s.get(WrappedDataKey, order_id)
        return None if row is None else _wrapped(row)

    def present(self, order_ids: Sequence[str]) -> set[str]:
        """Which of these orders still have a key row (a restored backup can bring one back)."""
        if not order_ids:
            return set()
        q = select(WrappedDataKey.order_id).where(WrappedDataKey.order_id.in_(order_ids))
        return set(self._s.execute(q).scalars())

    def delete(self, order_ids: Sequence[str]) -> set[str]:
        """Shred: delete the key rows; returns the orders that had one."""
        had = self.present(order_ids)
        if had:
            self._s.execute(delete(WrappedDataKey).where(WrappedDataKey.order_id.in_(had)))
        return had

    def count(self, *, epoch: str | None = None) -> int:
        q = select(func.count()).select_from(WrappedDataKey)
        if epoch is not None:
            q = q.where(WrappedDataKey.epoch == epoch)
        return int(self._s.execute(q).scalar_one())

    def epochs(self) -> list[str]:
        return sorted({e for (e,) in self._s.execute(select(WrappedDataKey.epoch).distinct())})

    def page_after(self, last_order_id: str, limit: int) -> list[tuple[str, str, WrappedKey]]:
        """(order id, seller id, wrapped key) in order-id order, for a resumable walk (key rotation)."""
        rows = self._s.execute(
            select(WrappedDataKey, Order.seller_id)
            .join(Order, Order.id == WrappedDataKey.order_id)
            .where(WrappedDataKey.order_id > last_order_id)
            .order_by(WrappedDataKey.order_id)
            .limit(limit)
        ).all()
        return [(row.order_id, str(seller_id), _wrapped(row)) for row, seller_id in rows]

    def replace(self, order_id: str, wrapped: WrappedKey, now: datetime) -> None:
        row = self._s.get(WrappedDataKey, order_id)
        if row is None:
            return  # shredded meanwhile: nothing to re-wrap
        row.kek_id, row.blob, row.provider = wrapped.kek_id, wrapped.blob, wrapped.provider
        row.rewrapped_at = now
