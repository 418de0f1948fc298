"""AwsKmsKeyProvider: epoch KEKs are AWS KMS keys; DEKs come from GenerateDataKey, bound to tenant+order.

Aliases (KMS allows only [A-Za-z0-9:/_-] in them, hence no dots):
    alias/customization-vault-2026-11          the epoch's current key: GenerateDataKey / ReEncrypt target
    alias/customization-vault-2026-11--v2      one per key ever made for the epoch, so destroy_epoch finds
                                               superseded keys that may still wrap rows not yet rewrapped
The encryption context {tenant, order} is enforced by KMS itself: a wrapped key copied to another
order's row does not decrypt, and CloudTrail records which order every Decrypt was for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from customization_vault.clock import Clock, system_clock
from customization_vault.errors import BackendError, KeyDestroyed, KeyUnavailable, StateConflict
from customization_vault.keys.base import (
    DataKey,
    EpochInfo,
    EpochLength,
    KeyContext,
    WrappedKey,
    checked_epoch_label,
    epoch_format,
    epoch_label,
    is_epoch_label,
)

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_kms.type_defs import GenerateDataKeyResponseTypeDef
else:
    KMSClient = GenerateDataKeyResponseTypeDef = Any

__all__ = ["AwsKmsKeyProvider"]

_VERSION_SEP = "--v"
# Failures that say "this wrapped key will not open here", as opposed to "KMS did not answer".
_REFUSALS = {
    "InvalidCiphertextException",
    "IncorrectKeyException",
    "AccessDeniedException",
    "DisabledException",
    "InvalidKeyUsageException",
}
_GONE_STATES = {"PendingDeletion", "PendingReplicaDeletion"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _bare_key_id(key_id: str) -> str:
    """ARN → key id. Every KMS API accepts both; some emulators only the bare id for admin calls."""
    return key_id.rsplit("/", 1)[-1] if key_id.startswith("arn:") else key_id


class AwsKmsKeyProvider:
    """KeyProvider over AWS KMS. The boto3 client is injected, so tests pass a moto-backed one."""

    name = "aws-kms"

    def __init__(
        self,
        kms_client: KMSClient,
        alias_prefix: str = "alias/customization-vault",
        clock: Clock = system_clock,
        epoch_length: EpochLength = "month",
    ) -> None:
        if not alias_prefix.startswith("alias/") or alias_prefix.startswith("alias/aws/"):
            raise ValueError("alias_prefix must start with 'alias/' and not be AWS-reserved")
        self._kms = kms_client
        self._prefix = alias_prefix
        self._clock = clock
        self._format = epoch_format(epoch_length)

    # -- aliases -----------------------------------------------------------------------------------

    def _alias(self, epoch: str) -> str:
        return f"{self._prefix}-{epoch}"

    def _version_alias(self, epoch: str, version: int) -> str:
        return f"{self._alias(epoch)}{_VERSION_SEP}{version}"

    def _aliases(self) -> Iterator[tuple[str, str]]:
        """(alias name, target key id) for our aliases; an admin-path listing, never per request."""
        paginator = self._kms.get_paginator("list_aliases")
        for page in paginator.paginate():
            for alias in page.get("Aliases", []):
                name = alias.get("AliasName", "")
                target = alias.get("TargetKeyId")
                if name.startswith(self._prefix + "-") and target:
                    yield name, target

    def _epoch_versions(self, epoch: str) -> dict[int, str]:
        """version → key id of every key created for `epoch`."""
        stem = self._alias(epoch) + _VERSION_SEP
        found: dict[int, str] = {}
        for name, target in self._aliases():
            if name.startswith(stem) and name[len(stem) :].isdigit():
                found[int(name[len(stem) :])] = target
        return found

    def _create_epoch_key(self, epoch: str, version: int) -> str:
        key = self._kms.create_key(
            Description=f"customization-vault KEK epoch {epoch} v{version}",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=[{"TagKey": "customization-vault-epoch", "TagValue": epoch}],
        )["KeyMetadata"]
        key_id = key["KeyId"]
        try:
            self._kms.create_alias(AliasName=self._version_alias(epoch, version), TargetKeyId=key_id)
        except ClientError as exc:
            # Another replica made this version first: drop our orphan key, let the caller re-read.
            self._kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
            if _code(exc) == "AlreadyExistsException":
                raise _Raced() from exc
            raise
        return key_id

    def _ensure_epoch_key(self, epoch: str) -> None:
        """Create the epoch's first key and its current alias (idempotent across racing replicas)."""
        try:
            key_id = self._create_epoch_key(epoch, 1)
        except _Raced:
            key_id = self._epoch_versions(epoch)[1]
        try:
            self._kms.create_alias(AliasName=self._alias(epoch), TargetKeyId=key_id)
        except ClientError as exc:
            if _code(exc) != "AlreadyExistsException":
                raise

    def _key_gone(self, key_id: str) -> bool:
        try:
            state = self._kms.describe_key(KeyId=key_id)["KeyMetadata"].get("KeyState", "")
        except ClientError as exc:
            return _code(exc) == "NotFoundException"
        return state in _GONE_STATES

    def _translate(self, exc: ClientError, key_id: str | None) -> Exception:
        code = _code(exc)
        if code == "NotFoundException":
            return KeyDestroyed("key no longer exists")
        if code == "KMSInvalidStateException":
            if key_id is not None and self._key_gone(key_id):
                return KeyDestroyed("key epoch destroyed")
            return KeyUnavailable("key is not usable in its current state")
        if code in _REFUSALS:
            return KeyUnavailable(f"key service refused: {code}")
        return BackendError(f"key service error: {code}")

    @contextlib.contextmanager
    def _errors(self, key_id: str | None = None) -> Iterator[None]:
        """Every KMS failure as a vault error: refusals and deleted keys by `_translate`, transport
        failures as BackendError. `key_id` lets an invalid-state answer be told apart from destruction."""
        try:
            yield
        except ClientError as exc:
            raise self._translate(exc, key_id) from None
        except BotoCoreError as exc:
            raise BackendError("key service unreachable") from exc

    # -- KeyProvider -------------------------------------------------------------------------------

    def current_epoch(self, now: datetime | None = None) -> str:
        return epoch_label(self._clock() if now is None else now, self._format)

    def generate(self, ctx: KeyContext, now: datetime | None = None) -> tuple[DataKey, WrappedKey]:
        epoch = self.current_epoch(now)
        alias = self._alias(epoch)

        def request() -> GenerateDataKeyResponseTypeDef:
            return self._kms.generate_data_key(
                KeyId=alias, KeySpec="AES_256", EncryptionContext=ctx.as_dict()
            )

        # One KMS call on the hot path; the alias is created lazily on the epoch's first order.
        with self._errors(alias):
            try:
                resp = request()
            except ClientError as exc:
                if _code(exc) != "NotFoundException":
                    raise
                with self._errors():  # the epoch's first order: create its key, then ask once more
                    self._ensure_epoch_key(epoch)
                resp = request()
        wrapped = WrappedKey(
            provider=self.name, kek_id=resp["KeyId"], epoch=epoch, blob=bytes(resp["CiphertextBlob"])
        )
        return DataKey(bytes(resp["Plaintext"])), wrapped

    def unwrap(self, wrapped: WrappedKey, ctx: KeyContext) -> DataKey:
        if wrapped.provider != self.name:
            raise KeyUnavailable("key was not wrapped by this provider")
        with self._errors(wrapped.kek_id):
            # KeyId pins the expected key: a blob forged under some other key in the account is refused.
            resp = self._kms.decrypt(
                CiphertextBlob=wrapped.blob, EncryptionContext=ctx.as_dict(), KeyId=wrapped.kek_id
            )
        try:
            return DataKey(bytes(resp["Plaintext"]))
        except ValueError:
            raise KeyUnavailable("unwrapped key has the wrong length") from None

    def rotate(self, epoch: str | None = None) -> str:
        epoch = checked_epoch_label(self.current_epoch() if epoch is None else epoch)
        try:
            with self._errors():
                versions = self._epoch_versions(epoch)
                if not versions:
                    self._ensure_epoch_key(epoch)
                    versions = self._epoch_versions(epoch)
                current = self._kms.describe_key(KeyId=self._alias(epoch))["KeyMetadata"]
                if current.get("KeyState") in _GONE_STATES:
                    raise KeyDestroyed("key epoch destroyed")
                key_id = self._create_epoch_key(epoch, max(versions) + 1)
                self._kms.update_alias(AliasName=self._alias(epoch), TargetKeyId=key_id)
                return str(self._kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
        except _Raced:
            raise StateConflict("a concurrent rotation of this epoch won") from None

    def rewrap(self, wrapped: WrappedKey, ctx: KeyContext) -> WrappedKey:
        if wrapped.provider != self.name:
            raise KeyUnavailable("key was not wrapped by this provider")
        with self._errors(wrapped.kek_id):
            resp = self._kms.re_encrypt(
                CiphertextBlob=wrapped.blob,
                SourceEncryptionContext=ctx.as_dict(),
                SourceKeyId=wrapped.kek_id,
                DestinationKeyId=self._alias(wrapped.epoch),
                DestinationEncryptionContext=ctx.as_dict(),
            )
        return WrappedKey(
            provider=self.name, kek_id=resp["KeyId"], epoch=wrapped.epoch, blob=bytes(resp["CiphertextBlob"])
        )

    def retire(self, kek_id: str) -> None:
        with self._errors():
            bare = _bare_key_id(kek_id)
            aliases = self._kms.list_aliases(KeyId=bare).get("Aliases", [])
            names = [a.get("AliasName", "") for a in aliases]
            if any(n.startswith(self._prefix + "-") and _VERSION_SEP not in n for n in names):
                raise StateConflict("the current key of an epoch wraps new data keys and cannot be retired")
            if self._key_gone(bare):
                return
            self._kms.schedule_key_deletion(KeyId=bare, PendingWindowInDays=7)

    def destroy_epoch(self, epoch: str) -> None:
        checked_epoch_label(epoch)
        with self._errors():
            targets = set(self._epoch_versions(epoch).values())
            for name, target in self._aliases():
                if name == self._alias(epoch):
                    targets.add(target)
            for key_id in sorted(targets):
                if self._key_gone(key_id):
                    continue
                # 7 days is the KMS minimum; from now on every Decrypt under these keys fails.
                self._kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)

    def epochs(self) -> list[EpochInfo]:
        """Epochs with a current alias. KMS drops a key's aliases when the deletion window ends, so a
        destroyed epoch is listed (destroyed=True) for 7-30 days and then disappears."""
        with self._errors():
            current: dict[str, str] = {}
            stem = self._prefix + "-"
            for name, target in self._aliases():
                label = name[len(stem) :]
                if _VERSION_SEP not in label and is_epoch_label(label):
                    current[label] = target
            infos: list[EpochInfo] = []
            for epoch in sorted(current):
                meta = self._kms.describe_key(KeyId=current[epoch])["KeyMetadata"]
                infos.append(
                    EpochInfo(
                        epoch=epoch,
                        kek_id=meta["Arn"],
                        created_at=meta["CreationDate"],
                        destroyed=meta.get("KeyState") in _GONE_STATES,
                    )
                )
            return infos

    def check(self) -> None:
        try:
            self._kms.list_aliases(Limit=1)
        except (ClientError, BotoCoreError) as exc:
            raise BackendError("key service unreachable") from exc


class _Raced(Exception):
    """Internal: another replica created the same alias first."""
