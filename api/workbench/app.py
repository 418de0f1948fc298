"""The workbench as an application of its own, mounted under `/review` on the API.

Its own error handlers answer a browser in HTML (a signed-out page visit is sent to the sign-in page),
never a JSON problem; its own middleware puts a strict Content-Security-Policy and `no-store` on every
page. Everything the pages load — htmx, the keyboard script, the style sheet — is served from
`static/` by this app: nothing comes from another origin.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import status_for
from api.workbench import pages
from api.workbench.auth import SESSION_COOKIE, base_of, clear_cookie
from customization_vault.catalog import DatabaseUnavailable
from customization_vault.errors import VaultError
from customization_vault.reviewer_sessions import SignInRequired

log = logging.getLogger(__name__)

HERE = Path(__file__).parent

# No inline script or style anywhere: a string that slips past escaping still cannot run. SVG
# presentation attributes (the charts, the region outlines) are not styles and need no exception.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class PageHeaders:
    """Security headers on every workbench response; a response that set its own CSP keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(f"{scope.get('root_path', '')}/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": PAGE_CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"no-referrer",
                    b"cache-control": b"no-cache" if static else b"no-store",
                }
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def template_env() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _wants_page(request: Request) -> bool:
    """A top-level page visit (not htmx, not the page's own fetch or beacon, not an image)."""
    return (
        request.method == "GET"
        and "HX-Request" not in request.headers
        and "text/html" in request.headers.get("accept", "")
    )


def _error_page(request: Request, status: int, title: str, detail: str | None) -> Response:
    response: Response = pages.pages_of(request).render(
        request, "error.html", visit=None, status=status, title=title, detail=detail
    )
    return response


async def _on_sign_in_required(request: Request, exc: Exception) -> Response:
    if _wants_page(request):
        base = base_of(request)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response: Response = RedirectResponse(
            f"{base}/sign-in?next={quote(target, safe='')}", status_code=303
        )
    else:
        response = _error_page(request, 401, "Signed out", "Sign in to the workbench again.")
    if SESSION_COOKIE in request.cookies:
        clear_cookie(request, response, SESSION_COOKIE)
    return response


async def _on_vault_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VaultError)
    status, title = status_for(exc)
    if status >= 500:
        log.warning("%s (%s) answered %d", type(exc).__name__, exc.code, status)
    return _error_page(request, status, title, None if status >= 500 else str(exc))


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    # Never echo what was sent: a field can hold anything, including markup.
    return _error_page(
        request, 422, "Invalid request", "A field was missing or not in the form the page expects."
    )


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed"}
    return _error_page(request, exc.status_code, titles.get(exc.status_code, "Error"), None)


async def _on_database_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable (%s)", type(exc).__name__)
    return _error_page(request, 503, "Backend unavailable", "The catalog database is unavailable: try again.")


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Logged by the API's ProblemMiddleware by type and place only (a message may quote input).
    return _error_page(request, 500, "Internal error", None)


def create_workbench() -> FastAPI:
    wb = FastAPI(title="reviewer workbench", docs_url=None, redoc_url=None, openapi_url=None)
    wb.state.pages = pages.Pages(template_env())
    wb.state.ctx = None
    wb.add_exception_handler(SignInRequired, _on_sign_in_required)
    wb.add_exception_handler(VaultError, _on_vault_error)
    wb.add_exception_handler(DatabaseUnavailable, _on_database_unavailable)
    wb.add_exception_handler(RequestValidationError, _on_validation_error)
    wb.add_exception_handler(StarletteHTTPException, _on_http_exception)
    wb.add_exception_handler(Exception, _on_unexpected)
    wb.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    wb.include_router(pages.router)
    wb.add_middleware(PageHeaders)
    return wb
