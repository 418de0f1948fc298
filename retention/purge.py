"""The purge protocol: mark → crypto-shred → delete every blob → delete derived content → purged + receipt.

Each step is idempotent and committed (with `Order.purge_step`) before the next starts, so a crash at any
point is resumed by whoever runs the order next, and two runners racing on one order (the fulfilment call
and a sweep) serialise on the order rows: the second finds the step done and moves on. The protocol is
written once, for a batch: `run(order)` is `run_batch([order])`, so the fulfilment call, the event
consumer and the sweep all take the same path, and an order's audit history reads the same however it
was purged. Backend failures never raise out of `run`/`run_batch`: they are recorded on the order
(attempts, next attempt with backoff, error class) for the sweep to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from customization_vault.blobs.base import blob_key, order_prefix
from customization_vault.catalog import ItemView, OrderView, Unit
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import InvalidInput, OrderNotFound
from customization_vault.lifecycle import OrderState, PurgeOutcome, PurgeStep, check_order, check_purge_step
from customization_vault.vault import Vault
from retention.config import RetentionConfig
from retention.errors import VerificationFailed
from retention.metrics import PurgeMetrics
from retention.policy import Trigger, retry_delay
from retention.receipts import ReceiptSigner, iso_utc

__all__ = ["PurgeReport", "Purger", "StepHook"]

log = logging.getLogger(__name__)

RECEIPT_TYPE = "customization-vault/purge-receipt"
RECEIPT_VERSION = 1

# (step, phase): phase "effect" runs after a step's effect and before its commit, "committed" after.
# Crash tests use it to stop a subprocess at each point in turn; production passes nothing.
StepHook = Callable[[int, str], None]

_STILL_THERE = "blobs of the order were still present after deletion"
_KEY_BACK = "the order's key row was present after the shred"


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What one purge attempt of one order did."""

    order_id: str
    outcome: PurgeOutcome
    steps: tuple[str, ...] = ()
    error: str | None = None
    receipt: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.outcome in (PurgeOutcome.PURGED, PurgeOutcome.ALREADY_PURGED)


