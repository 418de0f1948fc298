"""The purge executor: mark → crypto-shred → delete every blob → delete derived content → purged + receipt.

Each step is idempotent and committed (with `Order.purge_step`) before the next starts, so a crash at any
point is resumed by whoever runs the order next, and two runners racing on one order (the fulfilment call
and a sweep) serialise on the order row: the second finds the step done and moves on. Backend failures
never raise out of `run`/`run_batch`: they are recorded on the order (attempts, next attempt with
backoff, error class) for the sweep to retry. `run` serves the fulfilment call; `run_batch` the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from customization_vault.blobs.base import blob_key, order_prefix
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import (
    FindingRow,
    Item,
    LegalHold,
    Order,
    PurgeReceipt,
    Seller,
    WrappedDataKey,
)
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import InvalidInput, OrderNotFound
from customization_vault.lifecycle import OrderState
from customization_vault.vault import OrderView, Vault
from retention.config import RetentionConfig
from retention.errors import VerificationFailed
from retention.holds import has_active_hold
from retention.metrics import PurgeMetrics
from retention.policy import Step, Trigger, retry_delay
from retention.receipts import ReceiptSigner

__all__ = ["PurgeReport", "Purger", "StepHook"]

log = logging.getLogger(__name__)

RECEIPT_TYPE = "customization-vault/purge-receipt"
RECEIPT_VERSION = 1

# (step, phase): phase "effect" runs after a step's effect and before its commit, "committed" after.
# Crash tests use it to stop a subprocess at each point in turn; production passes nothing.
StepHook = Callable[[int, str], None]


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What one `run` did. outcome: purged | already_purged | held | open | failed."""

    order_id: str
    outcome: str
    steps: tuple[str, ...] = ()
    blob_versions_deleted: int = 0
    error: str | None = None
    receipt: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.outcome in ("purged", "already_purged")


_STILL_THERE = "blobs of the order were still present after deletion"


@dataclass(frozen=True, slots=True)
class _Target:
    seller_id: str
    order_id: str
    keys: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return order_prefix(self.seller_id, self.order_id)


def _item_keys(s: Session, o: Order) -> tuple[str, ...]:
    ids = s.execute(select(Item.id).where(Item.order_id == o.id).order_by(Item.id)).scalars()
    return tuple(blob_key(o.seller_id, o.id, i) for i in ids)


class _Held(Exception):
    """Internal: an active legal hold appeared; stop before the next step."""


