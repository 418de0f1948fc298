"""Signed purge receipts: the one row about an order that outlives its purge for good."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from customization_vault.catalog.models import PurgeReceipt


class Receipts:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, order_id: str, body: dict[str, Any], signature: str, now: datetime) -> None:
        self._s.add(PurgeReceipt(order_id=order_id, body=body, signature=signature, created_at=now))

    def get(self, order_id: str) -> dict[str, Any] | None:
        """The signed document ({"alg", "key_id", "body", "signature"}), or None before the purge."""
        row = self._s.get(PurgeReceipt, order_id)
        return None if row is None else {**row.body, "signature": row.signature}