@dataclass(slots=True)
class _Target:
    """An order being purged in this run: where its blobs live and the last step known committed."""

    seller_id: str
    order_id: str
    item_ids: tuple[str, ...]
    step: PurgeStep
    done: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return order_prefix(self.seller_id, self.order_id)


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

    def _hook(self, step: PurgeStep, phase: str) -> None:
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
        with self.vault.catalog.unit() as u:
            current = u.orders.lock(order.id)
            if current is None:
                raise OrderNotFound("no such order")
            if current.state != OrderState.OPEN:
                return current
            state = check_order(current.state, OrderState(kind.value))
            now = self.clock()
            grace = 0.0 if kind is Trigger.EXPIRED else self.config.handoff_grace_seconds
            u.orders.mark(
                order.id, state, now=now, next_attempt_at=now + timedelta(seconds=grace) if grace else None
            )
            # Purge wins: no case keeps content alive (a legal hold keeps the bytes, not the case).
            u.reviews.close_live(reason="purged", now=now, order_ids=[order.id])
            self.vault.audit.record(
                u,
                actor=actor,
                action=f"order.{kind.value}",
                target_type="order",
                target_id=order.id,
                details={"trigger": kind.value},
            )
            view = u.orders.get(order.id)
            assert view is not None
        self._hook(PurgeStep.MARKED, "committed")
        return view

    # ------------------------------------------------------------------ steps 2-5
    def run(self, order_id: str, *, actor: str) -> PurgeReport:
        """Drive one marked order to purged, resuming after its last committed step."""
        report = self.run_batch([order_id], actor=actor)[0]
        if report.error == OrderNotFound.__name__:
            raise OrderNotFound("no such order")
        return report

    def run_batch(self, order_ids: Sequence[str], *, actor: str) -> list[PurgeReport]:
        """Drive marked orders to purged, each step one transaction for the whole batch.

        S3 deletes go out in DeleteObjects calls of up to 1,000 keys across orders, so a sweep pays per
        batch what one order pays alone; the audit still records one event per order and step. If a
        step fails for a batch of several, each order is run again alone, which isolates and records
        the failing one: nothing is skipped, and the steps already committed are simply found done.
        """
        ids = sorted(set(order_ids))
        reports: dict[str, PurgeReport] = {}
        targets: dict[str, _Target] = {}
        with self.vault.catalog.unit() as u:
            orders = u.orders.many(ids)
            held = u.holds.held(ids, self.clock())
            # No item can join after the mark (uploads need an open order, checked under the row lock),
            # so the items read here are every item the catalog will ever know for these orders.
            item_ids = u.items.ids_by_order(ids)
            for o in orders:
                if o.state == OrderState.OPEN:
                    reports[o.id] = PurgeReport(o.id, PurgeOutcome.OPEN)
                elif o.purge_step >= PurgeStep.PURGED:
                    reports[o.id] = PurgeReport(
                        o.id, PurgeOutcome.ALREADY_PURGED, receipt=u.receipts.get(o.id)
                    )
                elif o.id in held:
                    reports[o.id] = PurgeReport(o.id, PurgeOutcome.HELD)
                else:
                    targets[o.id] = _Target(o.seller_id, o.id, tuple(item_ids.get(o.id, ())), o.purge_step)
        for oid in ids:
            reports.setdefault(oid, PurgeReport(oid, PurgeOutcome.FAILED, error=OrderNotFound.__name__))
        if targets:
            try:
                self._steps(targets, actor, reports)
            except Exception as exc:  # recorded for the sweep; a failing step is retried, never skipped
                if len(targets) == 1:
                    (t,) = targets.values()
                    self._record_failure(t.order_id, exc)
                    reports[t.order_id] = PurgeReport(
                        t.order_id, PurgeOutcome.FAILED, tuple(t.done), error=type(exc).__name__
                    )
                else:
                    log.warning(
                        "batch purge of %d orders failed (%s); purging them one by one",
                        len(targets),
                        type(exc).__name__,
                    )
                    for oid in targets:
                        reports[oid] = self.run_batch([oid], actor=actor)[0]
        purged = sum(1 for oid in targets if reports[oid].outcome == PurgeOutcome.PURGED)
        if purged:
            self.metrics.inc("purged", purged)
        return [reports[oid] for oid in ids]

    def _pending(self, targets: dict[str, _Target], step: PurgeStep) -> list[str]:
        return sorted(oid for oid, t in targets.items() if t.step < step)

    @staticmethod
    def _short_of(locked: Sequence[OrderView], step: PurgeStep) -> list[OrderView]:
        """The locked orders this step still has to do, each checked to be exactly one step short: an
        order another runner sent back to MARKED meanwhile raises here, and is shredded again on its
        next run instead of skipping the shred."""
        short = [o for o in locked if o.purge_step < step]
        for o in short:
            check_purge_step(o.purge_step, step)
        return short

    def _advanced(self, targets: dict[str, _Target], ids: Sequence[str], step: PurgeStep, name: str) -> None:
        for oid in ids:
            targets[oid].step = step
            targets[oid].done.append(name)

    def _steps(self, targets: dict[str, _Target], actor: str, reports: dict[str, PurgeReport]) -> None:
        self._shred(targets, actor, reports)
        self._delete_blobs(targets)
        self._delete_derived(targets)
        self._finish(targets, actor, reports)

    def _shred(self, targets: dict[str, _Target], actor: str, reports: dict[str, PurgeReport]) -> None:
        """Step 2: delete the wrapped DEKs; every copy of every blob of the orders is noise from here on.

        Orders a hold reached since the first read drop out here: the hold is checked under the lock,
        and only before the shred (after it nothing a hold could keep is left).
        """
        todo = self._pending(targets, PurgeStep.KEY_SHREDDED)
        if not todo:
            return
        with self.vault.catalog.unit() as u:
            now = self.clock()
            locked = u.orders.lock_many(todo)
            for oid in u.holds.held(todo, now):
                reports[oid] = PurgeReport(oid, PurgeOutcome.HELD, tuple(targets[oid].done))
                del targets[oid]
            todo = [o.id for o in self._short_of(locked, PurgeStep.KEY_SHREDDED) if o.id in targets]
            if not todo:
                return
            had_key = u.keys.delete(todo)
            u.orders.advance(todo, PurgeStep.KEY_SHREDDED, key_destroyed_at=now)
            self._audit(
                u, actor, "order.shred", [(oid, {"key_rows_deleted": int(oid in had_key)}) for oid in todo]
            )
            self._hook(PurgeStep.KEY_SHREDDED, "effect")
        self._hook(PurgeStep.KEY_SHREDDED, "committed")
        self._advanced(targets, todo, PurgeStep.KEY_SHREDDED, "key_shredded")

    def _delete_blobs(self, targets: dict[str, _Target]) -> None:
        """Step 3: every version of every object under each order's folder: the catalog's items (their
        keys all live there, see `blob_key`) and any stray the catalog never knew.

        The deletes run outside any transaction (no lock held across network calls); they are
        idempotent, so a concurrent runner deleting the same keys does no harm. Only the advance is locked.
        """
        todo = self._pending(targets, PurgeStep.BLOBS_DELETED)
        if not todo:
            return
        self.vault.blobs.delete_prefixes([targets[oid].prefix for oid in todo])
        self._hook(PurgeStep.BLOBS_DELETED, "effect")
        with self.vault.catalog.unit() as u:
            now = self.clock()
            todo = [o.id for o in self._short_of(u.orders.lock_many(todo), PurgeStep.BLOBS_DELETED)]
            u.items.mark_deleted(now, order_ids=todo)
            u.orders.advance(todo, PurgeStep.BLOBS_DELETED, blobs_deleted_at=now)
        self._hook(PurgeStep.BLOBS_DELETED, "committed")
        self._advanced(targets, todo, PurgeStep.BLOBS_DELETED, "blobs_deleted")

    def _delete_derived(self, targets: dict[str, _Target]) -> None:
        """Step 4: what was computed from content: perceptual hashes, findings, digests, notes."""
        todo = self._pending(targets, PurgeStep.DERIVED_DELETED)
        if not todo:
            return
        with self.vault.catalog.unit() as u:
            todo = [o.id for o in self._short_of(u.orders.lock_many(todo), PurgeStep.DERIVED_DELETED)]
            u.items.forget_derived(order_ids=todo)
            u.reviews.forget_content(todo)  # reviewer notes and appeal statements may quote content
            u.orders.advance(todo, PurgeStep.DERIVED_DELETED)
            self._hook(PurgeStep.DERIVED_DELETED, "effect")
        self._hook(PurgeStep.DERIVED_DELETED, "committed")
        self._advanced(targets, todo, PurgeStep.DERIVED_DELETED, "derived_deleted")

    def _verify_blobs(self, targets: Sequence[_Target]) -> dict[str, dict[str, Any] | None]:
        """Ask the store about every blob after the fact: a verification per order, None where anything
        was found (that order goes back to step 1 and is purged again).

        One listing of the order's prefix answers for every blob at once — it covers every version and
        delete marker (S3: ListObjectVersions), and also keys the catalog never knew — so a per-key probe
        would add a request per blob and nothing the listing does not already show.
        """
        checked_at = self.clock()
        found = self.vault.blobs.remaining([t.prefix for t in targets])
        out: dict[str, dict[str, Any] | None] = {}
        for t in targets:
            if t.prefix in found:
                out[t.order_id] = None
                continue
            out[t.order_id] = {
                "checked_at": iso_utc(checked_at),
                "store": self.vault.blobs.name,
                "blobs": [{"key": blob_key(t.seller_id, t.order_id, i), "found": False} for i in t.item_ids],
                "order_prefix_empty": True,
                "key_row_absent": True,
            }
        return out

    def _finish(self, targets: dict[str, _Target], actor: str, reports: dict[str, PurgeReport]) -> None:
        """Step 5: verify, then mark purged and store the signed receipts in one commit."""
        todo = self._pending(targets, PurgeStep.PURGED)
        verified: dict[str, dict[str, Any]] = {}
        failed: list[tuple[str, str]] = []
        for oid, verification in self._verify_blobs([targets[oid] for oid in todo]).items():
            if verification is None:
                failed.append((oid, _STILL_THERE))
            else:
                verified[oid] = verification
        finished: list[str] = []
        with self.vault.catalog.unit() as u:
            # Something came back (a racing upload, replica lag, a restore): redo from the shred on.
            u.orders.rewind([oid for oid, _ in failed])
            locked = self._short_of(u.orders.lock_many(sorted(verified)), PurgeStep.PURGED)
            key_back = u.keys.present([o.id for o in locked])
            u.orders.rewind(sorted(key_back))  # a restored key row: shred again before any receipt
            failed += [(oid, _KEY_BACK) for oid in sorted(key_back)]
            done = [o for o in locked if o.id not in key_back]
            if done:
                now = self.clock()
                sellers = u.sellers.external_ids({o.seller_id for o in done})
                items = u.items.by_order([o.id for o in done])
                for o in done:
                    check_order(o.state, OrderState.PURGED)
                    doc = self._sign_receipt(
                        o, sellers.get(o.seller_id), items.get(o.id, []), verified[o.id], now
                    )
                    stored = dict(doc)
                    u.receipts.add(o.id, stored, str(stored.pop("signature")), now)
                    t = targets[o.id]
                    reports[o.id] = PurgeReport(o.id, PurgeOutcome.PURGED, (*t.done, "purged"), receipt=doc)
                    finished.append(o.id)
                u.orders.finish(finished, now)
                self._audit(
                    u,
                    actor,
                    "order.purge",
                    [(o.id, {"trigger": o.trigger, "items": len(items.get(o.id, []))}) for o in done],
                )
                self._hook(PurgeStep.PURGED, "effect")
        if finished:
            self._hook(PurgeStep.PURGED, "committed")
        for oid, why in failed:
            self._record_failure(oid, VerificationFailed(why))
            reports[oid] = PurgeReport(
                oid, PurgeOutcome.FAILED, tuple(targets[oid].done), error="VerificationFailed"
            )
        for oid in verified:
            if oid not in finished and oid not in reports:  # a concurrent runner finished it
                reports[oid] = PurgeReport(oid, PurgeOutcome.ALREADY_PURGED, tuple(targets[oid].done))
        for oid in todo:
            if oid not in reports:
                reports[oid] = PurgeReport(oid, PurgeOutcome.ALREADY_PURGED, tuple(targets[oid].done))

    def _sign_receipt(
        self,
        o: OrderView,
        seller_external_id: str | None,
        items: Sequence[ItemView],
        verification: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any]:
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
                    "every_version_deleted_at": iso_utc(i.deleted_at),
                }
                for i in items
            ],
            "trigger": {"kind": o.trigger, "at": iso_utc(o.triggered_at)},
            "key_destroyed_at": iso_utc(o.key_destroyed_at),
            "blobs_deleted_at": iso_utc(o.blobs_deleted_at),
            "derived_content_deleted": True,
            "verification": verification,
            "purged_at": iso_utc(now),
        }
        return self.signer.sign(body)

    def _audit(self, u: Unit, actor: str, action: str, targets: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """One event per order, with the same details whether it was purged alone or in a batch."""
        self.vault.audit.record_many(u, actor=actor, action=action, target_type="order", targets=targets)

    def _record_failure(self, order_id: str, exc: Exception) -> None:
        self.metrics.inc("purge_failures")
        try:
            with self.vault.catalog.unit() as u:
                # The class name only: exception messages of backends can echo request data.
                recorded = u.orders.record_failure(
                    order_id, type(exc).__name__, lambda n: self.clock() + retry_delay(n, self.config)
                )
        except Exception:
            log.exception("purge of order %s failed and the failure could not be recorded", order_id)
            return
        if recorded is None:
            return
        attempts, step = recorded
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
        with self.vault.catalog.unit() as u:
            found = u.items.deletable(item_id)
            if found is None or u.holds.held([found[1]], self.clock()):
                return False
        seller_id, order_id = found
        self.vault.blobs.delete(blob_key(seller_id, order_id, item_id))
        with self.vault.catalog.unit() as u:
            if u.items.deletable(item_id) is None:
                return False
            u.items.mark_deleted(self.clock(), item_id=item_id)
            u.items.forget_derived(item_id=item_id)
            self.vault.audit.record(
                u,
                actor=actor,
                action="item.expire",
                target_type="item",
                target_id=item_id,
                details={"order_id": order_id, "reason": "rejected_retention"},
            )
        return True

    def receipt(self, order_id: str) -> dict[str, Any] | None:
        """The signed receipt document ({"alg","key_id","body","signature"}), or None before purge."""
        with self.vault.catalog.unit() as u:
            return u.receipts.get(order_id)
