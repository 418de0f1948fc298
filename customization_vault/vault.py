"""The Vault facade: orders, items, envelope-encrypted content and crypto-shredding.

The API and retention call this and nothing below it. Every method is one unit of work: a blob written
before its row commits is deleted again if the row does not commit (and the orphan sweep catches a
crash in between), so a failed call leaves no item, blob or key behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session, sessionmaker

from customization_vault._crypto import DEFAULT_SEGMENT_SIZE, ObjectContext, decrypt_stream, encrypt_stream
from customization_vault.audit import AuditLog
from customization_vault.blobs.base import BlobStore, blob_key, order_prefix
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import FindingRow, Item, Order, ReviewCase, Seller, WrappedDataKey
from customization_vault.catalog.types import new_id
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import (
    InvalidInput,
    ItemNotFound,
    KeyDestroyed,
    OrderNotFound,
    StateConflict,
    TooLarge,
)
from customization_vault.keys.base import DataKey, KeyContext, KeyProvider, WrappedKey
from customization_vault.lifecycle import (
    ItemState,
    OrderState,
    check_accepts_uploads,
    check_release,
    item_state_for,
)
from screening.findings import Finding, Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OrderView:
    id: str
    seller_id: str
    external_id: str
    state: str
    epoch: str
    created_at: datetime
    first_upload_at: datetime | None
    trigger: str | None
    triggered_at: datetime | None
    purge_step: int
    key_destroyed_at: datetime | None
    blobs_deleted_at: datetime | None
    purged_at: datetime | None

    @classmethod
    def of(cls, o: Order) -> OrderView:
        return cls(
            o.id,
            o.seller_id,
            o.external_id,
            o.state,
            o.epoch,
            o.created_at,
            o.first_upload_at,
            o.trigger,
            o.triggered_at,
            o.purge_step,
            o.key_destroyed_at,
            o.blobs_deleted_at,
            o.purged_at,
        )


@dataclass(frozen=True, slots=True)
class FindingView:
    kind: str
    list_ref: str
    entry: str
    label: str | None
    category: str | None
    score: float
    severity: str
    distance: int | None
    span: tuple[int, int] | None
    region: tuple[int, ...] | None

    @classmethod
    def of(cls, f: FindingRow) -> FindingView:
        span = (f.span_start, f.span_end) if f.span_start is not None and f.span_end is not None else None
        return cls(
            f.kind,
            f.list_ref,
            f.entry,
            f.label,
            f.category,
            f.score,
            f.severity,
            f.distance,
            span,
            tuple(f.region) if f.region else None,
        )


@dataclass(frozen=True, slots=True)
class ItemView:
    id: str
    order_id: str
    kind: str
    content_type: str
    size: int
    stored_size: int
    state: str
    verdict: str | None
    metadata_removed: tuple[str, ...]
    created_at: datetime
    findings: tuple[FindingView, ...] = ()

    @classmethod
    def of(cls, i: Item, findings: Sequence[FindingRow] = ()) -> ItemView:
        return cls(
            i.id,
            i.order_id,
            i.kind,
            i.content_type,
            i.size,
            i.stored_size,
            i.state,
            i.verdict,
            tuple(i.metadata_removed or ()),
            i.created_at,
            tuple(FindingView.of(f) for f in findings),
        )


@dataclass(frozen=True, slots=True)
class NewItem:
    """What the intake hands the vault: already validated, sanitised and screened."""

    kind: str
    content_type: str
    verdict: Verdict
    metadata_removed: tuple[str, ...] = ()
    perceptual_hash: str | None = None
    idempotency_key: str | None = None
    request_digest: str | None = None


def _finding_row(item_id: str, f: Finding) -> FindingRow:
    return FindingRow(
        item_id=item_id,
        kind=f.kind.value,
        list_ref=f.list_ref,
        entry=f.entry,
        label=f.label,
        category=f.category,
        score=float(f.score),
        severity=f.severity.value,
        distance=f.distance,
        span_start=f.span[0] if f.span else None,
        span_end=f.span[1] if f.span else None,
        region=list(f.region) if f.region else None,
    )


class Vault:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        keys: KeyProvider,
        blobs: BlobStore,
        audit: AuditLog,
        *,
        clock: Clock = system_clock,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        max_items_per_order: int = 50,
    ) -> None:
        self.sessions = sessions
        self.keys = keys
        self.blobs = blobs
        self.audit = audit
        self.clock = clock
        self.segment_size = segment_size
        self.max_items_per_order = max_items_per_order

    # ------------------------------------------------------------------ sellers and orders
    def ensure_seller(self, external_id: str) -> str:
        """The internal id of a seller, created on first sight (idempotent, race-safe)."""
        if not external_id or len(external_id) > 128:
            raise InvalidInput("a seller id is 1-128 characters")
        for _ in range(2):
            with session_scope(self.sessions) as s:
                row = s.execute(select(Seller).where(Seller.external_id == external_id)).scalar_one_or_none()
                if row is not None:
                    return row.id
            try:
                with session_scope(self.sessions) as s:
                    seller = Seller(id=new_id(), external_id=external_id, created_at=self.clock())
                    s.add(seller)
                    return seller.id
            except DBIntegrityError:
                continue  # a concurrent caller created it: read it back
        raise StateConflict("seller could not be created")

    def create_order(self, seller_id: str, external_id: str, *, actor: str) -> tuple[OrderView, bool]:
        """Create the order and its data key; (order, created). Idempotent on (seller, external id)."""
        if not external_id or len(external_id) > 128:
            raise InvalidInput("an order id is 1-128 characters")
        existing = self._find(seller_id, external_id)
        if existing is not None:
            return existing, False
        order_id = new_id()
        now = self.clock()
        _dek, wrapped = self.keys.generate(KeyContext(seller_id, order_id), now)
        del _dek  # the DEK is only needed once content arrives; the wrapped form is what we keep
        try:
            with session_scope(self.sessions) as s:
                order = Order(
                    id=order_id,
                    seller_id=seller_id,
                    external_id=external_id,
                    state=OrderState.OPEN,
                    epoch=wrapped.epoch,
                    created_at=now,
                )
                s.add(order)
                s.flush()
                s.add(
                    WrappedDataKey(
                        order_id=order_id,
                        provider=wrapped.provider,
                        kek_id=wrapped.kek_id,
                        epoch=wrapped.epoch,
                        blob=wrapped.blob,
                        created_at=now,
                    )
                )
                self.audit.record(
                    s,
                    actor=actor,
                    action="order.create",
                    target_type="order",
                    target_id=order_id,
                    details={"seller_id": seller_id},
                )
                view = OrderView.of(order)
        except DBIntegrityError:
            again = self._find(seller_id, external_id)
            if again is None:
                raise
            return again, False
        return view, True

    def _find(self, seller_id: str, external_id: str) -> OrderView | None:
        with session_scope(self.sessions) as s:
            o = s.execute(
                select(Order).where(Order.seller_id == seller_id, Order.external_id == external_id)
            ).scalar_one_or_none()
            return None if o is None else OrderView.of(o)

    def find_order(self, seller_id: str, external_id: str) -> OrderView:
        """The seller's order; another seller's order is indistinguishable from a missing one."""
        view = self._find(seller_id, external_id)
        if view is None:
            raise OrderNotFound("no such order")
        return view

    def get_order(self, order_id: str) -> OrderView:
        with session_scope(self.sessions) as s:
            o = s.get(Order, order_id)
            if o is None:
                raise OrderNotFound("no such order")
            return OrderView.of(o)

    # ------------------------------------------------------------------ items
    def _data_key(self, s: Session, order: OrderView) -> DataKey:
        row = s.get(WrappedDataKey, order.id)
        if row is None:
            raise KeyDestroyed("the order's data key was destroyed")
        wrapped = WrappedKey(provider=row.provider, kek_id=row.kek_id, epoch=row.epoch, blob=row.blob)
        return self.keys.unwrap(wrapped, KeyContext(order.seller_id, order.id))

    def _blob_key(self, order: OrderView, item_id: str) -> str:
        return blob_key(order.seller_id, order.id, item_id)

    def find_idempotent(self, order: OrderView, idempotency_key: str) -> tuple[ItemView, str | None] | None:
        with session_scope(self.sessions) as s:
            item = s.execute(
                select(Item).where(Item.order_id == order.id, Item.idempotency_key == idempotency_key)
            ).scalar_one_or_none()
            if item is None:
                return None
            return self._item_view(s, item), item.request_digest

    def put_item(
        self, order: OrderView, content: Iterable[bytes], new: NewItem, *, actor: str
    ) -> tuple[ItemView, bool]:
        """Encrypt and store one item with its screening result; (item, created).

        A retry with the same idempotency key and the same request digest returns the first item;
        the same key with different content is a client error, not a silent overwrite.
        """
        if new.idempotency_key is not None:
            prior = self.find_idempotent(order, new.idempotency_key)
            if prior is not None:
                if prior[1] != new.request_digest:
                    raise StateConflict("the idempotency key was already used for a different request")
                return prior[0], False
        item_id = new_id()
        key = self._blob_key(order, item_id)
        with session_scope(self.sessions) as s:
            current = s.get(Order, order.id)
            if current is None:
                raise OrderNotFound("no such order")
            check_accepts_uploads(current.state)
            count = s.execute(
                select(func.count()).select_from(Item).where(Item.order_id == order.id)
            ).scalar_one()
            if count >= self.max_items_per_order:
                raise TooLarge("the order already holds the maximum number of items")
            dek = self._data_key(s, order)
        ctx = ObjectContext(order.seller_id, order.id, item_id)
        size = 0

        def counted() -> Iterator[bytes]:
            nonlocal size
            for chunk in content:
                size += len(chunk)
                yield chunk

        stored = self.blobs.put(key, encrypt_stream(dek, ctx, counted(), segment_size=self.segment_size))
        try:
            with session_scope(self.sessions) as s:
                current = s.get(Order, order.id, with_for_update=True)
                if current is None:
                    raise OrderNotFound("no such order")
                check_accepts_uploads(current.state)
                now = self.clock()
                state = item_state_for(new.verdict.kind)
                item = Item(
                    id=item_id,
                    order_id=order.id,
                    kind=new.kind,
                    content_type=new.content_type,
                    size=size,
                    stored_size=stored,
                    state=state,
                    verdict=new.verdict.kind.value,
                    metadata_removed=list(new.metadata_removed),
                    idempotency_key=new.idempotency_key,
                    request_digest=new.request_digest,
                    perceptual_hash=new.perceptual_hash,
                    created_at=now,
                    screened_at=now,
                )
                s.add(item)
                s.flush()
                rows = [_finding_row(item_id, f) for f in new.verdict.findings]
                s.add_all(rows)
                if state == ItemState.FLAGGED:
                    s.add(ReviewCase(item_id=item_id, created_at=now))
                if current.first_upload_at is None:
                    current.first_upload_at = now
                self.audit.record(
                    s,
                    actor=actor,
                    action="item.put",
                    target_type="item",
                    target_id=item_id,
                    details={
                        "order_id": order.id,
                        "verdict": new.verdict.kind.value,
                        "bytes": size,
                        "findings": len(rows),
                    },
                )
                s.flush()
                view = ItemView.of(item, rows)
        except BaseException as exc:
            self._discard_blob(key)
            if isinstance(exc, DBIntegrityError) and new.idempotency_key is not None:
                prior = self.find_idempotent(order, new.idempotency_key)
                if prior is not None and prior[1] == new.request_digest:
                    return prior[0], False
            raise
        return view, True

    def _discard_blob(self, key: str) -> None:
        try:
            self.blobs.delete(key)
        except Exception:  # the orphan sweep will collect it; never mask the original error
            log.warning("could not delete blob of a failed upload; left for the orphan sweep")

    def _item_view(self, s: Session, item: Item) -> ItemView:
        rows = s.execute(
            select(FindingRow).where(FindingRow.item_id == item.id).order_by(FindingRow.id)
        ).scalars()
        return ItemView.of(item, list(rows))

    def get_item(self, order: OrderView, item_id: str) -> ItemView:
        with session_scope(self.sessions) as s:
            item = s.get(Item, item_id)
            if item is None or item.order_id != order.id:
                raise ItemNotFound("no such item")
            return self._item_view(s, item)

    def list_items(self, order: OrderView) -> list[ItemView]:
        with session_scope(self.sessions) as s:
            items = s.execute(
                select(Item).where(Item.order_id == order.id).order_by(Item.created_at, Item.id)
            )
            return [self._item_view(s, i) for i in items.scalars()]

    def open_item(
        self, order: OrderView, item_id: str, *, actor: str, purpose: str
    ) -> tuple[ItemView, Iterator[bytes]]:
        """Decrypt an item as a stream; the access is audited before the first byte leaves."""
        return self._open(order, item_id, actor=actor, purpose=purpose, for_release=False)

    def fetch_for_fulfilment(
        self, order: OrderView, item_id: str, *, actor: str
    ) -> tuple[ItemView, Iterator[bytes]]:
        """Content for the order's own seller: only when released, only while the order is open."""
        return self._open(order, item_id, actor=actor, purpose="fulfilment", for_release=True)

    def _open(
        self, order: OrderView, item_id: str, *, actor: str, purpose: str, for_release: bool
    ) -> tuple[ItemView, Iterator[bytes]]:
        # One unit of work: the release rule, the key unwrap and the audit event see the same state.
        with session_scope(self.sessions) as s:
            item = s.get(Item, item_id)
            if item is None or item.order_id != order.id:
                raise ItemNotFound("no such item")
            if for_release:
                current = s.get(Order, order.id)
                if current is None:
                    raise OrderNotFound("no such order")
                # Checked before the unwrap: a purged order answers "gone", not "key destroyed".
                check_release(current.state, item.state)
            dek = self._data_key(s, order)
            view = self._item_view(s, item)
            self.audit.record(
                s,
                actor=actor,
                action="item.read",
                target_type="item",
                target_id=item_id,
                purpose=purpose,
                details={"order_id": order.id},
            )
        ctx = ObjectContext(order.seller_id, order.id, item_id)
        return view, decrypt_stream(dek, ctx, self.blobs.get(self._blob_key(order, item_id)))

    # ------------------------------------------------------------------ shredding
    def shred(self, order: OrderView, *, actor: str) -> bool:
        """Delete the wrapped data key; True if this call destroyed it. Every blob copy is noise after."""
        with session_scope(self.sessions) as s:
            row = s.get(WrappedDataKey, order.id)
            o = s.get(Order, order.id)
            if row is None:
                return False
            s.delete(row)
            if o is not None and o.key_destroyed_at is None:
                o.key_destroyed_at = self.clock()
            self.audit.record(s, actor=actor, action="order.shred", target_type="order", target_id=order.id)
        return True

    def blob_keys(self, order: OrderView) -> list[str]:
        """Every blob of the order still in the store (listing, not the catalog: catches strays)."""
        return list(self.blobs.list(order_prefix(order.seller_id, order.id)))
