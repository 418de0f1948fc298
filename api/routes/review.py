"""`/v1/review/...`: the trust-and-safety reviewers' endpoints (reviewer and admin keys only).

Reviewers work across sellers: the queue is the marketplace's. Content leaves only through the
case's content endpoint, audited as a review read and never cached.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Context, ReviewerPrincipal
from api.errors import ServiceUnavailable
from api.schemas import FindingRead
from api.streaming import stream_content
from customization_vault.apikeys import Principal, Role
from customization_vault.catalog import ItemView, ReviewView
from customization_vault.errors import NotFound
from customization_vault.ids import ID_PATTERN
from customization_vault.lifecycle import ReviewState
from customization_vault.review import MAX_NOTE, CaseDetail, ReviewDesk, Reviewer
from screening.findings import REFERENCE_IMAGE_KINDS, image_media_type

router = APIRouter(prefix="/v1/review", tags=["review"])

CaseId = Annotated[str, Path(pattern=ID_PATTERN, description="A review case's id")]

_PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}
_COMMON: dict[int | str, dict[str, object]] = {
    401: {"description": "Missing or unknown API key", **_PROBLEM},
    403: {
        "description": "Not a reviewer or admin key, or the decision is not this key's to take",
        **_PROBLEM,
    },
    404: {"description": "No such review case", **_PROBLEM},
}


class CaseRead(BaseModel):
    id: str
    item_id: str
    order_id: str | None = Field(description="The seller's order id")
    seller: str | None = Field(description="The seller's id")
    kind: str | None = Field(
        description="The lead finding's kind: trademark | offensive | image | ocr_text | font"
    )
    list: str | None = Field(description="The lead finding's list, name@version")
    score: float | None
    state: str = Field(description="open | claimed | escalated | decided | appealed | closed")
    claimed_by: str | None = None
    lease_expires_at: datetime | None = None
    escalated_at: datetime | None = None
    decision: str | None = None
    reason: str | None = None
    note: str | None = Field(default=None, description="The reviewer's note (may quote content)")
    decided_by: str | None = None
    decided_at: datetime | None = None
    appealed_at: datetime | None = None
    appeal_statement: str | None = None
    appeal_decision: str | None = None
    appeal_reason: str | None = None
    appeal_note: str | None = None
    appeal_decided_by: str | None = None
    appeal_decided_at: datetime | None = None
    closed_reason: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, c: ReviewView, *, order_id: str | None, seller: str | None) -> CaseRead:
        return cls(
            id=c.id,
            item_id=c.item_id,
            order_id=order_id,
            seller=seller,
            kind=c.kind,
            list=c.list_ref,
            score=None if c.score is None else round(c.score, 4),
            state=c.state,
            claimed_by=c.claimed_by if c.state == ReviewState.CLAIMED else None,
            lease_expires_at=c.lease_until if c.state == ReviewState.CLAIMED else None,
            escalated_at=c.escalated_at,
            decision=c.decision,
            reason=c.reason_code,
            note=c.note,
            decided_by=c.decided_by,
            decided_at=c.decided_at,
            appealed_at=c.appealed_at,
            appeal_statement=c.appeal_statement,
            appeal_decision=c.appeal_decision,
            appeal_reason=c.appeal_reason_code,
            appeal_note=c.appeal_note,
            appeal_decided_by=c.appeal_decided_by,
            appeal_decided_at=c.appeal_decided_at,
            closed_reason=c.closed_reason,
            created_at=c.created_at,
        )


class CaseList(BaseModel):
    cases: list[CaseRead]
    total: int
    limit: int
    offset: int


class ClaimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str | None = Field(default=None, max_length=64, description="Claim this case; else the next")
    kind: str | None = Field(default=None, max_length=16, description="Only cases of this finding kind")
    list: str | None = Field(default=None, max_length=200, description="Only cases from this list")
    seller: str | None = Field(default=None, max_length=128, description="Only cases of this seller")


class ClaimRead(BaseModel):
    case: CaseRead
    lease_expires_at: datetime


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject", "escalate"]
    reason: Literal["trademark", "copyright", "offensive", "restricted", "other"] | None = None
    note: str | None = Field(default=None, max_length=MAX_NOTE)


class ReferenceRead(BaseModel):
    """What a finding matched: the list entry, and for logos a thumbnail of the registered image."""

    list: str
    entry: str
    label: str | None
    category: str | None
    thumbnail_url: str | None


class CaseFindingRead(FindingRead):
    reference: ReferenceRead


class CaseItemRead(BaseModel):
    id: str
    kind: str
    content_type: str
    size: int
    state: str
    verdict: str | None
    content_url: str | None = Field(description="The reviewer's content endpoint (this case's item only)")


class CaseDetailRead(BaseModel):
    case: CaseRead
    item: CaseItemRead
    findings: list[CaseFindingRead]
    order: dict[str, str | None]
    other_items: list[CaseItemRead]


def _desk(ctx: Context) -> ReviewDesk:
    if ctx.services.review is None:  # pragma: no cover - build_services always wires it
        raise ServiceUnavailable("the review desk is not wired in this process")
    return ctx.services.review


def _who(p: Principal) -> Reviewer:
    return Reviewer(p.actor, admin=p.role == Role.ADMIN)


def _case(ctx: Context, c: ReviewView) -> CaseRead:
    names = _desk(ctx).names([c])
    order_id, seller = names.get(c.id, (None, None))
    return CaseRead.of(c, order_id=order_id, seller=seller)


@router.get("/cases", response_model=CaseList, responses=_COMMON, summary="The review queue, oldest first")
def list_cases(
    who: ReviewerPrincipal,
    ctx: Context,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    list_ref: Annotated[str | None, Query(alias="list", max_length=200)] = None,
    seller: Annotated[str | None, Query(max_length=128)] = None,
    state: Annotated[ReviewState | None, Query()] = None,
    all_cases: Annotated[bool, Query(alias="all", description="Include decided and closed cases")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CaseList:
    desk = _desk(ctx)
    f = desk.queue_filter(kind=kind, list_ref=list_ref, seller=seller, state=state)
    if f is None:
        return CaseList(cases=[], total=0, limit=limit, offset=offset)
    cases, total = desk.queue(f, live_only=not all_cases and state is None, limit=limit, offset=offset)
    names = desk.names(cases)
    return CaseList(
        cases=[CaseRead.of(c, order_id=names[c.id][0], seller=names[c.id][1]) for c in cases],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/claims",
    response_model=ClaimRead,
    responses={
        204: {"description": "Nothing is waiting (for these filters)"},
        409: {"description": "Another reviewer holds that case, or it is decided or closed", **_PROBLEM},
        **_COMMON,
    },
    summary="Claim the next case (or a given one) with a lease",
)
def claim(body: ClaimCreate, who: ReviewerPrincipal, ctx: Context) -> Response:
    desk = _desk(ctx)
    if body.case_id is not None:
        case = desk.claim(_who(who), case_id=body.case_id)
    else:
        f = desk.queue_filter(kind=body.kind, list_ref=body.list, seller=body.seller)
        case = None if f is None else desk.claim(_who(who), f=f)
    if case is None:
        return Response(status_code=204)
    assert case.lease_until is not None
    read = ClaimRead(case=_case(ctx, case), lease_expires_at=case.lease_until)
    return JSONResponse(read.model_dump(mode="json"))


@router.get(
    "/cases/{case_id}", response_model=CaseDetailRead, responses=_COMMON, summary="A case and its evidence"
)
def get_case(case_id: CaseId, who: ReviewerPrincipal, ctx: Context) -> CaseDetailRead:
    detail = _desk(ctx).detail(case_id, _who(who))
    return _detail(ctx, detail)


def _item(i: ItemView, case_id: str | None) -> CaseItemRead:
    return CaseItemRead(
        id=i.id,
        kind=i.kind,
        content_type=i.content_type,
        size=i.size,
        state=i.state,
        verdict=i.verdict,
        content_url=None if case_id is None else f"/v1/review/cases/{case_id}/content",
    )


def _detail(ctx: Context, d: CaseDetail) -> CaseDetailRead:
    findings = []
    for f in d.findings:
        thumb = None
        if f.kind in REFERENCE_IMAGE_KINDS and ctx.services.screener.reference_thumbnail(f.entry) is not None:
            thumb = f"/v1/review/references/images/{quote(f.entry, safe='')}"  # a list's entry id, any text
        ref = ReferenceRead(
            list=f.list_ref, entry=f.entry, label=f.label, category=f.category, thumbnail_url=thumb
        )
        findings.append(CaseFindingRead(**FindingRead.of(f).model_dump(), reference=ref))
    seller = _desk(ctx).names([d.case]).get(d.case.id, (None, None))[1]
    return CaseDetailRead(
        case=CaseRead.of(d.case, order_id=d.order.external_id, seller=seller),
        item=_item(d.item, d.case.id),
        findings=findings,
        order={"id": d.order.external_id, "seller": seller, "state": d.order.state},
        other_items=[_item(i, None) for i in d.others],
    )


@router.get(
    "/cases/{case_id}/content",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The customer's bytes (audited as a review read, never cached)",
            "content": {"*/*": {}},
        },
        410: {"description": "The order left open: its content is gone or going", **_PROBLEM},
        **_COMMON,
    },
    summary="The case item's content, for the reviewer",
)
def get_case_content(case_id: CaseId, who: ReviewerPrincipal, ctx: Context) -> Response:
    item, chunks = _desk(ctx).content(case_id, _who(who))
    # Inline for the browser workbench, and never allowed to run anything of the customer's.
    return stream_content(
        item, chunks, disposition="inline", extra={"Content-Security-Policy": "default-src 'none'; sandbox"}
    )


@router.post(
    "/cases/{case_id}/decision",
    response_model=CaseRead,
    responses={409: {"description": "The caller does not hold the case's lease", **_PROBLEM}, **_COMMON},
    summary="Approve, reject (with a reason) or escalate the case you hold",
)
def decide(case_id: CaseId, body: DecisionCreate, who: ReviewerPrincipal, ctx: Context) -> CaseRead:
    case = _desk(ctx).decide(case_id, _who(who), body.decision, reason=body.reason, note=body.note)
    return _case(ctx, case)


@router.post(
    "/cases/{case_id}/lease",
    response_model=ClaimRead,
    responses={409: {"description": "The caller does not hold the case's lease", **_PROBLEM}, **_COMMON},
    summary="Renew your lease on the case",
)
def renew(case_id: CaseId, who: ReviewerPrincipal, ctx: Context) -> ClaimRead:
    case = _desk(ctx).renew(case_id, _who(who))
    assert case.lease_until is not None
    return ClaimRead(case=_case(ctx, case), lease_expires_at=case.lease_until)


@router.delete(
    "/cases/{case_id}/lease",
    response_model=CaseRead,
    responses={409: {"description": "The caller does not hold the case's lease", **_PROBLEM}, **_COMMON},
    summary="Release the case back to the queue",
)
def release(case_id: CaseId, who: ReviewerPrincipal, ctx: Context) -> CaseRead:
    return _case(ctx, _desk(ctx).release(case_id, _who(who)))


@router.get(
    "/references/images/{entry_id}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}, **_COMMON},
    summary="The registered reference image (thumbnail) a logo or artwork finding matched",
)
def reference_image(
    entry_id: Annotated[str, Path(min_length=1, max_length=200)], who: ReviewerPrincipal, ctx: Context
) -> Response:
    thumb = ctx.services.screener.reference_thumbnail(entry_id)
    if thumb is None:
        raise NotFound("no such reference image")
    return Response(
        thumb, media_type=image_media_type(thumb), headers={"Cache-Control": "private, max-age=3600"}
    )
