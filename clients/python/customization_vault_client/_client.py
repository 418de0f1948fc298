"""`Client` (blocking) and `AsyncClient` (asyncio or trio): one method per endpoint, the same retries.

Every call sends an `X-Request-Id` (one per call, the same on each retry of it), so the service's
log lines for all attempts share it, and an `ApiError` carries it for support.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import anyio
import httpx

from customization_vault_client import _core
from customization_vault_client._core import (
    CHUNK_SIZE,
    Upload,
    UploadSource,
    item_path,
    order_path,
    segment,
    upload_headers,
)
from customization_vault_client._errors import NotFound, TransportError
from customization_vault_client._models import Download, Item, Order, OrderDetail, PurgeResult, Receipt
from customization_vault_client._receipts import verify_receipt
from customization_vault_client._retry import RetryPolicy

__all__ = ["AsyncClient", "Client"]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def _http_headers(api_key: str) -> dict[str, str]:
    if not api_key:
        raise ValueError("an API key is required (customization-vault keys api create --role fulfilment)")
    return {"Authorization": f"Bearer {api_key}", "User-Agent": _core.user_agent()}


def _files(upload: Upload | None) -> AbstractContextManager[dict[str, Any]]:
    return upload.attempt() if upload is not None else nullcontext({})


def _transport_error(what: str, exc: httpx.TransportError) -> TransportError:
    return TransportError(f"{what}: {type(exc).__name__}: {exc}")


def _rewindable(dest: IO[bytes]) -> int | None:
    try:
        return dest.tell() if dest.seekable() else None
    except (OSError, ValueError):
        return None


class Client:
    """A fulfilment system's client for one API key (one seller). Use it as a context manager, or
    call `close()`. `transport` takes any httpx transport (a proxy, a mock for unit tests)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        receipt_public_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers=_http_headers(api_key), timeout=timeout, transport=transport
        )
        self.retry = retry or RetryPolicy()
        self._public_key = receipt_public_key
        self._sleep = sleep

    def __repr__(self) -> str:  # the key stays out of reprs and tracebacks
        return f"Client({str(self._http.base_url)!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        upload: Upload | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        request_id, what = _core.new_request_id(), f"{method} {path}"
        attempt = 0
        while True:
            attempt += 1
            try:
                with _files(upload) as files:
                    response = self._http.request(
                        method,
                        path,
                        json=json,
                        files=files or None,
                        headers=_core.headers_for(request_id, headers),
                    )
            except httpx.TransportError as exc:
                replayable = upload is None or upload.replayable
                delay = _core.retry_delay_for_error(self.retry, attempt, exc, replayable, what)
                if delay is None:
                    raise _transport_error(what, exc) from exc
                self._sleep(delay)
                continue
            replayable = upload is None or upload.replayable
            delay = _core.retry_delay_for_status(self.retry, attempt, response, replayable, what)
            if delay is not None:
                self._sleep(delay)
                continue
            if response.is_success:
                return response
            raise _core.error_from(response)

    def create_order(self, order_id: str) -> Order:
        """Create the order (idempotent: `created` is False if it existed)."""
        return _core.order_of(self._request("PUT", order_path(order_id)))

    def get_order(self, order_id: str) -> OrderDetail:
        """The order, its items (verdicts, findings, review outcomes) and the receipt once purged."""
        return OrderDetail.of(self._request("GET", order_path(order_id)).json())

    def upload_file(
        self,
        order_id: str,
        file: UploadSource,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
        respond_async: bool = False,
    ) -> Item:
        """Upload an image or font from bytes, a path or an open binary file (streamed, not read into
        memory). Give an `idempotency_key` you can derive again (say "<order>:<line>") so even a retry
        by a restarted process stores the item once; without one, a fresh key covers this call's retries.

        The service answers once the item is screened, up to its deadline. With `respond_async` it
        answers as soon as the item is stored (202, `item.pending`): a fulfilment system that uploads
        many items does not hold a connection per item, and collects verdicts with `wait_for_verdict`
        (or `get_order`). An item still screening at the service's deadline comes back pending too."""
        upload = Upload(file, filename, content_type)
        response = self._request(
            "POST",
            order_path(order_id, "items"),
            upload=upload,
            headers=upload_headers(idempotency_key, respond_async),
        )
        return _core.item_of(response)

    def upload_text(
        self, order_id: str, text: str, *, idempotency_key: str | None = None, respond_async: bool = False
    ) -> Item:
        """Upload a text item (to engrave or print); idempotent and `respond_async` like `upload_file`."""
        response = self._request(
            "POST",
            order_path(order_id, "items"),
            json={"kind": "text", "text": text},
            headers=upload_headers(idempotency_key, respond_async),
        )
        return _core.item_of(response)

    def get_item(self, order_id: str, item_id: str) -> Item:
        """One item: its state and verdict (`pending` while it is screened), findings and review."""
        return Item.of(self._request("GET", item_path(order_id, item_id)).json())

    def wait_for_verdict(
        self, order_id: str, item_id: str, *, timeout: float = 60.0, interval: float = 0.5
    ) -> Item:
        """The item once screened (its verdict no longer pending), looking every `interval` seconds;
        TimeoutError if it is still pending after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.get_item(order_id, item_id)
            if not item.pending:
                return item
            self._sleep(_core.poll_delay(interval, deadline, time.monotonic(), f"item {item_id}"))

    def download(
        self,
        order_id: str,
        item_id: str,
        dest: str | os.PathLike[str] | IO[bytes],
        *,
        chunk_size: int = CHUNK_SIZE,
    ) -> Download:
        """Stream the item's bytes to a path (written aside, then renamed: the path never holds a part;
        its directory is made if missing) or to an open binary file. 409/410/451 raise
        `ContentHeld`/`ContentGone`/`ContentRefused`."""
        path = order_path(order_id, "items", segment(item_id, "item_id"), "content")
        request_id, what = _core.new_request_id(), f"GET {path}"
        target = Path(dest) if isinstance(dest, str | os.PathLike) else None
        start = None if target is not None else _rewindable(dest)  # type: ignore[arg-type]
        attempt = 0
        while True:
            attempt += 1
            delay: float | None = None
            try:
                with self._http.stream("GET", path, headers=_core.headers_for(request_id)) as response:
                    if response.is_success:
                        return self._write(response, target, dest, start, chunk_size)
                    response.read()
                    delay = _core.retry_delay_for_status(self.retry, attempt, response, True, what)
                    if delay is None:
                        raise _core.error_from(response)
            except httpx.TransportError as exc:
                delay = _core.retry_delay_for_error(
                    self.retry, attempt, exc, target is not None or start is not None, what
                )
                if delay is None:
                    raise _transport_error(what, exc) from exc
            self._sleep(delay)

    @staticmethod
    def _write(
        response: httpx.Response, target: Path | None, dest: Any, start: int | None, chunk_size: int
    ) -> Download:
        content_type = response.headers.get("content-type", "application/octet-stream")
        expected = None if response.headers.get("content-encoding") else _core.expected_size(response)
        received = 0
        if target is None:
            if start is not None:
                dest.seek(start)
                dest.truncate()
            for chunk in response.iter_bytes(chunk_size):
                dest.write(chunk)
                received += len(chunk)
            _core.check_complete(received, expected)
            return Download(None, received, content_type)
        part = _core.part_path(target)
        try:
            with open(part, "wb") as fh:
                for chunk in response.iter_bytes(chunk_size):
                    fh.write(chunk)
                    received += len(chunk)
                _core.check_complete(received, expected)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        return Download(target, received, content_type)

    def fulfil(self, order_id: str) -> PurgeResult:
        """Record fulfilment: the content is purged (`pending` if a hold or an outage delays it)."""
        return _core.purge_of(self._request("POST", order_path(order_id, "fulfilment")))

    def cancel(self, order_id: str) -> PurgeResult:
        """Record cancellation; purges like `fulfil` (the first of the two wins)."""
        return _core.purge_of(self._request("POST", order_path(order_id, "cancellation")))

    def receipt(self, order_id: str) -> Receipt:
        """The signed purge receipt; `NotFound` until the order is purged."""
        return _core.receipt_of(self._request("GET", order_path(order_id, "receipt")))

    def wait_for_receipt(self, order_id: str, *, timeout: float = 60.0, interval: float = 1.0) -> Receipt:
        """The receipt of a purge that was pending, once the service has completed it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.receipt(order_id)
            except NotFound:
                if time.monotonic() + interval > deadline:
                    raise
            self._sleep(interval)

    def receipt_public_key(self) -> str:
        """The service's receipt-signing public key (PEM). Fetch it once and pin it."""
        return self._request("GET", "/v1/receipts/public-key").text

    def verify_receipt(self, receipt: Receipt, public_key_pem: str | None = None) -> Receipt:
        """`verify_receipt` with the given key, else the one pinned at construction, else the service's
        (fetched once)."""
        if public_key_pem is None:
            if self._public_key is None:
                self._public_key = self.receipt_public_key()
            public_key_pem = self._public_key
        return verify_receipt(receipt, public_key_pem)


