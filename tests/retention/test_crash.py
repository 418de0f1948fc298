"""Crash safety: SIGKILL the purging process after each step (and inside each step's transaction) in
turn, on local+SQLite and on S3+KMS (moto_server)+PostgreSQL, purging one order as the fulfilment call
does and a batch of orders as the sweep does; the next sweep leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import func, select

from api.commands.retention import receipt_signer
from api.settings import Settings
from api.wiring import build_services
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import (
    FindingRow,
    Item,
    Order,
    PurgeReceipt,
    WrappedDataKey,
)
from retention.purge import Purger
from retention.receipts import verify_receipt
from retention.worker import PurgeWorker
from tests.fixtures_aws import aws_fake_credentials, moto_server_url
from tests.fixtures_pg import fresh_pg_database
from tests.processes import kill_when
from tests.retention.helpers import audited_orders, seed_order

__all__ = ["aws_fake_credentials", "moto_server_url"]  # fixtures used through the module namespace

# Every committed step, and every point between a step's effect and its commit: inside the shred's, the
# derived-data's and the receipt's transaction, and between the blob deletes and their commit.
POINTS = [(1, "committed"), (2, "effect"), (2, "committed"), (3, "effect"), (3, "committed")]
POINTS += [(4, "effect"), (4, "committed"), (5, "effect")]
BATCH = 2  # orders a sweep-like run purges together


@pytest.fixture(scope="module")
def production_env(pg_server_url: str, moto_server_url: str) -> dict[str, str]:
    """One PostgreSQL database, bucket and KMS alias prefix for every crash point (each has its own order)."""
    return {
        "CV_DATABASE__URL": fresh_pg_database(pg_server_url),
        "CV_STORAGE__BACKEND": "s3",
        "CV_STORAGE__S3_BUCKET": f"crash-{os.urandom(4).hex()}",
        "CV_STORAGE__S3_ENDPOINT_URL": moto_server_url,
        "CV_KEYS__BACKEND": "kms",
        "CV_KEYS__KMS_ENDPOINT_URL": moto_server_url,
        "CV_KEYS__KMS_ALIAS_PREFIX": f"alias/crash-{os.urandom(4).hex()}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _env(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = {
        "CV_ENVIRONMENT": "test",
        "CV_BOOTSTRAP_DEMO": "false",
        "CV_DATA_DIR": str(tmp_path / "var"),
        "CV_RETENTION__HANDOFF_GRACE_SECONDS": "0",
    }
    if backend == "s3-postgres":
        env |= request.getfixturevalue("production_env")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def _kill_at(env: dict[str, str], order_ids: list[str], step: int, phase: str, marker: Path) -> None:
    args = [",".join(order_ids), str(step), phase, str(marker)]
    kill_when("tests.retention.crash_child", args, env, marker.exists)
    assert marker.read_text() == "stopped"


PRODUCTION = [pytest.mark.postgres, pytest.mark.s3]
CASES = [
    pytest.param(
        backend,
        how,
        s,
        p,
        id=f"{backend}-{how}-step{s}-{p}",
        marks=PRODUCTION if backend == "s3-postgres" else [],
    )
    for backend in ("local-sqlite", "s3-postgres")
    for how in ("alone", "batch")
    for s, p in POINTS
]


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "how", "step", "phase"), CASES)
def test_a_killed_purge_is_finished_by_the_next_sweep(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    backend: str,
    how: str,
    step: int,
    phase: str,
) -> None:
    env = _env(request, backend, tmp_path, monkeypatch)
    settings = Settings()
    svc = build_services(settings)
    try:
        count = 1 if how == "alone" else BATCH
        orders = [seed_order(svc.vault, f"CRASH-{how}-{step}-{phase}-{i}")[0] for i in range(count)]
        keys = {o.id: svc.vault.content.blob_keys(o) for o in orders}
        assert all(len(k) == 3 for k in keys.values())

        _kill_at(env, [o.id for o in orders], step, phase, tmp_path / "marker")

        # The crash left every order exactly at the last committed step (a batch commits each step once).
        expected = step if phase == "committed" else step - 1
        for order in orders:
            with session_scope(svc.catalog.sessions) as s:
                o = s.get(Order, order.id)
                assert o is not None
                assert o.purge_step == expected
                assert o.state == "fulfilled"
                key_rows = s.execute(
                    select(func.count())
                    .select_from(WrappedDataKey)
                    .where(WrappedDataKey.order_id == order.id)
                ).scalar_one()
            assert key_rows == (1 if expected < 2 else 0)
            if step == 3 and phase == "effect":  # the bytes went, the commit did not
                assert svc.vault.content.blob_keys(order) == []

        purger = Purger(svc.vault, receipt_signer(settings), config=settings.retention)
        report = PurgeWorker(purger).run_once(maintenance=True)
        assert (report.purged, report.failed) == (count, 0)

        for order in orders:
            _assert_nothing_left(svc, settings, purger, order, keys[order.id])
        assert svc.audit.verify().ok
    finally:
        svc.close()


def _assert_nothing_left(svc: Any, settings: Settings, purger: Purger, order: Any, keys: list[str]) -> None:
    assert svc.vault.orders.get(order.id).state == "purged"
    assert svc.vault.content.blob_keys(order) == []
    assert not any(svc.vault.blobs.exists(k) for k in keys)
    if settings.storage.backend == "s3":
        s3 = boto3.client("s3", endpoint_url=settings.storage.s3_endpoint_url, region_name="us-east-1")
        listing = s3.list_object_versions(
            Bucket=str(settings.storage.s3_bucket), Prefix=f"{order.seller_id}/{order.id}/"
        )
        assert listing.get("Versions", []) == []
        assert listing.get("DeleteMarkers", []) == []
    with session_scope(svc.catalog.sessions) as s:
        assert s.get(WrappedDataKey, order.id) is None
        items = s.execute(select(Item).where(Item.order_id == order.id)).scalars().all()
        assert all(i.perceptual_hash is None and i.request_digest is None for i in items)
        findings = s.execute(select(FindingRow.id).join(Item).where(Item.order_id == order.id)).all()
        assert findings == []  # what matched, and where, went with the content
        receipts = s.execute(
            select(func.count()).select_from(PurgeReceipt).where(PurgeReceipt.order_id == order.id)
        ).scalar_one()
    assert receipts == 1
    assert audited_orders(svc.catalog.sessions, "order.purge")[order.id] == 1
    assert audited_orders(svc.catalog.sessions, "order.shred")[order.id] == 1
    doc = purger.receipt(order.id)
    assert doc is not None
    assert verify_receipt(doc, purger.signer.public_key_pem())
