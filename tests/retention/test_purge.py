"""The purge protocol on both backends: each step's effect, receipts, holds, failures, canary scan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from sqlalchemy import func, select

from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import (
    AuditEvent,
    FindingCount,
    FindingRow,
    Item,
    Order,
    PurgeReceipt,
    WrappedDataKey,
)
from customization_vault.clock import FrozenClock
from customization_vault.errors import ContentGone, InvalidInput, KeyDestroyed
from customization_vault.lifecycle import PurgeStep as Step
from customization_vault.vault import Vault
from retention.holds import LegalHolds
from retention.purge import Purger
from retention.receipts import ReceiptSigner, verify_receipt
from tests.retention.helpers import (
    CANARY,
    db_values,
    files_under,
    find_needles,
    flaky_purger,
    raw_blobs,
    s3_all_versions,
    seed_order,
)


def _count(services: Any, model: Any, *where: Any) -> int:
    with session_scope(services.catalog.sessions) as s:
        return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_fulfilment_purges_everything_and_signs_a_receipt(
    services: Any, purger: Purger, signer: ReceiptSigner, clock: FrozenClock
) -> None:
    vault: Vault = services.vault
    order, items = seed_order(vault, "A-1")
    other, _ = seed_order(vault, "A-2")
    before = raw_blobs(vault, order)
    assert len(before) == 3
    clock.advance(timedelta(minutes=5))

    marked = purger.mark(order, "fulfilled", actor="seller")
    assert (marked.state, marked.trigger, marked.purge_step) == ("fulfilled", "fulfilled", Step.MARKED)
    with pytest.raises(ContentGone):
        vault.content.fetch_for_fulfilment(order, items[0].id, actor="seller")

    report = purger.run(order.id, actor="seller")
    assert report.outcome == "purged"
    assert report.steps == ("key_shredded", "blobs_deleted", "derived_deleted", "purged")

    after = vault.orders.get(order.id)
    assert after.state == "purged"
    assert after.purged_at is not None
    assert after.key_destroyed_at is not None
    assert after.blobs_deleted_at is not None
    with pytest.raises(ContentGone):
        vault.content.fetch_for_fulfilment(after, items[0].id, actor="seller")
    with pytest.raises(KeyDestroyed):
        vault.content.open_item(after, items[0].id, actor="admin", purpose="test")
    assert vault.content.blob_keys(after) == []
    assert not any(vault.blobs.exists(k) for k in before)
    assert _count(services, WrappedDataKey, WrappedDataKey.order_id == order.id) == 0
    with session_scope(services.catalog.sessions) as s:
        rows = s.execute(select(Item).where(Item.order_id == order.id)).scalars().all()
        assert all(i.perceptual_hash is None and i.request_digest is None for i in rows)
        assert all(i.deleted_at is not None for i in rows)
        findings = (
            s.execute(
                select(FindingRow).join(Item, Item.id == FindingRow.item_id).where(Item.order_id == order.id)
            )
            .scalars()
            .all()
        )
        assert findings == [], "what matched (entry, label) and where is derived content: deleted"
        assert all(i.verdict is not None for i in rows), "the verdicts (non-content facts) remain"
        kept = (
            s.execute(
                select(FindingRow).join(Item, Item.id == FindingRow.item_id).where(Item.order_id == other.id)
            )
            .scalars()
            .all()
        )
        assert {f.entry for f in kept} == {"m1", "l1"}, "another order's findings are untouched"
    # The other order is untouched.
    assert len(raw_blobs(vault, other)) == 3
    assert _count(services, WrappedDataKey, WrappedDataKey.order_id == other.id) == 1

    doc = purger.receipt(order.id)
    assert doc is not None
    assert doc == report.receipt
    assert verify_receipt(doc, signer.public_key_pem())
    body = doc["body"]
    assert body["order"] == {"id": order.id, "external_id": "A-1", "epoch": order.epoch}
    assert body["seller"]["external_id"] == "seller-1"
    assert body["trigger"]["kind"] == "fulfilled"
    assert {i["id"] for i in body["items"]} == {i.id for i in items}
    assert all(i["every_version_deleted_at"] and i["size"] == 1000 + len(CANARY) + 500 for i in body["items"])
    assert body["verification"]["key_row_absent"] is True
    assert [b["found"] for b in body["verification"]["blobs"]] == [False, False, False]
    assert CANARY.decode() not in str(doc)


def test_the_dashboard_keeps_counts_of_what_purged_items_matched(
    services: Any, purger: Purger, clock: FrozenClock
) -> None:
    """The findings go with the content; what the dashboard's top matched entries need stays as counts
    per upload day and entry, with no order, item or position, counted once however the items went."""
    vault: Vault = services.vault
    first, _ = seed_order(vault, "K-1")
    second, second_items = seed_order(vault, "K-2")
    live, _ = seed_order(vault, "K-3")
    day = clock().date()
    assert purger.expire_item(second_items[1].id, actor="retention")  # one item's content goes first
    for order in (first, second):
        purger.mark(order, "fulfilled", actor="seller")
        assert purger.run(order.id, actor="seller").outcome == "purged"
    assert purger.run(first.id, actor="seller").outcome == "already_purged"
    with session_scope(services.catalog.sessions) as s:
        counts = {
            (c.day, c.kind, c.list_ref, c.entry, c.label, c.items)
            for c in s.execute(select(FindingCount)).scalars()
        }
    assert counts == {
        (day, "trademark", "marks@1", "m1", "Mark", 2),
        (day, "image", "logos@1", "l1", None, 2),
    }
    with services.catalog.unit() as u:
        top = {
            (m.entry, m.label, m.items) for m in u.findings.top_entries(clock() - timedelta(days=7), limit=10)
        }
        assert top == {("m1", "Mark", 3), ("l1", None, 3)}  # two purged orders and the live one
        assert u.findings.top_entries(clock() + timedelta(days=1), limit=10) == []
    assert live.state == "open"


def test_run_is_idempotent_and_purges_exactly_once(services: Any, purger: Purger) -> None:
    order, _ = seed_order(services.vault, "B-1")
    purger.mark(order, "cancelled", actor="t")
    assert purger.mark(order, "fulfilled", actor="t").trigger == "cancelled"  # the first trigger wins
    assert purger.run(order.id, actor="t").outcome == "purged"
    again = purger.run(order.id, actor="t")
    assert again.outcome == "already_purged"
    assert again.steps == ()
    assert _count(services, PurgeReceipt, PurgeReceipt.order_id == order.id) == 1
    for action in ("order.shred", "order.purge", "order.cancelled"):
        assert (
            _count(services, AuditEvent, AuditEvent.target_id == order.id, AuditEvent.action == action) == 1
        )
    assert services.audit.verify().ok


def test_open_orders_are_not_purged_and_triggers_are_checked(services: Any, purger: Purger) -> None:
    order, _ = seed_order(services.vault, "C-1")
    assert purger.run(order.id, actor="t").outcome == "open"
    assert len(raw_blobs(services.vault, order)) == 3
    with pytest.raises(InvalidInput):
        purger.mark(order, "deleted", actor="t")


def test_a_legal_hold_pauses_the_purge_until_released(
    services: Any, purger: Purger, clock: FrozenClock
) -> None:
    vault: Vault = services.vault
    order, items = seed_order(vault, "D-1")
    holds = LegalHolds(services.catalog, services.audit, clock)
    hold = holds.place(order.id, reason="subpoena 42", expires_at=clock() + timedelta(days=30), actor="admin")
    purger.mark(order, "fulfilled", actor="t")
    with pytest.raises(ContentGone):  # fulfilment still ends access while the hold keeps the bytes
        vault.content.fetch_for_fulfilment(order, items[0].id, actor="t")
    assert purger.run(order.id, actor="t").outcome == "held"
    assert len(raw_blobs(vault, order)) == 3
    assert _count(services, WrappedDataKey, WrappedDataKey.order_id == order.id) == 1
    holds.release(hold.id, actor="admin")
    assert purger.run(order.id, actor="t").outcome == "purged"
    assert _count(services, AuditEvent, AuditEvent.action.in_(["hold.place", "hold.release"])) == 2


def test_an_expired_hold_no_longer_pauses(services: Any, purger: Purger, clock: FrozenClock) -> None:
    order, _ = seed_order(services.vault, "D-2")
    holds = LegalHolds(services.catalog, services.audit, clock)
    holds.place(order.id, reason="review", expires_at=clock() + timedelta(days=1), actor="admin")
    purger.mark(order, "fulfilled", actor="t")
    assert purger.run(order.id, actor="t").outcome == "held"
    clock.advance(timedelta(days=2))
    assert purger.run(order.id, actor="t").outcome == "purged"


def test_a_failing_step_is_recorded_with_backoff_and_resumed(
    services: Any, signer: ReceiptSigner, clock: FrozenClock, retention_config: Any
) -> None:
    flaky, vault, purger = flaky_purger(services, signer, clock, retention_config)
    order, _ = seed_order(vault, "E-1")
    purger.mark(order, "fulfilled", actor="t")
    delays = []
    for attempt in (1, 2, 3):
        report = purger.run(order.id, actor="t")
        assert (report.outcome, report.error) == ("failed", "BackendError")
        with session_scope(services.catalog.sessions) as s:
            o = s.get(Order, order.id)
            assert o is not None
            assert (o.purge_attempts, o.purge_step, o.purge_last_error) == (
                attempt,
                Step.KEY_SHREDDED,
                "BackendError",
            )
            assert o.purge_next_attempt_at is not None
            delays.append(o.purge_next_attempt_at - clock())
    assert delays == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    assert purger.metrics.get("purge_failures") == 3
    assert purger.metrics.get("purge_stuck") == 1  # alert threshold 3 in the fixture config
    # The key was shredded before the failure and stays shredded; the blobs are still there.
    assert _count(services, WrappedDataKey, WrappedDataKey.order_id == order.id) == 0
    assert len(vault.content.blob_keys(order)) == 3
    flaky.failing = False
    assert purger.run(order.id, actor="t").outcome == "purged"
    assert vault.content.blob_keys(order) == []


def test_verification_failure_redoes_the_deletion(
    services: Any, signer: ReceiptSigner, clock: FrozenClock, retention_config: Any
) -> None:
    """A blob that reappears after step 3 (a racing upload, a restore) is caught before the receipt."""
    vault: Vault = services.vault
    order, _ = seed_order(vault, "F-1")
    key, data = next(iter(raw_blobs(vault, order).items()))

    def put_back(step: int, phase: str) -> None:
        if (step, phase) == (Step.DERIVED_DELETED, "committed"):
            vault.blobs.put(key, [data])

    purger = Purger(vault, signer, clock=clock, config=retention_config, on_step=put_back)
    purger.mark(order, "fulfilled", actor="t")
    report = purger.run(order.id, actor="t")
    assert (report.outcome, report.error) == ("failed", "VerificationFailed")
    assert purger.receipt(order.id) is None
    assert vault.orders.get(order.id).purge_step == Step.MARKED
    plain = Purger(vault, signer, clock=clock, config=retention_config)
    assert plain.run(order.id, actor="t").outcome == "purged"
    assert not vault.blobs.exists(key)


def test_a_step_is_never_skipped_when_another_runner_sent_the_order_back(
    services: Any, signer: ReceiptSigner, clock: FrozenClock, retention_config: Any
) -> None:
    """Between this run's shred and its deletes another runner's verification sends the order back to
    MARKED (and a restored key row could be there): this run must not count the blobs deleted on top
    of an unshredded order. It fails the order instead; the next run shreds again and finishes."""
    vault: Vault = services.vault
    order, _ = seed_order(vault, "F-2")

    def rewound_meanwhile(step: int, phase: str) -> None:
        if (step, phase) == (Step.KEY_SHREDDED, "committed"):
            with vault.catalog.unit() as u:
                u.orders.rewind([order.id])

    purger = Purger(vault, signer, clock=clock, config=retention_config, on_step=rewound_meanwhile)
    purger.mark(order, "fulfilled", actor="t")
    report = purger.run(order.id, actor="t")
    assert (report.outcome, report.error) == ("failed", "StateConflict")
    assert vault.orders.get(order.id).purge_step == Step.MARKED
    plain = Purger(vault, signer, clock=clock, config=retention_config)
    again = plain.run(order.id, actor="t")
    assert again.outcome == "purged"
    assert again.steps[0] == "key_shredded"


def test_no_byte_of_the_canary_or_its_ciphertext_survives(
    services: Any, backend_settings: Any, purger: Purger
) -> None:
    vault: Vault = services.vault
    order, _ = seed_order(vault, "G-1")
    fragments = [blob[100:132] for blob in raw_blobs(vault, order).values()]
    needles = [CANARY, CANARY[:16], *fragments]
    # Positive control: the scans do see the ciphertext while it exists.
    if backend_settings.storage.backend == "s3":
        s3 = boto3.client("s3", region_name="us-east-1")
        bucket = backend_settings.storage.s3_bucket
        assert find_needles((b or b"" for _, _, b in s3_all_versions(s3, bucket)), fragments)
    else:
        assert find_needles((d for _, d in files_under(backend_settings.data_dir)), fragments)

    purger.mark(order, "fulfilled", actor="t")
    assert purger.run(order.id, actor="t").outcome == "purged"

    assert find_needles(db_values(services.catalog.engine), needles) == []
    assert find_needles((d for _, d in files_under(backend_settings.data_dir)), needles) == []
    if backend_settings.storage.backend == "s3":
        versions = s3_all_versions(s3, bucket)
        assert [k for k, _, _ in versions if order.id in k] == []
        assert find_needles((b or b"" for _, _, b in versions), needles) == []
