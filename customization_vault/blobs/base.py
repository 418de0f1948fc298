"""The BlobStore seam: an object store that only ever sees ciphertext, addressed by ids alone."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from customization_vault.ids import is_internal_id

# Objects the service writes beside orders' content (signed audit checkpoints, `retention.anchor`). No
# internal id starts with "_", so no order's folder can ever be under it.
AUDIT_PREFIX = "_audit/"


def blob_key(tenant_id: str, order_id: str, object_id: str) -> str:
    """Object keys are built from internal ids only, never from a client filename or order number."""
    for part in (tenant_id, order_id, object_id):
        if not part or "/" in part or part in (".", ".."):
            raise ValueError("blob key parts must be non-empty ids without '/'")
    return f"{tenant_id}/{order_id}/{object_id}"


def parse_blob_key(key: str) -> tuple[str, str, str] | None:
    """(tenant, order, object) of a key of the vault's own layout — three internal ids — else None.

    A store may hold keys the vault never wrote (a backup someone parked, another tool's objects, the
    audit checkpoints): whatever acts on keys it lists, not on keys it built, must touch only these.
    """
    parts = key.split("/")
    if len(parts) != 3 or not all(is_internal_id(p) for p in parts):
        return None
    return parts[0], parts[1], parts[2]


def order_prefix(tenant_id: str, order_id: str) -> str:
    return f"{tenant_id}/{order_id}/"


@runtime_checkable
class BlobStore(Protocol):
    """Stores opaque ciphertext objects.

    Missing objects raise `customization_vault.errors.BlobNotFound`; backend failures raise
    `BackendError`. `delete` removes every version and delete marker (S3) and is idempotent.
    """

    name: str

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Write a stream of chunks as one object; returns the bytes written. Atomic: all or nothing."""
        ...

    def get(self, key: str) -> Iterator[bytes]:
        """Stream an object back in chunks."""
        ...

    def exists(self, key: str) -> bool:
        """True if any version of the object remains (S3: including noncurrent versions)."""
        ...

    def delete(self, key: str) -> int:
        """Delete every version; returns the number of versions/markers removed (0 if none)."""
        ...

    def delete_many(self, keys: Iterable[str]) -> int:
        """Batch delete (S3: DeleteObjects in calls of at most 1,000 keys); returns versions removed."""
        ...

    def delete_prefixes(self, prefixes: Sequence[str]) -> int:
        """Delete every version of every key under each folder prefix (ending in '/'), e.g. whole orders.

        S3: one listing per prefix, run concurrently, and DeleteObjects batches of 1,000 across prefixes.
        Returns the versions/markers removed.
        """
        ...

    def remaining(self, prefixes: Sequence[str]) -> dict[str, list[str]]:
        """For each folder prefix that still holds any key (any version), the keys under it.

        The purge's after-the-fact check: an empty answer means the store says "not found" for every
        object of those orders, including keys the catalog never knew.
        """
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys (with any remaining version) under a prefix, e.g. one order's objects."""
        ...

    def check(self) -> None:
        """Raise BackendError if the store is unreachable (readiness probe)."""
        ...
