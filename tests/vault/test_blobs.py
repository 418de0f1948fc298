"""Blob stores: one behaviour suite over LocalBlobStore, S3 on moto in-process, and S3 on a moto_server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from customization_vault._crypto import ObjectContext, decrypt_stream, encrypt_stream
from customization_vault.blobs import BlobStore, LocalBlobStore, S3BlobStore, blob_key, order_prefix
from customization_vault.errors import BackendError, BlobNotFound
from customization_vault.keys.base import DataKey
from tests.fixtures_aws import (
    aws_fake_credentials,
    count_calls,
    make_client,
    moto_in_process,
    moto_server,
    moto_server_url,
    record_params,
)

__all__ = ["aws_fake_credentials", "moto_in_process", "moto_server", "moto_server_url"]

MIB = 1 << 20


@dataclass
class StoreEnv:
    kind: str
    store: BlobStore
    make: Callable[..., BlobStore]  # same backend, other tuning (multipart sizes)
    s3: Any = None
    bucket: str = ""
    root: Path | None = None

    def raw_objects(self) -> list[bytes]:
        """Every stored byte string, all versions included, read around the store's API."""
        if self.root is not None:
            return [p.read_bytes() for p in self.root.rglob("*") if p.is_file()]
        out = []
        versions = self.s3.list_object_versions(Bucket=self.bucket).get("Versions", [])
        for v in versions:
            body = self.s3.get_object(Bucket=self.bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"]
            out.append(body.read())
        return out

    def leftovers(self, key: str) -> int:
        """Versions + delete markers (S3) or files (local) still held for one key."""
        if self.root is not None:
            return int((self.root / key).exists())
        resp = self.s3.list_object_versions(Bucket=self.bucket, Prefix=key)
        entries = resp.get("Versions", []) + resp.get("DeleteMarkers", [])
        return sum(1 for e in entries if e["Key"] == key)


@pytest.fixture(
    params=[
        "local",
        pytest.param("s3-moto", marks=pytest.mark.s3),
        pytest.param("s3-server", marks=pytest.mark.s3),
    ]
)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreEnv]:
    if request.param == "local":
        root = tmp_path / "blobs"
        yield StoreEnv("local", LocalBlobStore(root), lambda **_: LocalBlobStore(root), root=root)
        return
    factory = request.getfixturevalue("moto_in_process" if request.param == "s3-moto" else "moto_server")
    s3 = factory("s3")
    bucket = f"cv-test-{uuid.uuid4().hex[:12]}"

    def make(**kwargs: Any) -> S3BlobStore:
        return S3BlobStore(s3, bucket, **kwargs)

    store = make()
    store.ensure_bucket()
    store.ensure_bucket()  # idempotent
    yield StoreEnv(request.param, store, make, s3=s3, bucket=bucket)


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


K1 = blob_key("tenant-a", "order-1", "item-1")
K2 = blob_key("tenant-a", "order-1", "item-2")
K3 = blob_key("tenant-a", "order-2", "item-1")
K4 = blob_key("tenant-b", "order-3", "item-1")


