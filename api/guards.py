"""Limits on what one request may cost before any route sees it: the body must arrive in time.

A client that sends headers and then stalls (or trickles) would otherwise keep its request, and
whatever the route holds while reading, forever. The deadline starts at the first read of the body
and covers the whole body; a route that waits before reading (an upload waiting for its seller's
share) does not spend it. Once the body is complete, reads (a streaming response listening for a
disconnect) pass unbounded.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import RequestTimeout

__all__ = ["BodyDeadlineMiddleware"]


class BodyDeadlineMiddleware:
    def __init__(self, app: ASGIApp, *, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        complete = False

        async def guarded_receive() -> Message:
            nonlocal deadline, complete
            if complete:
                return await receive()
            now = anyio.current_time()
            if deadline is None:
                deadline = now + self.timeout
            with anyio.move_on_after(deadline - now) as waited:
                message = await receive()
            if waited.cancelled_caught:
                raise RequestTimeout(f"the request body did not arrive within {self.timeout:g} s")
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, guarded_receive, send)
