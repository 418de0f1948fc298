"""The client's exception tree; an HTTP problem answer becomes the class of its status.

CustomizationVaultError
├── ApiError                  the service answered with a problem (RFC 9457); status, code, request_id
│   ├── BadRequest            400  malformed body, empty file or text
│   ├── Unauthenticated       401  missing, unknown or revoked API key
│   ├── Forbidden             403  the key's role may not use this endpoint
│   ├── NotFound              404  no such order or item for this seller, or no receipt yet
│   ├── Conflict              409  e.g. an Idempotency-Key reused with a different body
│   │   └── ContentHeld       409  the item is flagged and waits for review
│   ├── ContentGone           410  the order was fulfilled, cancelled or purged
│   ├── PayloadTooLarge       413  over a size, pixel, frame, length or item-count limit
│   ├── UnsupportedMediaType  415  not an accepted format, or a contradicting declared type
│   ├── InvalidContent        422  a corrupt file, invalid text, a request off the schema
│   ├── RateLimited           429  (retried first, honouring Retry-After)
│   ├── ContentRefused        451  blocked by screening or rejected in review
│   ├── ServiceUnavailable    503  a backend is down (retried first, honouring Retry-After)
│   └── ServerError           other 5xx
├── TransportError            no answer: connection refused, reset, timed out (after the retries)
├── IncompleteDownload        the body ended before its Content-Length
├── ReceiptVerificationError  a purge receipt whose signature does not hold
└── WebhookVerificationError  a webhook whose signature or timestamp does not hold
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "ContentGone",
    "ContentHeld",
    "ContentRefused",
    "CustomizationVaultError",
    "Forbidden",
    "IncompleteDownload",
    "InvalidContent",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ReceiptVerificationError",
    "ServerError",
    "ServiceUnavailable",
    "TransportError",
    "Unauthenticated",
    "UnsupportedMediaType",
    "WebhookVerificationError",
    "error_for",
]


class CustomizationVaultError(Exception):
    """Base of everything this client raises on purpose."""


class ApiError(CustomizationVaultError):
    """A problem answer. `code` is the service's stable code (`content_held`, `upload_too_large`, ...);
    `request_id` is what to quote to the service's operators."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.retry_after = retry_after
        self.body: Mapping[str, Any] = body or {}
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.status} {self.code}: {self.detail or self.title}"
        return f"{text} (request id {self.request_id})" if self.request_id else text

    @property
    def errors(self) -> list[dict[str, Any]]:
        """For a 422 `validation_error`: where and what (`loc`, `type`, `msg`) for each field."""
        found = self.body.get("errors")
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


class BadRequest(ApiError):
    pass


class Unauthenticated(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class ContentHeld(Conflict):
    pass


class ContentGone(ApiError):
    pass


class PayloadTooLarge(ApiError):
    pass


class UnsupportedMediaType(ApiError):
    pass


class InvalidContent(ApiError):
    pass


class RateLimited(ApiError):
    pass


class ContentRefused(ApiError):
    pass


class ServiceUnavailable(ApiError):
    pass


class ServerError(ApiError):
    pass


class TransportError(CustomizationVaultError):
    """No HTTP answer at all, after every retry; the cause is the last `httpx.TransportError`."""


class IncompleteDownload(CustomizationVaultError):
    """The content ended early; nothing was left at the destination."""


class ReceiptVerificationError(CustomizationVaultError):
    """The receipt is not one the given key signed, unaltered."""


class WebhookVerificationError(CustomizationVaultError):
    """The delivery is not signed with the seller's secret, or its timestamp is outside the window."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: ContentGone,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: InvalidContent,
    429: RateLimited,
    451: ContentRefused,
    503: ServiceUnavailable,
}


def error_for(
    status: int,
    body: Mapping[str, Any] | None,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> ApiError:
    """The typed error for a problem answer (or for any non-success answer without a problem body)."""
    body = body or {}
    code = body.get("code")
    code = code if isinstance(code, str) else f"http_{status}"
    title = body.get("title")
    detail = body.get("detail")
    rid = body.get("request_id")
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    if status == 409 and code == "content_held":
        cls = ContentHeld
    return cls(
        status,
        code,
        title if isinstance(title, str) else f"HTTP {status}",
        detail if isinstance(detail, str) else None,
        request_id=rid if isinstance(rid, str) else request_id,
        retry_after=retry_after,
        body=body,
    )
