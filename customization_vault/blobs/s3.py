"""S3BlobStore: ciphertext objects in a versioned S3 bucket; delete means every version and marker.

Versioning protects against an accidental overwrite, but it also means a plain DeleteObject only adds a
delete marker and the ciphertext lives on; the purge protocol needs the bytes gone, so every delete here
lists the key's versions and markers and removes each one by VersionId.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from customization_vault.blobs._keys import folder_prefix, key_parts
from customization_vault.errors import BackendError, BlobNotFound

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, ObjectIdentifierTypeDef
else:
    S3Client = Any
    CompletedPartTypeDef = ObjectIdentifierTypeDef = Any

__all__ = ["S3BlobStore"]

_MIB = 1 << 20
_MIN_PART = 5 * _MIB  # S3 rejects smaller parts (except the last)
_MAX_PARTS = 10_000
_DELETE_BATCH = 1000  # the DeleteObjects limit; moto accepts more, real S3 refuses
_READ_SIZE = _MIB
_Batch = list[ObjectIdentifierTypeDef]  # module-level: inside the class, `list` is the method
_T = TypeVar("_T")
_Found = dict[str, list[str]]  # folder prefix -> keys still under it


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _backend(exc: Exception) -> BackendError:
    detail = _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return BackendError(f"object store error: {detail}")


class S3BlobStore:
    """BlobStore over one bucket (optionally under a key prefix). The boto3 client is injected."""

    name = "s3"

    def __init__(
        self,
        s3_client: S3Client,
        bucket: str,
        prefix: str = "",
        multipart_threshold: int = 8 * _MIB,
        part_size: int = 8 * _MIB,
        concurrency: int = 8,
    ) -> None:
        if part_size < _MIN_PART or multipart_threshold < part_size:
            raise ValueError("part_size must be >= 5 MiB and multipart_threshold >= part_size")
        if prefix and not prefix.endswith("/"):
            prefix += "/"  # "vault" and "vault/" mean the same folder; never glue ids onto a partial name
        self._s3 = s3_client
        self._bucket = bucket
        self._prefix = prefix
        self._threshold = multipart_threshold
        self._part_size = part_size
        self._concurrency = max(1, concurrency)  # parallel listings; keep <= the client's connection pool

    def _full(self, key: str) -> str:
        key_parts(key)
        return self._prefix + key

    def ensure_bucket(self) -> None:
        """Create the bucket if needed, turn versioning on, add the abort-upload rule (idempotent)."""
        try:
            try:
                region = self._s3.meta.region_name
                if region and region != "us-east-1":
                    self._s3.create_bucket(
                        Bucket=self._bucket,
                        CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                    )
                else:
                    self._s3.create_bucket(Bucket=self._bucket)
            except ClientError as exc:
                if _code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
            self._s3.put_bucket_versioning(Bucket=self._bucket, VersioningConfiguration={"Status": "Enabled"})
            self._ensure_abort_rule()
        except (ClientError, BotoCoreError) as exc:
            raise _backend(exc) from exc

    def _ensure_abort_rule(self) -> None:
        """Reap parts of uploads that neither completed nor aborted (a killed process): they hold
        ciphertext no listing shows. Only on a bucket without lifecycle rules: never clobber an
        operator's configuration."""
        try:
            self._s3.get_bucket_lifecycle_configuration(Bucket=self._bucket)
            return
        except ClientError as exc:
            if _code(exc) != "NoSuchLifecycleConfiguration":
                raise
        self._s3.put_bucket_lifecycle_configuration(
            Bucket=self._bucket,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "customization-vault-abort-incomplete-uploads",
                        "Status": "Enabled",
                        "Filter": {"Prefix": self._prefix},
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    }
                ]
            },
        )

    # -- writing -----------------------------------------------------------------------------------

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        full = self._full(key)
        buf = bytearray()
        it = iter(chunks)
        # Small objects (most uploads) go up in one PutObject; only a stream that outgrows the
        # threshold pays for a multipart upload. Memory stays at about one part either way.
        for chunk in it:
            buf += chunk
            if len(buf) > self._threshold:
                return self._multipart(full, buf, it)
        try:
            self._s3.put_object(Bucket=self._bucket, Key=full, Body=bytes(buf))
        except (ClientError, BotoCoreError) as exc:
            raise _backend(exc) from exc
        return len(buf)

    def _multipart(self, full: str, buf: bytearray, rest: Iterator[bytes]) -> int:
        try:
            upload_id = self._s3.create_multipart_upload(Bucket=self._bucket, Key=full)["UploadId"]
        except (ClientError, BotoCoreError) as exc:
            raise _backend(exc) from exc
        parts: list[CompletedPartTypeDef] = []
        total = 0

        def send(data: bytes) -> None:
            number = len(parts) + 1
            if number > _MAX_PARTS:
                raise BackendError("object exceeds the multipart part limit")
            resp = self._s3.upload_part(
                Bucket=self._bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=data
            )
            parts.append({"ETag": resp["ETag"], "PartNumber": number})

        def drain() -> None:
            nonlocal total
            # Strictly greater: a non-empty remainder is always left for the final part.
            while len(buf) > self._part_size:
                part = bytes(buf[: self._part_size])
                del buf[: self._part_size]
                send(part)
                total += len(part)

        try:
            try:
                drain()
                for chunk in rest:
                    buf += chunk
                    drain()
                send(bytes(buf))
                total += len(buf)
                buf.clear()
                self._s3.complete_multipart_upload(
                    Bucket=self._bucket, Key=full, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
            except (ClientError, BotoCoreError) as exc:
                raise _backend(exc) from exc
        except BaseException:
            # Abort, or the uploaded parts linger (and are billed) with ciphertext nobody can list.
            try:
                self._s3.abort_multipart_upload(Bucket=self._bucket, Key=full, UploadId=upload_id)
            except (ClientError, BotoCoreError):
                pass  # the bucket's abort-incomplete-multipart lifecycle rule is the safety net
            raise
        return total

    # -- reading -----------------------------------------------------------------------------------

    def get(self, key: str) -> Iterator[bytes]:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=self._full(key))["Body"]
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                raise BlobNotFound("blob not found") from None
            raise _backend(exc) from exc
        except BotoCoreError as exc:
            raise _backend(exc) from exc
        return self._stream(body)

    @staticmethod
    def _stream(body: Any) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(_READ_SIZE)
        except (ClientError, BotoCoreError) as exc:
            raise _backend(exc) from exc
        finally:
            body.close()

    def _versions(self, prefix: str) -> Iterator[tuple[str, str]]:
        """(key, version id) of every version and delete marker under a prefix, in key order."""
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            entries = [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
            entries += [(m["Key"], m["VersionId"]) for m in page.get("DeleteMarkers", [])]
            entries.sort(key=lambda e: e[0])
            yield from entries

    def exists(self, key: str) -> bool:
        full = self._full(key)
        try:
            return any(k == full for k, _ in self._versions(full))
        except (ClientError, BotoCoreError) as exc:
            raise _backend(exc) from exc

    def list(self, prefix: str = "") -> Iterator[str]:
        return self._list(self._prefix + prefix)

    def _list(self, full_prefix: str) -> Iterator[str]:
        last = None
        try:
            for key, _ in self._versions(full_prefix):
                if key != last:
                    last = key
                    yield key[len(self._prefix) :]
        except (ClientError, BotoCoreError) as exc:
            raise _backend(exc) from exc

    # -- deleting ----------------------------------------------------------------------------------

    def delete(self, key: str) -> int:
        return self.delete_many([key])

    def delete_many(self, keys: Iterable[str]) -> int:
        # One ListObjectVersions pass per directory prefix (usually one order), not one per key.
        groups: dict[str, set[str]] = {}
        for key in keys:
            full = self._full(key)
            groups.setdefault(full.rsplit("/", 1)[0] + "/", set()).add(full)
        return self._delete_listed(groups)

    def delete_prefixes(self, prefixes: Sequence[str]) -> int:
        return self._delete_listed({self._full_prefix(p): None for p in prefixes})

    def remaining(self, prefixes: Sequence[str]) -> _Found:
        full = [self._full_prefix(p) for p in prefixes]
        try:
            listed = self._each(lambda f: sorted({k for k, _ in self._versions(f)}), full)
        except (ClientError, BotoCoreError) as exc:
            raise _backend(exc) from exc
        cut = len(self._prefix)
        return {p: [k[cut:] for k in keys] for p, keys in zip(prefixes, listed, strict=True) if keys}

    def _full_prefix(self, prefix: str) -> str:
        return self._prefix + folder_prefix(prefix)

    def _delete_listed(self, groups: Mapping[str, set[str] | None]) -> int:
        """List every group (a folder; None = all of it, else only the wanted keys), then delete it all.

        The listings run concurrently (one request each, latency-bound), and the deletions go out in
        DeleteObjects calls of up to 1,000 entries across groups: a sweep of 100 orders of 3 blobs costs
        100 listings and one delete, not 100 of each. Everything is listed before anything is deleted:
        deleting under a live pagination cursor can invalidate its version-id marker and end the
        listing early.
        """
        prefixes = list(groups)

        def doomed_in(prefix: str) -> _Batch:
            wanted = groups[prefix]
            return [
                {"Key": key, "VersionId": version}
                for key, version in self._versions(prefix)
                if wanted is None or key in wanted
            ]

        try:
            doomed: _Batch = [e for listed in self._each(doomed_in, prefixes) for e in listed]
            return sum(
                self._delete_batch(doomed[start : start + _DELETE_BATCH])
                for start in range(0, len(doomed), _DELETE_BATCH)
            )
        except (ClientError, BotoCoreError) as exc:
            raise _backend(exc) from exc

    def _each(self, fn: Callable[[str], _T], prefixes: Sequence[str]) -> Sequence[_T]:
        """fn over prefixes, concurrently when there are several (boto3 clients are thread-safe)."""
        if len(prefixes) <= 1:
            return [fn(p) for p in prefixes]
        with ThreadPoolExecutor(min(len(prefixes), self._concurrency)) as pool:
            return list(pool.map(fn, prefixes))

    def _delete_batch(self, batch: _Batch) -> int:
        resp = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})
        if resp.get("Errors"):
            # A partial failure must not read as a finished purge; the caller retries the whole set.
            raise BackendError(f"object store refused {len(resp['Errors'])} deletions")
        return len(batch)

    def check(self) -> None:
        try:
            self._s3.head_bucket(Bucket=self._bucket)
        except (ClientError, BotoCoreError) as exc:
            raise _backend(exc) from exc
