"""Signed checkpoints of the audit chain, kept outside the database the chain lives in.

The chain's head sits in the same database as its events, so whoever can write that database can
rewrite history and recompute every hash. A checkpoint is the head — (seq, hash, time) — signed with
the receipt key (the public key sellers already verify receipts with) and written to the blob store
under `_audit/checkpoints/<seq>`. `verify` checks every checkpoint's signature and that the chain
still carries each checkpointed hash and reaches the latest one: a rewrite of anything up to the
latest checkpoint is found. What it cannot find: a rewrite of the events after the latest checkpoint
(at most one checkpoint interval's worth), or an attacker who can also delete checkpoint objects —
keep the blob store's `_audit/` prefix under write-once retention (S3 Object Lock) where that matters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from customization_vault.audit import AuditLog, ChainReport
from customization_vault.blobs.base import AUDIT_PREFIX, BlobStore
from customization_vault.clock import Clock, system_clock
from retention.receipts import ReceiptSigner, canonical_json, iso_utc, verify_receipt

__all__ = ["CHECKPOINT_PREFIX", "CHECKPOINT_TYPE", "AuditAnchor", "Checkpoint"]

CHECKPOINT_PREFIX = AUDIT_PREFIX + "checkpoints/"
CHECKPOINT_TYPE = "customization-vault/audit-checkpoint"
CHECKPOINT_VERSION = 1
# Checkpoints are tens of bytes of JSON; anything larger under the prefix is not one of ours.
_MAX_CHECKPOINT_BYTES = 4096


def checkpoint_key(seq: int) -> str:
    """Zero-padded, so a listing returns checkpoints in chain order."""
    return f"{CHECKPOINT_PREFIX}{seq:020d}"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str


class AuditAnchor:
    def __init__(
        self, audit: AuditLog, blobs: BlobStore, signer: ReceiptSigner, *, clock: Clock = system_clock
    ) -> None:
        self._audit = audit
        self._blobs = blobs
        self._signer = signer
        self._clock = clock

    def checkpoint(self) -> Checkpoint | None:
        """Sign the chain's head and publish it; None when the chain is empty or that head already is."""
        seq, head_hash = self._audit.head()
        if seq == 0:
            return None
        key = checkpoint_key(seq)
        if self._blobs.exists(key):
            return None
        at = iso_utc(self._clock()) or ""
        doc = self._signer.sign(
            {"type": CHECKPOINT_TYPE, "version": CHECKPOINT_VERSION, "seq": seq, "hash": head_hash, "at": at}
        )
        self._blobs.put(key, [canonical_json(doc)])
        return Checkpoint(seq, head_hash, at, self._signer.key_id)

    def verify(self, public_keys_pem: Iterable[str] | None = None) -> ChainReport:
        """The chain checked against every checkpoint (`AuditLog.verify`); a checkpoint that is not
        signed by one of `public_keys_pem` (default: this service's key) fails the check itself."""
        keys = list(public_keys_pem) if public_keys_pem is not None else [self._signer.public_key_pem()]
        anchors: dict[int, str] = {}
        for key in self._blobs.list(CHECKPOINT_PREFIX):
            checkpoint = self._read(key, keys)
            if checkpoint is None:
                return ChainReport(
                    False, 0, None, f"checkpoint {key} is not a checkpoint signed by a trusted key"
                )
            anchors[checkpoint.seq] = checkpoint.hash
        return self._audit.verify(anchors=anchors)

    def _read(self, key: str, public_keys_pem: list[str]) -> Checkpoint | None:
        data = bytearray()
        for chunk in self._blobs.get(key):
            data += chunk
            if len(data) > _MAX_CHECKPOINT_BYTES:
                return None
        try:
            doc = json.loads(bytes(data))
        except ValueError:
            return None
        if not isinstance(doc, dict) or not any(verify_receipt(doc, pem) for pem in public_keys_pem):
            return None
        body = doc["body"]
        seq, head_hash = body.get("seq"), body.get("hash")
        if (
            body.get("type") != CHECKPOINT_TYPE
            or not isinstance(seq, int)
            or not isinstance(head_hash, str)
            or key != checkpoint_key(seq)  # a checkpoint copied under another seq's name
        ):
            return None
        return Checkpoint(seq, head_hash, str(body.get("at")), str(doc["key_id"]))
