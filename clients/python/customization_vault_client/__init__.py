"""A typed client for the customization-vault HTTP API.

    from customization_vault_client import Client, ContentHeld

    with Client("https://vault.example", api_key) as vault:
        vault.create_order("A-1001")
        item = vault.upload_file("A-1001", "photo.jpg", idempotency_key="A-1001:1")
        if item.fetchable:
            vault.download("A-1001", item.id, "print/A-1001-1.jpg")

Retries (429/502/503/504, `Retry-After`, dropped connections) are safe: every write is idempotent.
Errors are `ApiError` subclasses by status (`ContentHeld` 409, `ContentGone` 410, `ContentRefused`
451, ...), each with the service's `code` and the `request_id` to quote to its operators.
"""

from customization_vault_client._client import AsyncClient, Client
from customization_vault_client._core import __version__
from customization_vault_client._errors import (
    ApiError,
    BadRequest,
    Conflict,
    ContentGone,
    ContentHeld,
    ContentRefused,
    CustomizationVaultError,
    Forbidden,
    IncompleteDownload,
    InvalidContent,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ReceiptVerificationError,
    ServerError,
    ServiceUnavailable,
    TransportError,
    Unauthenticated,
    UnsupportedMediaType,
    WebhookVerificationError,
)
from customization_vault_client._models import (
    Download,
    Finding,
    Item,
    Order,
    OrderDetail,
    PurgeResult,
    Receipt,
    Review,
    WebhookEvent,
)
from customization_vault_client._receipts import verify_receipt
from customization_vault_client._retry import NO_RETRY, RetryPolicy
from customization_vault_client._webhooks import SIGNATURE_HEADER, sign_webhook, verify_webhook

__all__ = [
    "NO_RETRY",
    "SIGNATURE_HEADER",
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "ContentGone",
    "ContentHeld",
    "ContentRefused",
    "CustomizationVaultError",
    "Download",
    "Finding",
    "Forbidden",
    "IncompleteDownload",
    "InvalidContent",
    "Item",
    "NotFound",
    "Order",
    "OrderDetail",
    "PayloadTooLarge",
    "PurgeResult",
    "RateLimited",
    "Receipt",
    "ReceiptVerificationError",
    "RetryPolicy",
    "Review",
    "ServerError",
    "ServiceUnavailable",
    "TransportError",
    "Unauthenticated",
    "UnsupportedMediaType",
    "WebhookEvent",
    "WebhookVerificationError",
    "__version__",
    "sign_webhook",
    "verify_receipt",
    "verify_webhook",
]
