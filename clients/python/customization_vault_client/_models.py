"""What the API answers, as frozen dataclasses. Each keeps the JSON it came from in `raw`, so a field
the service adds later is readable before this client names it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "Download",
    "Finding",
    "Item",
    "Order",
    "OrderDetail",
    "PurgeResult",
    "Receipt",
    "Review",
    "WebhookEvent",
]


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _span(value: Any) -> tuple[int, ...] | None:
    return tuple(int(v) for v in value) if isinstance(value, list | tuple) else None


@dataclass(frozen=True, slots=True)
class Finding:
    """Why screening reacted: the list entry matched, its severity, and where (never the content)."""

    kind: str
    list: str
    entry: str
    severity: str
    score: float
    label: str | None = None
    category: str | None = None
    distance: int | None = None
    span: tuple[int, ...] | None = None
    region: tuple[int, ...] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Finding:
        distance = d.get("distance")
        return cls(
            kind=str(d.get("kind", "")),
            list=str(d.get("list", "")),
            entry=str(d.get("entry", "")),
            severity=str(d.get("severity", "")),
            score=float(d.get("score") or 0.0),
            label=_str(d.get("label")),
            category=_str(d.get("category")),
            distance=int(distance) if isinstance(distance, int) else None,
            span=_span(d.get("span")),
            region=_span(d.get("region")),
            raw=dict(d),
        )


@dataclass(frozen=True, slots=True)
class Review:
    """Trust-and-safety's outcome for a flagged item (and for an appeal, once decided)."""

    state: str
    decision: str | None = None
    reason_code: str | None = None
    decided_at: datetime | None = None
    appeal_decision: str | None = None
    appeal_decided_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Review:
        return cls(
            state=str(d.get("state", "")),
            decision=_str(d.get("decision")),
            reason_code=_str(d.get("reason_code")),
            decided_at=_dt(d.get("decided_at")),
            appeal_decision=_str(d.get("appeal_decision")),
            appeal_decided_at=_dt(d.get("appeal_decided_at")),
            raw=dict(d),
        )


@dataclass(frozen=True, slots=True)
class Item:
    """An uploaded item. `state`: clear | flagged | blocked | approved | rejected; fetchable when clear
    or approved. `replayed` is True when an idempotent retry returned the item the first try made."""

    id: str
    kind: str
    content_type: str
    size: int
    state: str
    verdict: str | None
    findings: tuple[Finding, ...]
    metadata_removed: tuple[str, ...]
    created_at: datetime | None
    content_url: str
    review: Review | None = None
    replayed: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def fetchable(self) -> bool:
        return self.state in ("clear", "approved")

    @property
    def pending(self) -> bool:
        """Stored, not screened yet: the upload answered 202 (`respond_async=True`, or screening
        outlasted the service's deadline). `wait_for_verdict` returns the item once it is screened."""
        return self.verdict == "pending" or self.state == "received"

    @classmethod
    def of(cls, d: Mapping[str, Any], *, replayed: bool = False) -> Item:
        review = d.get("review")
        return cls(
            id=str(d["id"]),
            kind=str(d.get("kind", "")),
            content_type=str(d.get("content_type", "")),
            size=int(d.get("size") or 0),
            state=str(d.get("state", "")),
            verdict=_str(d.get("verdict")),
            findings=tuple(Finding.of(f) for f in d.get("findings") or () if isinstance(f, Mapping)),
            metadata_removed=tuple(str(m) for m in d.get("metadata_removed") or ()),
            created_at=_dt(d.get("created_at")),
            content_url=str(d.get("content_url", "")),
            review=Review.of(review) if isinstance(review, Mapping) else None,
            replayed=replayed,
            raw=dict(d),
        )


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the service keeps it: `state` open | fulfilled | cancelled | expired | purged.
    `created` is True when this call created it (False: it already existed)."""

    id: str
    state: str
    created_at: datetime | None
    trigger: str | None = None
    triggered_at: datetime | None = None
    purged_at: datetime | None = None
    receipt_url: str | None = None
    created: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, d: Mapping[str, Any], *, created: bool = False) -> Order:
        return cls(
            id=str(d["id"]),
            state=str(d.get("state", "")),
            created_at=_dt(d.get("created_at")),
            trigger=_str(d.get("trigger")),
            triggered_at=_dt(d.get("triggered_at")),
            purged_at=_dt(d.get("purged_at")),
            receipt_url=_str(d.get("receipt_url")),
            created=created,
            raw=dict(d),
        )


@dataclass(frozen=True, slots=True)
class OrderDetail:
    """`get_order`: the order, its items with verdicts and review outcomes, and the receipt once purged."""

    order: Order
    items: tuple[Item, ...]
    receipt: Receipt | None = None

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> OrderDetail:
        receipt = d.get("receipt")
        return cls(
            order=Order.of(d),
            items=tuple(Item.of(i) for i in d.get("items") or () if isinstance(i, Mapping)),
            receipt=Receipt.of(receipt) if isinstance(receipt, Mapping) else None,
        )


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """Fulfilment or cancellation recorded. `pending` (202): a legal hold or an outage delays the purge;
    the service completes it by itself and the receipt appears at `receipt_url` then."""

    order: Order
    receipt_url: str
    pending: bool

    @property
    def purged(self) -> bool:
        return not self.pending


@dataclass(frozen=True, slots=True)
class Receipt:
    """A signed purge receipt: `body` names the order, seller, what was deleted and when; `raw` is the
    document exactly as signed (what `verify_receipt` checks)."""

    alg: str
    key_id: str
    body: Mapping[str, Any]
    signature: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Receipt:
        body = d.get("body")
        return cls(
            alg=str(d.get("alg", "")),
            key_id=str(d.get("key_id", "")),
            body=dict(body) if isinstance(body, Mapping) else {},
            signature=str(d.get("signature", "")),
            raw=dict(d),
        )


@dataclass(frozen=True, slots=True)
class Download:
    """A downloaded item: where it went, how many bytes, of which type."""

    path: Path | None
    size: int
    content_type: str


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A review decision delivered to the seller's webhook: `type` is item.decided or
    item.appeal_decided; `id` is unique per event (deliveries may repeat: deduplicate on it)."""

    id: str
    type: str
    order_id: str
    item_id: str
    decision: str
    reason: str | None
    created_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> WebhookEvent:
        return cls(
            id=str(d.get("id", "")),
            type=str(d.get("type", "")),
            order_id=str(d.get("order_id", "")),
            item_id=str(d.get("item_id", "")),
            decision=str(d.get("decision", "")),
            reason=_str(d.get("reason")),
            created_at=_dt(d.get("created_at")),
            raw=dict(d),
        )