class TestBlobStoreBehaviour:
    def test_put_get_round_trip_streams(self, env: StoreEnv) -> None:
        data = os.urandom(2 * MIB + 123)
        assert env.store.put(K1, chunks_of(data, 300_000)) == len(data)
        parts = list(env.store.get(K1))
        assert b"".join(parts) == data
        assert len(parts) >= 2  # streamed, not one blob in memory
        assert env.store.exists(K1)

    def test_empty_object(self, env: StoreEnv) -> None:
        assert env.store.put(K1, iter(())) == 0
        assert b"".join(env.store.get(K1)) == b""
        assert env.store.exists(K1)

    def test_missing(self, env: StoreEnv) -> None:
        with pytest.raises(BlobNotFound):
            env.store.get(K1)
        assert not env.store.exists(K1)
        assert env.store.delete(K1) == 0

    def test_overwrite_then_delete_removes_every_version(self, env: StoreEnv) -> None:
        env.store.put(K1, [b"first"])
        env.store.put(K1, [b"second"])
        assert b"".join(env.store.get(K1)) == b"second"
        if env.s3 is not None:
            env.s3.delete_object(Bucket=env.bucket, Key=K1)  # a delete marker on top of two versions
            assert env.leftovers(K1) == 3
            assert env.store.exists(K1)  # noncurrent versions still hold ciphertext
            assert list(env.store.list()) == [K1]
            with pytest.raises(BlobNotFound):
                env.store.get(K1)
        removed = env.store.delete(K1)
        assert removed == (3 if env.s3 is not None else 1)
        assert env.leftovers(K1) == 0
        assert not env.store.exists(K1)
        assert list(env.store.list()) == []
        assert env.store.delete(K1) == 0  # idempotent

    def test_delete_spares_neighbours_with_a_common_prefix(self, env: StoreEnv) -> None:
        env.store.put("tenant-a/order-1/item", [b"a"])
        env.store.put("tenant-a/order-1/item2", [b"b"])
        env.store.delete("tenant-a/order-1/item")
        assert list(env.store.list()) == ["tenant-a/order-1/item2"]

    def test_list_by_prefix(self, env: StoreEnv) -> None:
        for key in (K4, K3, K2, K1):
            env.store.put(key, [b"x"])
        assert list(env.store.list(order_prefix("tenant-a", "order-1"))) == [K1, K2]
        assert list(env.store.list("tenant-a/")) == [K1, K2, K3]
        assert list(env.store.list()) == [K1, K2, K3, K4]
        assert list(env.store.list("tenant-a/order-1/item-")) == [K1, K2]
        assert list(env.store.list("nobody/")) == []

    def test_delete_many(self, env: StoreEnv) -> None:
        for key in (K1, K2, K3, K4):
            env.store.put(key, [b"x"])
        assert env.store.delete_many([K1, K2, K3, blob_key("tenant-a", "order-1", "gone")]) == 3
        assert list(env.store.list()) == [K4]

    def test_delete_prefixes_takes_whole_orders_and_every_version(self, env: StoreEnv) -> None:
        for key in (K1, K2, K3, K4):
            env.store.put(key, [b"x"])
        env.store.put(K1, [b"second version"])
        env.store.put("tenant-a/order-10/item-1", [b"a neighbour whose id extends order-1"])
        orders = [order_prefix("tenant-a", "order-1"), order_prefix("tenant-a", "order-2")]
        assert env.store.remaining(orders) == {orders[0]: [K1, K2], orders[1]: [K3]}
        removed = env.store.delete_prefixes(orders)
        assert removed == (4 if env.store.name == "s3" else 3)  # S3 counts K1's two versions
        assert env.store.remaining(orders) == {}
        assert env.leftovers(K1) == 0
        assert list(env.store.list()) == ["tenant-a/order-10/item-1", K4]
        assert env.store.delete_prefixes(orders) == 0  # idempotent

    def test_prefix_operations_need_a_whole_folder(self, env: StoreEnv) -> None:
        for call in (env.store.remaining, env.store.delete_prefixes):
            with pytest.raises(ValueError, match="whole folder"):
                call(["tenant-a/order-1"])

    def test_keys_are_ids_only(self, env: StoreEnv) -> None:
        for bad in ("../x/y", "a/../b", "a//b", "a/b/", "/a/b", "a/.tmp-1", "a/b c", "a/b\x00", "a/é", ""):
            for call in (env.store.exists, env.store.get, env.store.delete):
                with pytest.raises(ValueError, match="ids"):
                    call(bad)
            with pytest.raises(ValueError, match="ids"):
                env.store.put(bad, [b"x"])
        assert env.raw_objects() == []

    def test_failed_stream_leaves_nothing(self, env: StoreEnv) -> None:
        store = env.make(multipart_threshold=5 * MIB, part_size=5 * MIB)

        def failing() -> Iterator[bytes]:
            yield os.urandom(6 * MIB)  # past the threshold: an S3 multipart upload is under way
            yield os.urandom(6 * MIB)
            raise RuntimeError("client went away")

        with pytest.raises(RuntimeError, match="went away"):
            store.put(K1, failing())
        assert not store.exists(K1)
        assert env.raw_objects() == []
        if env.s3 is not None:
            assert env.s3.list_multipart_uploads(Bucket=env.bucket).get("Uploads", []) == []

    def test_only_ciphertext_is_written(self, env: StoreEnv) -> None:
        canary = b"CANARY-" + uuid.uuid4().hex.encode()
        plaintext = canary * 5000 + canary
        dek, ctx = DataKey(os.urandom(32)), ObjectContext("tenant-a", "order-1", "item-1")
        env.store.put(K1, encrypt_stream(dek, ctx, [plaintext], segment_size=64 * 1024))
        stored = env.raw_objects()
        assert len(stored) == 1
        assert len(stored[0]) > len(plaintext)
        assert all(canary not in raw for raw in stored)
        assert b"".join(decrypt_stream(dek, ctx, env.store.get(K1))) == plaintext

    def test_check(self, env: StoreEnv) -> None:
        env.store.check()


