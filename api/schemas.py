"""Wire models (`…Create` in, `…Read` out): the API's contract, decoupled from the domain dataclasses.

Reads expose ids, states, verdicts and findings (list entry and span offsets) — never customer
content: a finding's span points into the customer's own text, which only the fetch endpoint returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from customization_vault.catalog import FindingView, ItemView, OrderView, ReviewView
from customization_vault.fulfilment import ItemSummary, OrderSummary
from customization_vault.ids import PRODUCT_PATTERN
from customization_vault.lifecycle import ItemState
from screening.screener import EngineStatus

# The verdict of an item whose screening job has not finished (its state is "received").
PENDING = "pending"


def order_url(order_external_id: str, *rest: str) -> str:
    """`/v1/orders/<id>/...` with every id segment percent-encoded whole.

    Ids are checked against `customization_vault.ids` before any route acts, so this is a second
    guard: whatever an id held, the URL stays ASCII (a header can always be encoded, so no response
    fails after its change committed) and names exactly that order (`a?b` can not end the path).
    """
    return "/v1/orders/" + "/".join(quote(s, safe="") for s in (order_external_id, *rest))


def item_url(order_external_id: str, item_id: str) -> str:
    return order_url(order_external_id, "items", item_id)


def content_url(order_external_id: str, item_id: str) -> str:
    return order_url(order_external_id, "items", item_id, "content")


def receipt_url(order_external_id: str) -> str:
    return order_url(order_external_id, "receipt")


class RegisterRead(BaseModel):
    """What a trademark register says about the matched mark (register findings only)."""

    serial: str = Field(description="The application's serial number")
    registration: str | None = Field(default=None, description="The registration number, once registered")
    status: str = Field(description="registered | pending (only live marks are matched)")
    status_code: int = Field(description="The register's own status code (USPTO: 3 digits)")
    classes: list[int] = Field(description="Nice classes the mark is registered for (empty: not known)")
    owner: str | None = None
    famous: bool = Field(default=False, description="Matched across all classes")
    outside_classes: bool = Field(
        default=False, description="The product is sold in none of the mark's classes: reviewed, not blocked"
    )


class FindingRead(BaseModel):
    kind: str = Field(description="trademark | offensive | image | ocr_text | font")
    list: str = Field(description="The list the entry came from, name@version")
    entry: str = Field(description="The matched list entry's id")
    label: str | None = None
    category: str | None = None
    score: float
    severity: str = Field(description="block | review | info")
    distance: int | None = Field(default=None, description="Hamming distance for image matches")
    span: tuple[int, int] | None = Field(default=None, description="[start, end) in the customer's text")
    region: tuple[int, ...] | None = Field(default=None, description="x, y, w, h in the customer's image")
    trademark: RegisterRead | None = Field(
        default=None,
        description="What the trademark register says about the matched mark (register findings)",
    )

    @classmethod
    def of(cls, f: FindingView) -> FindingRead:
        return cls(
            kind=f.kind,
            list=f.list_ref,
            entry=f.entry,
            label=f.label,
            category=f.category,
            score=round(f.score, 4),
            severity=f.severity,
            distance=f.distance,
            span=f.span,
            region=f.region,
            trademark=None if f.register is None else RegisterRead.model_validate(f.register),
        )


class AppealRead(BaseModel):
    state: Literal["pending", "decided"] = Field(description="pending until a reviewer decides it")
    decision: str | None = Field(default=None, description="approve | reject")
    reason: str | None = None
    decided_at: datetime | None = None


class ReviewRead(BaseModel):
    """The trust-and-safety outcome of a flagged (or appealed) item, as the seller sees it: no
    reviewer notes, no reviewer identities."""

    state: str = Field(description="open | claimed | escalated | decided | appealed | closed")
    decision: str | None = Field(default=None, description="approve | reject (the first decision)")
    reason: str | None = Field(
        default=None, description="trademark | copyright | offensive | restricted | other"
    )
    decided_at: datetime | None = None
    appeal: AppealRead | None = None
    closed_reason: str | None = Field(default=None, description="purged | cleared_by_list")
    # Earlier names, kept for integrations built on them.
    reason_code: str | None = None
    appeal_decision: str | None = None
    appeal_decided_at: datetime | None = None

    @classmethod
    def of(cls, r: ReviewView) -> ReviewRead:
        appeal = None
        if r.appealed_at is not None:
            appeal = AppealRead(
                state="decided" if r.appeal_decided_at is not None else "pending",
                decision=r.appeal_decision,
                reason=r.appeal_reason_code,
                decided_at=r.appeal_decided_at,
            )
        return cls(
            state=r.state,
            decision=r.decision,
            reason=r.reason_code,
            decided_at=r.decided_at,
            appeal=appeal,
            closed_reason=r.closed_reason,
            reason_code=r.reason_code,
            appeal_decision=r.appeal_decision,
            appeal_decided_at=r.appeal_decided_at,
        )


class ItemRead(BaseModel):
    id: str
    kind: str = Field(description="text | image | font")
    content_type: str
    size: int = Field(description="Plaintext bytes as stored (after metadata removal)")
    state: str = Field(description="received | clear | flagged | blocked | approved | rejected")
    verdict: str | None = Field(
        description="Latest screening verdict (at upload or re-screen): clear | flagged | blocked, or "
        "pending while the item is first screened"
    )
    findings: list[FindingRead]
    metadata_removed: list[str] = Field(description='What intake stripped, e.g. ["exif", "gps"]')
    created_at: datetime
    review: ReviewRead | None = None
    content_url: str
    item_url: str
    product: str | None = Field(default=None, description="What this item is printed on, if given for it")

    @classmethod
    def of(cls, item: ItemView, order_external_id: str, review: ReviewRead | None = None) -> ItemRead:
        return cls(
            id=item.id,
            kind=item.kind,
            content_type=item.content_type,
            size=item.size,
            state=item.state,
            verdict=PENDING if item.state == ItemState.RECEIVED else item.verdict,
            findings=[FindingRead.of(f) for f in item.findings],
            metadata_removed=list(item.metadata_removed),
            created_at=item.created_at,
            review=review,
            product=item.product,
            content_url=content_url(order_external_id, item.id),
            item_url=item_url(order_external_id, item.id),
        )


class OrderRead(BaseModel):
    id: str = Field(description="The marketplace's order id")
    state: str = Field(description="open | fulfilled | cancelled | expired | purged")
    created_at: datetime
    trigger: str | None = Field(
        default=None, description="What ended the order: fulfilled | cancelled | expired"
    )
    triggered_at: datetime | None = None
    key_destroyed_at: datetime | None = None
    blobs_deleted_at: datetime | None = None
    purged_at: datetime | None = None
    receipt_url: str | None = None
    product: str | None = Field(default=None, description="What the order's items are printed on")

    @classmethod
    def of(cls, order: OrderView, *, has_receipt: bool = False) -> OrderRead:
        return cls(
            id=order.external_id,
            state=order.state,
            created_at=order.created_at,
            trigger=order.trigger,
            triggered_at=order.triggered_at,
            key_destroyed_at=order.key_destroyed_at,
            blobs_deleted_at=order.blobs_deleted_at,
            purged_at=order.purged_at,
            receipt_url=receipt_url(order.external_id) if has_receipt else None,
            product=order.product,
        )


class OrderDetailRead(OrderRead):
    items: list[ItemRead]
    receipt: dict[str, Any] | None = Field(default=None, description="The signed purge receipt, once purged")

    @classmethod
    def of_summary(cls, summary: OrderSummary) -> OrderDetailRead:
        base = OrderRead.of(summary.order, has_receipt=summary.receipt is not None)
        return cls(
            **base.model_dump(),
            items=[_item(summary.order.external_id, s) for s in summary.items],
            receipt=summary.receipt,
        )


def _item(order_external_id: str, s: ItemSummary) -> ItemRead:
    return ItemRead.of(s.item, order_external_id, None if s.review is None else ReviewRead.of(s.review))


_PRODUCT_HELP = (
    "What the customization is printed on (t-shirt, mug, phone-case, ...: docs/api.md lists them). "
    "Trademark findings of marks registered in none of its Nice classes are at most reviewed; "
    "a product not listed is screened against every class"
)


class TextItemCreate(BaseModel):
    """A text item (to engrave or print). Length and content rules are enforced at intake (413/422)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["text"]
    text: str
    product: str | None = Field(default=None, pattern=PRODUCT_PATTERN, description=_PRODUCT_HELP)