class AsyncClient:
    """`Client`'s methods as coroutines (asyncio or trio, through anyio). Uploads from a path or an
    open file read it in the event loop, a chunk at a time."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        receipt_public_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_http_headers(api_key), timeout=timeout, transport=transport
        )
        self.retry = retry or RetryPolicy()
        self._public_key = receipt_public_key
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"AsyncClient({str(self._http.base_url)!r})"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        upload: Upload | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        request_id, what = _core.new_request_id(), f"{method} {path}"
        attempt = 0
        while True:
            attempt += 1
            try:
                with _files(upload) as files:
                    response = await self._http.request(
                        method,
                        path,
                        json=json,
                        files=files or None,
                        headers=_core.headers_for(request_id, headers),
                    )
            except httpx.TransportError as exc:
                replayable = upload is None or upload.replayable
                delay = _core.retry_delay_for_error(self.retry, attempt, exc, replayable, what)
                if delay is None:
                    raise _transport_error(what, exc) from exc
                await self._sleep(delay)
                continue
            replayable = upload is None or upload.replayable
            delay = _core.retry_delay_for_status(self.retry, attempt, response, replayable, what)
            if delay is not None:
                await self._sleep(delay)
                continue
            if response.is_success:
                return response
            raise _core.error_from(response)

    async def create_order(self, order_id: str) -> Order:
        return _core.order_of(await self._request("PUT", order_path(order_id)))

    async def get_order(self, order_id: str) -> OrderDetail:
        return OrderDetail.of((await self._request("GET", order_path(order_id))).json())

    async def upload_file(
        self,
        order_id: str,
        file: UploadSource,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
        respond_async: bool = False,
    ) -> Item:
        upload = Upload(file, filename, content_type)
        response = await self._request(
            "POST",
            order_path(order_id, "items"),
            upload=upload,
            headers=upload_headers(idempotency_key, respond_async),
        )
        return _core.item_of(response)

    async def upload_text(
        self, order_id: str, text: str, *, idempotency_key: str | None = None, respond_async: bool = False
    ) -> Item:
        response = await self._request(
            "POST",
            order_path(order_id, "items"),
            json={"kind": "text", "text": text},
            headers=upload_headers(idempotency_key, respond_async),
        )
        return _core.item_of(response)

    async def get_item(self, order_id: str, item_id: str) -> Item:
        return Item.of((await self._request("GET", item_path(order_id, item_id))).json())

    async def wait_for_verdict(
        self, order_id: str, item_id: str, *, timeout: float = 60.0, interval: float = 0.5
    ) -> Item:
        deadline = time.monotonic() + timeout
        while True:
            item = await self.get_item(order_id, item_id)
            if not item.pending:
                return item
            await self._sleep(_core.poll_delay(interval, deadline, time.monotonic(), f"item {item_id}"))

    async def download(
        self,
        order_id: str,
        item_id: str,
        dest: str | os.PathLike[str] | IO[bytes],
        *,
        chunk_size: int = CHUNK_SIZE,
    ) -> Download:
        path = order_path(order_id, "items", segment(item_id, "item_id"), "content")
        request_id, what = _core.new_request_id(), f"GET {path}"
        target = Path(dest) if isinstance(dest, str | os.PathLike) else None
        start = None if target is not None else _rewindable(dest)  # type: ignore[arg-type]
        attempt = 0
        while True:
            attempt += 1
            delay: float | None = None
            try:
                async with self._http.stream("GET", path, headers=_core.headers_for(request_id)) as response:
                    if response.is_success:
                        return await self._write(response, target, dest, start, chunk_size)
                    await response.aread()
                    delay = _core.retry_delay_for_status(self.retry, attempt, response, True, what)
                    if delay is None:
                        raise _core.error_from(response)
            except httpx.TransportError as exc:
                delay = _core.retry_delay_for_error(
                    self.retry, attempt, exc, target is not None or start is not None, what
                )
                if delay is None:
                    raise _transport_error(what, exc) from exc
            await self._sleep(delay)

    @staticmethod
    async def _write(
        response: httpx.Response, target: Path | None, dest: Any, start: int | None, chunk_size: int
    ) -> Download:
        content_type = response.headers.get("content-type", "application/octet-stream")
        expected = None if response.headers.get("content-encoding") else _core.expected_size(response)
        received = 0
        if target is None:
            if start is not None:
                dest.seek(start)
                dest.truncate()
            async for chunk in response.aiter_bytes(chunk_size):
                dest.write(chunk)
                received += len(chunk)
            _core.check_complete(received, expected)
            return Download(None, received, content_type)
        part = _core.part_path(target)
        try:
            with open(part, "wb") as fh:  # local disk, a chunk at a time
                async for chunk in response.aiter_bytes(chunk_size):
                    fh.write(chunk)
                    received += len(chunk)
                _core.check_complete(received, expected)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        return Download(target, received, content_type)

    async def fulfil(self, order_id: str) -> PurgeResult:
        return _core.purge_of(await self._request("POST", order_path(order_id, "fulfilment")))

    async def cancel(self, order_id: str) -> PurgeResult:
        return _core.purge_of(await self._request("POST", order_path(order_id, "cancellation")))

    async def receipt(self, order_id: str) -> Receipt:
        return _core.receipt_of(await self._request("GET", order_path(order_id, "receipt")))

    async def wait_for_receipt(
        self, order_id: str, *, timeout: float = 60.0, interval: float = 1.0
    ) -> Receipt:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return await self.receipt(order_id)
            except NotFound:
                if time.monotonic() + interval > deadline:
                    raise
            await self._sleep(interval)

    async def receipt_public_key(self) -> str:
        return (await self._request("GET", "/v1/receipts/public-key")).text

    async def verify_receipt(self, receipt: Receipt, public_key_pem: str | None = None) -> Receipt:
        if public_key_pem is None:
            if self._public_key is None:
                self._public_key = await self.receipt_public_key()
            public_key_pem = self._public_key
        return verify_receipt(receipt, public_key_pem)
