"""Key providers: one contract suite for LocalKeyring and AwsKmsKeyProvider (moto), then local-only checks."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from customization_vault.clock import FrozenClock
from customization_vault.errors import (
    BackendError,
    InsecureKeyring,
    KeyDestroyed,
    KeyUnavailable,
    StateConflict,
)
from customization_vault.keys import AwsKmsKeyProvider, KeyContext, KeyProvider, LocalKeyring, WrappedKey
from customization_vault.keys.base import checked_epoch_label, epoch_format, epoch_label
from tests.fixtures_aws import (
    aws_fake_credentials,
    count_calls,
    enforce_kms_key_states,
    make_client,
    moto_in_process,
)

__all__ = ["aws_fake_credentials", "moto_in_process"]  # fixtures used by name

CTX = KeyContext("seller-1", "order-1")
NOV = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@dataclass
class Env:
    provider: KeyProvider
    clock: FrozenClock
    kms: Any = None


@pytest.fixture(params=["local", "kms"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    clock = FrozenClock(NOV)
    if request.param == "local":
        yield Env(LocalKeyring(tmp_path / "keys", clock=clock), clock)
        return
    request.getfixturevalue("moto_in_process")
    kms = make_client("kms")
    enforce_kms_key_states(kms)
    yield Env(AwsKmsKeyProvider(kms, clock=clock), clock, kms)


class TestKeyProviderContract:
    """Every KeyProvider must pass these; the vault relies on nothing else."""

    def test_generate_then_unwrap(self, env: Env) -> None:
        dek, wrapped = env.provider.generate(CTX)
        assert len(dek.material) == 32
        assert wrapped.provider == env.provider.name
        assert wrapped.epoch == "2026-11" == env.provider.current_epoch()
        assert dek.material not in wrapped.blob
        assert env.provider.unwrap(wrapped, CTX).material == dek.material
        assert "redacted" in repr(dek)

    def test_each_order_gets_its_own_key(self, env: Env) -> None:
        a, _ = env.provider.generate(CTX)
        b, _ = env.provider.generate(KeyContext("seller-1", "order-2"))
        assert a.material != b.material

    @pytest.mark.parametrize("other", [KeyContext("seller-2", "order-1"), KeyContext("seller-1", "order-2")])
    def test_context_is_bound(self, env: Env, other: KeyContext) -> None:
        _, wrapped = env.provider.generate(CTX)
        with pytest.raises(KeyUnavailable):
            env.provider.unwrap(wrapped, other)

    def test_tampered_blob_is_refused(self, env: Env) -> None:
        _, wrapped = env.provider.generate(CTX)
        blob = bytearray(wrapped.blob)
        blob[-1] ^= 1
        with pytest.raises(KeyUnavailable):
            env.provider.unwrap(replace(wrapped, blob=bytes(blob)), CTX)

    def test_foreign_provider_is_refused(self, env: Env) -> None:
        _, wrapped = env.provider.generate(CTX)
        with pytest.raises(KeyUnavailable):
            env.provider.unwrap(replace(wrapped, provider="someone-else"), CTX)

    def test_epochs_follow_the_clock(self, env: Env) -> None:
        _, nov = env.provider.generate(CTX)
        env.clock.advance(timedelta(days=10))
        _, dec = env.provider.generate(CTX)
        assert (nov.epoch, dec.epoch) == ("2026-11", "2026-12")
        assert nov.kek_id != dec.kek_id
        assert env.provider.current_epoch(NOV) == "2026-11"
        listed = {e.epoch: e for e in env.provider.epochs()}
        assert set(listed) == {"2026-11", "2026-12"}
        assert listed["2026-12"].kek_id == dec.kek_id
        assert not any(e.destroyed for e in listed.values())
        env.provider.unwrap(nov, CTX)

    def test_naive_time_is_refused(self, env: Env) -> None:
        with pytest.raises(ValueError, match="aware"):
            env.provider.current_epoch(datetime(2026, 11, 1))

    def test_rotate_rewrap_retire(self, env: Env) -> None:
        dek, old = env.provider.generate(CTX)
        new_kek = env.provider.rotate()
        assert new_kek != old.kek_id
        _, fresh = env.provider.generate(KeyContext("seller-1", "order-9"))
        assert fresh.kek_id == new_kek  # new orders use the newest version at once
        assert env.provider.unwrap(old, CTX).material == dek.material  # old rows still open

        moved = env.provider.rewrap(old, CTX)
        assert (moved.kek_id, moved.epoch) == (new_kek, old.epoch)
        assert env.provider.unwrap(moved, CTX).material == dek.material
        with pytest.raises(KeyUnavailable):
            env.provider.rewrap(old, KeyContext("seller-2", "order-1"))

        with pytest.raises(StateConflict):
            env.provider.retire(new_kek)  # the newest version wraps new keys
        env.provider.retire(old.kek_id)
        env.provider.retire(old.kek_id)  # idempotent
        with pytest.raises(KeyDestroyed):
            env.provider.unwrap(old, CTX)
        assert env.provider.unwrap(moved, CTX).material == dek.material

    def test_destroy_epoch_shreds_every_key_of_it(self, env: Env) -> None:
        _, nov_a = env.provider.generate(CTX)
        env.provider.rotate("2026-11")
        _, nov_b = env.provider.generate(KeyContext("seller-1", "order-2"))
        env.clock.advance(timedelta(days=10))
        _, dec = env.provider.generate(CTX)

        env.provider.destroy_epoch("2026-11")
        env.provider.destroy_epoch("2026-11")  # idempotent
        for wrapped, ctx in ((nov_a, CTX), (nov_b, KeyContext("seller-1", "order-2"))):
            with pytest.raises(KeyDestroyed):
                env.provider.unwrap(wrapped, ctx)
        env.provider.unwrap(dec, CTX)
        status = {e.epoch: e.destroyed for e in env.provider.epochs()}
        assert status == {"2026-11": True, "2026-12": False}
        with pytest.raises(KeyDestroyed):
            env.provider.generate(CTX, now=NOV)  # a destroyed epoch never wraps again
        with pytest.raises(KeyDestroyed):
            env.provider.rotate("2026-11")  # nor grows a fresh key

    def test_check(self, env: Env) -> None:
        env.provider.check()


# --- KMS specifics ----------------------------------------------------------------------------------


def test_kms_uses_one_key_per_epoch_alias_and_one_call_per_operation(moto_in_process: Any) -> None:
    kms = make_client("kms")
    calls = count_calls(kms)
    provider = AwsKmsKeyProvider(kms, clock=FrozenClock(NOV))
    provider.generate(CTX)
    assert calls["CreateKey"] == 1
    calls.clear()
    _, wrapped = provider.generate(KeyContext("seller-1", "order-2"))
    assert dict(calls) == {"GenerateDataKey": 1}  # the hot path is a single call
    calls.clear()
    provider.unwrap(wrapped, KeyContext("seller-1", "order-2"))
    assert dict(calls) == {"Decrypt": 1}
    aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert {"alias/customization-vault-2026-11", "alias/customization-vault-2026-11--v1"} <= aliases


def test_kms_disabled_key_is_unavailable_not_destroyed(moto_in_process: Any) -> None:
    kms = make_client("kms")
    enforce_kms_key_states(kms)
    provider = AwsKmsKeyProvider(kms, clock=FrozenClock(NOV))
    _, wrapped = provider.generate(CTX)
    key_id = wrapped.kek_id.rsplit("/", 1)[-1]
    kms.disable_key(KeyId=key_id)
    with pytest.raises(KeyUnavailable) as info:
        provider.unwrap(wrapped, CTX)
    assert not isinstance(info.value, KeyDestroyed)
    kms.enable_key(KeyId=key_id)
    provider.unwrap(wrapped, CTX)


def test_kms_destroy_schedules_deletion_of_every_version(moto_in_process: Any) -> None:
    kms = make_client("kms")
    provider = AwsKmsKeyProvider(kms, clock=FrozenClock(NOV))
    _, v1 = provider.generate(CTX)
    v2 = provider.rotate()
    provider.destroy_epoch("2026-11")
    for key in (v1.kek_id, v2):
        meta = kms.describe_key(KeyId=key.rsplit("/", 1)[-1])["KeyMetadata"]
        assert meta["KeyState"] == "PendingDeletion"


def test_kms_unreachable_is_a_backend_error(aws_fake_credentials: Any) -> None:
    client = boto3.client(
        "kms",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    provider = AwsKmsKeyProvider(client)
    with pytest.raises(BackendError):
        provider.check()
    with pytest.raises(BackendError):
        provider.unwrap(WrappedKey("aws-kms", "k", "2026-11", b"x"), CTX)


def test_kms_rejects_reserved_alias_prefix(aws_fake_credentials: Any) -> None:
    with pytest.raises(ValueError, match="alias"):
        AwsKmsKeyProvider(make_client("kms"), alias_prefix="alias/aws/thing")


# --- local keyring specifics ------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("length", "label"), [("year", "2026"), ("month", "2026-11"), ("day", "2026-11-04")])
def test_epoch_labels_are_utc_periods(length: Any, label: str) -> None:
    late_evening_west = datetime(
        2026, 11, 3, 23, 0, tzinfo=timezone(timedelta(hours=-2))
    )  # 01:00Z on the 4th
    assert epoch_label(late_evening_west, epoch_format(length)) == label
    assert checked_epoch_label(label) == label


def test_epoch_lengths_and_labels_outside_the_pattern_are_refused() -> None:
    with pytest.raises(ValueError, match="epoch_length"):
        epoch_format("week")  # type: ignore[arg-type]
    for bad in ("", "26-11", "2026-1", "2026-11/..", "../2026", "2026-11-03-01"):
        with pytest.raises(ValueError, match="malformed epoch"):
            checked_epoch_label(bad)
    with pytest.raises(ValueError, match="aware"):
        epoch_label(datetime(2026, 11, 3), "%Y")


def test_local_files_are_private(tmp_path: Path) -> None:
    ring = LocalKeyring(tmp_path / "keys", clock=FrozenClock(NOV))
    ring.generate(CTX)
    ring.rotate()
    assert _mode(tmp_path / "keys") == 0o700
    files = sorted(p.name for p in (tmp_path / "keys").iterdir())
    assert files == ["2026-11.kek", "2026-11.v2.kek"]
    for p in (tmp_path / "keys").iterdir():
        assert _mode(p) == 0o600
        assert len(p.read_bytes()) == 32


def test_local_refuses_readable_key_files(tmp_path: Path) -> None:
    ring = LocalKeyring(tmp_path / "keys", clock=FrozenClock(NOV))
    _, wrapped = ring.generate(CTX)
    os.chmod(tmp_path / "keys" / "2026-11.kek", 0o644)
    with pytest.raises(InsecureKeyring):
        LocalKeyring(tmp_path / "keys")
    with pytest.raises(InsecureKeyring):
        ring.unwrap(wrapped, CTX)  # a running process notices too
    with pytest.raises(InsecureKeyring):
        ring.check()


def test_local_refuses_a_group_writable_directory(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir(mode=0o700)
    os.chmod(tmp_path / "keys", 0o770)
    with pytest.raises(InsecureKeyring):
        LocalKeyring(tmp_path / "keys")


def test_local_destroy_overwrites_and_unlinks(tmp_path: Path) -> None:
    clock = FrozenClock(NOV)
    ring = LocalKeyring(tmp_path / "keys", clock=clock)
    ring.generate(CTX)
    ring.rotate()
    ring.destroy_epoch("2026-11")
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["2026-11.destroyed"]
    record = json.loads((tmp_path / "keys" / "2026-11.destroyed").read_text())
    assert set(record) == {"epoch", "kek_id", "created_at", "destroyed_at"}  # facts only, no key bytes
    with pytest.raises(KeyDestroyed):
        ring.rotate("2026-11")


def test_local_retire_removes_only_that_version(tmp_path: Path) -> None:
    ring = LocalKeyring(tmp_path / "keys", clock=FrozenClock(NOV))
    _, old = ring.generate(CTX)
    ring.rotate()
    ring.rewrap(old, CTX)
    ring.retire(old.kek_id)
    names = sorted(p.name for p in (tmp_path / "keys").iterdir())
    assert names == ["2026-11.retired", "2026-11.v2.kek"]
    assert ring.rotate() == "2026-11.v3"  # a retired version number is never reused


def test_local_rejects_path_like_key_ids(tmp_path: Path) -> None:
    ring = LocalKeyring(tmp_path / "keys", clock=FrozenClock(NOV))
    _, wrapped = ring.generate(CTX)
    for kek_id in ("../../etc/passwd", "2026-11/../x", "2026-11.v0", ""):
        with pytest.raises(KeyUnavailable):
            ring.unwrap(replace(wrapped, kek_id=kek_id), CTX)


def test_local_two_processes_share_one_epoch_key(tmp_path: Path) -> None:
    a = LocalKeyring(tmp_path / "keys", clock=FrozenClock(NOV))
    b = LocalKeyring(tmp_path / "keys", clock=FrozenClock(NOV))
    dek_a, wrapped_a = a.generate(CTX)
    _, wrapped_b = b.generate(KeyContext("seller-1", "order-2"))
    assert wrapped_a.kek_id == wrapped_b.kek_id
    assert b.unwrap(wrapped_a, CTX).material == dek_a.material
    b.destroy_epoch("2026-11")
    with pytest.raises(KeyDestroyed):
        a.unwrap(wrapped_a, CTX)  # no stale cache in the other process


def test_local_check_fails_when_the_directory_is_gone(tmp_path: Path) -> None:
    ring = LocalKeyring(tmp_path / "keys", clock=FrozenClock(NOV))
    ring.check()
    (tmp_path / "keys").rmdir()
    with pytest.raises(BackendError):
        ring.check()


def test_local_refuses_a_symlinked_key(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(os.urandom(32))
    target.chmod(0o600)
    (tmp_path / "keys").mkdir(mode=0o700)
    (tmp_path / "keys" / "2026-11.kek").symlink_to(target)
    with pytest.raises(InsecureKeyring):
        LocalKeyring(tmp_path / "keys")