class OrderCreate(BaseModel):
    """Optional body of `PUT /v1/orders/{id}`."""

    model_config = ConfigDict(extra="forbid")

    product: str | None = Field(default=None, pattern=PRODUCT_PATTERN, description=_PRODUCT_HELP)


class AppealCreate(BaseModel):
    """The seller's statement: plain text, shown to the reviewer who decides the appeal."""

    model_config = ConfigDict(extra="forbid")

    statement: str = Field(min_length=1, max_length=2000)


class PurgeRead(BaseModel):
    order: OrderRead
    receipt_url: str


class HealthRead(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class EngineRead(BaseModel):
    state: Literal["loaded", "disabled", "unavailable", "not_loaded"] = Field(
        description="unavailable (development only) and disabled engines clear their kind"
    )
    engine: str | None = Field(default=None, description="The implementation serving")
    lists: dict[str, int] | None = Field(default=None, description="Each list's name@version: entries")
    reason: str | None = Field(default=None, description="Why the engine is unavailable")

    @classmethod
    def of(cls, s: EngineStatus) -> EngineRead:
        return cls(state=s.state.value, engine=s.engine, lists=dict(s.lists) or None, reason=s.reason)


class ReadinessRead(HealthRead):
    screening: dict[str, EngineRead] = Field(
        default_factory=dict, description="Each screening engine: text, image, ocr, font"
    )
