"""Frozen views of catalog rows: what repositories hand to the services above them.

Services never hold an ORM object: a view cannot lazy-load after its session closed, cannot be
mutated by accident, and keeps the ORM (and SQLAlchemy) inside this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from customization_vault.catalog.models import FindingRow, Item, LegalHold, Order, ReviewCase, ScreeningJob
from customization_vault.lifecycle import ItemState, JobState, OrderState, PurgeStep, ReviewState, VerdictKind


@dataclass(frozen=True, slots=True)
class OrderView:
    id: str
    seller_id: str
    external_id: str
    state: OrderState
    epoch: str
    created_at: datetime
    first_upload_at: datetime | None
    trigger: str | None
    triggered_at: datetime | None
    purge_step: PurgeStep
    key_destroyed_at: datetime | None
    blobs_deleted_at: datetime | None
    purged_at: datetime | None
    product: str | None = None

    @classmethod
    def of(cls, o: Order) -> OrderView:
        return cls(
            o.id,
            o.seller_id,
            o.external_id,
            OrderState(o.state),
            o.epoch,
            o.created_at,
            o.first_upload_at,
            o.trigger,
            o.triggered_at,
            PurgeStep(o.purge_step),
            o.key_destroyed_at,
            o.blobs_deleted_at,
            o.purged_at,
            o.product,
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
    register: dict[str, Any] | None = None  # RegisterInfo.to_dict() of a register mark

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
            f.register,
        )


@dataclass(frozen=True, slots=True)
class ItemView:
    id: str
    order_id: str
    kind: str
    content_type: str
    size: int
    stored_size: int
    state: ItemState
    verdict: VerdictKind | None
    metadata_removed: tuple[str, ...]
    created_at: datetime
    findings: tuple[FindingView, ...] = ()
    deleted_at: datetime | None = None
    width: int | None = None  # images: displayed size (orientation applied), where regions sit
    height: int | None = None
    product: str | None = None

    @classmethod
    def of(cls, i: Item, findings: tuple[FindingView, ...] = ()) -> ItemView:
        return cls(
            i.id,
            i.order_id,
            i.kind,
            i.content_type,
            i.size,
            i.stored_size,
            ItemState(i.state),
            None if i.verdict is None else VerdictKind(i.verdict),
            tuple(i.metadata_removed or ()),
            i.created_at,
            findings,
            i.deleted_at,
            i.width,
            i.height,
            i.product,
        )


@dataclass(frozen=True, slots=True)
class ReviewView:
    """A review case. `note`, `appeal_note` and `appeal_statement` may quote content: they are for
    reviewers' eyes (and the purge nulls them); the seller's order view shows decisions only."""

    id: str
    item_id: str
    order_id: str | None
    seller_id: str | None
    kind: str | None
    list_ref: str | None
    score: float | None
    state: ReviewState
    claimed_by: str | None
    lease_until: datetime | None
    escalated_by: str | None
    escalated_at: datetime | None
    decision: str | None
    reason_code: str | None
    note: str | None
    decided_by: str | None
    decided_at: datetime | None
    appealed_at: datetime | None
    appeal_statement: str | None
    appeal_decision: str | None
    appeal_reason_code: str | None
    appeal_note: str | None
    appeal_decided_by: str | None
    appeal_decided_at: datetime | None
    closed_reason: str | None
    closed_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, r: ReviewCase) -> ReviewView:
        return cls(
            r.id,
            r.item_id,
            r.order_id,
            r.seller_id,
            r.kind,
            r.list_ref,
            r.score,
            ReviewState(r.state),
            r.claimed_by,
            r.lease_until,
            r.escalated_by,
            r.escalated_at,
            r.decision,
            r.reason_code,
            r.note,
            r.decided_by,
            r.decided_at,
            r.appealed_at,
            r.appeal_statement,
            r.appeal_decision,
            r.appeal_reason_code,
            r.appeal_note,
            r.appeal_decided_by,
            r.appeal_decided_at,
            r.closed_reason,
            r.closed_at,
            r.created_at,
        )

    @property
    def in_appeal(self) -> bool:
        return self.appealed_at is not None


@dataclass(frozen=True, slots=True)
class JobView:
    """A screening job: which item, where it stands, and how often it was tried and crashed."""

    id: str
    item_id: str
    order_id: str
    state: JobState
    attempts: int
    crashes: int
    available_at: datetime
    lease_until: datetime | None
    worker: str | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, j: ScreeningJob) -> JobView:
        return cls(
            j.id,
            j.item_id,
            j.order_id,
            JobState(j.state),
            j.attempts,
            j.crashes,
            j.available_at,
            j.lease_until,
            j.worker,
            j.last_error,
            j.created_at,
            j.finished_at,
        )


@dataclass(frozen=True, slots=True)
class HoldView:
    id: str
    order_id: str
    reason: str
    placed_by: str
    placed_at: datetime
    expires_at: datetime
    released_at: datetime | None
    active: bool  # computed by the catalog's one hold rule, as of the query

    @classmethod
    def of(cls, h: LegalHold, *, active: bool) -> HoldView:
        return cls(h.id, h.order_id, h.reason, h.placed_by, h.placed_at, h.expires_at, h.released_at, active)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    prefix: str
    secret_hash: str
    role: str
    seller_id: str | None
    seller_external_id: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A workbench session (by the hash of its token) and the API key it signed in with."""

    token_hash: str
    key: ApiKeyRecord
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CaseTimes:
    """When a case entered and left the queue: its first instance, and its appeal if there was one."""

    created_at: datetime
    decided_at: datetime | None
    appealed_at: datetime | None
    appeal_decided_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class DecisionFact:
    """One decision as the dashboard counts it: approve, reject (with its reason) or escalate."""

    at: datetime
    kind: str | None
    outcome: str
    reason: str | None
    appeal: bool


@dataclass(frozen=True, slots=True)
class MatchCount:
    """How many items one list entry matched."""

    kind: str
    list_ref: str
    entry: str
    label: str | None
    category: str | None
    items: int


@dataclass(frozen=True, slots=True)
class QueueFacets:
    """The values the live queue's filters can take."""

    kinds: tuple[str, ...]
    lists: tuple[str, ...]
    seller_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One stored audit event, exactly as hashed."""

    seq: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    purpose: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str
