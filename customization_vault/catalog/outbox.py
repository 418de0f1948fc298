"""The notification outbox: rows written in the transaction of the change they report, delivered later.

A row's life: due (`next_attempt_at` set, not delivered) → claimed (its `next_attempt_at` pushed to the
end of a lease, `attempts` counted) → delivered (`delivered_at`), back to due at a later time after a
failure, or given up (neither: kept with its `last_error` for an operator to see). Counting the attempt
at the claim means a delivery that kills its process still counts, so a message cannot crash workers
forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from customization_vault.catalog.models import OutboxMessage
from customization_vault.catalog.types import new_id


@dataclass(frozen=True, slots=True)
class OutboxView:
    """One message. `body` is ids and codes only (the notifier builds it so), safe to show."""

    id: str
    seller_id: str
    type: str
    body: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None

    @property
    def given_up(self) -> bool:
        return self.delivered_at is None and self.next_attempt_at is None

    @classmethod
    def of(cls, m: OutboxMessage) -> OutboxView:
        return cls(
            m.id,
            m.seller_id,
            m.type,
            m.body,
            m.created_at,
            m.attempts,
            m.next_attempt_at,
            m.delivered_at,
            m.last_status,
            m.last_error,
        )


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int  # waiting for a first try, a retry, or a claim's lease to end
    given_up: int  # out of attempts (or the seller's webhook was removed); kept for inspection


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
                id=mid,
                seller_id=seller_id,
                type=type,
                body=body,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )
        return mid

    def get(self, message_id: str) -> OutboxView | None:
        row = self._s.get(OutboxMessage, message_id, populate_existing=True)
        return None if row is None else OutboxView.of(row)

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxView]:
        """Due messages, oldest due first, each leased until `now + lease` and its attempt counted.

        SKIP LOCKED lets concurrent deliverers on PostgreSQL take disjoint batches without waiting; the
        lease keeps them disjoint after the claim commits and hands a killed deliverer's messages to
        the next claim once it lapses. SQLite ignores FOR UPDATE: BEGIN IMMEDIATE serialises claims.
        """
        ids = list(
            self._s.execute(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.delivered_at.is_(None),
                    OutboxMessage.next_attempt_at.is_not(None),
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        if not ids:
            return []
        self._s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + lease)
        )
        rows = self._s.execute(
            select(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .execution_options(populate_existing=True)
        ).scalars()
        return [OutboxView.of(m) for m in rows]

    def delivered(self, message_id: str, *, now: datetime, status: int) -> bool:
        """Record the receiver's 2xx; False if the message is gone or another claim delivered it."""
        row = self._undelivered(message_id)
        if row is None:
            return False
        row.delivered_at = now
        row.next_attempt_at = None
        row.last_status = status
        row.last_error = None
        return True

    def failed(self, message_id: str, *, status: int | None, error: str, retry_at: datetime | None) -> bool:
        """Record a failed attempt and when to try again (None: give up and keep the row).

        `error` is a short fixed phrase ("http 500", "timeout"), never a response body. False if the
        message is gone or was delivered meanwhile (a claim whose lease lapsed must not undo that).
        """
        row = self._undelivered(message_id)
        if row is None:
            return False
        row.last_status = status
        row.last_error = error[:200]
        row.next_attempt_at = retry_at
        return True

    def _undelivered(self, message_id: str) -> OutboxMessage | None:
        row = self._s.get(OutboxMessage, message_id, with_for_update=True, populate_existing=True)
        return None if row is None or row.delivered_at is not None else row

    def counts(self, seller_id: str | None = None) -> OutboxCounts:
        """Undelivered messages: still pending, and given up."""
        waiting = OutboxMessage.next_attempt_at.is_not(None)
        q = select(func.count(case((waiting, 1))), func.count(case((~waiting, 1)))).where(
            OutboxMessage.delivered_at.is_(None)
        )
        if seller_id is not None:
            q = q.where(OutboxMessage.seller_id == seller_id)
        pending, given_up = self._s.execute(q).one()
        return OutboxCounts(int(pending), int(given_up))

    def prune_delivered(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` messages delivered before `before`; how many went."""
        ids = list(
            self._s.execute(
                select(OutboxMessage.id)
                .where(OutboxMessage.delivered_at.is_not(None), OutboxMessage.delivered_at < before)
                .limit(limit)
            ).scalars()
        )
        if ids:
            self._s.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        return len(ids)
