"""The notification outbox: rows written in the transaction of the change they report, delivered later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from customization_vault.catalog.models import OutboxMessage
from customization_vault.catalog.types import new_id


class Outbox:
    def __init__(self, session: Session) -> None:
        self._s = session

    def enqueue(
        self, *, seller_id: str, type: str, body: str, now: datetime, message_id: str | None = None
    ) -> str:
        """Queue one message (its `body` is the exact JSON that will be signed and sent); its id."""
        mid = message_id or new_id()
        self._s.add(
            OutboxMessage(
                id=mid, seller_id=seller_id, type=type, body=body, created_at=now, next_attempt_at=now
            )
        )
        return mid
