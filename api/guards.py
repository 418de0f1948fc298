"""Limits on what one request body may cost, whatever the route: it must arrive in time, and only an
upload may be large.

- **Deadline.** A client that sends headers and then stalls (or trickles) would otherwise keep its
  request, and whatever the route holds while reading, forever. The deadline starts at the first read
  of the body and covers the whole body; a route that waits before reading (an upload waiting for its
  seller's share) does not spend it. Once the body is complete, reads (a streaming response listening
  for a disconnect) pass unbounded. 408.
- **Size.** FastAPI reads a JSON body whole before it validates it, and before authentication (and
  Starlette a form): any client could make the server buffer gigabytes on a review route. Bodies are
  limited to `CONTROL_BODY_LIMIT`, except where a route takes files: an item upload and the API's list
  import bound their own bodies while streaming them (`api/bodies.py`), and the workbench's list form
  is held to the list limit here, since its form parser reads it whole first. 413.
"""

from __future__ import annotations

import re

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.bodies import FRAMING_ALLOWANCE
from api.errors import BodyTooLarge, RequestTimeout

__all__ = ["CONTROL_BODY_LIMIT", "BodyGuardMiddleware", "size_limit"]

# The JSON bodies of every route but the upload: claims, decisions, appeals. A note or statement of
# 2,000 characters, each escaped as \uXXXX, is 12 KiB.
CONTROL_BODY_LIMIT = 64 * 1024
_UPLOAD = re.compile(r"/v1/orders/[^/]+/items")
_LIST_IMPORT = re.compile(r"/v1/admin/lists/[^/]+")
_WORKBENCH_LIST_FORM = "/review/lists"


def size_limit(scope: Scope, list_limit: int) -> int | None:
    """The most body bytes this request may send, or None where its route bounds the body itself."""
    if scope.get("method") != "POST":
        return CONTROL_BODY_LIMIT
    path = str(scope.get("path", ""))
    if _UPLOAD.fullmatch(path) or _LIST_IMPORT.fullmatch(path):
        return None
    if path == _WORKBENCH_LIST_FORM:
        return list_limit + FRAMING_ALLOWANCE
    return CONTROL_BODY_LIMIT


class BodyGuardMiddleware:
    def __init__(self, app: ASGIApp, *, timeout: float, list_limit: int) -> None:
        self.app = app
        self.timeout = timeout
        self.list_limit = list_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        complete = False
        limit = size_limit(scope, self.list_limit)
        received = 0

        async def guarded_receive() -> Message:
            nonlocal deadline, complete, received
            if complete:
                return await receive()
            if limit is not None and received == 0:
                announced = Headers(scope=scope).get("content-length", "")
                if announced.isdigit() and int(announced) > limit:
                    raise BodyTooLarge(f"this endpoint accepts bodies of at most {limit} bytes")
            now = anyio.current_time()
            if deadline is None:
                deadline = now + self.timeout
            with anyio.move_on_after(deadline - now) as waited:
                message = await receive()
            if waited.cancelled_caught:
                raise RequestTimeout(f"the request body did not arrive within {self.timeout:g} s")
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            received += len(message.get("body", b""))
            if limit is not None and received > limit:
                raise BodyTooLarge(f"this endpoint accepts bodies of at most {limit} bytes")
            return message

        await self.app(scope, guarded_receive, send)