# --- S3 specifics -----------------------------------------------------------------------------------


@pytest.mark.s3
@pytest.mark.parametrize("backend", ["moto_in_process", "moto_server"])
def test_s3_multipart_only_above_threshold(request: pytest.FixtureRequest, backend: str) -> None:
    s3 = request.getfixturevalue(backend)("s3")
    bucket = f"cv-test-{uuid.uuid4().hex[:12]}"
    store = S3BlobStore(s3, bucket, multipart_threshold=5 * MIB, part_size=5 * MIB)
    store.ensure_bucket()
    calls = count_calls(s3)

    small = os.urandom(5 * MIB)  # at the threshold: one PutObject
    store.put(K1, chunks_of(small, MIB))
    assert calls["PutObject"] == 1
    assert calls["CreateMultipartUpload"] == 0

    big = os.urandom(11 * MIB + 7)
    assert store.put(K2, chunks_of(big, 3 * MIB)) == len(big)
    assert calls["CreateMultipartUpload"] == 1
    assert calls["UploadPart"] == 3  # 5 + 5 + 1 MiB
    assert calls["CompleteMultipartUpload"] == 1
    assert b"".join(store.get(K2)) == big


@pytest.mark.s3
def test_s3_delete_many_batches_at_1000(moto_in_process: Any) -> None:
    s3 = make_client("s3")
    bucket = f"cv-test-{uuid.uuid4().hex[:12]}"
    store = S3BlobStore(s3, bucket, prefix="vault/")
    store.ensure_bucket()
    # Seed through moto's backend: 2,500 PutObject round trips would cost ~25 s on this machine.
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    keys = [blob_key("tenant-a", "order-1", f"item-{i:05d}") for i in range(2500)]
    for key in keys:
        backend.put_object(bucket, "vault/" + key, b"x")
    calls = count_calls(s3)
    batches = record_params(s3, "DeleteObjects")

    assert store.delete_many(keys) == 2500
    assert calls["DeleteObjects"] == 3
    assert [len(b["Delete"]["Objects"]) for b in batches] == [1000, 1000, 500]
    assert list(store.list()) == []
    assert s3.list_object_versions(Bucket=bucket).get("Versions", []) == []


