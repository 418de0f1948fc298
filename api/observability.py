"""Request ids and logs: every request gets an id (`X-Request-Id`, the caller's when valid) that its
response, its problem body and each of its log lines carry; logs are text or one JSON object a line.

What a log line may hold is closed: time, level, logger, message, request id, seller, method, route
template, status, duration, and an exception's type and location. Never a raw path (order ids stay in
their route template), a body, a header, a key, or an exception's message (it may quote input).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import route_template

__all__ = [
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "RequestContext",
    "RequestContextFilter",
    "RequestContextMiddleware",
    "TextFormatter",
    "accept_request_id",
    "configure_logging",
    "current_request",
    "current_request_id",
]

REQUEST_ID_HEADER = "X-Request-Id"
# What we accept from a caller: up to 128 characters that are safe in a header, a log line and a URL
# (a UUID, a ULID, a trace id, "order-A-1:attempt-2"). Anything else is replaced, never echoed.
_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")
# Liveness and scrape probes answer every few seconds: their access lines are debug, not info.
_PROBES = frozenset({"/healthz", "/readyz", "/metrics"})

access_log = logging.getLogger("api.access")


@dataclass(slots=True)
class RequestContext:
    """One request's identity for its log lines. Authentication fills in the seller (its own id,
    never the key); the object is shared with the worker threads the request's code runs in."""

    request_id: str
    seller_id: str | None = None  # the seller's own id ("demo-seller"), as API keys list it


_current: ContextVar[RequestContext | None] = ContextVar("cv_request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str | None:
    ctx = _current.get()
    return ctx.request_id if ctx is not None else None


def accept_request_id(value: str | None) -> str:
    """The caller's id when it is a plausible one, else a fresh one (32 hex digits).

    >>> accept_request_id("checkout-7f3a:2")
    'checkout-7f3a:2'
    >>> len(accept_request_id("two words")), len(accept_request_id(None))
    (32, 32)
    """
    if value is not None and _VALID_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Outermost ASGI middleware (pure ASGI, so streamed bodies stay streamed): sets the request's
    context, adds `X-Request-Id` to the response, and writes one access line when the body is done."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        ctx = RequestContext(accept_request_id(given))
        token = _current.set(ctx)
        start = time.perf_counter()
        status = 500  # if the app fails before answering, the server answers 500 for it

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", ctx.request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = route_template(scope)
            method = str(scope.get("method", "?"))
            duration_ms = round((time.perf_counter() - start) * 1000, 1)
            access_log.log(
                logging.DEBUG if route in _PROBES else logging.INFO,
                "%s %s %d %.1fms",
                method,
                route,
                status,
                duration_ms,
                extra={"method": method, "route": route, "status": status, "duration_ms": duration_ms},
            )
            _current.reset(token)


class RequestContextFilter(logging.Filter):
    """Stamps each record with the request it was logged in (None outside requests). Installed on the
    handler, so records of every logger (uvicorn's, the domain's) pass through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _current.get()
        if not hasattr(record, "request_id"):
            record.request_id = ctx.request_id if ctx is not None else None
        if not hasattr(record, "seller_id"):
            record.seller_id = ctx.seller_id if ctx is not None else None
        return True


def _exception_fields(exc_info: Any) -> dict[str, str]:
    """An exception as its type and innermost location: its message (and its chain's) may quote input."""
    _, exc, tb = exc_info
    frames = traceback.extract_tb(tb) if tb is not None else []
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return {"exc_type": type(exc).__name__ if exc is not None else "?", "exc_where": where}


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request-id]: message`, the request id only inside a request."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.request_tag = f" [{rid}]" if rid else ""
        # Another handler may have cached a full traceback on the record: render our own.
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatException(self, ei: Any) -> str:
        fields = _exception_fields(ei)
        return f"{fields['exc_type']} at {fields['exc_where']}"


_NEVER_DEBUG = (
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "PIL",
    "fontTools",
    "multipart",
    "python_multipart",
)

# Fields a record may add to a JSON line (through `extra=`); anything else a caller attaches is dropped.
_JSON_EXTRAS = ("seller_id", "method", "route", "status", "duration_ms", "url", "docs_url")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ms), level, logger, message, request_id, then the allowed
    extras that are set, then exc_type/exc_where for an exception."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        out: dict[str, Any] = {
            "time": stamp.replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key in _JSON_EXTRAS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out.update(_exception_fields(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: str, fmt: Literal["text", "json"], stream: TextIO | None = None) -> None:
    """The process's one log handler on the root logger (replacing an earlier call's), in the chosen
    format, with every record stamped with its request. uvicorn's loggers propagate to it."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_cv_handler", False):
            root.removeHandler(h)
    handler: logging.Handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    handler._cv_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # At debug, these print what they handle: whole requests and responses (KMS data-key plaintexts, S3
    # bodies, headers), an image's Exif values (PIL). Their debug lines never reach our handler.
    for name in _NEVER_DEBUG:
        lg = logging.getLogger(name)
        lg.setLevel(max(logging.INFO, root.level))
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
