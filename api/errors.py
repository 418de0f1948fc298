"""Domain errors → HTTP: one table, RFC 9457 problem+json bodies, and nothing else leaks to clients.

Bodies are `{type, title, status, detail, code, request_id}`; the id is also the response's
`X-Request-Id` and is on every log line of the request. `detail` is the exception's message, which
domains write without customer content; unknown exceptions answer a bare 500 and are logged by type
and location only, because an arbitrary library message (a decoder's, a driver's) may quote the input.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.observability import current_request_id
from customization_vault.apikeys import Unauthenticated
from customization_vault.catalog import DatabaseUnavailable
from customization_vault.errors import (
    BackendError,
    ContentGone,
    ContentHeld,
    ContentPending,
    ContentRefused,
    InsecureKeyring,
    IntegrityError,
    InvalidInput,
    KeyDestroyed,
    KeyUnavailable,
    NotFound,
    NotPermitted,
    StateConflict,
    TooLarge,
    UnsupportedType,
    VaultError,
)
from customization_vault.intake.errors import EmptyInput, TypeMismatch

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://customization-vault.dev/problems/"


class Forbidden(VaultError):
    """Authenticated, but the key's role may not use this endpoint."""

    code = "forbidden"


class MalformedRequest(InvalidInput):
    """The request's framing (JSON, multipart) could not be parsed at all."""

    code = "malformed_request"


class RequestTimeout(StarletteHTTPException):
    """The request body did not arrive in time (`api/guards.py`). An HTTP exception, not a domain one:
    it is raised from the body stream, where FastAPI's body parsing passes only these through."""

    def __init__(self, detail: str) -> None:
        # The rest of the body may still be on its way: the connection can not carry another request.
        super().__init__(408, detail, headers={"Connection": "close"})


class BodyTooLarge(StarletteHTTPException):
    """A body over the limit of a route that is not an upload (`api/guards.py`); an HTTP exception for
    the same reason as `RequestTimeout`."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail, headers={"Connection": "close"})


class ServiceUnavailable(VaultError):
    """A part the endpoint needs is not configured or not ready in this process."""

    code = "service_unavailable"


# Most specific class first: the first `isinstance` match wins. Every VaultError reaches some row.
STATUS_TABLE: tuple[tuple[type[VaultError], int, str], ...] = (
    (Unauthenticated, 401, "Unauthenticated"),
    (Forbidden, 403, "Forbidden"),
    (NotPermitted, 403, "Forbidden"),
    (NotFound, 404, "Not found"),
    (ContentGone, 410, "Content gone"),
    (KeyDestroyed, 410, "Content gone"),
    (ContentRefused, 451, "Unavailable for legal reasons"),
    (ContentPending, 409, "Being screened"),
    (ContentHeld, 409, "Held for review"),
    (StateConflict, 409, "Conflict"),
    (MalformedRequest, 400, "Malformed request"),
    (EmptyInput, 400, "Empty input"),
    (TooLarge, 413, "Content too large"),
    (TypeMismatch, 415, "Unsupported media type"),
    (UnsupportedType, 415, "Unsupported media type"),
    (InvalidInput, 422, "Invalid input"),
    (KeyUnavailable, 503, "Key unavailable"),
    (BackendError, 503, "Backend unavailable"),
    (ServiceUnavailable, 503, "Service unavailable"),
    (IntegrityError, 500, "Internal error"),
    (InsecureKeyring, 500, "Internal error"),
    (VaultError, 500, "Internal error"),
)

# A backend outage (catalog, blob store, key service) is worth retrying; a destroyed key never is.
RETRY_OUTAGE = {"Retry-After": "5"}

# Statuses whose detail is withheld: the client can not act on it and it may describe our internals.
_OPAQUE = frozenset({500})


def status_for(exc: VaultError) -> tuple[int, str]:
    for cls, status, title in STATUS_TABLE:
        if isinstance(exc, cls):
            return status, title
    return 500, "Internal error"  # pragma: no cover - VaultError is the last row


def _problem_body(status: int, title: str, detail: str | None, code: str) -> dict[str, Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    request_id = current_request_id()
    if request_id is not None:
        body["request_id"] = request_id
    return body


def problem(
    status: int, title: str, detail: str | None, code: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = _problem_body(status, title, detail, code)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def vault_problem(exc: VaultError) -> JSONResponse:
    status, title = status_for(exc)
    detail = None if status in _OPAQUE else str(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, ContentPending):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    elif status == 503 and not isinstance(exc, KeyDestroyed):
        headers = dict(RETRY_OUTAGE)
    return problem(status, title, detail, exc.code if status not in _OPAQUE else "internal_error", headers)


def _where(exc: BaseException) -> str:
    """File:line of the innermost frame: enough to find the bug, with no message text (may hold input)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename}:{last.lineno}"


