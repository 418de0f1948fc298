"""The audit chain anchored outside its database: whoever can write the catalog can recompute every hash
and the head, but not the checkpoints signed with the receipt key in the blob store. Both backends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from customization_vault.audit import AuditLog, hash_of
from customization_vault.blobs.local import LocalBlobStore
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import AuditEvent, AuditHead
from customization_vault.clock import FrozenClock
from retention.anchor import CHECKPOINT_PREFIX, AuditAnchor, checkpoint_key
from retention.config import RetentionConfig
from retention.purge import Purger
from retention.receipts import ReceiptSigner, canonical_json
from retention.worker import PurgeWorker
from tests.conftest import make_settings


def _events(audit: AuditLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        audit.append(actor="admin:k1", action="hold.place", target_type="order", target_id=f"o-{i}")


def _rewrite(services: Any, *, edit_seq: int, keep_through: int | None = None) -> None:
    """What someone who can write the database does: edit one event (and optionally drop the tail),
    then recompute every later hash and the head, so the chain verifies on its own."""
    with session_scope(services.catalog.sessions) as s:
        if keep_through is not None:
            s.execute(delete(AuditEvent).where(AuditEvent.seq > keep_through))
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        prev = rows[0].prev_hash
        for ev in rows:
            if ev.seq == edit_seq:
                ev.actor = "admin:mallory"
            ev.prev_hash = prev
            ev.hash = prev = hash_of(ev)  # the row has every field an AuditRecord hashes
        head = s.get(AuditHead, 1)
        assert head is not None
        head.seq, head.hash = rows[-1].seq, prev


def _anchor(services: Any, signer: ReceiptSigner, clock: FrozenClock) -> AuditAnchor:
    return AuditAnchor(services.audit, services.blobs, signer, clock=clock)


def test_a_rewritten_history_passes_the_chain_but_not_its_checkpoint(
    services: Any, signer: ReceiptSigner, clock: FrozenClock
) -> None:
    """The issue: the head lives in the database it protects, so a consistent rewrite verified."""
    anchor = _anchor(services, signer, clock)
    _events(services.audit, 5)
    written = anchor.checkpoint()
    assert written is not None
    assert written.seq == services.audit.head()[0]
    assert anchor.checkpoint() is None  # that head is signed already
    assert anchor.verify().ok
    assert anchor.verify().anchored == 1
    _rewrite(services, edit_seq=2)
    assert services.audit.verify().ok  # the chain alone can not tell
    report = anchor.verify()
    assert not report.ok
    assert report.first_bad_seq == written.seq
    assert "differs from its signed checkpoint" in (report.problem or "")


def test_a_history_cut_short_before_its_checkpoint_is_caught(
    services: Any, signer: ReceiptSigner, clock: FrozenClock
) -> None:
    anchor = _anchor(services, signer, clock)
    _events(services.audit, 3)
    first = anchor.checkpoint()
    _events(services.audit, 3, start=3)
    latest = anchor.checkpoint()
    assert first is not None
    assert latest is not None
    _rewrite(services, edit_seq=0, keep_through=first.seq + 1)  # drop the tail, keep every hash before
    assert services.audit.verify().ok
    report = anchor.verify()
    assert not report.ok
    assert f"ends before its signed checkpoint at event {latest.seq}" in (report.problem or "")


def test_only_checkpoints_signed_by_a_trusted_key_count(
    services: Any, signer: ReceiptSigner, clock: FrozenClock
) -> None:
    anchor = _anchor(services, signer, clock)
    _events(services.audit, 2)
    seq, head_hash = services.audit.head()
    forger = ReceiptSigner.generate()
    body = {
        "type": "customization-vault/audit-checkpoint",
        "version": 1,
        "seq": seq,
        "hash": head_hash,
        "at": "",
    }
    services.blobs.put(checkpoint_key(seq), [canonical_json(forger.sign(body))])
    report = anchor.verify()
    assert not report.ok
    assert "not a checkpoint signed by a trusted key" in (report.problem or "")
    # An earlier service key is trusted when the operator names it.
    assert anchor.verify([signer.public_key_pem(), forger.public_key_pem()]).ok
    # A signed checkpoint moved under another seq's name is refused too.
    services.blobs.delete(checkpoint_key(seq))
    services.blobs.put(checkpoint_key(seq + 7), [canonical_json(signer.sign(body))])
    assert not anchor.verify().ok


def test_the_worker_checkpoints_on_its_interval_and_its_sweep_leaves_them_alone(
    services: Any, signer: ReceiptSigner, clock: FrozenClock
) -> None:
    config = RetentionConfig(audit_checkpoint_interval_seconds=600)
    purger = Purger(services.vault, signer, clock=clock, config=config)
    worker = PurgeWorker(purger, anchor=_anchor(services, signer, clock))
    _events(services.audit, 2)
    report = worker.run_once(maintenance=True)
    assert report.checkpoint == services.audit.head()[0]
    _events(services.audit, 1, start=2)
    assert worker.run_once(maintenance=True).checkpoint is None  # not due yet
    clock.advance(timedelta(seconds=601))
    later = worker.run_once(maintenance=True)
    assert later.checkpoint == services.audit.head()[0]
    assert later.foreign_keys == 0
    assert len(list(services.blobs.list(CHECKPOINT_PREFIX))) == 2
    assert _anchor(services, signer, clock).verify().anchored == 2


def test_the_embedded_content_store_holds_nothing_but_content(services: Any, backend_settings: Any) -> None:
    """Retention automation checks "nothing left" by listing the content store: the embedded default
    keeps checkpoints in a directory of their own, and S3 keeps them under `_audit/`, which the orphan
    sweep and the purge never touch."""
    _events(services.audit, 3)
    assert services.anchor is not None
    written = services.anchor.checkpoint()
    assert written is not None
    assert written.seq == services.audit.head()[0]
    in_content = list(services.blobs.list(CHECKPOINT_PREFIX))
    if backend_settings.storage.backend == "s3":
        assert in_content == [checkpoint_key(written.seq)]
    else:
        assert in_content == []
        assert [p for p in backend_settings.blob_dir.rglob("*") if p.is_file()] == []
        stored = [p for p in (backend_settings.data_dir / "audit").rglob("*") if p.is_file()]
        assert len(stored) == 1
    assert services.anchor.verify().anchored == 1


def test_an_upgraded_embedded_install_moves_its_old_checkpoints_out_of_the_content_store(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """Earlier builds wrote checkpoints into `blobs/_audit/`: there `audit verify` no longer reads them
    and the content store is not empty after every order is purged. The next start moves them, and a
    start killed half way (a checkpoint in both places) finishes the move. Embedded only: S3 always
    kept them in the bucket."""
    from api.wiring import build_services

    backend_settings = make_settings(tmp_path / "var")

    old = build_services(backend_settings, clock=clock)
    assert old.signer is not None
    legacy = AuditAnchor(old.audit, old.blobs, old.signer, clock=clock)  # the old layout
    _events(old.audit, 2)
    first = legacy.checkpoint()
    _events(old.audit, 2, start=2)
    second = legacy.checkpoint()
    assert first is not None
    assert second is not None
    half_moved = checkpoint_key(first.seq)
    LocalBlobStore(backend_settings.data_dir / "audit").put(half_moved, old.blobs.get(half_moved))
    old.close()

    upgraded = build_services(backend_settings, clock=clock)
    try:
        assert list(upgraded.blobs.list(CHECKPOINT_PREFIX)) == []
        assert [p for p in backend_settings.blob_dir.rglob("*") if p.is_file()] == []
        report = upgraded.verify_audit()
        assert report.ok
        assert report.anchored == 2
    finally:
        upgraded.close()
