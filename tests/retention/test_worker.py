"""The reconciliation sweep on both backends: lost events, expiry, rejected items, orphans, KEK epochs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from customization_vault.blobs.base import blob_key
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import Item, Order, ReviewCase
from customization_vault.catalog.types import new_id
from customization_vault.clock import FrozenClock
from customization_vault.lifecycle import PurgeStep as Step
from customization_vault.vault import Vault
from retention.config import RetentionConfig
from retention.purge import Purger
from retention.receipts import ReceiptSigner
from retention.worker import PurgeWorker
from tests.retention.helpers import flaky_purger, raw_blobs, seed_order


def test_lost_events_are_purged_by_the_sweep(services: Any, purger: Purger, worker: PurgeWorker) -> None:
    """Fulfilment marked the orders but the purge never ran (the process died, the event was dropped)."""
    orders = [seed_order(services.vault, f"L-{i}")[0] for i in range(3)]
    for o in orders[:2]:
        purger.mark(o, "fulfilled", actor="t")
    report = worker.run_once(maintenance=False)
    assert (report.claimed, report.purged, report.failed) == (2, 2, 0)
    assert [services.vault.orders.get(o.id).state for o in orders] == ["purged", "purged", "open"]
    assert all(purger.receipt(o.id) is not None for o in orders[:2])
    assert len(raw_blobs(services.vault, orders[2])) == 3
    assert worker.run_once(maintenance=False).claimed == 0


def test_the_sweep_leaves_a_fresh_fulfilment_to_its_caller_then_takes_over(
    services: Any, signer: ReceiptSigner, clock: FrozenClock
) -> None:
    purger = Purger(services.vault, signer, clock=clock, config=RetentionConfig(handoff_grace_seconds=5))
    worker = PurgeWorker(purger)
    order, _ = seed_order(services.vault, "H-1")
    purger.mark(order, "fulfilled", actor="t")
    assert worker.run_once(maintenance=False).claimed == 0
    clock.advance(timedelta(seconds=6))
    assert worker.run_once(maintenance=False).purged == 1


def test_orders_expire_after_max_retention_from_first_upload(
    services: Any, purger: Purger, worker: PurgeWorker, clock: FrozenClock
) -> None:
    vault: Vault = services.vault
    early, _ = seed_order(vault, "X-1")
    empty, _ = vault.orders.create(vault.orders.ensure_seller("seller-1"), "X-empty", actor="t")
    clock.advance(timedelta(days=10))
    late, _ = seed_order(vault, "X-2")
    clock.advance(timedelta(days=80, seconds=1))  # early: 90 days + 1 s after upload; late: 80 days
    report = worker.run_once(maintenance=False)
    assert report.orders_expired == 2
    assert vault.orders.get(early.id).state == "purged"
    assert vault.orders.get(empty.id).state == "purged"
    assert vault.orders.get(late.id).state == "open"
    doc = purger.receipt(early.id)
    assert doc is not None
    assert doc["body"]["trigger"]["kind"] == "expired"
    clock.advance(timedelta(days=10))
    assert worker.run_once(maintenance=False).orders_expired == 1
    assert vault.orders.get(late.id).state == "purged"


def _reject(services: Any, item_id: str, at: datetime, *, appealed: bool = False) -> None:
    with session_scope(services.catalog.sessions) as s:
        item = s.get(Item, item_id)
        assert item is not None
        item.state, item.rejected_at = "rejected", at
        case = s.execute(select(ReviewCase).where(ReviewCase.item_id == item_id)).scalar_one()
        case.state = "appealed" if appealed else "decided"


def test_rejected_items_lose_their_content_after_the_appeal_window(
    services: Any, worker: PurgeWorker, clock: FrozenClock
) -> None:
    vault: Vault = services.vault
    order, items = seed_order(vault, "R-1")
    appealed_order, appealed_items = seed_order(vault, "R-2")
    _reject(services, items[1].id, clock())  # items[1] is the flagged one, with a review case
    _reject(services, appealed_items[1].id, clock(), appealed=True)
    clock.advance(timedelta(days=29))
    assert worker.run_once(maintenance=False).items_expired == 0
    clock.advance(timedelta(days=1, seconds=1))
    assert worker.run_once(maintenance=False).items_expired == 1
    key = blob_key(order.seller_id, order.id, items[1].id)
    assert not vault.blobs.exists(key)
    assert len(raw_blobs(vault, appealed_order)) == 3  # an appeal pending keeps the content
    assert vault.orders.get(order.id).state == "open"
    _, stream = vault.content.fetch_for_fulfilment(order, items[0].id, actor="t")  # the rest still serves
    assert b"".join(stream)
    with session_scope(services.catalog.sessions) as s:
        row = s.get(Item, items[1].id)
        assert row is not None
        assert row.deleted_at is not None


def test_orphan_blobs_are_collected(services: Any, purger: Purger, worker: PurgeWorker) -> None:
    vault: Vault = services.vault
    kept, _ = seed_order(vault, "O-1")
    purged, _ = seed_order(vault, "O-2")
    ghost = blob_key(kept.seller_id, "0c8b4a4e-0000-4000-8000-000000000000", new_id())
    vault.blobs.put(ghost, [b"ciphertext of an order that never committed"])
    purger.mark(purged, "fulfilled", actor="t")
    assert purger.run(purged.id, actor="t").outcome == "purged"
    late = blob_key(purged.seller_id, purged.id, new_id())
    vault.blobs.put(late, [b"a write that lost the race with the purge"])
    report = worker.run_once(maintenance=True)
    assert (report.orphans_deleted, report.foreign_keys) == (2, 0)
    assert not vault.blobs.exists(ghost)
    assert not vault.blobs.exists(late)
    assert len(raw_blobs(vault, kept)) == 3
    deletions = {e.target_id: e.details for e in _events(services, "blob.orphan_delete")}
    assert deletions == {
        ghost: {"order_id": ghost.split("/")[1], "reason": "order_missing"},
        late: {"order_id": purged.id, "reason": "order_purged"},
    }


def _events(services: Any, action: str) -> list[Any]:
    with services.catalog.unit() as u:
        return [e for e in u.audit.page(0, 10_000) if e.action == action]


def _plant(services: Any, key: str, data: bytes) -> None:
    """Write an object straight into the store, under a key the vault's own API would refuse."""
    if services.settings.storage.backend == "s3":
        store = services.blobs
        store._s3.put_object(Bucket=store._bucket, Key=store._prefix + key, Body=data)
        return
    path = services.settings.blob_dir.joinpath(*key.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_the_orphan_sweep_touches_only_the_vaults_own_keys(
    services: Any, purger: Purger, worker: PurgeWorker, clock: FrozenClock
) -> None:
    """The issue's cases: a planted `backups/2026-11/db_dump` was deleted unaudited, and a stray key
    that does not parse made every sweep raise, so KEK epochs were never destroyed."""
    vault: Vault = services.vault
    order, _ = seed_order(vault, "F-1")
    purger.mark(order, "fulfilled", actor="t")
    purger.run(order.id, actor="t")
    seller = order.seller_id
    foreign = [
        "backups/2026-11/db_dump",  # three parts, none an id the vault makes
        f"{seller}/{new_id()}/notes.txt",  # does not parse as a blob key at all
        f"{new_id()}/{new_id()}/{new_id()}",  # ids of a seller the catalog never knew
        f"{seller}/{order.id}/{new_id()}/extra",  # four parts
        f"{new_id()}/{order.id}/{new_id()}",  # a purged order's id under another seller's folder
    ]
    for key in foreign:
        _plant(services, key, b"not the vault's")
    clock.now = datetime(2027, 1, 10, tzinfo=UTC) + timedelta(days=36)  # the order's epoch may go
    report = worker.run_once(maintenance=True)
    assert report.foreign_keys == len(foreign)
    assert report.orphans_deleted == 0
    assert report.epochs_destroyed == ("2026-11",)
    assert sorted(vault.blobs.list("")) == sorted(foreign)
    assert _events(services, "blob.orphan_delete") == []
    assert worker.run_once(maintenance=True).foreign_keys == len(foreign)  # and every sweep after


def test_kek_epochs_are_destroyed_only_when_nothing_can_need_them(
    services: Any, purger: Purger, worker: PurgeWorker, clock: FrozenClock
) -> None:
    vault: Vault = services.vault
    done, _ = seed_order(vault, "E-done")  # epoch 2026-11
    alive, _ = seed_order(vault, "E-alive")
    purger.mark(done, "fulfilled", actor="t")
    purger.run(done.id, actor="t")
    clock.now = datetime(2027, 1, 10, tzinfo=UTC)
    destroyed, kept = worker.destroy_epochs()
    assert destroyed == ()
    assert kept["2026-11"] == "live_orders"
    purger.mark(alive, "cancelled", actor="t")
    purger.run(alive.id, actor="t")
    destroyed, kept = worker.destroy_epochs()
    assert kept["2026-11"] == "backup_window"  # 35 days of backups may still hold its wrapped keys
    clock.advance(timedelta(days=36))
    report = worker.run_once(maintenance=True)
    assert report.epochs_destroyed == ("2026-11",)
    assert {e.epoch: e.destroyed for e in vault.keys.epochs()}["2026-11"] is True
    assert worker.run_once(maintenance=True).epochs_destroyed == ()
    # The service carries on in the current epoch.
    fresh, items = seed_order(vault, "E-new")
    _, stream = vault.content.fetch_for_fulfilment(fresh, items[0].id, actor="t")
    assert b"".join(stream)


def test_the_background_thread_purges_by_itself(services: Any, signer: ReceiptSigner) -> None:
    config = RetentionConfig(handoff_grace_seconds=0, sweep_interval_seconds=0.05)
    purger = Purger(services.vault, signer, config=config)  # the real clock: the thread sleeps for real
    worker = PurgeWorker(purger)
    order, _ = seed_order(services.vault, "T-1")
    purger.mark(order, "fulfilled", actor="t")
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while services.vault.orders.get(order.id).state != "purged" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert not worker.running
    assert services.vault.orders.get(order.id).state == "purged"
    with session_scope(services.catalog.sessions) as s:
        o = s.get(Order, order.id)
        assert o is not None
        assert o.purge_attempts == 0


def test_an_order_whose_state_says_purge_is_swept_even_without_a_due_time(
    services: Any, purger: Purger, worker: PurgeWorker
) -> None:
    order, _ = seed_order(services.vault, "N-1")
    with session_scope(services.catalog.sessions) as s:
        o = s.get(Order, order.id)
        assert o is not None
        o.state, o.trigger, o.purge_step, o.purge_due_at = "cancelled", "cancelled", 1, None
    assert worker.run_once(maintenance=False).purged == 1
    assert services.vault.orders.get(order.id).state == "purged"


def test_a_batch_sorts_out_mixed_orders(services: Any, purger: Purger, clock: FrozenClock) -> None:
    from retention.holds import LegalHolds

    vault: Vault = services.vault
    open_, _ = seed_order(vault, "MB-open")
    due, _ = seed_order(vault, "MB-due")
    held, _ = seed_order(vault, "MB-held")
    done, _ = seed_order(vault, "MB-done")
    for o in (due, held, done):
        purger.mark(o, "fulfilled", actor="t")
    purger.run(done.id, actor="t")
    LegalHolds(services.catalog, services.audit, clock).place(
        held.id, reason="r", expires_at=clock() + timedelta(days=1), actor="admin"
    )
    ghost = "00000000-0000-4000-8000-000000000000"
    reports = {
        r.order_id: r for r in purger.run_batch([open_.id, due.id, held.id, done.id, ghost], actor="t")
    }
    assert {k: r.outcome for k, r in reports.items()} == {
        open_.id: "open",
        due.id: "purged",
        held.id: "held",
        done.id: "already_purged",
        ghost: "failed",
    }
    assert reports[due.id].receipt == purger.receipt(due.id)
    assert len(raw_blobs(vault, held)) == 3
    assert len(raw_blobs(vault, open_)) == 3
    assert vault.content.blob_keys(due) == []


def test_a_failing_batch_falls_back_to_single_orders_and_records_each(
    services: Any, signer: ReceiptSigner, clock: FrozenClock, retention_config: RetentionConfig
) -> None:
    flaky, vault, purger = flaky_purger(services, signer, clock, retention_config)
    orders = [seed_order(vault, f"FB-{i}")[0] for i in range(3)]
    for o in orders:
        purger.mark(o, "fulfilled", actor="t")
    report = PurgeWorker(purger).run_once(maintenance=False)
    assert (report.claimed, report.failed, report.purged) == (3, 3, 0)
    with session_scope(services.catalog.sessions) as s:
        rows = [s.get(Order, o.id) for o in orders]
        assert all(r is not None and (r.purge_attempts, r.purge_step) == (1, 2) for r in rows)
    flaky.failing = False
    clock.advance(timedelta(seconds=11))
    assert PurgeWorker(purger).run_once(maintenance=False).purged == 3


def _history(services: Any, order_id: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """An order's audit events without the parts that differ by time or chain position."""
    return [(e.actor, e.action, e.target_type, e.details) for e in services.audit.history(order_id)]


def test_an_orders_audit_history_is_the_same_purged_alone_or_in_a_batch(
    services: Any, purger: Purger
) -> None:
    """One protocol: the fulfilment call (alone) and the sweep (a batch) write the same events."""
    alone, _ = seed_order(services.vault, "AH-alone")
    batch = [seed_order(services.vault, f"AH-batch-{i}")[0] for i in range(3)]
    for o in (alone, *batch):
        purger.mark(o, "fulfilled", actor="t")
    assert purger.run(alone.id, actor="t").outcome == "purged"
    assert [r.outcome for r in purger.run_batch([o.id for o in batch], actor="t")] == ["purged"] * 3
    expected = _history(services, alone.id)
    assert [a for _, a, _, _ in expected] == [
        "order.create",
        "order.fulfilled",
        "order.shred",
        "order.purge",
    ]
    for o in batch:
        assert _history(services, o.id) == expected


def test_a_purge_keeps_the_first_key_destruction_time(
    services: Any, purger: Purger, clock: FrozenClock
) -> None:
    """A rerun after a restored key row shreds again but does not rewrite when the key first died."""
    order, _ = seed_order(services.vault, "KD-1")
    purger.mark(order, "fulfilled", actor="t")
    with services.catalog.unit() as u:  # simulate a crash right after the shred committed
        u.keys.delete([order.id])
        u.orders.advance([order.id], Step.KEY_SHREDDED, key_destroyed_at=clock())
    first = services.vault.orders.get(order.id).key_destroyed_at
    clock.advance(timedelta(hours=1))
    with services.catalog.unit() as u:
        u.orders.rewind([order.id])
    assert purger.run(order.id, actor="t").outcome == "purged"
    assert services.vault.orders.get(order.id).key_destroyed_at == first
