"""Liveness, readiness, metrics and the receipt public key: content-free endpoints, unauthenticated but
for `/metrics` where it is protected (`CV_METRICS__PUBLIC`)."""

from __future__ import annotations

import logging

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.deps import Context, MetricsReader
from api.metrics import CONTENT_TYPE
from api.schemas import EngineRead, HealthRead, ReadinessRead

router = APIRouter(tags=["system"])
log = logging.getLogger(__name__)


@router.get("/healthz", response_model=HealthRead, summary="Liveness: the process answers")
def healthz() -> HealthRead:
    return HealthRead(status="ok")


def _check_all(ctx: Context) -> dict[str, str]:
    services = ctx.services
    checks: dict[str, str] = {}

    for name, probe in (
        ("database", services.catalog.ping),
        ("blob_store", services.blobs.check),
        ("key_provider", services.keys.check),
    ):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # a probe's message may name hosts or paths: type only
            log.warning("readiness: %s failed (%s)", name, type(exc).__name__)
            checks[name] = "unavailable"
    return checks


@router.get(
    "/readyz",
    response_model=ReadinessRead,
    summary="Readiness: database, blob store and key provider reachable; the screening engines' states",
    responses={503: {"description": "A dependency is unreachable", "model": ReadinessRead}},
)
async def readyz(ctx: Context) -> JSONResponse:
    checks = await to_thread.run_sync(lambda: _check_all(ctx))
    ok = all(v == "ok" for v in checks.values())
    # Engines were built at start-up (`warm`); this reads their state and builds nothing.
    engines = {name: EngineRead.of(s) for name, s in ctx.services.screener.status().items()}
    body = ReadinessRead(status="ok" if ok else "unavailable", checks=checks, screening=engines)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=200 if ok else 503)


def _counters(prefix: str, snapshot: dict[str, int]) -> str:
    """A background loop's counters (fixed names, never ids) as Prometheus counters."""
    return "".join(
        f"# TYPE {prefix}{name}_total counter\n{prefix}{name}_total {value}\n"
        for name, value in sorted(snapshot.items())
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics (no content, no order ids); in production for the scrape token or admins",
    response_class=PlainTextResponse,
    responses={
        401: {"description": "Protected (CV_METRICS__PUBLIC=false) and no valid token or key"},
        403: {"description": "A key that is not an admin key"},
    },
)
def metrics(ctx: Context, _reader: MetricsReader) -> Response:
    text_body = ctx.metrics.render()
    # Retention's purge counters (purged, failures, sweeps, orphans...), kept by the purger and worker.
    text_body += _counters("cv_retention_", ctx.services.purge_metrics.snapshot())
    # Webhook delivery's counters (their names start with "webhook_") and the outbox's backlog.
    text_body += _counters("cv_", ctx.services.webhook_metrics.snapshot())
    book = ctx.services.webhooks
    try:
        backlog = None if book is None else book.backlog()
    except Exception as exc:  # the database is down: /readyz says so; metrics still answer
        log.warning("metrics: outbox backlog unavailable (%s)", type(exc).__name__)
        backlog = None
    if backlog is not None:
        text_body += (
            "# HELP cv_webhook_pending Notifications waiting for delivery\n"
            f"# TYPE cv_webhook_pending gauge\ncv_webhook_pending {backlog.pending}\n"
            "# HELP cv_webhook_given_up Notifications out of attempts, kept undelivered\n"
            f"# TYPE cv_webhook_given_up gauge\ncv_webhook_given_up {backlog.given_up}\n"
        )
    return Response(text_body, media_type=CONTENT_TYPE)


@router.get(
    "/v1/receipts/public-key",
    summary="The Ed25519 public key (PEM) that verifies purge receipts",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {"schema": {"type": "string"}}}}},
    tags=["receipts"],
)
def receipt_public_key(ctx: Context) -> Response:
    return Response(ctx.purge.public_key_pem(), media_type="application/x-pem-file")
