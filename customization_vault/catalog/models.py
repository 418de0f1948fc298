"""The catalog schema: every fact the vault keeps about sellers, orders, items, keys, reviews and purges.

Content never lives here. Derived content (perceptual hashes, matched spans) sits in columns that the
purge nulls out; wrapped data keys sit in their own table so that crypto-shredding is one row delete.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from customization_vault.catalog.types import EnumInt, EnumString, UTCDateTime, new_id
from customization_vault.lifecycle import (
    ItemState,
    JobState,
    OrderState,
    PurgeStep,
    ReviewState,
    VerdictKind,
)

ID = String(36)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Seller(Base):
    __tablename__ = "sellers"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    # The public prefix finds the row; only a hash of the secret is stored.
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    seller_id: Mapped[str | None] = mapped_column(ForeignKey("sellers.id"), default=None)
    label: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("seller_id", "external_id", name="uq_orders_seller_external"),
        Index("ix_orders_state_due", "state", "purge_due_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[OrderState] = mapped_column(EnumString(OrderState), default=OrderState.OPEN)
    epoch: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    first_upload_at: Mapped[datetime | None] = mapped_column(default=None)
    # Why and when the order left "open": fulfilled | cancelled | expired (+ its time).
    trigger: Mapped[str | None] = mapped_column(String(16), default=None)
    triggered_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the sweep must have purged this order at the latest (None: not yet due).
    purge_due_at: Mapped[datetime | None] = mapped_column(default=None)
    # Purge progress, so a crash resumes where it stopped.
    purge_step: Mapped[PurgeStep] = mapped_column(EnumInt(PurgeStep), default=PurgeStep.NONE)
    purge_attempts: Mapped[int] = mapped_column(Integer, default=0)
    purge_next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    # What the order's customizations are printed on (product_classes.csv): the Nice classes screened.
    product: Mapped[str | None] = mapped_column(String(64), default=None)
    purge_last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    key_destroyed_at: Mapped[datetime | None] = mapped_column(default=None)
    blobs_deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)


class WrappedDataKey(Base):
    """One row per live order. Deleting it is the crypto-shred."""

    __tablename__ = "wrapped_keys"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    kek_id: Mapped[str] = mapped_column(String(256))
    epoch: Mapped[str] = mapped_column(String(32), index=True)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    rewrapped_at: Mapped[datetime | None] = mapped_column(default=None)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("order_id", "idempotency_key", name="uq_items_idempotency"),
        # The re-screen walks items in upload order, so items uploaded during a walk come after it.
        Index("ix_items_created", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # text | image | font
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)  # plaintext bytes as stored
    stored_size: Mapped[int] = mapped_column(BigInteger, default=0)  # ciphertext bytes
    state: Mapped[ItemState] = mapped_column(EnumString(ItemState), default=ItemState.RECEIVED)
    verdict: Mapped[VerdictKind | None] = mapped_column(EnumString(VerdictKind), default=None)
    metadata_removed: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # An image's displayed size (orientation applied): where a finding's region sits on the screen.
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    # What the item is printed on (product_classes.csv); None: the order's product.
    product: Mapped[str | None] = mapped_column(String(64), default=None)
    # Derived content, nulled by the purge.
    perceptual_hash: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime]
    screened_at: Mapped[datetime | None] = mapped_column(default=None)
    rejected_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class FindingRow(Base):
    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    list_ref: Mapped[str] = mapped_column(String(200))
    entry: Mapped[str] = mapped_column(String(200))
    label: Mapped[str | None] = mapped_column(String(200), default=None)
    category: Mapped[str | None] = mapped_column(String(32), default=None)
    score: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(8))
    distance: Mapped[int | None] = mapped_column(Integer, default=None)
    # Where in the customer's content the match is: offsets/pixels. The purge deletes the whole row.
    span_start: Mapped[int | None] = mapped_column(Integer, default=None)
    span_end: Mapped[int | None] = mapped_column(Integer, default=None)
    region: Mapped[list[int] | None] = mapped_column(JSON, default=None)
    # A trademark register's facts about the matched mark (RegisterInfo.to_dict): public, no content.
    register: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class ScreeningJob(Base):
    """One item to screen: enqueued with the item, claimed by a worker with a lease, finished once.

    Ids, states and counters only: the content stays encrypted in the blob store, and `last_error`
    holds an exception's class name, never a message (a decoder's message may quote the input).
    """

    __tablename__ = "screening_jobs"
    __table_args__ = (Index("ix_screening_jobs_due", "state", "available_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), unique=True)
    order_id: Mapped[str] = mapped_column(String(36), index=True)
    state: Mapped[JobState] = mapped_column(EnumString(JobState), default=JobState.QUEUED)
    # Claims so far, and how many of them ended with the worker (or its child process) dead.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    crashes: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime]
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    worker: Mapped[str | None] = mapped_column(String(64), default=None)
    last_error: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class FindingCount(Base):
    """What the dashboard keeps of purged items' findings: per upload day and list entry, how many
    items it matched. No order, item, score or position: the findings themselves went with the content."""

    __tablename__ = "finding_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    list_ref: Mapped[str] = mapped_column(String(200), primary_key=True)
    entry: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(200), default=None)
    category: Mapped[str | None] = mapped_column(String(32), default=None)
    items: Mapped[int] = mapped_column(Integer, default=0)


class ReviewCase(Base):
    """One trust-and-safety decision about one item: the first decision, then at most one appeal.

    Reviewer notes and the seller's appeal statement may quote content: they are derived content,
    nulled by the purge with the rest of the order's.
    """

    __tablename__ = "review_cases"
    __table_args__ = (Index("ix_review_cases_queue", "state", "created_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    order_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    seller_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    # What put the item in the queue: the strongest finding's kind, list (with version) and score.
    kind: Mapped[str | None] = mapped_column(String(16), default=None)
    list_ref: Mapped[str | None] = mapped_column(String(200), default=None)
    score: Mapped[float | None] = mapped_column(Float, default=None)
    state: Mapped[ReviewState] = mapped_column(EnumString(ReviewState), default=ReviewState.OPEN, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    escalated_by: Mapped[str | None] = mapped_column(String(64), default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    decision: Mapped[str | None] = mapped_column(String(16), default=None)  # approve | reject
    reason_code: Mapped[str | None] = mapped_column(String(64), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    appealed_at: Mapped[datetime | None] = mapped_column(default=None)
    appeal_statement: Mapped[str | None] = mapped_column(Text, default=None)
    appeal_decision: Mapped[str | None] = mapped_column(String(16), default=None)
    appeal_reason_code: Mapped[str | None] = mapped_column(String(64), default=None)
    appeal_note: Mapped[str | None] = mapped_column(Text, default=None)
    appeal_decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    appeal_decided_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_reason: Mapped[str | None] = mapped_column(String(32), default=None)  # purged | cleared_by_list
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]


class SellerWebhook(Base):
    """Where a seller hears about decisions. The secret signs deliveries (HMAC-SHA256); shown once."""

    __tablename__ = "seller_webhooks"

    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class OutboxMessage(Base):
    """A notification to deliver at least once, written in the transaction of the change it reports.

    `body` holds the exact JSON bytes that are signed and sent; ids and codes only, never content.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "delivered_at", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    seller_id: Mapped[str] = mapped_column(String(36), index=True)
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)


