"""The reconciliation worker: drives every order whose state says "must be purged" to "purged".

It is the safety net under the fulfilment call and the event consumer: a lost event, a crashed API
process or a failing backend delays a purge by at most one sweep (plus backoff), never forever. Any
number of workers run against PostgreSQL (claims use FOR UPDATE SKIP LOCKED plus a lease); on SQLite,
one. Each sweep also expires overdue orders and rejected items, and — less often — collects orphan
blobs and destroys KEK epochs nothing can need any more.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from customization_vault.blobs.base import AUDIT_PREFIX, parse_blob_key
from customization_vault.clock import Clock
from customization_vault.lifecycle import OrderState, PurgeOutcome
from customization_vault.periodic import Periodic
from retention.anchor import AuditAnchor
from retention.config import RetentionConfig
from retention.metrics import PurgeMetrics
from retention.policy import Trigger, decide_epoch, expiry_cutoff, rejected_cutoff
from retention.purge import Purger

__all__ = ["PurgeWorker", "SweepReport"]

log = logging.getLogger(__name__)

_ORPHAN_CHUNK = 1000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SweepReport:
    worker: str
    claimed: int = 0
    purged: int = 0
    failed: int = 0
    held: int = 0
    orders_expired: int = 0
    items_expired: int = 0
    maintenance: bool = False
    orphans_deleted: int = 0
    epochs_destroyed: tuple[str, ...] = ()
    epochs_kept: dict[str, str] = field(default_factory=dict)  # epoch → why it was kept
    foreign_keys: int = 0  # keys in the store the orphan collection left alone (not the vault's)
    checkpoint: int | None = None  # the audit chain head this sweep signed into the blob store


class PurgeWorker(Periodic):
    """Sweeps every `sweep_interval_seconds` once started (`Periodic`), or once per `run_once`."""

    error_counter = "sweep_errors"
    thread_prefix = "purge"

    def __init__(
        self,
        purger: Purger,
        *,
        config: RetentionConfig | None = None,
        clock: Clock | None = None,
        metrics: PurgeMetrics | None = None,
        name: str | None = None,
        actor: str = "retention-worker",
        anchor: AuditAnchor | None = None,
    ) -> None:
        self.purger = purger
        self.vault = purger.vault
        self.config = config or purger.config
        self.clock = clock or purger.clock
        self.metrics = metrics or purger.metrics
        self.name = name or f"worker-{secrets.token_hex(3)}"
        self.actor = actor
        self._next_maintenance: datetime | None = None
        super().__init__()
        self.anchor = anchor
        self._next_checkpoint: datetime | None = None

    # ------------------------------------------------------------------ one sweep
    def run_once(self, *, maintenance: bool | None = None) -> SweepReport:
        """One full sweep; `maintenance` forces (True) or skips (False) orphans+epochs (None: when due)."""
        self.metrics.inc("sweeps")
        orders_expired = self._expire_orders()
        items_expired = self._expire_items()
        claimed = purged = failed = held = 0
        for batch in self._claims():
            claimed += len(batch)
            for outcome in self.purger.run_batch(batch, actor=self.actor):
                if outcome.ok:
                    purged += 1
                elif outcome.outcome == PurgeOutcome.HELD:
                    held += 1
                elif outcome.outcome == PurgeOutcome.FAILED:
                    failed += 1
        now = self.clock()
        do_maintenance = (
            maintenance
            if maintenance is not None
            else self._next_maintenance is None or now >= self._next_maintenance
        )
        orphans = foreign = 0
        destroyed: tuple[str, ...] = ()
        kept: dict[str, str] = {}
        if do_maintenance:
            self._next_maintenance = now + timedelta(seconds=self.config.maintenance_interval_seconds)
            # Each task on its own: a store that fails to list must not keep epochs from being destroyed.
            orphans, foreign = self._attempt("orphan collection", self.collect_orphans, (0, 0))
            nothing: tuple[tuple[str, ...], dict[str, str]] = ((), {})
            destroyed, kept = self._attempt("epoch destruction", self.destroy_epochs, nothing)
        checkpoint = self._checkpoint(now)
        sweep = SweepReport(
            self.name,
            claimed,
            purged,
            failed,
            held,
            orders_expired,
            items_expired,
            do_maintenance,
            orphans,
            destroyed,
            kept,
            foreign,
            checkpoint,
        )
        if claimed or orders_expired or items_expired or orphans or destroyed:
            log.info(
                "%s sweep: claimed=%d purged=%d failed=%d held=%d expired=%d/%d orphans=%d epochs=%s",
                self.name,
                claimed,
                purged,
                failed,
                held,
                orders_expired,
                items_expired,
                orphans,
                ",".join(destroyed) or "-",
            )
        return sweep

    def _attempt(self, what: str, task: Callable[[], T], fallback: T) -> T:
        """One maintenance task on its own: a failure is counted, logged and retried next time, and the
        other tasks still run."""
        try:
            return task()
        except Exception as exc:
            self.metrics.inc("maintenance_errors")
            log.warning("%s %s failed (%s); retried next time", self.name, what, type(exc).__name__)
            return fallback

    def _checkpoint(self, now: datetime) -> int | None:
        """Sign the audit chain's head into the blob store every `audit_checkpoint_interval_seconds`."""
        anchor = self.anchor
        if anchor is None or (self._next_checkpoint is not None and now < self._next_checkpoint):
            return None
        self._next_checkpoint = now + timedelta(seconds=self.config.audit_checkpoint_interval_seconds)
        written = self._attempt("audit checkpoint", anchor.checkpoint, None)
        if written is None:
            return None
        self.metrics.inc("audit_checkpoints")
        return written.seq

    def _claims(self) -> Iterator[list[str]]:
        """Batches of due orders, each claimed for `claim_lease_seconds` in a short transaction."""
        seen: set[str] = set()
        lease = timedelta(seconds=self.config.claim_lease_seconds)
        while not self._stop.is_set():
            with self.vault.catalog.unit() as u:
                # An order retried within this sweep (failed with a zero backoff) waits for the next one.
                ids = u.orders.claim_due(
                    self.clock(), limit=self.config.sweep_batch_size, lease=lease, skip=seen
                )
            if not ids:
                return
            seen.update(ids)
            yield ids

    def _expire_orders(self) -> int:
        """Mark open orders past the maximum retention "expired" (step 1); the claim loop purges them."""
        count = 0
        while not self._stop.is_set():
            now = self.clock()
            with self.vault.catalog.unit() as u:
                views = u.orders.open_since(
                    expiry_cutoff(now, self.config), limit=self.config.sweep_batch_size
                )
            if not views:
                break
            for view in views:
                if self.purger.mark(view, Trigger.EXPIRED, actor=self.actor).trigger == Trigger.EXPIRED:
                    count += 1
        if count:
            self.metrics.inc("orders_expired", count)
        return count

    def _expire_items(self) -> int:
        """Delete the content of items rejected longer ago than the appeal window (no appeal pending)."""
        now = self.clock()
        with self.vault.catalog.unit() as u:
            ids = u.items.rejected_before(
                rejected_cutoff(now, self.config), now, limit=self.config.sweep_batch_size * 5
            )
        count = 0
        for item_id in ids:
            try:
                if self.purger.expire_item(item_id, actor=self.actor):
                    count += 1
            except Exception as exc:  # retried next sweep; the item stays listed until it succeeds
                self.metrics.inc("purge_failures")
                log.warning("expiring a rejected item failed (%s); retried next sweep", type(exc).__name__)
        if count:
            self.metrics.inc("items_expired", count)
        return count

    # ------------------------------------------------------------------ maintenance
    def collect_orphans(self) -> tuple[int, int]:
        """Delete blobs whose order is gone or purged; (deleted, left alone as not the vault's).

        Only keys of the vault's own layout are candidates — three internal ids (`parse_blob_key`) —
        and only when the catalog agrees they are ours: the order row is missing but its seller exists
        (the order was lost, e.g. with a restored backup), or the order is purged and is that seller's
        (a write that lost the race with the purge). Anything else in the store (a parked backup,
        another tool's objects, a key no id could form) is left for a person, counted and logged, never
        deleted. Every deletion is audited. Safe against in-flight uploads: an order row commits before
        any of its blobs is written, and a purged order accepts no upload.
        """
        deleted = foreign = 0
        chunk: list[tuple[str, str, str]] = []
        for key in self.vault.blobs.list(""):
            if key.startswith(AUDIT_PREFIX):
                continue  # the service's own checkpoints: not an order's
            parsed = parse_blob_key(key)
            if parsed is None:
                foreign += 1
                continue
            chunk.append((parsed[0], parsed[1], key))
            if len(chunk) >= _ORPHAN_CHUNK:
                done, left = self._delete_orphans(chunk)
                deleted, foreign, chunk = deleted + done, foreign + left, []
        if chunk:
            done, left = self._delete_orphans(chunk)
            deleted, foreign = deleted + done, foreign + left
        if deleted:
            self.metrics.inc("orphans_deleted", deleted)
            log.info("%s deleted %d orphan blobs", self.name, deleted)
        if foreign:
            self.metrics.inc("foreign_keys", foreign)
            # Counted, not listed: a key someone else chose may say anything.
            log.warning(
                "%s left %d keys in the store that are not the vault's; a person should look",
                self.name,
                foreign,
            )
        return deleted, foreign

    def _delete_orphans(self, chunk: list[tuple[str, str, str]]) -> tuple[int, int]:
        with self.vault.catalog.unit() as u:
            owners = u.orders.owners(sorted({o for _, o, _ in chunk}))
            sellers = u.sellers.existing({t for t, _, _ in chunk})
        doomed: list[tuple[str, str, str]] = []
        foreign = 0
        for tenant, order, key in chunk:
            owner = owners.get(order)
            if owner is None:
                reason = "order_missing" if tenant in sellers else None
            elif owner[0] != tenant:
                reason = None  # an order id under another seller's folder: not a key the vault wrote
            elif owner[1] == OrderState.PURGED:
                reason = "order_purged"
            else:
                continue  # a live order's content
            if reason is None:
                foreign += 1
            else:
                doomed.append((key, order, reason))
        if doomed:
            self.vault.blobs.delete_many([key for key, _, _ in doomed])
            with self.vault.catalog.unit() as u:
                self.vault.audit.record_many(
                    u,
                    actor=self.actor,
                    action="blob.orphan_delete",
                    target_type="blob",
                    targets=[(key, {"order_id": order, "reason": why}) for key, order, why in doomed],
                )
        return len(doomed), foreign

    def destroy_epochs(self) -> tuple[tuple[str, ...], dict[str, str]]:
        """Destroy every KEK epoch `policy.decide_epoch` allows; (destroyed, kept epoch → reason)."""
        now = self.clock()
        keys = self.vault.keys
        current = keys.current_epoch(now)
        destroyed: list[str] = []
        kept: dict[str, str] = {}
        for info in keys.epochs():
            if info.destroyed:
                continue
            with self.vault.catalog.unit() as u:
                live, last_purged = u.orders.epoch_usage(info.epoch)
                live += u.keys.count(epoch=info.epoch)
            decision = decide_epoch(
                info.epoch,
                now=now,
                current_epoch=current,
                live_orders=int(live),
                last_purged_at=last_purged,
                config=self.config,
            )
            if not decision.destroy:
                kept[info.epoch] = decision.reason
                continue
            keys.destroy_epoch(info.epoch)
            self.vault.audit.append(
                actor=self.actor,
                action="epoch.destroy",
                target_type="epoch",
                target_id=info.epoch,
                details={"provider": keys.name, "kek_id": info.kek_id},
            )
            destroyed.append(info.epoch)
            log.warning("%s destroyed KEK epoch %s (%s)", self.name, info.epoch, keys.name)
        if destroyed:
            self.metrics.inc("epochs_destroyed", len(destroyed))
        return tuple(destroyed), kept

    @property
    def interval_seconds(self) -> float:
        return self.config.sweep_interval_seconds
