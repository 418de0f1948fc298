"""Sellers: the tenants. Found by the id the marketplace gives them, created on first sight."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from customization_vault.catalog.models import Seller
from customization_vault.catalog.types import new_id


class Sellers:
    def __init__(self, session: Session) -> None:
        self._s = session

    def find_id(self, external_id: str) -> str | None:
        return self._s.execute(
            select(Seller.id).where(Seller.external_id == external_id)
        ).scalar_one_or_none()

    def add(self, external_id: str, now: datetime) -> str:
        seller = Seller(id=new_id(), external_id=external_id, created_at=now)
        self._s.add(seller)
        self._s.flush()
        return seller.id

    def external_ids(self, seller_ids: Iterable[str]) -> dict[str, str]:
        ids = set(seller_ids)
        if not ids:
            return {}
        rows = self._s.execute(select(Seller.id, Seller.external_id).where(Seller.id.in_(ids))).all()
        return {str(r[0]): str(r[1]) for r in rows}

    def existing(self, seller_ids: Iterable[str]) -> set[str]:
        """The internal ids among `seller_ids` that name a seller."""
        ids = set(seller_ids)
        if not ids:
            return set()
        return {str(r) for r in self._s.execute(select(Seller.id).where(Seller.id.in_(ids))).scalars()}
