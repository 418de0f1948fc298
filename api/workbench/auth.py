"""Who is at the browser: the session cookie, the CSRF check every POST passes, and the admin gate.

The session cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it)
and Secure whenever the request came over TLS. Every state-changing request must also carry the CSRF
token derived from the session (a form field, or the `X-CSRF-Token` header for the page's own fetches);
sign-in, which has no session yet, uses a double-submitted random cookie instead.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from api.deps import Context
from api.errors import Forbidden, ServiceUnavailable
from customization_vault.apikeys import Role
from customization_vault.review import ReviewDesk, Reviewer
from customization_vault.reviewer_sessions import ReviewerSessions, SignedIn, SignInRequired

SESSION_COOKIE = "cv_session"
SIGN_IN_COOKIE = "cv_sign_in"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class CsrfRejected(Forbidden):
    """A state-changing request without this session's CSRF token: possibly another site's form."""

    code = "csrf_rejected"


@dataclass(frozen=True, slots=True)
class Visit:
    """The signed-in reviewer behind one request, with what the pages need to act for them."""

    session: SignedIn
    token: str
    base: str  # where the workbench is mounted ("/review")

    @property
    def who(self) -> Reviewer:
        return Reviewer(self.session.principal.actor, admin=self.session.admin)

    @property
    def actor(self) -> str:
        return self.session.principal.actor

    @property
    def admin(self) -> bool:
        return self.session.principal.role == Role.ADMIN

    @property
    def csrf(self) -> str:
        return self.session.csrf_token


def base_of(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def sessions_of(ctx: Context) -> ReviewerSessions:
    if ctx.services.sessions is None:  # pragma: no cover - build_services always wires it
        raise ServiceUnavailable("workbench sessions are not wired in this process")
    return ctx.services.sessions


def desk_of(ctx: Context) -> ReviewDesk:
    if ctx.services.review is None:  # pragma: no cover - build_services always wires it
        raise ServiceUnavailable("the review desk is not wired in this process")
    return ctx.services.review


def signed_in(request: Request, ctx: Context) -> Visit:
    token = request.cookies.get(SESSION_COOKIE)
    session = sessions_of(ctx).resume(token)
    assert token is not None
    return Visit(session, token, base_of(request))


SignedInVisit = Annotated[Visit, Depends(signed_in)]


async def posted(request: Request, visit: SignedInVisit) -> Visit:
    """A signed-in visit whose request carries the session's CSRF token."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not ReviewerSessions.csrf_ok(visit.token, presented):
        raise CsrfRejected("the form's security token is missing or not this session's: reload the page")
    return visit


PostedVisit = Annotated[Visit, Depends(posted)]


def admin(visit: SignedInVisit) -> Visit:
    if not visit.admin:
        raise Forbidden("this page is for admins")
    return visit


async def admin_posted(visit: PostedVisit) -> Visit:
    if not visit.admin:
        raise Forbidden("this page is for admins")
    return visit


AdminVisit = Annotated[Visit, Depends(admin)]
AdminPostedVisit = Annotated[Visit, Depends(admin_posted)]


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path=base_of(request) or "/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name,
        path=base_of(request) or "/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(24)


def sign_in_token_ok(request: Request, presented: str | None) -> bool:
    """Double submit: the form's token must equal the cookie set with the form (another site can set
    neither, and SameSite=Strict keeps the cookie off its requests anyway)."""
    cookie = request.cookies.get(SIGN_IN_COOKIE)
    return bool(cookie) and presented is not None and hmac.compare_digest(cookie or "", presented)


__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "SIGN_IN_COOKIE",
    "AdminPostedVisit",
    "AdminVisit",
    "CsrfRejected",
    "PostedVisit",
    "SignInRequired",
    "SignedInVisit",
    "Visit",
    "base_of",
    "clear_cookie",
    "desk_of",
    "new_sign_in_token",
    "sessions_of",
    "set_cookie",
    "sign_in_token_ok",
]
