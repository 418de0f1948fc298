"""The vault: the backends and the services built on them, composed once.

`Vault` is what the API and retention are handed; each job lives in its own service: `orders`
(sellers, orders and their data keys), `content` (items' encrypted content). Nothing here holds
state beyond the backends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from customization_vault._crypto import DEFAULT_SEGMENT_SIZE
from customization_vault.audit import AuditLog
from customization_vault.blobs.base import BlobStore
from customization_vault.catalog import Catalog
from customization_vault.clock import Clock, system_clock
from customization_vault.content import ContentVault
from customization_vault.keys.base import KeyProvider
from customization_vault.orders import OrderBook


@dataclass(frozen=True)
class Vault:
    catalog: Catalog
    keys: KeyProvider
    blobs: BlobStore
    audit: AuditLog
    clock: Clock = system_clock
    segment_size: int = DEFAULT_SEGMENT_SIZE
    max_items_per_order: int = 50
    orders: OrderBook = field(init=False)
    content: ContentVault = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "orders", OrderBook(self.catalog, self.keys, self.audit, clock=self.clock))
        object.__setattr__(
            self,
            "content",
            ContentVault(
                self.catalog,
                self.keys,
                self.blobs,
                self.audit,
                clock=self.clock,
                segment_size=self.segment_size,
                max_items_per_order=self.max_items_per_order,
            ),
        )
