"""Fast seeding of fulfilled orders for the concurrency test and the benchmarks: catalog rows in bulk
(Core inserts) plus tiny ciphertext-like blobs, skipping the per-item crypto of `Vault.put_item`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert

from customization_vault.catalog.models import Item, Order, Seller, WrappedDataKey


def seed_fulfilled(
    engine: Engine,
    now: datetime,
    n_orders: int,
    *,
    items_per_order: int = 3,
    put_blob: Callable[[str, bytes], None] | None = None,
    blob_root: Path | None = None,
    epoch: str = "2026-11",
    chunk: int = 1000,
) -> list[str]:
    """`n_orders` orders already marked fulfilled (step 1) and due; returns their ids.

    Blobs go through `put_blob(key, data)` (any store) or straight into a LocalBlobStore layout under
    `blob_root` (no fsync: seeding speed is not what is measured).
    """
    seller_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            insert(Seller), [{"id": seller_id, "external_id": f"seed-{seller_id[:8]}", "created_at": now}]
        )
    ids: list[str] = []
    due = now - timedelta(seconds=1)
    for start in range(0, n_orders, chunk):
        orders, keys, items = [], [], []
        for n in range(start, min(start + chunk, n_orders)):
            oid = str(uuid.uuid4())
            ids.append(oid)
            orders.append(
                {
                    "id": oid,
                    "seller_id": seller_id,
                    "external_id": f"SEED-{n}",
                    "state": "fulfilled",
                    "epoch": epoch,
                    "created_at": now,
                    "first_upload_at": now,
                    "trigger": "fulfilled",
                    "triggered_at": due,
                    "purge_due_at": due,
                    "purge_step": 1,
                    "purge_attempts": 0,
                }
            )
            keys.append(
                {
                    "order_id": oid,
                    "provider": "local",
                    "kek_id": epoch,
                    "epoch": epoch,
                    "blob": os.urandom(60),
                    "created_at": now,
                }
            )
            for _ in range(items_per_order):
                iid = str(uuid.uuid4())
                data = os.urandom(64)
                items.append(
                    {
                        "id": iid,
                        "order_id": oid,
                        "kind": "text",
                        "content_type": "text/plain",
                        "size": 32,
                        "stored_size": len(data),
                        "state": "clear",
                        "verdict": "clear",
                        "perceptual_hash": "0123456789abcdef",
                        "created_at": now,
                    }
                )
                key = f"{seller_id}/{oid}/{iid}"
                if put_blob is not None:
                    put_blob(key, data)
                elif blob_root is not None:
                    path = blob_root.joinpath(*key.split("/"))
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
        with engine.begin() as conn:
            conn.execute(insert(Order), orders)
            conn.execute(insert(WrappedDataKey), keys)
            conn.execute(insert(Item), items)
    return ids
