"""`/v1/orders/...`: the fulfilment system's endpoints. Each route parses, authorises, calls one domain
function and maps the result; every error is a domain exception rendered by `api/errors.py`.

Blocking work (database, screening, decryption) runs in the thread pool: `def` routes do so by
FastAPI's rule, the upload route (async, to read the body stream) hands off explicitly.
"""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from api.bodies import (
    FRAMING_ALLOWANCE,
    MULTIPART_FILE,
    check_content_length,
    parse_json,
    read_bounded,
    read_multipart_file,
    require_supported_body,
)
from api.deps import ApiContext, Context, FulfilmentPrincipal, SellerPrincipal
from api.purging import run_purge_quietly
from api.schemas import (
    AppealCreate,
    ItemRead,
    OrderCreate,
    OrderDetailRead,
    OrderRead,
    PurgeRead,
    ReviewRead,
    TextItemCreate,
    receipt_url,
)
from api.streaming import stream_content
from customization_vault.errors import InvalidInput, NotFound
from customization_vault.fulfilment import Preference, UploadResult
from customization_vault.ids import ID_PATTERN, PRODUCT_PATTERN
from customization_vault.lifecycle import OrderState

router = APIRouter(prefix="/v1/orders", tags=["orders"])

# Checked before any route acts (422 otherwise), so nothing is stored under an id a URL can not carry.
OrderId = Annotated[
    str,
    Path(
        pattern=ID_PATTERN,
        description="The marketplace's order id (unique per seller): an ASCII letter or digit, then up "
        "to 127 letters, digits, '.', '_', ':' or '-'",
    ),
]
ItemId = Annotated[str, Path(pattern=ID_PATTERN, description="The item's id, as the upload returned it")]

_PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}
_COMMON: dict[int | str, dict[str, object]] = {
    401: {"description": "Missing or unknown API key", **_PROBLEM},
    403: {"description": "The key's role may not use this endpoint", **_PROBLEM},
    404: {"description": "No such order for this seller (another seller's order looks the same)", **_PROBLEM},
}
# JSON text items: the largest text plus JSON escaping (\uXXXX is 6 bytes per code point) and framing.
_JSON_ESCAPE_FACTOR = 6


@router.put(
    "/{order_id}",
    response_model=OrderRead,
    status_code=201,
    responses={200: {"description": "The order already existed", "model": OrderRead}, **_COMMON},
    summary="Create the order (idempotent)",
)
def put_order(
    order_id: OrderId,
    who: FulfilmentPrincipal,
    ctx: Context,
    response: Response,
    body: Annotated[OrderCreate | None, Body(description="Optional: the order's product")] = None,
) -> OrderRead:
    product = None if body is None else body.product
    order, created = ctx.fulfilment.create_order(who.seller_id, order_id, actor=who.actor, product=product)
    response.status_code = 201 if created else 200
    return OrderRead.of(order)


@router.get(
    "/{order_id}",
    response_model=OrderDetailRead,
    responses=_COMMON,
    summary="Order state, items, verdicts, review outcomes and the purge receipt",
)
def get_order(order_id: OrderId, who: FulfilmentPrincipal, ctx: Context) -> OrderDetailRead:
    return OrderDetailRead.of_summary(ctx.fulfilment.summary(who.seller_id, order_id))


def parse_prefer(values: list[str]) -> Preference:
    """RFC 7240 `Prefer` headers: `respond-async` and `wait=<seconds>`; other preferences are ignored
    (the RFC lets a server ignore any), as is a malformed `wait`."""
    respond_async = False
    wait: float | None = None
    for value in values:
        for pref in value.split(","):
            name, _, rest = pref.strip().partition("=")
            name = name.split(";", 1)[0].strip().lower()
            if name == "respond-async":
                respond_async = True
            elif name == "wait":
                try:
                    wait = max(0.0, float(rest.split(";", 1)[0].strip().strip('"')))
                except ValueError:
                    wait = None
    return Preference(respond_async=respond_async, wait=wait)


async def _store_text(
    request: Request,
    order_id: str,
    idempotency_key: str | None,
    who: SellerPrincipal,
    ctx: ApiContext,
    prefer: Preference,
    product: str | None,
) -> UploadResult:
    """A text item: a few KiB at most, so it is never queued behind image screening."""
    limit = ctx.fulfilment.limits.max_text_chars * _JSON_ESCAPE_FACTOR + FRAMING_ALLOWANCE
    check_content_length(request.headers.get("content-length"), limit)
    body = await read_bounded(request.stream(), limit)
    try:
        text_item = TextItemCreate.model_validate(parse_json(body))
    except ValidationError as exc:
        raise InvalidInput('a text item is {"kind": "text", "text": "..."}') from exc
    return await to_thread.run_sync(
        lambda: ctx.fulfilment.upload_text(
            who.seller_id,
            order_id,
            text_item.text,
            idempotency_key=idempotency_key,
            actor=who.actor,
            prefer=prefer,
            product=text_item.product or product,
        )
    )


