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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from customization_vault.clock import Clock
from customization_vault.lifecycle import OrderState, PurgeOutcome
from customization_vault.periodic import Periodic
from retention.config import RetentionConfig
from retention.metrics import PurgeMetrics
from retention.policy import Trigger, decide_epoch, expiry_cutoff, rejected_cutoff
from retention.purge import Purger

__all__ = ["PurgeWorker", "SweepReport"]

log = logging.getLogger(__name__)

_ORPHAN_CHUNK = 1000


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
        orphans = 0
        destroyed: tuple[str, ...] = ()
        kept: dict[str, str] = {}
        if do_maintenance:
            self._next_maintenance = now + timedelta(seconds=self.config.maintenance_interval_seconds)
            orphans = self.collect_orphans()
            destroyed, kept = self.destroy_epochs()
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
    def collect_orphans(self) -> int:
        """Delete blobs whose order row is missing or already purged.

        Safe against in-flight uploads: an order row commits before any of its blobs is written, and a
        purged order accepts no upload, so neither rule can match a blob that is still wanted.
        """
        deleted = 0
        chunk: list[tuple[str, str]] = []
        for key in self.vault.blobs.list(""):
            parts = key.split("/")
            if len(parts) != 3:
                continue  # not a layout we wrote; leave it for a human rather than guess
            chunk.append((parts[1], key))
            if len(chunk) >= _ORPHAN_CHUNK:
                deleted += self._delete_orphans(chunk)
                chunk = []
        if chunk:
            deleted += self._delete_orphans(chunk)
        if deleted:
            self.metrics.inc("orphans_deleted", deleted)
            log.info("%s deleted %d orphan blobs", self.name, deleted)
        return deleted

    def _delete_orphans(self, chunk: list[tuple[str, str]]) -> int:
        with self.vault.catalog.unit() as u:
            states = u.orders.states(sorted({o for o, _ in chunk}))
        doomed = [k for o, k in chunk if o not in states or states[o] == OrderState.PURGED]
        if not doomed:
            return 0
        self.vault.blobs.delete_many(doomed)
        return len(doomed)

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
