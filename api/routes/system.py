"""Liveness, readiness, metrics and the receipt public key: unauthenticated, content-free endpoints."""

from __future__ import annotations

import logging

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.deps import Context
from api.metrics import CONTENT_TYPE
from api.schemas import HealthRead

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
    response_model=HealthRead,
    summary="Readiness: database, blob store and key provider reachable",
    responses={503: {"description": "A dependency is unreachable", "model": HealthRead}},
)
async def readyz(ctx: Context) -> JSONResponse:
    checks = await to_thread.run_sync(lambda: _check_all(ctx))
    ok = all(v == "ok" for v in checks.values())
    body = HealthRead(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (no content, no order ids)",
    response_class=PlainTextResponse,
)
def metrics(ctx: Context) -> Response:
    text_body = ctx.metrics.render()
    # Retention's purge counters (purged, failures, sweeps, orphans...), kept by the purger and worker.
    for name, value in sorted(ctx.services.purge_metrics.snapshot().items()):
        metric = f"cv_retention_{name}_total"
        text_body += f"# TYPE {metric} counter\n{metric} {value}\n"
    return Response(text_body, media_type=CONTENT_TYPE)


@router.get(
    "/v1/receipts/public-key",
    summary="The Ed25519 public key (PEM) that verifies purge receipts",
    response_class=PlainTextResponse,
    tags=["receipts"],
)
def receipt_public_key(ctx: Context) -> Response:
    return Response(ctx.purge.public_key_pem(), media_type="application/x-pem-file")