async def _store_file(
    request: Request,
    order_id: str,
    idempotency_key: str | None,
    who: SellerPrincipal,
    ctx: ApiContext,
    prefer: Preference,
    product: str | None,
) -> UploadResult:
    """A file: read into memory within the seller's share, then intake, storage and the wait for its
    verdict in a work slot (`api/uploads.py`). The read is bounded in size here and in time by the body
    deadline."""
    limits = ctx.fulfilment.limits
    check_content_length(request.headers.get("content-length"), limits.max_upload_bytes + FRAMING_ALLOWANCE)
    async with ctx.uploads.seller(who.seller_id):
        part = await read_multipart_file(
            request.stream(), request.headers.get("content-type") or "", limits.max_upload_bytes
        )
        async with ctx.uploads.work:
            return await to_thread.run_sync(
                lambda: ctx.fulfilment.upload_file(
                    who.seller_id,
                    order_id,
                    part.data,
                    declared_type=part.declared_type,
                    idempotency_key=idempotency_key,
                    actor=who.actor,
                    prefer=prefer,
                    product=product,
                )
            )


@router.post(
    "/{order_id}/items",
    response_model=ItemRead,
    status_code=201,
    summary="Upload one item: multipart `file` part, or JSON {kind: text, text}",
    responses={
        200: {"description": "Idempotent replay: the item the same key and body created", "model": ItemRead},
        202: {
            "description": "Stored, verdict pending: the client sent `Prefer: respond-async`, or "
            'screening did not finish within the deadline. `verdict` is "pending"; the item\'s URL is in '
            "`Location` and the verdict appears there and on `GET /v1/orders/{id}`",
            "model": ItemRead,
        },
        400: {"description": "Malformed body, empty input", **_PROBLEM},
        408: {"description": "The body did not arrive in time (CV_SERVER__BODY_TIMEOUT_SECONDS)", **_PROBLEM},
        409: {"description": "Idempotency-Key reused with a different body", **_PROBLEM},
        410: {"description": "The order no longer accepts uploads", **_PROBLEM},
        413: {"description": "Over a size, pixel, frame or length limit", **_PROBLEM},
        415: {"description": "Unsupported or mismatched type", **_PROBLEM},
        422: {"description": "Corrupt image/font, invalid text", **_PROBLEM},
        **_COMMON,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                **MULTIPART_FILE,
                "application/json": {"schema": TextItemCreate.model_json_schema()},
            },
        }
    },
)
async def post_item(
    order_id: OrderId,
    request: Request,
    who: FulfilmentPrincipal,
    ctx: Context,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Retry-safe key: same key + same body → the same item (200); different body → 409",
        ),
    ] = None,
    product: Annotated[
        str | None,
        Query(
            pattern=PRODUCT_PATTERN,
            description="What this item is printed on (overrides the order's product; JSON text items may "
            "give it in the body instead)",
        ),
    ] = None,
) -> JSONResponse:
    prefer = parse_prefer(request.headers.getlist("prefer"))
    try:
        essence = require_supported_body(request.headers.get("content-type"))
        store = _store_text if essence == "application/json" else _store_file
        result = await store(request, order_id, idempotency_key, who, ctx, prefer, product)
    except InvalidInput as exc:
        ctx.metrics.upload_rejections.inc(exc.code)
        raise
    item = result.item
    if result.created:
        ctx.metrics.uploads.inc(item.kind)
        ctx.metrics.verdicts.inc(item.verdict or "none")
    review = await to_thread.run_sync(lambda: ctx.fulfilment.review_of(item.id))
    body_model = ItemRead.of(item, order_id, None if review is None else ReviewRead.of(review))
    if result.pending:
        headers = {"Location": body_model.item_url, "Retry-After": "1"}
        if prefer.respond_async:
            headers["Preference-Applied"] = "respond-async"
        return JSONResponse(body_model.model_dump(mode="json"), status_code=202, headers=headers)
    return JSONResponse(
        body_model.model_dump(mode="json"),
        status_code=201 if result.created else 200,
        headers={"Location": body_model.content_url},
    )


@router.get(
    "/{order_id}/items/{item_id}",
    response_model=ItemRead,
    responses=_COMMON,
    summary='One item: its state, verdict ("pending" while screening), findings and review',
)
def get_item(order_id: OrderId, item_id: ItemId, who: FulfilmentPrincipal, ctx: Context) -> ItemRead:
    found = ctx.fulfilment.item(who.seller_id, order_id, item_id)
    return ItemRead.of(found.item, order_id, None if found.review is None else ReviewRead.of(found.review))