class ScreeningList(Base):
    """One version of one screening list (marks, terms, allow, images, fonts), as imported.

    The newest version of each kind is what every process screens with; findings name the version
    they came from in their `list_ref`.
    """

    __tablename__ = "screening_lists"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_screening_lists_kind_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class RescreenJob(Base):
    """A re-screen of every unfulfilled order's items against new list versions; resumable by cursor."""

    __tablename__ = "rescreen_jobs"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | running | done | failed
    reason: Mapped[str] = mapped_column(String(200))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    cleared: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str] = mapped_column(String(36), default="")
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    # The runner holding the lease: only it may advance the cursor (a lapsed lease is taken over).
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class ScreeningListLoad(Base):
    """Which list versions a running process screens with, refreshed by its reload loop.

    A row whose `alive_until` passed belongs to a process that stopped without saying so.
    """

    __tablename__ = "screening_list_loads"

    process: Mapped[str] = mapped_column(String(64), primary_key=True)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON)  # kind -> version (absent: file or shipped)
    seen_at: Mapped[datetime]
    alive_until: Mapped[datetime]


class LegalHold(Base):
    __tablename__ = "legal_holds"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    placed_by: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    released_at: Mapped[datetime | None] = mapped_column(default=None)


class PurgeReceipt(Base):
    __tablename__ = "purge_receipts"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class AuditEvent(Base):
    """Append-only, hash-chained. `details` holds ids and facts, never customer content."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(128), index=True)
    purpose: Mapped[str | None] = mapped_column(String(200), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """A single row holding the chain head: updating it serialises appenders on every backend."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class ReviewerSession(Base):
    """A signed-in workbench browser. Only a SHA-256 of the cookie's token is stored, so the table
    cannot be replayed into a session; the key it signed in with is re-checked on every request."""

    __tablename__ = "reviewer_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)  # the absolute limit


class Meta(Base):
    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


__all__ = [
    "ApiKey",
    "AuditEvent",
    "AuditHead",
    "Base",
    "FindingRow",
    "Item",
    "LegalHold",
    "Meta",
    "Order",
    "OutboxMessage",
    "PurgeReceipt",
    "RescreenJob",
    "ReviewCase",
    "ReviewerSession",
    "ScreeningJob",
    "ScreeningList",
    "ScreeningListLoad",
    "Seller",
    "SellerWebhook",
    "WrappedDataKey",
]
