"""Seeding and byte-scanning helpers for the retention suites (no fixtures here: plain functions)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, LargeBinary, String, Text, select
from sqlalchemy.types import JSON

from customization_vault.catalog import ItemView, OrderView
from customization_vault.catalog.models import Base
from customization_vault.clock import Clock
from customization_vault.content import NewItem
from customization_vault.errors import BackendError
from customization_vault.vault import Vault
from retention.config import RetentionConfig
from retention.purge import Purger
from retention.receipts import ReceiptSigner
from screening.findings import Finding, FindingKind, Severity, Verdict

CANARY = b"CANARY-51d0e8-happy-birthday-grandma-engraving"


class FlakyStore:
    """Wraps a BlobStore; `delete_prefixes` fails while `failing` is set (a store outage mid-purge)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.failing = True

    def delete_prefixes(self, prefixes: Any) -> int:
        if self.failing:
            raise BackendError("object store error: ServiceUnavailable")
        return int(self.inner.delete_prefixes(prefixes))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def flaky_purger(
    services: Any, signer: ReceiptSigner, clock: Clock, config: RetentionConfig
) -> tuple[FlakyStore, Vault, Purger]:
    """A vault and purger over `services` whose blob store fails deletions until `failing` is cleared."""
    flaky = FlakyStore(services.blobs)
    vault = Vault(services.catalog, services.keys, flaky, services.audit, clock=clock)  # type: ignore[arg-type]
    return flaky, vault, Purger(vault, signer, clock=clock, config=config)


def clear_item(**kw: Any) -> NewItem:
    return NewItem(kind="text", content_type="text/plain", verdict=Verdict.of(()), **kw)


def flagged_item() -> NewItem:
    f = Finding(FindingKind.TRADEMARK, "marks@1", "m1", 0.97, Severity.REVIEW, span=(3, 9), label="Mark")
    return NewItem(kind="text", content_type="text/plain", verdict=Verdict.of([f]))


def image_item() -> NewItem:
    f = Finding(FindingKind.IMAGE, "logos@1", "l1", 0.5, Severity.INFO, region=(1, 2, 30, 40), distance=9)
    return NewItem(
        kind="image",
        content_type="image/png",
        verdict=Verdict.of([f]),
        perceptual_hash="f0e1d2c3b4a59687",
        idempotency_key="upload-1",
        request_digest="ab" * 32,
    )


def seed_order(
    vault: Vault, external_id: str, *, seller: str = "seller-1", canary: bytes = CANARY
) -> tuple[OrderView, list[ItemView]]:
    """An order with three items: clear text, flagged text (span), image (hash, region, digest)."""
    seller_id = vault.orders.ensure_seller(seller)
    order, _ = vault.orders.create(seller_id, external_id, actor="test")
    items = []
    for new in (clear_item(), flagged_item(), image_item()):
        item, _ = vault.content.put_item(
            order, [os.urandom(1000), canary, os.urandom(500)], new, actor="test"
        )
        items.append(item)
    return vault.orders.get(order.id), items


def raw_blobs(vault: Vault, order: OrderView) -> dict[str, bytes]:
    return {k: b"".join(vault.blobs.get(k)) for k in vault.content.blob_keys(order)}


def db_values(engine: Engine) -> Iterable[bytes]:
    """Every text, binary and JSON value in every table, as bytes (the 'dump-ish' scan)."""
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.columns if isinstance(c.type, String | Text | LargeBinary | JSON)]
            if not cols:
                continue
            for row in conn.execute(select(*cols)):
                for value in row:
                    if value is None:
                        continue
                    if isinstance(value, bytes | bytearray | memoryview):
                        yield bytes(value)
                    elif isinstance(value, str):
                        yield value.encode()
                    else:
                        yield json.dumps(value).encode()


def files_under(root: Path) -> Iterable[tuple[Path, bytes]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


def s3_all_versions(client: Any, bucket: str) -> list[tuple[str, str, bytes | None]]:
    """(key, version id, body or None for a delete marker) of every version in the bucket."""
    out: list[tuple[str, str, bytes | None]] = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []):
            body = client.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
            out.append((v["Key"], v["VersionId"], body))
        for m in page.get("DeleteMarkers", []):
            out.append((m["Key"], m["VersionId"], None))
    return out


def find_needles(haystacks: Iterable[bytes], needles: Iterable[bytes]) -> list[bytes]:
    wanted = list(needles)
    return [n for h in haystacks for n in wanted if n in h]


def audited_orders(sessions: Any, action: str) -> Counter[str]:
    """How often each order appears in audit events of `action`."""
    from customization_vault.catalog.db import session_scope
    from customization_vault.catalog.models import AuditEvent

    seen: Counter[str] = Counter()
    with session_scope(sessions) as s:
        for ev in s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars():
            assert ev.target_type == "order"
            seen[ev.target_id] += 1
    return seen