@router.get(
    "/{order_id}/items/{item_id}/content",
    summary="The item's decrypted bytes, for the order's own seller (audited)",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The content, with its sniffed media type", "content": {"*/*": {}}},
        409: {
            "description": "Flagged: awaiting trust-and-safety review; or still being screened "
            "(`screening_pending`, with `Retry-After`)",
            **_PROBLEM,
        },
        410: {"description": "The order was fulfilled, cancelled or purged", **_PROBLEM},
        451: {"description": "Blocked by screening or rejected in review", **_PROBLEM},
        **_COMMON,
    },
)
def get_content(order_id: OrderId, item_id: ItemId, who: FulfilmentPrincipal, ctx: Context) -> Response:
    item, chunks = ctx.fulfilment.fetch(who.seller_id, order_id, item_id, actor=who.actor)
    return stream_content(item, chunks, disposition="attachment")


def _purge(order_id: str, trigger: str, who: FulfilmentPrincipal, ctx: Context) -> Response:
    """Mark (content is 410 from this commit on), then purge inline so the receipt exists when we answer.

    The purge is a handful of deletes and one signature; running it in the request means a client
    that follows `Location` finds the receipt. If it can not finish (a legal hold, a backend outage),
    the order stays marked, the answer is 202, and the retention sweep completes it later.
    """
    order = ctx.fulfilment.order(who.seller_id, order_id)
    if order.state != OrderState.PURGED:
        was_open = order.state == OrderState.OPEN
        order = ctx.purge.mark(order, trigger, actor=who.actor)
        if was_open:
            ctx.metrics.purges.inc(order.trigger or trigger)
        run_purge_quietly(ctx.purge, order.id, who.actor)
        order = ctx.fulfilment.order(who.seller_id, order_id)
    purged = order.state == OrderState.PURGED
    url = receipt_url(order.external_id)
    body = PurgeRead(order=OrderRead.of(order, has_receipt=purged), receipt_url=url)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=200 if purged else 202, headers={"Location": url}
    )


_PURGE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Recorded and purged: the signed receipt is at `Location`. The first of "
        "fulfilment/cancellation wins; repeating either is harmless",
        "model": PurgeRead,
    },
    202: {
        "description": "Recorded (content answers 410 from now on) but the purge is pending: a legal "
        "hold, or a backend failure the retention sweep retries",
        "model": PurgeRead,
    },
    **_COMMON,
}


@router.post(
    "/{order_id}/fulfilment",
    status_code=200,
    response_model=PurgeRead,
    responses=_PURGE_RESPONSES,
    summary="Record fulfilment and purge the order's content",
)
def post_fulfilment(order_id: OrderId, who: FulfilmentPrincipal, ctx: Context) -> Response:
    return _purge(order_id, "fulfilled", who, ctx)


@router.post(
    "/{order_id}/cancellation",
    status_code=200,
    response_model=PurgeRead,
    responses=_PURGE_RESPONSES,
    summary="Record cancellation and purge the order's content",
)
def post_cancellation(order_id: OrderId, who: FulfilmentPrincipal, ctx: Context) -> Response:
    return _purge(order_id, "cancelled", who, ctx)


@router.get(
    "/{order_id}/receipt",
    summary="The signed purge receipt",
    responses={
        200: {"description": "Ed25519-signed receipt; verify with /v1/receipts/public-key"},
        404: {"description": "No such order, or not purged yet", **_PROBLEM},
        **{k: v for k, v in _COMMON.items() if k != 404},
    },
)
def get_receipt(order_id: OrderId, who: FulfilmentPrincipal, ctx: Context) -> JSONResponse:
    order = ctx.fulfilment.order(who.seller_id, order_id)
    receipt = ctx.purge.receipt(order.id)
    if receipt is None:
        raise NotFound("the order has no purge receipt yet")
    return JSONResponse(receipt)


@router.post(
    "/{order_id}/items/{item_id}/appeal",
    response_model=ReviewRead,
    status_code=201,
    responses={
        409: {"description": "The item is not rejected or blocked, or was appealed before", **_PROBLEM},
        410: {"description": "The order left open", **_PROBLEM},
        **_COMMON,
    },
    summary="Appeal a rejection or a block, once per item: a different reviewer decides",
)
def post_appeal(
    order_id: OrderId, item_id: ItemId, body: AppealCreate, who: FulfilmentPrincipal, ctx: Context
) -> JSONResponse:
    case = ctx.fulfilment.appeal(who.seller_id, order_id, item_id, body.statement, actor=who.actor)
    return JSONResponse(ReviewRead.of(case).model_dump(mode="json"), status_code=201)
