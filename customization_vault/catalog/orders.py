"""Orders: creation, the purge state machine's columns, and the queries the sweep runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from customization_vault.catalog.holds import active_hold_clause
from customization_vault.catalog.models import Order
from customization_vault.catalog.views import OrderView
from customization_vault.lifecycle import OrderState, PurgeStep

_DUE_STATES = (OrderState.FULFILLED, OrderState.CANCELLED, OrderState.EXPIRED)


class Orders:
    def __init__(self, session: Session) -> None:
        self._s = session

    # ------------------------------------------------------------------ reads
    def get(self, order_id: str) -> OrderView | None:
        o = self._s.get(Order, order_id)
        return None if o is None else OrderView.of(o)

    def find(self, seller_id: str, external_id: str) -> OrderView | None:
        o = self._s.execute(
            select(Order).where(Order.seller_id == seller_id, Order.external_id == external_id)
        ).scalar_one_or_none()
        return None if o is None else OrderView.of(o)

    def many(self, order_ids: Sequence[str]) -> list[OrderView]:
        if not order_ids:
            return []
        rows = self._s.execute(select(Order).where(Order.id.in_(order_ids)).order_by(Order.id)).scalars()
        return [OrderView.of(o) for o in rows]

    def by_external_id(self, external_id: str) -> list[OrderView]:
        """Every seller's order with this id (sellers choose their ids, so several may share one)."""
        rows = self._s.execute(
            select(Order).where(Order.external_id == external_id).order_by(Order.created_at)
        ).scalars()
        return [OrderView.of(o) for o in rows]

    def purge_times(self, since: datetime) -> list[tuple[datetime, datetime]]:
        """(left open, purged) of every order purged since `since`, oldest purge first."""
        q = (
            select(Order.triggered_at, Order.purged_at)
            .where(Order.purged_at >= since, Order.triggered_at.is_not(None))
            .order_by(Order.purged_at)
        )
        return [(a, b) for a, b in self._s.execute(q).all() if a is not None and b is not None]

    def owners(self, order_ids: Sequence[str]) -> dict[str, tuple[str, OrderState]]:
        """Order id → (seller id, state) for the orders that exist."""
        if not order_ids:
            return {}
        rows = self._s.execute(
            select(Order.id, Order.seller_id, Order.state).where(Order.id.in_(order_ids))
        ).all()
        return {str(r[0]): (str(r[1]), OrderState(r[2])) for r in rows}

    # ------------------------------------------------------------------ locks
    def lock(self, order_id: str) -> OrderView | None:
        """The row, locked for this transaction (SQLite: BEGIN IMMEDIATE already serialises writers)."""
        o = self._s.get(Order, order_id, with_for_update=True, populate_existing=True)
        return None if o is None else OrderView.of(o)

    def lock_many(self, order_ids: Sequence[str]) -> list[OrderView]:
        """Rows locked in id order, so two runners over overlapping batches never deadlock."""
        if not order_ids:
            return []
        rows = self._s.execute(
            select(Order)
            .where(Order.id.in_(sorted(order_ids)))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
        return [OrderView.of(o) for o in rows]

    # ------------------------------------------------------------------ writes
    def add(
        self,
        *,
        order_id: str,
        seller_id: str,
        external_id: str,
        epoch: str,
        now: datetime,
        product: str | None = None,
    ) -> OrderView:
        order = Order(
            product=product,
            id=order_id,
            seller_id=seller_id,
            external_id=external_id,
            state=OrderState.OPEN,
            epoch=epoch,
            created_at=now,
        )
        self._s.add(order)
        self._s.flush()
        return OrderView.of(order)

    def set_product(self, order_id: str, product: str | None) -> None:
        self._s.execute(update(Order).where(Order.id == order_id).values(product=product))

    def note_first_upload(self, order_id: str, now: datetime) -> None:
        self._s.execute(
            update(Order)
            .where(Order.id == order_id, Order.first_upload_at.is_(None))
            .values(first_upload_at=now)
        )

    def mark(
        self, order_id: str, state: OrderState, *, now: datetime, next_attempt_at: datetime | None
    ) -> None:
        """Step 1 of the purge: the order leaves "open" and is due now."""
        self._s.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(
                state=state,
                trigger=state.value,
                triggered_at=now,
                purge_due_at=now,
                purge_step=PurgeStep.MARKED,
                purge_attempts=0,
                purge_last_error=None,
                purge_next_attempt_at=next_attempt_at,
            )
        )

    def advance(
        self,
        order_ids: Sequence[str],
        step: PurgeStep,
        *,
        key_destroyed_at: datetime | None = None,
        blobs_deleted_at: datetime | None = None,
    ) -> None:
        """Record a committed purge step; an earlier time already recorded is kept (a rerun is not news)."""
        if not order_ids:
            return
        values: dict[str, object] = {"purge_step": step}
        if key_destroyed_at is not None:
            values["key_destroyed_at"] = func.coalesce(Order.key_destroyed_at, key_destroyed_at)
        if blobs_deleted_at is not None:
            values["blobs_deleted_at"] = func.coalesce(Order.blobs_deleted_at, blobs_deleted_at)
        self._s.execute(
            update(Order).where(Order.id.in_(order_ids), Order.purge_step < step).values(**values)
        )

    def rewind(self, order_ids: Sequence[str]) -> None:
        """Back to "marked": something came back (a restored key row or blob) and must be purged again."""
        if order_ids:
            self._s.execute(
                update(Order)
                .where(Order.id.in_(order_ids), Order.purge_step < PurgeStep.PURGED)
                .values(purge_step=PurgeStep.MARKED)
            )

    def finish(self, order_ids: Sequence[str], now: datetime) -> None:
        if order_ids:
            self._s.execute(
                update(Order)
                .where(Order.id.in_(order_ids))
                .values(
                    state=OrderState.PURGED,
                    purged_at=now,
                    purge_step=PurgeStep.PURGED,
                    purge_next_attempt_at=None,
                    purge_last_error=None,
                )
            )

    def record_failure(
        self, order_id: str, error: str, backoff: Callable[[int], datetime]
    ) -> tuple[int, PurgeStep] | None:
        """Count a failed attempt and schedule the next by `backoff(attempts)`; (attempts, step) or None
        when the order is gone or already purged."""
        o = self._s.get(Order, order_id, with_for_update=True, populate_existing=True)
        if o is None or o.purge_step >= PurgeStep.PURGED:
            return None
        o.purge_attempts += 1
        o.purge_next_attempt_at = backoff(o.purge_attempts)
        o.purge_last_error = error[:500]
        return o.purge_attempts, PurgeStep(o.purge_step)

    # ------------------------------------------------------------------ the sweep's queries
    def claim_due(self, now: datetime, *, limit: int, lease: timedelta, skip: set[str]) -> list[str]:
        """Due orders no hold keeps, claimed with a lease written to `purge_next_attempt_at`.

        SKIP LOCKED lets concurrent workers take disjoint batches without waiting; the lease keeps them
        disjoint after the claim commits and hands a crashed worker's orders to the others once it
        lapses. SQLite ignores FOR UPDATE: BEGIN IMMEDIATE serialises the claim instead.
        """
        ids = list(
            self._s.execute(
                select(Order.id)
                .where(
                    Order.state.in_(_DUE_STATES),
                    # NULL too: the state alone says "must be purged" (a row marked by an older release
                    # that did not set a due time must never hide).
                    or_(Order.purge_due_at.is_(None), Order.purge_due_at <= now),
                    or_(Order.purge_next_attempt_at.is_(None), Order.purge_next_attempt_at <= now),
                    ~active_hold_clause(Order.id, now),
                )
                .order_by(Order.purge_due_at.asc().nulls_first())
                .limit(limit)
                .with_for_update(skip_locked=True, of=Order)
            ).scalars()
        )
        ids = [i for i in ids if i not in skip]
        if ids:
            self._s.execute(update(Order).where(Order.id.in_(ids)).values(purge_next_attempt_at=now + lease))
        return ids

    def open_since(self, cutoff: datetime, *, limit: int) -> list[OrderView]:
        """Open orders whose first upload (or creation, if none) is at or before `cutoff`."""
        rows = self._s.execute(
            select(Order)
            .where(
                Order.state == OrderState.OPEN,
                func.coalesce(Order.first_upload_at, Order.created_at) <= cutoff,
            )
            .limit(limit)
        ).scalars()
        return [OrderView.of(o) for o in rows]

    def epoch_usage(self, epoch: str) -> tuple[int, datetime | None]:
        """(orders of the epoch not yet purged, the last purge time among its orders)."""
        live = self._s.execute(
            select(func.count())
            .select_from(Order)
            .where(Order.epoch == epoch, Order.state != OrderState.PURGED)
        ).scalar_one()
        last = self._s.execute(select(func.max(Order.purged_at)).where(Order.epoch == epoch)).scalar_one()
        return int(live), last
