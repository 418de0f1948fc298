"""What the sync and async clients share: paths, request bodies, answers to models, errors, retries.

Neither does I/O here except reading a local upload source, so the two clients differ only in how
they send and sleep.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from customization_vault_client._errors import ApiError, IncompleteDownload, error_for
from customization_vault_client._models import Item, Order, PurgeResult, Receipt
from customization_vault_client._retry import RetryPolicy, parse_retry_after

__version__ = "0.1.0"

log = logging.getLogger("customization_vault_client")

REQUEST_ID_HEADER = "X-Request-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
CHUNK_SIZE = 64 * 1024

UploadSource = bytes | str | os.PathLike[str] | IO[bytes]


def segment(value: str, what: str) -> str:
    """One path segment, percent-encoded: order ids are the marketplace's and may hold anything."""
    if not value:
        raise ValueError(f"{what} must not be empty")
    return quote(value, safe="")


def order_path(order_id: str, *rest: str) -> str:
    return "/".join(("/v1/orders", segment(order_id, "order_id"), *rest))


def new_request_id() -> str:
    return uuid.uuid4().hex


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


@dataclass
class Upload:
    """A file to upload, re-readable for each attempt: bytes, a path (opened per attempt), or an open
    binary file (sent whole, from its start, on each attempt; one that cannot seek is sent once)."""

    source: UploadSource
    filename: str | None = None
    content_type: str | None = None
    _seekable: bool = field(default=True, init=False)
    _sent: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if isinstance(self.source, str | os.PathLike):
            self.filename = self.filename or Path(self.source).name
        elif not isinstance(self.source, bytes):
            try:
                self._seekable = self.source.seekable()
            except (OSError, ValueError):
                self._seekable = False
            self.filename = self.filename or Path(str(getattr(self.source, "name", "upload"))).name
        self.filename = self.filename or "upload"

    @property
    def replayable(self) -> bool:
        return self._seekable or not self._sent

    @contextmanager
    def attempt(self) -> Iterator[dict[str, Any]]:
        """The `files=` argument for one attempt (httpx streams it in chunks, rewinding an open file).
        The service takes the type from the bytes; a declared type is only checked against them."""
        file: bytes | IO[bytes]
        if isinstance(self.source, bytes):
            file = self.source
        elif isinstance(self.source, str | os.PathLike):
            file = open(self.source, "rb")  # closed below, after the attempt
        else:
            file = self.source
        self._sent = True
        value = (
            (self.filename, file) if self.content_type is None else (self.filename, file, self.content_type)
        )
        try:
            yield {"file": value}
        finally:
            if isinstance(self.source, str | os.PathLike) and not isinstance(file, bytes):
                file.close()


PREFER_ASYNC = {"Prefer": "respond-async"}  # RFC 7240: answer 202 at once, screen in the background


def upload_headers(idempotency_key: str | None, respond_async: bool) -> dict[str, str]:
    """An upload's headers: its idempotency key (a fresh one covers this call's retries) and, when
    asked, `Prefer: respond-async`."""
    headers = {IDEMPOTENCY_HEADER: idempotency_key or new_idempotency_key()}
    return {**headers, **PREFER_ASYNC} if respond_async else headers


def item_path(order_id: str, item_id: str) -> str:
    return order_path(order_id, "items", segment(item_id, "item_id"))


def poll_delay(interval: float, deadline: float, now: float, what: str) -> float:
    """How long to wait before the next look at a pending item; TimeoutError past the deadline."""
    if now + interval > deadline:
        raise TimeoutError(f"{what}: still pending at the deadline")
    return interval


def headers_for(request_id: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {REQUEST_ID_HEADER: request_id, **(extra or {})}


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_from(response: httpx.Response) -> ApiError:
    """The typed error for a non-success answer; its body must have been read."""
    body = json_body(response) if response.content else None
    return error_for(
        response.status_code,
        body if isinstance(body, Mapping) else None,
        request_id=response.headers.get(REQUEST_ID_HEADER),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def retry_delay_for_status(
    policy: RetryPolicy, attempt: int, response: httpx.Response, replayable: bool, what: str
) -> float | None:
    if response.status_code not in policy.statuses or not replayable:
        return None
    delay = policy.delay(attempt, parse_retry_after(response.headers.get("retry-after")))
    if delay is not None:
        log.info(
            "%s answered %d; retrying in %.2f s (attempt %d of %d, request id %s)",
            what,
            response.status_code,
            delay,
            attempt + 1,
            policy.attempts,
            response.headers.get(REQUEST_ID_HEADER, "-"),
        )
    return delay


def retry_delay_for_error(
    policy: RetryPolicy, attempt: int, exc: httpx.TransportError, replayable: bool, what: str
) -> float | None:
    if not replayable:
        return None
    delay = policy.delay(attempt)
    if delay is not None:
        log.info(
            "%s failed (%s); retrying in %.2f s (attempt %d of %d)",
            what,
            type(exc).__name__,
            delay,
            attempt + 1,
            policy.attempts,
        )
    return delay


def order_of(response: httpx.Response) -> Order:
    return Order.of(response.json(), created=response.status_code == 201)


def item_of(response: httpx.Response) -> Item:
    return Item.of(response.json(), replayed=response.status_code == 200)


def purge_of(response: httpx.Response) -> PurgeResult:
    d = response.json()
    return PurgeResult(
        order=Order.of(d["order"]),
        receipt_url=str(d.get("receipt_url", "")),
        pending=response.status_code == 202,
    )


def receipt_of(response: httpx.Response) -> Receipt:
    return Receipt.of(response.json())


def expected_size(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def check_complete(received: int, expected: int | None) -> None:
    if expected is not None and received != expected:
        raise IncompleteDownload(f"received {received} of {expected} bytes")


def part_path(dest: Path) -> Path:
    """Where a download is written before it is complete (then renamed over `dest`); the directory
    is made if missing."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")


def user_agent() -> str:
    return f"customization-vault-client/{__version__} httpx/{httpx.__version__}"