class Purger:
    def __init__(
        self,
        vault: Vault,
        signer: ReceiptSigner,
        *,
        clock: Clock = system_clock,
        config: RetentionConfig | None = None,
        metrics: PurgeMetrics | None = None,
        on_step: StepHook | None = None,
    ) -> None:
        self.vault = vault
        self.signer = signer
        self.clock = clock
        self.config = config or RetentionConfig()
        self.metrics = metrics or PurgeMetrics()
        self._on_step = on_step

    def _hook(self, step: Step, phase: str) -> None:
        if self._on_step is not None:
            self._on_step(int(step), phase)

    # ------------------------------------------------------------------ step 1
    def mark(self, order: OrderView, trigger: str, *, actor: str) -> OrderView:
        """Step 1: the order leaves "open" (fetch answers 410 from the commit on). Idempotent.

        The first trigger wins: a cancellation after a fulfilment changes nothing. `purge_due_at` is now;
        the sweep leaves the order to the caller for `handoff_grace_seconds`, then takes over.
        """
        try:
            kind = Trigger(trigger)
        except ValueError:
            raise InvalidInput("trigger must be fulfilled, cancelled or expired") from None
        with session_scope(self.vault.sessions) as s:
            o = s.get(Order, order.id, with_for_update=True)
            if o is None:
                raise OrderNotFound("no such order")
            if o.state != OrderState.OPEN:
                return OrderView.of(o)
            now = self.clock()
            o.state = kind.value
            o.trigger = kind.value
            o.triggered_at = now
            o.purge_due_at = now
            o.purge_step = int(Step.MARKED)
            o.purge_attempts = 0
            o.purge_last_error = None
            grace = 0.0 if kind is Trigger.EXPIRED else self.config.handoff_grace_seconds
            o.purge_next_attempt_at = now + timedelta(seconds=grace) if grace else None
            self.vault.audit.record(
                s,
                actor=actor,
                action=f"order.{kind.value}",
                target_type="order",
                target_id=o.id,
                details={"trigger": kind.value},
            )
            s.flush()
            view = OrderView.of(o)
        self._hook(Step.MARKED, "committed")
        return view

    # ------------------------------------------------------------------ steps 2-5
    def run(self, order_id: str, *, actor: str) -> PurgeReport:
        """Drive a marked order to purged, resuming after its last committed step."""
        with session_scope(self.vault.sessions) as s:
            o = s.get(Order, order_id)
            if o is None:
                raise OrderNotFound("no such order")
            state, step = o.state, o.purge_step
            held = has_active_hold(s, order_id, self.clock())
            # No item can join after the mark (uploads need an open order, checked under the row lock),
            # so the blob keys read once here are every key the catalog will ever know for this order.
            target = _Target(o.seller_id, o.id, _item_keys(s, o))
        if state == OrderState.OPEN:
            return PurgeReport(order_id, "open")
        if step >= Step.PURGED:
            return PurgeReport(order_id, "already_purged", receipt=self.receipt(order_id))
        if held:
            return PurgeReport(order_id, "held")
        done: list[str] = []
        versions = 0
        doc: dict[str, Any] | None = None
        try:
            while step < Step.PURGED:
                if step < Step.KEY_SHREDDED:
                    step, did = self._shred(order_id, actor)
                    name = "key_shredded"
                elif step < Step.BLOBS_DELETED:
                    step, did, n = self._delete_blobs(target)
                    versions += n
                    name = "blobs_deleted"
                elif step < Step.DERIVED_DELETED:
                    step, did = self._delete_derived(order_id)
                    name = "derived_deleted"
                else:
                    step, doc = self._finish(target, actor)
                    did, name = doc is not None, "purged"
                if did:
                    done.append(name)
        except _Held:
            return PurgeReport(order_id, "held", tuple(done), versions)
        except Exception as exc:  # recorded for the sweep; a failing step is retried, never skipped
            self._record_failure(order_id, exc)
            return PurgeReport(order_id, "failed", tuple(done), versions, error=type(exc).__name__)
        self.metrics.inc("purged")
        return PurgeReport(order_id, "purged", tuple(done), versions, receipt=doc or self.receipt(order_id))

    def _lock(self, s: Session, order_id: str, *, check_hold: bool = True) -> Order:
        """The order row, locked: concurrent runners of one order serialise here (SQLite: BEGIN IMMEDIATE)."""
        o = s.get(Order, order_id, with_for_update=True, populate_existing=True)
        if o is None:
            raise OrderNotFound("no such order")
        if check_hold and o.purge_step < Step.PURGED and has_active_hold(s, order_id, self.clock()):
            raise _Held
        return o

    def _shred(self, order_id: str, actor: str) -> tuple[int, bool]:
        """Step 2: delete the wrapped DEK; every copy of every blob of the order is noise from here on."""
        with session_scope(self.vault.sessions) as s:
            o = self._lock(s, order_id)
            if o.purge_step >= Step.KEY_SHREDDED:
                return o.purge_step, False
            result = s.execute(delete(WrappedDataKey).where(WrappedDataKey.order_id == order_id))
            rows = cast("CursorResult[Any]", result).rowcount
            if o.key_destroyed_at is None:
                o.key_destroyed_at = self.clock()
            o.purge_step = int(Step.KEY_SHREDDED)
            self.vault.audit.record(
                s,
                actor=actor,
                action="order.shred",
                target_type="order",
                target_id=order_id,
                details={"key_rows_deleted": int(rows or 0)},
            )
            self._hook(Step.KEY_SHREDDED, "effect")
        self._hook(Step.KEY_SHREDDED, "committed")
        return int(Step.KEY_SHREDDED), True

    def _delete_blobs(self, target: _Target) -> tuple[int, bool, int]:
        """Step 3: every version of every object under the order's folder: the catalog's items (their keys
        all live there, see `blob_key`) and any stray the catalog never knew.

        The deletes run outside any transaction (no lock held across network calls); they are idempotent,
        so a concurrent runner deleting the same keys does no harm. Only the step advance is locked.
        """
        versions = self.vault.blobs.delete_prefixes([target.prefix])
        self._hook(Step.BLOBS_DELETED, "effect")
        with session_scope(self.vault.sessions) as s:
            o = self._lock(s, target.order_id, check_hold=False)
            if o.purge_step >= Step.BLOBS_DELETED:
                return o.purge_step, False, versions
            now = self.clock()
            s.execute(
                update(Item)
                .where(Item.order_id == target.order_id, Item.deleted_at.is_(None))
                .values(deleted_at=now)
            )
            o.blobs_deleted_at = now
            o.purge_step = int(Step.BLOBS_DELETED)
        self._hook(Step.BLOBS_DELETED, "committed")
        return int(Step.BLOBS_DELETED), True, versions

    def _delete_derived(self, order_id: str) -> tuple[int, bool]:
        """Step 4: what was computed from content: perceptual hashes, matched spans/regions, digests."""
        with session_scope(self.vault.sessions) as s:
            o = self._lock(s, order_id, check_hold=False)
            if o.purge_step >= Step.DERIVED_DELETED:
                return o.purge_step, False
            _null_derived(s, select(Item.id).where(Item.order_id == order_id))
            o.purge_step = int(Step.DERIVED_DELETED)
            self._hook(Step.DERIVED_DELETED, "effect")
        self._hook(Step.DERIVED_DELETED, "committed")
        return int(Step.DERIVED_DELETED), True

    def _verify_blobs(self, targets: Sequence[_Target]) -> dict[str, dict[str, Any] | None]:
        """Ask the store about every blob after the fact: a verification per order, None where anything
        was found (that order goes back to step 3).

        One listing of the order's prefix answers for every blob at once — it covers every version and
        delete marker (S3: ListObjectVersions), and also keys the catalog never knew — so a per-key probe
        would add a request per blob and nothing the listing does not already show.
        """
        checked_at = self.clock()
        found = self.vault.blobs.remaining([t.prefix for t in targets])
        out: dict[str, dict[str, Any] | None] = {}
        for t in targets:
            if t.prefix in found:
                # Something came back (a racing upload, replica lag, a restore): redo from the shred on.
                self._rewind(t.order_id)
                out[t.order_id] = None
                continue
            out[t.order_id] = {
                "checked_at": _iso(checked_at),
                "store": self.vault.blobs.name,
                "blobs": [{"key": k, "found": False} for k in t.keys],
                "order_prefix_empty": True,
                "key_row_absent": True,
            }
        return out

    def _rewind(self, order_id: str) -> None:
        with session_scope(self.vault.sessions) as s:
            o = self._lock(s, order_id, check_hold=False)
            if o.purge_step < Step.PURGED:
                o.purge_step = int(Step.MARKED)

    def _finish(self, target: _Target, actor: str) -> tuple[int, dict[str, Any] | None]:
        """Step 5: verify, then mark purged and store the signed receipt in one commit."""
        verification = self._verify_blobs([target])[target.order_id]
        if verification is None:
            raise VerificationFailed(_STILL_THERE)
        order_id = target.order_id
        key_back = False
        with session_scope(self.vault.sessions) as s:
            o = self._lock(s, order_id, check_hold=False)
            if o.purge_step >= Step.PURGED:
                return o.purge_step, None
            key_back = s.get(WrappedDataKey, order_id) is not None
            if key_back:  # a restored row: shred again before any receipt claims it is gone
                o.purge_step = int(Step.MARKED)
            else:
                doc = self._write_receipt(s, o, verification, actor)
        if key_back:
            raise VerificationFailed("the order's key row was present after the shred")
        self._hook(Step.PURGED, "committed")
        return int(Step.PURGED), doc

    def _receipt_doc(
        self, o: Order, seller_external_id: str | None, items: Sequence[Item], verification: dict[str, Any]
    ) -> tuple[dict[str, Any], PurgeReceipt]:
        now = self.clock()
        body: dict[str, Any] = {
            "type": RECEIPT_TYPE,
            "version": RECEIPT_VERSION,
            "order": {"id": o.id, "external_id": o.external_id, "epoch": o.epoch},
            "seller": {"id": o.seller_id, "external_id": seller_external_id},
            "items": [
                {
                    "id": i.id,
                    "kind": i.kind,
                    "content_type": i.content_type,
                    "size": int(i.size),
                    "stored_size": int(i.stored_size),
                    "every_version_deleted_at": _iso(i.deleted_at),
                }
                for i in items
            ],
            "trigger": {"kind": o.trigger, "at": _iso(o.triggered_at)},
            "key_destroyed_at": _iso(o.key_destroyed_at),
            "blobs_deleted_at": _iso(o.blobs_deleted_at),
            "derived_content_deleted": True,
            "verification": verification,
            "purged_at": _iso(now),
        }
        doc = self.signer.sign(body)
        stored = dict(doc)
        signature = stored.pop("signature")
        return doc, PurgeReceipt(order_id=o.id, body=stored, signature=signature, created_at=now)

    def _write_receipt(
        self, s: Session, o: Order, verification: dict[str, Any], actor: str
    ) -> dict[str, Any]:
        seller = s.get(Seller, o.seller_id)
        items = s.execute(select(Item).where(Item.order_id == o.id).order_by(Item.id)).scalars().all()
        doc, row = self._receipt_doc(o, seller.external_id if seller else None, items, verification)
        s.add(row)
        o.state = OrderState.PURGED
        o.purged_at = row.created_at
        o.purge_step = int(Step.PURGED)
        o.purge_next_attempt_at = None
        o.purge_last_error = None
        self.vault.audit.record(
            s,
            actor=actor,
            action="order.purge",
            target_type="order",
            target_id=o.id,
            details={"trigger": o.trigger, "items": len(items)},
        )
        self._hook(Step.PURGED, "effect")
        return doc

    # ------------------------------------------------------------------ batches (the sweep)
    def run_batch(self, order_ids: Sequence[str], *, actor: str) -> list[PurgeReport]:
        """`run` for many orders at once, with the same five steps and the same commits per step.

        Each step is one transaction for the whole batch (and S3 deletes go out in DeleteObjects calls
        of up to 1,000 keys across orders), so a sweep pays per batch what `run` pays per order. The
        audit still records one event per order and step. If anything in a batch
        step fails, every order of the batch falls back to `run`, which isolates and records the
        failing one: nothing is skipped, and the steps already committed are simply found done.
        """
        ids = sorted(set(order_ids))
        reports: dict[str, PurgeReport] = {}
        targets: dict[str, _Target] = {}
        with session_scope(self.vault.sessions) as s:
            now = self.clock()
            rows = s.execute(
                select(Order.id, Order.seller_id, Order.state, Order.purge_step).where(Order.id.in_(ids))
            ).all()
            held = _held_ids(s, ids, now)
            keys: dict[str, list[str]] = {}
            for item_id, oid in s.execute(
                select(Item.id, Item.order_id).where(Item.order_id.in_(ids)).order_by(Item.id)
            ).all():
                keys.setdefault(oid, []).append(item_id)
        for oid, seller_id, state, step in rows:
            if state == OrderState.OPEN:
                reports[oid] = PurgeReport(oid, "open")
            elif step >= Step.PURGED:
                reports[oid] = PurgeReport(oid, "already_purged")
            elif oid in held:
                reports[oid] = PurgeReport(oid, "held")
            else:
                targets[oid] = _Target(
                    seller_id, oid, tuple(blob_key(seller_id, oid, i) for i in keys.get(oid, []))
                )
        for oid in ids:
            reports.setdefault(oid, PurgeReport(oid, "failed", error="OrderNotFound"))
        if targets:
            try:
                self._batch(targets, actor, reports)
            except Exception as exc:
                log.warning(
                    "batch purge of %d orders failed (%s); purging them one by one",
                    len(targets),
                    type(exc).__name__,
                )
                for oid in targets:
                    reports[oid] = self.run(oid, actor=actor)
        return [reports[oid] for oid in ids]

    def _batch(self, targets: dict[str, _Target], actor: str, reports: dict[str, PurgeReport]) -> None:
        steps = ("key_shredded", "blobs_deleted", "derived_deleted", "purged")
        # Step 2, all at once. Orders a hold reached since the read above drop out here.
        with session_scope(self.vault.sessions) as s:
            now = self.clock()
            locked = _lock_many(s, list(targets))
            for oid in _held_ids(s, list(targets), now):
                reports[oid] = PurgeReport(oid, "held")
                del targets[oid]
            todo = [o.id for o in locked if o.id in targets and o.purge_step < Step.KEY_SHREDDED]
            if todo:
                s.execute(delete(WrappedDataKey).where(WrappedDataKey.order_id.in_(todo)))
                s.execute(
                    update(Order)
                    .where(Order.id.in_(todo))
                    .values(purge_step=int(Step.KEY_SHREDDED), key_destroyed_at=now)
                )
                self._audit_batch(s, actor, "order.shred", todo)
                self._hook(Step.KEY_SHREDDED, "effect")
        if not targets:
            return
        self._hook(Step.KEY_SHREDDED, "committed")
        ids = sorted(targets)

        # Step 3: the deletes outside any transaction, then one commit.
        self.vault.blobs.delete_prefixes([targets[oid].prefix for oid in ids])
        self._hook(Step.BLOBS_DELETED, "effect")
        with session_scope(self.vault.sessions) as s:
            now = self.clock()
            s.execute(
                update(Item).where(Item.order_id.in_(ids), Item.deleted_at.is_(None)).values(deleted_at=now)
            )
            s.execute(
                update(Order)
                .where(Order.id.in_(ids), Order.purge_step < Step.BLOBS_DELETED)
                .values(purge_step=int(Step.BLOBS_DELETED), blobs_deleted_at=now)
            )
        self._hook(Step.BLOBS_DELETED, "committed")

        # Step 4.
        with session_scope(self.vault.sessions) as s:
            _null_derived(s, select(Item.id).where(Item.order_id.in_(ids)))
            s.execute(
                update(Order)
                .where(Order.id.in_(ids), Order.purge_step < Step.DERIVED_DELETED)
                .values(purge_step=int(Step.DERIVED_DELETED))
            )
            self._hook(Step.DERIVED_DELETED, "effect")
        self._hook(Step.DERIVED_DELETED, "committed")

        # Step 5: verify each order, then one commit for every receipt.
        verified: dict[str, dict[str, Any]] = {}
        for oid, verification in self._verify_blobs([targets[oid] for oid in ids]).items():
            if verification is None:
                self._record_failure(oid, VerificationFailed(_STILL_THERE))
                reports[oid] = PurgeReport(oid, "failed", steps[:3], error="VerificationFailed")
            else:
                verified[oid] = verification
        if not verified:
            return
        key_back: list[str] = []
        with session_scope(self.vault.sessions) as s:
            locked = [o for o in _lock_many(s, sorted(verified)) if o.purge_step < Step.PURGED]
            live_keys = set(
                s.execute(
                    select(WrappedDataKey.order_id).where(WrappedDataKey.order_id.in_([o.id for o in locked]))
                ).scalars()
            )
            seller_rows = s.execute(
                select(Seller.id, Seller.external_id).where(Seller.id.in_({o.seller_id for o in locked}))
            ).all()
            sellers = {str(r[0]): str(r[1]) for r in seller_rows}
            items: dict[str, list[Item]] = {}
            for item in s.execute(
                select(Item).where(Item.order_id.in_([o.id for o in locked])).order_by(Item.id)
            ).scalars():
                items.setdefault(item.order_id, []).append(item)
            finished: list[str] = []
            for o in locked:
                if o.id in live_keys:  # a restored key row: shred again before any receipt says it is gone
                    key_back.append(o.id)
                    continue
                doc, row = self._receipt_doc(o, sellers.get(o.seller_id), items.get(o.id, []), verified[o.id])
                s.add(row)
                reports[o.id] = PurgeReport(o.id, "purged", steps, receipt=doc)
                finished.append(o.id)
            if key_back:
                s.execute(update(Order).where(Order.id.in_(key_back)).values(purge_step=int(Step.MARKED)))
            if finished:
                s.execute(
                    update(Order)
                    .where(Order.id.in_(finished))
                    .values(
                        state=OrderState.PURGED,
                        purged_at=self.clock(),
                        purge_step=int(Step.PURGED),
                        purge_next_attempt_at=None,
                        purge_last_error=None,
                    )
                )
                self._audit_batch(s, actor, "order.purge", finished)
            self._hook(Step.PURGED, "effect")
        self._hook(Step.PURGED, "committed")
        for oid in key_back:
            self._record_failure(oid, VerificationFailed("the order's key row was present after the shred"))
            reports[oid] = PurgeReport(oid, "failed", steps[:3], error="VerificationFailed")
        for oid in verified:
            if reports[oid].outcome not in ("purged", "failed"):
                reports[oid] = PurgeReport(oid, "already_purged")  # a concurrent runner finished it
        self.metrics.inc("purged", sum(1 for r in reports.values() if r.outcome == "purged"))

    def _audit_batch(self, s: Session, actor: str, action: str, order_ids: Sequence[str]) -> None:
        """One event per order, as `run` writes, so an order's history reads the same either way."""
        self.vault.audit.record_many(
            s,
            actor=actor,
            action=action,
            target_type="order",
            targets=[(oid, {"batch": len(order_ids)}) for oid in order_ids],
        )

    def _record_failure(self, order_id: str, exc: Exception) -> None:
        self.metrics.inc("purge_failures")
        try:
            with session_scope(self.vault.sessions) as s:
                o = s.get(Order, order_id, with_for_update=True)
                if o is None or o.purge_step >= Step.PURGED:
                    return
                o.purge_attempts += 1
                o.purge_next_attempt_at = self.clock() + retry_delay(o.purge_attempts, self.config)
                # The class name only: exception messages of backends can echo request data.
                o.purge_last_error = type(exc).__name__[:500]
                attempts, step = o.purge_attempts, o.purge_step
        except Exception:
            log.exception("purge of order %s failed and the failure could not be recorded", order_id)
            return
        if attempts >= self.config.max_attempts_before_alert:
            self.metrics.inc("purge_stuck")
            log.error(
                "purge of order %s is stuck after step %d: %d failed attempts (%s)",
                order_id,
                step,
                attempts,
                type(exc).__name__,
            )
        else:
            log.warning(
                "purge of order %s failed after step %d (attempt %d, %s); retrying with backoff",
                order_id,
                step,
                attempts,
                type(exc).__name__,
            )

    # ------------------------------------------------------------------ items and receipts
    def expire_item(self, item_id: str, *, actor: str) -> bool:
        """Delete one rejected item's content after its appeal window; the rest of the order lives on.

        Its DEK is shared with the order's other items, so this is a byte deletion, not a shred.
        """
        with session_scope(self.vault.sessions) as s:
            item = s.get(Item, item_id)
            if item is None or item.deleted_at is not None:
                return False
            o = s.get(Order, item.order_id)
            if o is None or has_active_hold(s, o.id, self.clock()):
                return False
            key = blob_key(o.seller_id, o.id, item.id)
        self.vault.blobs.delete(key)
        with session_scope(self.vault.sessions) as s:
            item = s.get(Item, item_id, with_for_update=True)
            if item is None or item.deleted_at is not None:
                return False
            item.deleted_at = self.clock()
            _null_derived(s, select(Item.id).where(Item.id == item_id))
            self.vault.audit.record(
                s,
                actor=actor,
                action="item.expire",
                target_type="item",
                target_id=item_id,
                details={"order_id": item.order_id, "reason": "rejected_retention"},
            )
        return True

    def receipt(self, order_id: str) -> dict[str, Any] | None:
        """The signed receipt document ({"alg","key_id","body","signature"}), or None before purge."""
        with session_scope(self.vault.sessions) as s:
            row = s.get(PurgeReceipt, order_id)
            if row is None:
                return None
            return {**row.body, "signature": row.signature}


def _held_ids(s: Session, order_ids: Sequence[str], now: datetime) -> set[str]:
    return set(
        s.execute(
            select(LegalHold.order_id).where(
                LegalHold.order_id.in_(order_ids), LegalHold.released_at.is_(None), LegalHold.expires_at > now
            )
        ).scalars()
    )


def _lock_many(s: Session, order_ids: Sequence[str]) -> list[Order]:
    """Lock rows in id order, so two batch runners (or a batch and a single run) never deadlock."""
    return list(
        s.execute(
            select(Order)
            .where(Order.id.in_(sorted(order_ids)))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    )


def _null_derived(s: Session, item_ids: Any) -> None:
    s.execute(
        update(Item)
        .where(Item.id.in_(item_ids))
        .values(perceptual_hash=None, request_digest=None, idempotency_key=None)
    )
    s.execute(
        update(FindingRow)
        .where(FindingRow.item_id.in_(item_ids))
        .values(span_start=None, span_end=None, region=None)
    )
