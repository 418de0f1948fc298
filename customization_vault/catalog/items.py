"""Items: one row per piece of customization content, never the content itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.orm import Session

from customization_vault.catalog.findings import Findings
from customization_vault.catalog.holds import active_hold_clause
from customization_vault.catalog.models import Item, Order, ReviewCase
from customization_vault.catalog.views import ItemView
from customization_vault.lifecycle import ItemState, OrderState, ReviewState, VerdictKind


class Items:
    def __init__(self, session: Session, findings: Findings) -> None:
        self._s = session
        self._findings = findings

    def _views(self, rows: Sequence[Item]) -> list[ItemView]:
        found = self._findings.for_items([i.id for i in rows])
        return [ItemView.of(i, found.get(i.id, ())) for i in rows]

    def get(self, item_id: str, *, order_id: str) -> ItemView | None:
        """The item if it belongs to that order: another order's item is indistinguishable from none."""
        item = self._s.get(Item, item_id)
        if item is None or item.order_id != order_id:
            return None
        return self._views([item])[0]

    def for_order(self, order_id: str) -> list[ItemView]:
        rows = self._s.execute(
            select(Item).where(Item.order_id == order_id).order_by(Item.created_at, Item.id)
        ).scalars()
        return self._views(list(rows))

    def by_idempotency_key(self, order_id: str, key: str) -> tuple[ItemView, str | None] | None:
        """The item an earlier request with this key created, and that request's digest."""
        item = self._s.execute(
            select(Item).where(Item.order_id == order_id, Item.idempotency_key == key)
        ).scalar_one_or_none()
        return None if item is None else (self._views([item])[0], item.request_digest)

    def count(self, order_id: str) -> int:
        q = select(func.count()).select_from(Item).where(Item.order_id == order_id)
        return int(self._s.execute(q).scalar_one())

    def add(
        self,
        *,
        item_id: str,
        order_id: str,
        kind: str,
        content_type: str,
        size: int,
        stored_size: int,
        state: ItemState,
        verdict: VerdictKind | None,
        metadata_removed: Sequence[str],
        idempotency_key: str | None,
        request_digest: str | None,
        perceptual_hash: str | None,
        now: datetime,
        width: int | None = None,
        height: int | None = None,
        product: str | None = None,
    ) -> None:
        self._s.add(
            Item(
                product=product,
                id=item_id,
                order_id=order_id,
                kind=kind,
                content_type=content_type,
                size=size,
                stored_size=stored_size,
                state=state,
                verdict=verdict,
                metadata_removed=list(metadata_removed),
                idempotency_key=idempotency_key,
                request_digest=request_digest,
                perceptual_hash=perceptual_hash,
                width=width,
                height=height,
                created_at=now,
                screened_at=None if verdict is None else now,
            )
        )
        self._s.flush()

    def set_verdict(self, item_id: str, state: ItemState, verdict: VerdictKind, now: datetime) -> None:
        """Record a screening job's verdict on a received item (the caller checked the transition)."""
        self._s.execute(
            update(Item).where(Item.id == item_id).values(state=state, verdict=verdict, screened_at=now)
        )

    def set_state(self, item_id: str, state: ItemState, *, rejected_at: datetime | None = None) -> None:
        """Move an item to a state the lifecycle allowed (the caller checked the transition)."""
        values: dict[str, object] = {"state": state}
        if rejected_at is not None:
            values["rejected_at"] = rejected_at
        self._s.execute(update(Item).where(Item.id == item_id).values(**values))

    def ids_by_order(self, order_ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if not order_ids:
            return out
        rows = self._s.execute(
            select(Item.id, Item.order_id).where(Item.order_id.in_(order_ids)).order_by(Item.id)
        ).all()
        for item_id, order_id in rows:
            out.setdefault(str(order_id), []).append(str(item_id))
        return out

    def by_order(self, order_ids: Sequence[str]) -> dict[str, list[ItemView]]:
        """Every item of these orders, without findings, in id order (the receipt's list)."""
        out: dict[str, list[ItemView]] = {}
        if not order_ids:
            return out
        rows = self._s.execute(select(Item).where(Item.order_id.in_(order_ids)).order_by(Item.id)).scalars()
        for i in rows:
            out.setdefault(i.order_id, []).append(ItemView.of(i))
        return out

    def mark_deleted(
        self, now: datetime, *, order_ids: Sequence[str] = (), item_id: str | None = None
    ) -> None:
        """Record that every version of the items' blobs is gone (an earlier time is kept)."""
        q = update(Item).where(Item.deleted_at.is_(None))
        if item_id is not None:
            q = q.where(Item.id == item_id)
        else:
            q = q.where(Item.order_id.in_(order_ids))
        self._s.execute(q.values(deleted_at=now))

    def forget_derived(self, *, order_ids: Sequence[str] = (), item_id: str | None = None) -> None:
        """Delete what was computed from content: perceptual hashes, request digests, idempotency keys
        (a client may put content in them) and the findings (what matched, and where)."""
        ids: Select[str] = (
            select(Item.id).where(Item.id == item_id)
            if item_id is not None
            else select(Item.id).where(Item.order_id.in_(order_ids))
        )
        self._s.execute(
            update(Item)
            .where(Item.id.in_(ids))
            .values(perceptual_hash=None, request_digest=None, idempotency_key=None)
        )
        self._findings.fold_and_delete(ids)

    def deletable(self, item_id: str) -> tuple[str, str] | None:
        """(seller id, order id) of an item whose content may still be deleted, or None."""
        row = self._s.execute(
            select(Order.seller_id, Order.id)
            .join(Item, Item.order_id == Order.id)
            .where(Item.id == item_id, Item.deleted_at.is_(None))
        ).first()
        return None if row is None else (str(row[0]), str(row[1]))

    def rejected_before(self, cutoff: datetime, now: datetime, *, limit: int) -> list[str]:
        """Items rejected at or before `cutoff` whose content still exists, with no appeal pending and
        no hold on their order."""
        appealed = exists().where(ReviewCase.item_id == Item.id, ReviewCase.state == ReviewState.APPEALED)
        return list(
            self._s.execute(
                select(Item.id)
                .join(Order, Order.id == Item.order_id)
                .where(
                    Item.state == ItemState.REJECTED,
                    Item.rejected_at <= cutoff,
                    Item.deleted_at.is_(None),
                    Order.state != OrderState.PURGED,
                    ~appealed,
                    ~active_hold_clause(Order.id, now),
                )
                .limit(limit)
            ).scalars()
        )

    def rescreened(self, item_id: str, state: ItemState, verdict: VerdictKind, now: datetime) -> None:
        """Record a re-screen's verdict and the state it led to (the caller checked the transition)."""
        self._s.execute(
            update(Item).where(Item.id == item_id).values(state=state, verdict=verdict, screened_at=now)
        )