@pytest.mark.s3
def test_s3_delete_prefixes_lists_each_order_once_and_deletes_across_orders(moto_in_process: Any) -> None:
    """A sweep batch of 400 orders x 3 blobs: 400 listings, then 1,200 deletions in 2 calls, not 400."""
    s3 = make_client("s3")
    bucket = f"cv-test-{uuid.uuid4().hex[:12]}"
    store = S3BlobStore(s3, bucket, prefix="vault/", concurrency=4)
    store.ensure_bucket()
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    orders = [order_prefix("tenant-a", f"order-{o:03d}") for o in range(400)]
    for prefix in orders:
        for i in range(3):
            backend.put_object(bucket, f"vault/{prefix}item-{i}", b"x")
    calls = count_calls(s3)
    batches = record_params(s3, "DeleteObjects")

    assert store.delete_prefixes(orders) == 1200
    assert calls["ListObjectVersions"] == 400
    assert [len(b["Delete"]["Objects"]) for b in batches] == [1000, 200]
    assert store.remaining(orders) == {}
    assert s3.list_object_versions(Bucket=bucket).get("Versions", []) == []


@pytest.mark.s3
def test_s3_prefix_is_applied_and_hidden(moto_in_process: Any) -> None:
    s3 = make_client("s3")
    store = S3BlobStore(s3, "cv-test-prefixed", prefix="vault")
    store.ensure_bucket()
    store.put(K1, [b"x"])
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="cv-test-prefixed")["Contents"]] == ["vault/" + K1]
    assert list(store.list()) == [K1]


@pytest.mark.s3
def test_s3_ensure_bucket_enables_versioning(moto_in_process: Any) -> None:
    s3 = make_client("s3")
    S3BlobStore(s3, "cv-test-versioned").ensure_bucket()
    assert s3.get_bucket_versioning(Bucket="cv-test-versioned")["Status"] == "Enabled"
    rules = s3.get_bucket_lifecycle_configuration(Bucket="cv-test-versioned")["Rules"]
    assert rules[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


@pytest.mark.s3
def test_s3_ensure_bucket_keeps_an_operators_lifecycle(moto_in_process: Any) -> None:
    s3 = make_client("s3")
    s3.create_bucket(Bucket="cv-test-operated")
    own = {"ID": "ops", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 400}}
    s3.put_bucket_lifecycle_configuration(Bucket="cv-test-operated", LifecycleConfiguration={"Rules": [own]})
    S3BlobStore(s3, "cv-test-operated").ensure_bucket()
    rules = s3.get_bucket_lifecycle_configuration(Bucket="cv-test-operated")["Rules"]
    assert [r["ID"] for r in rules] == ["ops"]


@pytest.mark.s3
def test_s3_unreachable_is_a_backend_error(moto_in_process: Any) -> None:
    store = S3BlobStore(make_client("s3"), "cv-test-never-created")
    with pytest.raises(BackendError):
        store.check()
    with pytest.raises(BackendError):
        store.put(K1, [b"x"])


def test_s3_rejects_tiny_parts() -> None:
    with pytest.raises(ValueError, match="5 MiB"):
        S3BlobStore(None, "b", part_size=MIB)  # type: ignore[arg-type]


# --- local specifics --------------------------------------------------------------------------------


def test_local_layout_and_atomic_write(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put(K1, [b"abc"])
    path = tmp_path / "tenant-a" / "order-1" / "item-1"
    assert path.read_bytes() == b"abc"
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert sorted(p.name for p in path.parent.iterdir()) == ["item-1"]  # no temp file left behind

    def failing() -> Iterator[bytes]:
        yield b"new"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.put(K1, failing())
    assert path.read_bytes() == b"abc"  # the old object is untouched, never torn
    assert sorted(p.name for p in path.parent.iterdir()) == ["item-1"]


def test_local_listing_ignores_orphan_temp_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put(K1, [b"abc"])
    (tmp_path / "tenant-a" / "order-1" / ".tmp-deadbeef").write_bytes(b"crash leftover")
    assert list(store.list()) == [K1]


def test_local_delete_prunes_empty_order_directories(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put(K1, [b"abc"])
    store.put(K4, [b"abc"])
    store.delete(K1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tenant-b"]
    store.put(K1, [b"again"])  # the tree comes back on demand
    assert b"".join(store.get(K1)) == b"again"
