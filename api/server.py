"""The HTTP edge `serve` runs: uvicorn with h11, limits on headers and deadlines on slow clients.

uvicorn's defaults let one connection cost a lot: with httptools a request's headers are not bounded
(16 MiB went through), no deadline covers a request's line and headers (a client that sends one
header line every few seconds is never closed: every byte also cancels the keep-alive timer), and a
connection that never sends anything is never closed either. So `serve` runs

- h11, and a request line with its headers over `CV_SERVER__MAX_HEADER_BYTES` is refused (431, and
  the connection closes; the count of headers is bounded by the same bytes);
- `GuardedH11Protocol`, which closes a connection whose request line and headers have not all arrived
  `CV_SERVER__HEADER_TIMEOUT_SECONDS` after it opened, or after the first byte of its next request;
- `CV_SERVER__KEEP_ALIVE_SECONDS` as the idle keep-alive timeout.

Bodies have their own deadline in the app (`api/guards.py`), so it holds behind any server. A reverse
proxy in front should enforce the same (docs/reliability.md has its settings).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.settings import Settings

__all__ = ["EdgeConfig", "GuardedH11Protocol", "uvicorn_config"]

_HEAD_TOO_LONG_BODY = (
    b'{"type":"https://customization-vault.dev/problems/headers_too_large",'
    b'"title":"Request Header Fields Too Large","status":431,"code":"headers_too_large"}'
)
_HEAD_TOO_LONG = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/problem+json\r\n"
    b"connection: close\r\ncontent-length: "
    + str(len(_HEAD_TOO_LONG_BODY)).encode()
    + b"\r\n\r\n"
    + _HEAD_TOO_LONG_BODY
)


class EdgeConfig(uvicorn.Config):
    """uvicorn's Config plus the header deadline its protocol has no setting for."""

    def __init__(self, app: Any, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.header_timeout = header_timeout


class GuardedH11Protocol(H11Protocol):
    """h11 with a deadline on each request's line and headers.

    The deadline is armed when the connection opens and whenever the first byte of a new request
    arrives on an idle connection, and disarmed once h11 has the whole head (its peer state leaves
    IDLE). Bytes trickling in do not move it, unlike uvicorn's keep-alive timer.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._head_seen = 0  # bytes of the current request's head received so far
        self._head_tail = b""  # its last 3 bytes: the blank line may straddle two reads

    @property
    def _header_timeout(self) -> float:
        return float(getattr(self.config, "header_timeout", 10.0))

    @property
    def _max_head(self) -> int:
        return int(self.config.h11_max_incomplete_event_size or 16 * 1024)  # h11's own default

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            if self._header_deadline is None:
                self._arm()  # the first byte of the next request on a kept-alive connection
            if self._head_too_long(data):
                self._refuse_head()
                return
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()
            self._head_seen, self._head_tail = 0, b""

    def _head_too_long(self, data: bytes) -> bool:
        """h11 bounds only a head that is still incomplete: one that arrives whole in a single read
        (100 KB over loopback does) is parsed whatever its size. Count it here instead."""
        window = self._head_tail + data
        end = window.find(b"\r\n\r\n")
        if end >= 0:
            return self._head_seen + end + 4 - len(self._head_tail) > self._max_head
        self._head_seen += len(data)
        self._head_tail = window[-3:]
        return self._head_seen > self._max_head

    def _refuse_head(self) -> None:
        self._disarm()
        self.logger.info("refused a request head over %d bytes", self._max_head)
        if not self.transport.is_closing():
            self.transport.write(_HEAD_TOO_LONG)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(self._header_timeout, self._on_header_timeout)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _on_header_timeout(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("closing a connection whose request head took over %gs", self._header_timeout)
            self.transport.close()


def uvicorn_config(app: Any, settings: Settings, **extra: Any) -> EdgeConfig:
    """`serve`'s uvicorn configuration; `extra` adds uvicorn options (an app factory, workers)."""
    cfg = settings.server
    return EdgeConfig(
        app,
        header_timeout=cfg.header_timeout_seconds,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # ours (api/observability.py); no access log: ours carries the request id
        access_log=False,
        http=GuardedH11Protocol,
        h11_max_incomplete_event_size=cfg.max_header_bytes,
        timeout_keep_alive=max(1, round(cfg.keep_alive_seconds)),
        **extra,
    )
