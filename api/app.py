"""`create_app(settings)`: the FastAPI application, its backends wired once in `lifespan`.

Tests pass ready-made `Services` (and close them themselves); `serve` passes none and the app builds
and closes its own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from api import errors
from api.deps import ApiContext
from api.guards import BodyGuardMiddleware
from api.metrics import Metrics, MetricsMiddleware
from api.observability import RequestContextMiddleware
from api.purging import PurgeGateway, RetentionPurge
from api.routes import lists, orders, review, system
from api.settings import Settings
from api.uploads import UploadGate
from api.wiring import Services, build_screening_worker, build_services, refuse_demo_keys_in_production
from api.workbench import create_workbench
from customization_vault.fulfilment import FulfilmentService, JobScreening
from customization_vault.intake import Limits

log = logging.getLogger(__name__)

DESCRIPTION = """Keeps the customization data of personalised orders encrypted per order, screens it for
trademarks, offensive content, protected images and restricted fonts, hands it to the order's own
seller for fulfilment, and purges it when the order is fulfilled or cancelled.

Authenticate with `Authorization: Bearer <API key>` (`customization-vault keys api create`).
Errors are RFC 9457 `application/problem+json` bodies with a stable `code` and the `request_id`.
Every response carries `X-Request-Id` (yours, if you send a valid one): quote it to support."""


def limits_of(settings: Settings) -> Limits:
    cfg = settings.limits
    return Limits(
        max_upload_bytes=cfg.max_upload_bytes,
        max_pixels=cfg.max_pixels,
        max_text_chars=cfg.max_text_chars,
        max_items_per_order=cfg.max_items_per_order,
        max_font_bytes=cfg.max_font_bytes,
        max_frames=cfg.max_frames,
    )


def build_purge_gateway(services: Services) -> PurgeGateway:
    if services.purger is None or services.signer is None:
        raise RuntimeError("build_services wires the purger and the receipt signer")
    return RetentionPurge(services.purger, services.signer)


def build_jobs(services: Services) -> JobScreening | None:
    """Screening by durable jobs, with a worker in this process when settings say so (the embedded
    default); None when screening is off (every item clears as it is stored)."""
    settings = services.settings
    if not settings.screening.enabled:
        return None
    worker = build_screening_worker(services) if settings.screening_in_process else None
    return JobScreening(deadline_seconds=settings.screening.upload_deadline_seconds, worker=worker)


def build_context(services: Services, metrics: Metrics | None = None) -> ApiContext:
    """Called inside the running event loop (the lifespan): the upload limiter belongs to it."""
    purge = build_purge_gateway(services)
    fulfilment = FulfilmentService(
        services.vault,
        services.screener,
        limits_of(services.settings),
        receipts=purge.receipt,
        review=services.review,
        jobs=build_jobs(services),
    )
    # Each upload in flight holds up to max_upload_bytes in memory: the gate bounds the total and
    # shares it fairly between sellers (api/uploads.py).
    uploads = UploadGate(services.settings.limits.max_concurrent_uploads or max(4, 2 * (os.cpu_count() or 1)))
    return ApiContext(services, fulfilment, purge, metrics or Metrics(), uploads)


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    metrics = Metrics()

    workbench = create_workbench()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        svc = services if services is not None else await to_thread.run_sync(build_services, settings)
        worker = None
        try:
            await to_thread.run_sync(refuse_demo_keys_in_production, svc)
            ctx = build_context(svc, metrics)
            # Lists and indexes load now, so the first upload does not pay for them. The engines in
            # this process serve readiness (and inline screening); a worker's processes have their own.
            await to_thread.run_sync(svc.screener.warm)
            log.info(
                "screening engines: %s",
                ", ".join(f"{name}={s.state.value}" for name, s in svc.screener.status().items()),
            )
            worker = None if ctx.fulfilment.jobs is None else ctx.fulfilment.jobs.worker
            if worker is not None:
                await to_thread.run_sync(worker.warm)
                worker.start()
            app.state.ctx = ctx
            workbench.state.ctx = ctx  # a mounted app has its own state: the pages read it there
            yield
        finally:
            app.state.ctx = None
            workbench.state.ctx = None
            if worker is not None:
                await to_thread.run_sync(worker.stop)
            if owned:
                svc.close()

    app = FastAPI(
        title="customization-vault",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(orders.router)
    app.include_router(review.router)
    app.include_router(system.router)
    app.include_router(lists.router)
    app.mount("/review", workbench, name="workbench")  # the reviewers' browser pages (HTML, session cookies)
    # Added innermost first. Metrics see the final status, including ProblemMiddleware's bodies; the
    # request context is outermost, so every log line and problem body of the request has its id.
    app.add_middleware(
        BodyGuardMiddleware,
        timeout=settings.server.body_timeout_seconds,
        list_limit=settings.screening.max_list_bytes,
    )
    app.add_middleware(errors.ProblemMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestContextMiddleware)
    app.state.metrics = metrics
    return app


def app_from_environment() -> FastAPI:
    """The app of one `serve --workers N` process: uvicorn starts each worker from an import string,
    so its settings come from the environment (`serve` exports its command-line options there)."""
    return create_app(Settings())