def log_unexpected(exc: BaseException, scope: Scope) -> None:
    route = getattr(scope.get("route"), "path", None) or "?"
    log.error(
        "unhandled %s at %s (route %s %s)", type(exc).__name__, _where(exc), scope.get("method", "?"), route
    )


async def _on_vault_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VaultError)
    status, _ = status_for(exc)
    if status >= 500:
        log.warning("%s (%s) answered %d", type(exc).__name__, exc.code, status)
    return vault_problem(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Pydantic echoes the offending value in `input` (and sometimes `ctx`): only where and what go back.
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "type": str(e.get("type", "")),
            "msg": str(e.get("msg", "")),
        }
        for e in exc.errors()
    ]
    body = _problem_body(422, "Invalid request", "the request did not match the schema", "validation_error")
    body["errors"] = errors
    return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)


async def _on_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    return problem(exc.status_code, title, detail, code, exc.headers)


# FastAPI raises a 400 itself for a JSON body it could not parse (one nested past the interpreter's
# depth too): it gets the code our own parser's error has. 408 and 413 are `api/guards.py`'s.
_HTTP_CODES = {
    400: "malformed_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "too_large",
}


class ProblemMiddleware:
    """Innermost safety net for exceptions no handler claimed: a bare 500 problem, logged without text.

    Starlette's own server-error path re-raises after answering, which makes the server log a full
    traceback (messages included); this one ends the exception here. If the response had already
    started (a stream failing mid-way), the connection is simply ended: the client sees a truncated
    body, never a second status line.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_unexpected(exc, scope)
            if started:
                return
            response = problem(500, "Internal error", None, "internal_error")
            await response(scope, receive, send)


async def _on_database_unavailable(_request: Request, exc: Exception) -> Response:
    # The catalog could not be reached (connection refused, pool exhausted, database locked for too
    # long): a retryable outage, not a bug. SQL text and parameters stay out of the log.
    log.warning("database unavailable (%s)", type(exc).__name__)
    return problem(
        503, "Backend unavailable", "the catalog database is unavailable", "backend_error", RETRY_OUTAGE
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(VaultError, _on_vault_error)
    app.add_exception_handler(DatabaseUnavailable, _on_database_unavailable)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    documented_problems(app)


# Answers any route can give that no route declares one by one: the guards' (`api/guards.py`) body
# deadline and size limit, a body that does not parse, and an unreachable backend. FastAPI's own 422
# is documented as `application/json` with its HTTPValidationError schema; ours is a problem.
_BODY_PROBLEMS: dict[str, str] = {
    "400": "The body is malformed (framing, encoding, JSON syntax or nesting)",
    "408": "The body did not arrive within CV_SERVER__BODY_TIMEOUT_SECONDS",
    "413": "The body is larger than this route accepts",
}
_BACKEND_PROBLEM = "A backend (catalog, blob store or key service) is unavailable; retry after Retry-After"
_PUBLIC = frozenset({"/healthz", "/readyz", "/metrics", "/v1/receipts/public-key"})


def documented_problems(app: FastAPI) -> None:
    """Make the app's OpenAPI say every status it can answer, with the problem media type: a client
    generated from the schema (and the schemathesis suite, tests/fuzz/) must find each one there."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            for method, op in operations.items():
                responses: dict[str, Any] = op.setdefault("responses", {})
                problem_content = {PROBLEM_JSON: {"schema": {"type": "object"}}}
                if "422" in responses:
                    responses["422"]["content"] = problem_content
                extra = dict(_BODY_PROBLEMS) if method in ("post", "put", "patch") else {}
                if path not in _PUBLIC:
                    extra["503"] = _BACKEND_PROBLEM
                for status, description in extra.items():
                    responses.setdefault(status, {"description": description, "content": problem_content})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
