"""Named `Annotated` dependencies: the wired services and who is calling, by role.

Authentication is a bearer API key (`Authorization: Bearer cv_…`). Authorisation is by role here and
by tenant in the domain: a fulfilment principal carries its seller, and every order lookup is scoped
to it, so another seller's order is indistinguishable from a missing one (404).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import Forbidden
from api.metrics import Metrics
from api.observability import current_request
from api.purging import PurgeGateway
from api.uploads import UploadGate
from api.wiring import Services as WiredServices
from customization_vault.apikeys import Principal, Role, Unauthenticated
from customization_vault.fulfilment import FulfilmentService


@dataclass
class ApiContext:
    """What the app holds for the lifetime of the process (built in `lifespan`)."""

    services: WiredServices
    fulfilment: FulfilmentService
    purge: PurgeGateway
    metrics: Metrics
    # File uploads in memory: each seller's fair share of them, and the work slots (api/uploads.py).
    uploads: UploadGate


def get_context(request: Request) -> ApiContext:
    ctx: ApiContext | None = getattr(request.app.state, "ctx", None)
    if ctx is None:  # pragma: no cover - only if a route is hit outside the lifespan
        raise RuntimeError("the application was not started through its lifespan")
    return ctx


def get_services(ctx: Annotated[ApiContext, Depends(get_context)]) -> WiredServices:
    return ctx.services


Context = Annotated[ApiContext, Depends(get_context)]
Services = Annotated[WiredServices, Depends(get_services)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cv_…`")


def current_principal(
    services: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthenticated("an API key is required: Authorization: Bearer <key>")
    principal = services.api_keys.authenticate(credentials.credentials)
    request = current_request()
    if request is not None:  # the request's log lines name the seller (never the key)
        request.seller_id = principal.seller_external_id
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True, slots=True)
class SellerPrincipal:
    """A fulfilment key's principal with its seller guaranteed present (the type carries the proof)."""

    principal: Principal
    seller_id: str

    @property
    def actor(self) -> str:
        return self.principal.actor


def fulfilment_principal(principal: CurrentPrincipal) -> SellerPrincipal:
    # Reviewers and admins see content only through audited review pages, never through fulfilment.
    if principal.role != Role.FULFILMENT or principal.seller_id is None:
        raise Forbidden("this endpoint is for fulfilment keys (bound to a seller)")
    return SellerPrincipal(principal, principal.seller_id)


def admin_principal(principal: CurrentPrincipal) -> Principal:
    if principal.role != Role.ADMIN:
        raise Forbidden("this endpoint is for admin keys")
    return principal


def reviewer_principal(principal: CurrentPrincipal) -> Principal:
    # Admins may act as reviewers (e.g. to cover a queue); fulfilment keys never see others' content.
    if principal.role not in (Role.REVIEWER, Role.ADMIN):
        raise Forbidden("this endpoint is for reviewer keys")
    return principal


def metrics_reader(
    services: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """`/metrics` for everyone when `CV_METRICS__PUBLIC` (the default outside production); else for the
    scrape token `CV_METRICS__TOKEN` or an admin API key."""
    settings = services.settings
    if settings.metrics_public:
        return
    if credentials is None:
        raise Unauthenticated("/metrics needs the metrics token or an admin API key")
    token = settings.metrics.token
    if token is not None and hmac.compare_digest(
        credentials.credentials.encode(), token.get_secret_value().encode()
    ):
        return
    if services.api_keys.authenticate(credentials.credentials).role != Role.ADMIN:
        raise Forbidden("/metrics is for the metrics token or admin keys")


FulfilmentPrincipal = Annotated[SellerPrincipal, Depends(fulfilment_principal)]
AdminPrincipal = Annotated[Principal, Depends(admin_principal)]
ReviewerPrincipal = Annotated[Principal, Depends(reviewer_principal)]
MetricsReader = Annotated[None, Depends(metrics_reader)]
